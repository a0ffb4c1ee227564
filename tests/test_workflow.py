"""End to end: the tiny config through the whole Snakemake DAG in scratch directories.

One uninterrupted run is the reference; a second run is SIGKILLed during training, resumed, SIGKILLed
again during the toy study, resumed, and must give byte-identical workspaces, templates, scores, fit
results and models, and the same toy results.
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
#: Figures every tiny run must draw (a figure per model, e.g. templates_<model>, is checked for baseline).
FIGURES = ("features", "roc", "decorrelation", "calibration", "templates_baseline", "aware_likelihood_surface",
           "profile_curves", "width_vs_alpha", "coverage", "impacts_baseline", "asymptotics", "lambda_scan",
           "generator_check", "generator_closure", "aware_interpolation", "sensitivity", "jes_granularity",
           "toy_decision_boundary",
           "toy_likelihood_ratio", "toy_pivot_outputs", "theory_pulls", "theory_per_particle", "theory_tails")
#: What the kill-and-resume run builds: a slice of the tiny DAG with two trainings and two toy studies.
KILL_TARGETS = ("results/toys/baseline/r0.json", "results/toys/pivot/r1.json", "results/fits/pivot/r1/asimov.json")
#: Outputs that must not depend on how the run went (history.json holds wall times, so it may differ).
REPRODUCIBLE = ("templates", "workspaces", "fits", "scores", "samples", "events")


def _workdir(tmp: Path) -> Path:
    """A scratch copy of the project's workflow files (results land in the scratch dir)."""
    for name in ("Snakefile", "workflow", "profiles", "config", "resources", "tests"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def _snakemake(workdir: Path, *args: str, timeout: int = 3000) -> subprocess.CompletedProcess:
    # a guard against a hung run, not a speed target (benchmarks/ measures speed): on 2026-12-03 the shared 2-core
    # machine had done 215 of the tiny run's 267 jobs when the former 1800 s ran out.
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
    aware = json.loads((results / "fits" / "aware" / "r0" / "asimov.json").read_text())
    assert aware["grid"]["np"] == "tes"  # the grid-profiled likelihood, not a histosys workspace
    assert aware["mu_hat"] == pytest.approx(1.0, abs=0.05)
    assert aware["grid"]["alpha_hat"] == pytest.approx(0.0, abs=0.3)  # 3-point tiny grid, 1 sigma apart
    assert "grid" in json.loads((results / "toys" / "aware" / "r0.json").read_text())
    aware_limit = json.loads((results / "inference" / "aware" / "r0" / "limit.json").read_text())
    bands = [aware_limit["expected"][k] for k in ("-2", "-1", "0", "+1", "+2")]
    assert bands == sorted(bands) and 0 < bands[0] and aware_limit["observed"] > bands[2]  # Asimov data hold mu = 1
    figures = sorted((results / "figures").glob("*.pdf"))
    assert {f.stem for f in figures} >= set(FIGURES), sorted(set(FIGURES) - {f.stem for f in figures})
    for figure in figures:
        assert figure.stat().st_size > 1000 and figure.with_suffix(".png").stat().st_size > 1000, figure.name


@pytest.mark.slow
def test_report_embeds_the_figures(tiny_run):
    run = _snakemake(tiny_run, "--report", "results/report.html")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    html = (tiny_run / "results" / "report.html").read_text()
    for figure in ("roc", "width_vs_alpha", "coverage", "lambda_scan", "sensitivity"):
        assert f"{figure}.png" in html, figure


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


def _kill_when(run: subprocess.Popen, workdir: Path, pattern: str, timeout: float = 600) -> None:
    """SIGKILL the whole Snakemake process group shortly after the first log file matching ``pattern`` appears."""
    deadline = time.monotonic() + timeout
    while not list((workdir / "results" / "logs").glob(pattern)) and time.monotonic() < deadline:
        assert run.poll() is None, f"the run ended before any {pattern} job started"
        time.sleep(0.1)
    time.sleep(0.5)  # inside the job
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()


def _toy_results(results: Path) -> dict[str, dict]:
    """Toy-study results without their wall times (the only fields that may differ between runs)."""
    def untimed(payload):
        if isinstance(payload, dict):
            return {k: untimed(v) for k, v in payload.items() if "seconds" not in k}
        return payload
    return {str(p.relative_to(results)): untimed(json.loads(p.read_text()))
            for p in sorted((results / "toys").glob("*/*.json"))}  # merged results, not the chunks


@pytest.mark.slow
def test_sigkill_during_training_and_during_toys_then_resume_gives_identical_results(tiny_run, tmp_path):
    workdir = _workdir(tmp_path)

    def background_run() -> subprocess.Popen:
        return subprocess.Popen([*SNAKEMAKE, *KILL_TARGETS, "--cores", "2", *TINY], cwd=workdir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    _kill_when(background_run(), workdir, "train/**/*.log")
    assert not (workdir / "results" / "fits").exists(), "killed too late: the run had already fitted"
    # Snakemake keeps its lock after a SIGKILL: release it, then the same command goes on with the work.
    assert _snakemake(workdir, "--unlock").returncode == 0
    _kill_when(background_run(), workdir, "toys/**/*.log", timeout=900)
    n_toys = len([t for t in KILL_TARGETS if t.startswith("results/toys/")])
    assert len(list((workdir / "results" / "toys").glob("*/*.json"))) < n_toys, "killed too late: toys all done"
    assert _snakemake(workdir, "--unlock").returncode == 0

    resumed = _snakemake(workdir, *KILL_TARGETS)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-5000:]
    reference = _reproducible_files(tiny_run / "results")
    again = _reproducible_files(workdir / "results")
    assert again and set(again) <= set(reference)
    differing = [name for name in again if reference[name] != again[name]]
    assert not differing, f"not byte-identical after kill and resume: {differing[:10]}"
    toys = _toy_results(workdir / "results")
    reference_toys = _toy_results(tiny_run / "results")
    assert len(toys) == n_toys and all(reference_toys[name] == toy for name, toy in toys.items())
