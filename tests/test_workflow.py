"""End to end: the tiny config through the whole Snakemake DAG in scratch directories.

One uninterrupted run is the reference; a second run is SIGKILLed during training, resumed, and
must give byte-identical workspaces, templates, scores, fit results and models.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ["--configfile", "config/tiny.yaml"]
#: Outputs that must not depend on how the run went (history.json holds wall times, so it may differ).
REPRODUCIBLE = ("templates", "workspaces", "fits", "scores", "samples", "events")


def _workdir(tmp: Path) -> Path:
    """A scratch copy of the project's workflow files (results land in the scratch dir)."""
    for name in ("Snakefile", "workflow", "profiles", "config", "resources", "tests"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def _snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    # targets first: --configfile takes every following word as a config file
    return subprocess.run([*SNAKEMAKE, *args, "--cores", "2", *TINY], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout)


def _reproducible_files(results: Path) -> dict[str, bytes]:
    files = [p for stage in REPRODUCIBLE for p in sorted((results / stage).rglob("*")) if p.is_file()]
    files += sorted((results / "models").rglob("*.onnx")) + sorted((results / "models").rglob("*.pt"))
    return {str(p.relative_to(results)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny config run once, uninterrupted."""
    workdir = _workdir(tmp_path_factory.mktemp("tiny"))
    run = _snakemake(workdir)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    return workdir


def test_dry_run_of_default_config_lists_every_stage(tmp_path):
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "2"], cwd=_workdir(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for stage in ("simulate", "ingest", "vary", "train", "score", "templates", "workspace", "fit",
                  "figure_templates", "theory_pulls"):
        assert f"rule {stage}:" in run.stdout or f"\n{stage} " in run.stdout, stage


def test_config_typo_fails_at_dag_build(tmp_path):
    workdir = _workdir(tmp_path)
    (tmp_path / "typo.yaml").write_text("trainnig: {epochs: 3}\n")
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", "--configfile", "typo.yaml"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "trainnig" in run.stdout + run.stderr


@pytest.mark.slow
def test_tiny_config_end_to_end(tiny_run):
    results = tiny_run / "results"
    fits = results / "fits" / "baseline" / "r0"
    asimov = json.loads((fits / "asimov.json").read_text())
    assert asimov["mu_hat"] == pytest.approx(1.0, abs=0.02)
    lo, hi = asimov["interval_68"]
    assert lo < 1.0 < hi
    for truth in ("below", "nominal", "above"):
        assert json.loads((fits / f"truth_{truth}.json").read_text())["converged"]
    for name in ("templates_baseline", "theory_pulls", "theory_per_particle", "theory_tails"):
        figure = results / "figures" / f"{name}.pdf"
        assert figure.stat().st_size > 1000 and figure.with_suffix(".png").exists(), name


@pytest.mark.slow
def test_completed_run_is_a_noop_and_one_figure_reruns_alone(tiny_run):
    assert "Nothing to be done" in _snakemake(tiny_run, "-n").stdout
    figure = tiny_run / "results" / "figures" / "templates_baseline.pdf"
    figure.unlink()
    figure.with_suffix(".png").unlink()
    dry = _snakemake(tiny_run, "-n", "results/figures/templates_baseline.pdf")
    assert "figure_templates" in dry.stdout and "rule train" not in dry.stdout
    assert _snakemake(tiny_run, "results/figures/templates_baseline.pdf").returncode == 0
    assert figure.exists()


@pytest.mark.slow
def test_sigkill_during_training_then_resume_gives_identical_results(tiny_run, tmp_path):
    workdir = _workdir(tmp_path)
    first = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *TINY], cwd=workdir, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((workdir / "results" / "logs").glob("train/**/*.log")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # inside the training job
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not (workdir / "results" / "fits").exists(), "killed too late: the run had already finished"

    # Snakemake keeps its lock after a SIGKILL: release it, then the same command finishes the work.
    assert _snakemake(workdir, "--unlock").returncode == 0
    resumed = _snakemake(workdir)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-5000:]
    reference = _reproducible_files(tiny_run / "results")
    again = _reproducible_files(workdir / "results")
    assert sorted(again) == sorted(reference)
    differing = [name for name in reference if reference[name] != again[name]]
    assert not differing, f"not byte-identical after kill and resume: {differing[:10]}"
