"""The workflow's DAG without the tiny run: dry runs of the default config, errors at DAG build, and which jobs an
edited input mapping or luminosity reruns (a run of two ingestion targets). Apart from test_workflow.py so that
pytest-xdist runs them beside the tiny end-to-end run instead of before it."""

import re
import subprocess

import pytest
import yaml

from workdirs import ROOT, SNAKEMAKE, TINY
from workdirs import dry_run_jobs as _dry_run_jobs
from workdirs import workdir as _workdir


def test_dry_run_of_default_config_lists_every_stage(tmp_path):
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "2"], cwd=_workdir(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for stage in ("simulate", "ingest", "vary", "train", "score", "score_parameterized", "fit", "figure_templates",
                  "theory_pulls", "fair_protocol", "figure_fair_protocol"):
        assert f"rule {stage}:" in run.stdout or f"\n{stage} " in run.stdout, stage
    for fused in ("templates", "workspace"):  # written by the score jobs (test_dag_score_job_writes_...)
        assert f"rule {fused}:" not in run.stdout and f"\n{fused} " not in run.stdout, fused


def test_dag_score_job_writes_scores_templates_and_workspace(tmp_path):
    """One job per (model, replica) scores every sample and writes its templates (and, for a fixed classifier, its
    workspace): each target is built by that one job, no templates or workspace job; a parameterized model gets no
    histosys workspace."""
    targets = ["results/workspaces/baseline/r0.json", "results/templates/aware/r0.json"]
    run = subprocess.run([*SNAKEMAKE, "-n", *targets, "--cores", "1", *TINY], cwd=_workdir(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _dry_run_jobs(run.stdout)
    assert "templates" not in jobs and "workspace" not in jobs, sorted(jobs)
    (baseline,), (aware,) = jobs["score"], jobs["score_parameterized"]
    assert baseline[0] == "method=baseline, replica=r0" and aware[0] == "method=aware, replica=r0"
    for outputs, method in ((baseline[1], "baseline"), (aware[1], "aware")):
        scores = [o for o in outputs if o.startswith(f"results/scores/{method}/r0/")]
        assert scores and len(set(scores)) == len(scores) and f"results/templates/{method}/r0.json" in outputs
        assert len(outputs) == len(scores) + (2 if method == "baseline" else 1), outputs
    assert "results/workspaces/baseline/r0.json" in baseline[1]


def test_config_typo_fails_at_dag_build(tmp_path):
    workdir = _workdir(tmp_path)
    (tmp_path / "typo.yaml").write_text("trainnig: {epochs: 3}\n")
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", "--configfile", "typo.yaml"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    line = next(line for line in output.splitlines() if "trainnig" in line)  # one line: file, key, closest key
    assert "typo.yaml" in line and "did you mean 'training'" in line, line
    assert len(output.splitlines()) < 15, output  # not the schema and the whole config (~790 lines before)


@pytest.mark.parametrize(("change", "needle"), [
    ({"files": ["tests/data/no_such.root"]}, "inputs.ttbar: tests/data/no_such.root: file missing"),
    ({"columns": {"tau_pt": {"branch": "Tau_pt", "object": -1}}}, "inputs.ttbar.columns.tau_pt.object"),
    ({"format": "hdf5", "tree": None}, "inputs.ttbar"),
])  # fmt: skip
def test_a_bad_input_stops_the_run_before_any_job_with_one_line(change, needle, tmp_path):
    """A wrong ``inputs:`` entry (missing file, bad mapping, wrong format keys) fails at DAG build with one line naming
    the process and field: no job runs, so no earlier output is touched."""
    workdir = _workdir(tmp_path)
    mapping = yaml.safe_load((ROOT / "config" / "nanoaod_example.yaml").read_text())["inputs"]["ttbar"]
    for key, value in change.items():
        if value is None:
            mapping.pop(key)
        elif isinstance(value, dict):
            mapping[key] = {**mapping[key], **value}
        else:
            mapping[key] = value
    (workdir / "bad.yaml").write_text(yaml.safe_dump({"inputs": {"ttbar": mapping}}))
    run = subprocess.run([*SNAKEMAKE, "--cores", "1", *TINY, "bad.yaml"], cwd=workdir, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0 and not (workdir / "results").exists(), output[-3000:]
    assert [line for line in output.splitlines() if needle in line], output[-3000:]


def test_an_edited_input_mapping_or_luminosity_reruns_the_jobs_that_read_it(tmp_path):
    """Editing an ``inputs:`` overlay (the ttbar yield) reruns that process's ingestion, a new luminosity the simulated
    processes' simulation and ingestion, and nothing else; an unchanged config stays a no-op. Before, both kept the
    stale tables ("Nothing to be done"): the config values a script read were not among the rules' params."""
    workdir = _workdir(tmp_path)
    overlays = ["--configfile", "config/tiny.yaml", "config/nanoaod_example.yaml"]
    targets = ["results/events/ttbar.parquet", "results/events/diboson.parquet"]
    run = subprocess.run([*SNAKEMAKE, *targets, "--cores", "2", *overlays], cwd=workdir, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]

    def jobs(*extra: str) -> dict[str, list[str]]:
        dry = subprocess.run([*SNAKEMAKE, "-n", *targets, "--cores", "1", *overlays, *extra], cwd=workdir,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert dry.returncode == 0, dry.stderr[-3000:]
        return {rule: sorted(w for w, _ in found) for rule, found in _dry_run_jobs(dry.stdout).items()}

    assert jobs() == {}
    (workdir / "yield.yaml").write_text("inputs: {ttbar: {yield: 40000}}\n")
    assert jobs("yield.yaml") == {"ingest": ["process=ttbar"]}
    (workdir / "lumi.yaml").write_text("simulate: {luminosity_fb: 20.0}\n")
    assert jobs("lumi.yaml") == {"simulate": ["process=diboson"], "ingest": ["process=diboson"]}


def test_a_sample_written_in_the_challenge_layout_reads_back_as_a_process(tmp_path):
    """Rule fair_dataset writes tiny's Z→ττ nominal sample as a FAIR-Universe dataset directory;
    config/fair_example.yaml reads a copy of it back as the ztautau process (format fair) through the ingest rule:
    every event of the sample, weights summing to the metadata's sum_weights; `systlab check-config` accepts it."""
    import json
    import shutil
    import sys

    import awkward as ak
    import numpy as np
    import pyarrow.parquet as pq

    workdir = _workdir(tmp_path)
    written = "results/fair/ztautau/nominal/data.parquet"
    run = subprocess.run([*SNAKEMAKE, written, "--cores", "2", *TINY], cwd=workdir, capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    directory = workdir / "results" / "fair" / "ztautau" / "nominal"
    assert sorted(p.name for p in directory.iterdir()) == ["data.parquet", "data_metadata.json"]
    shutil.copytree(directory, workdir / "fair_data" / "ztautau")
    check = subprocess.run([sys.executable, "-m", "systlab.cli", "check-config", "config/tiny.yaml",
                            "config/fair_example.yaml"], cwd=workdir, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([*SNAKEMAKE, "results/events/ztautau.parquet", "--cores", "1", *TINY,
                          "config/fair_example.yaml"], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    # re-ingested (its params changed): the sample's events after tiny's cuts, not the 40,000 simulated ones
    events = ak.from_parquet(workdir / "results" / "events" / "ztautau.parquet")
    metadata = json.loads((directory / "data_metadata.json").read_text())
    assert len(events) == pq.read_metadata(directory / "data.parquet").num_rows == metadata["total_rows"]
    assert float(np.sum(ak.to_numpy(events["weight"]))) == pytest.approx(metadata["sum_weights"], rel=1e-12)


def test_studies_train_and_read_only_their_replicas(tmp_path):
    """training.study_replicas: the compared models keep every replica (summary, coverage), the study-only models
    (lambda scans, generator and interpolation checks) are trained that many times and the studies read only the
    first that many replicas of the models they compare."""
    workdir = _workdir(tmp_path)
    (workdir / "study.yaml").write_text("training: {replicas: 3, study_replicas: 2}\n")
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "2", *TINY, "study.yaml"], cwd=workdir, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    trained = {}
    for wildcards, _ in _dry_run_jobs(run.stdout)["train"]:
        fields = dict(part.split("=") for part in wildcards.split(", "))
        trained.setdefault(fields["method"], set()).add(fields["replica"])
    assert trained["baseline"] == trained["pivot"] == trained["aware"] == {"r0", "r1", "r2"}
    studies = [m for m in trained if "_lambda_" in m or m.endswith(("_generator", "_scale")) or "_without_" in m]
    assert studies and all(trained[m] == {"r0", "r1"} for m in studies), {m: trained[m] for m in studies}
    jobs = _dry_run_jobs(run.stdout)
    for rule in ("histosys_check", "sensitivity", "jes_granularity", "generator_closure"):
        replicas = {dict(p.split("=") for p in w.split(", "))["replica"] for w, _ in jobs.get(rule, [])}
        assert replicas <= {"r0", "r1"}, (rule, replicas)
    assert {dict(p.split("=") for p in w.split(", "))["replica"] for w, _ in jobs["toys"]} == {"r0", "r1", "r2"}
    # the FAIR protocol: one job per listed model (tiny: fair_protocol.models, one fixed and one parameterized) for
    # every replica
    fair = {w.split("=")[1]: outputs for w, outputs in jobs["fair_protocol"]}
    assert set(fair) == {"baseline", "aware"}
    for method, outputs in fair.items():
        assert sorted(outputs) == [f"results/fair_protocol/{method}/{r}.json" for r in ("r0", "r1", "r2")]


def test_an_unbinned_model_is_fitted_through_its_per_event_tables(tmp_path):
    """Method unbinned in the tiny config: one unbinned_inputs job per replica feeds its fit and toys (no grid, no
    histosys workspace input), its score job still writes templates for the metrics; its FAIR-protocol job reads every
    replica's ONNX and tables; its ratio closure (study replica r0) feeds figure ratio_closure_unbinned."""
    workdir = _workdir(tmp_path)
    (workdir / "unbinned.yaml").write_text(yaml.safe_dump({
        "methods": ["baseline", "unbinned"], "fair_protocol": {"models": ["baseline", "unbinned"]},
        "generator_check": {"methods": [], "closure_models": ["baseline"]}}))  # fmt: skip
    run = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", *TINY, "unbinned.yaml"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _dry_run_jobs(run.stdout)
    assert [w for w, _ in jobs["unbinned_inputs"]] == ["method=unbinned, replica=r0", "method=unbinned, replica=r1"]
    fits = {w: outputs for w, outputs in jobs["fit"]}
    assert "results/inference/unbinned/r0/limit.json" in fits["method=unbinned, replica=r0"]
    assert "method=unbinned, replica=r0" in [w for w, _ in jobs["score"]]
    (fair,) = [b for b in run.stdout.split("\n\n") if "rule fair_protocol:" in b and "method=unbinned" in b]
    for want in ("results/models/unbinned/r1/model.onnx", "results/unbinned/unbinned/r1/events.npz",
                 "results/unbinned/unbinned/r1/model.json"):  # fmt: skip
        assert want in re.search(r"input: (.*)", fair).group(1)
    wanted = "wildcards: method=unbinned, replica=r0"
    (block,) = [b for b in run.stdout.split("\n\n") if "rule fit:" in b and wanted in b]
    inputs = re.search(r"input: (.*)", block).group(1)
    assert inputs == "results/unbinned/unbinned/r0/events.npz, results/unbinned/unbinned/r0/model.json", inputs
    assert [w for w, _ in jobs["ratio_closure"]] == ["method=unbinned, replica=r0"]
    assert [outputs for _, outputs in jobs["figure_ratio_closure"]] == [
        ["results/figures/ratio_closure_unbinned.pdf", "results/figures/ratio_closure_unbinned.png"]]
