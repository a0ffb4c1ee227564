"""End to end: the tiny config through the whole Snakemake DAG in a scratch directory."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _workdir(tmp: Path) -> Path:
    """A scratch copy of the project's workflow files (results land in the scratch dir)."""
    for name in ("Snakefile", "workflow", "config", "resources"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [*SNAKEMAKE, "--cores", "2", "--configfile", "config/tiny.yaml", *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)


def test_dry_run_of_default_config_lists_every_stage(tmp_path):
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "2"], cwd=_workdir(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for stage in ("simulate", "ingest", "vary", "train", "score", "templates", "workspace", "fit",
                  "figure_templates"):
        assert f"rule {stage}:" in run.stdout or f"\n{stage} " in run.stdout, stage


def test_config_typo_fails_at_dag_build(tmp_path):
    workdir = _workdir(tmp_path)
    (tmp_path / "typo.yaml").write_text("trainnig: {epochs: 3}\n")
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", "--configfile", "typo.yaml"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "trainnig" in run.stdout + run.stderr


@pytest.mark.slow
def test_tiny_config_end_to_end(tmp_path):
    workdir = _workdir(tmp_path)
    run = _snakemake(workdir)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    fits = workdir / "results" / "fits" / "baseline" / "r0"
    asimov = json.loads((fits / "asimov.json").read_text())
    assert asimov["mu_hat"] == pytest.approx(1.0, abs=0.02)
    lo, hi = asimov["interval_68"]
    assert lo < 1.0 < hi
    for truth in ("below", "nominal", "above"):
        result = json.loads((fits / f"truth_{truth}.json").read_text())
        assert result["converged"]
    figure = workdir / "results" / "figures" / "templates_baseline.pdf"
    assert figure.stat().st_size > 1000 and figure.with_suffix(".png").exists()

    # a completed run is a no-op; removing one figure rebuilds only that figure
    assert "Nothing to be done" in _snakemake(workdir, "-n").stdout + _snakemake(workdir, "-n").stderr
    figure.unlink()
    rerun = _snakemake(workdir, "-n", "results/figures/templates_baseline.pdf")
    assert "figure_templates" in rerun.stdout and "rule train" not in rerun.stdout
    shutil.rmtree(workdir / ".snakemake", ignore_errors=True)
