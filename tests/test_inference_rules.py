"""Rule inference: the payloads it writes (limit, significance, impacts on the Asimov dataset of a small
workspace with every modifier type) and its place in the DAG (one rule for both model kinds: a fixed classifier's
workspace, a parameterized one's grid workspaces and scores; one figure target pulls in only its ancestors)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from systlab.infer.fit import asimov_counts
from systlab.infer.impacts import impacts, write_impacts
from systlab.infer.limits import upper_limit_in_range, write_upper_limit
from systlab.infer.significance import discovery_significance, write_significance

ROOT = Path(__file__).resolve().parents[1]


def small_workspace() -> dict:
    """Two bins: μ on the signal; normsys, histosys (a TES-like shape) and staterror on the background."""
    sig, bkg = [12.0, 30.0], [200.0, 60.0]
    return {
        "version": "1.0.0",
        "channels": [{"name": "score", "samples": [
            {"name": "sig", "data": sig, "modifiers": [{"name": "mu", "type": "normfactor", "data": None},
                                                       {"name": "lumi", "type": "lumi", "data": None}]},
            {"name": "bkg", "data": bkg, "modifiers": [
                {"name": "lumi", "type": "lumi", "data": None},
                {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.05, "lo": 0.95}},
                {"name": "tes", "type": "histosys", "data": {"hi_data": [190.0, 66.0], "lo_data": [210.0, 54.0]}},
                {"name": "staterror_score", "type": "staterror", "data": [4.0, 3.0]}]},
        ]}],
        "observations": [{"name": "score", "data": [212.0, 90.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [
            {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.9, 1.1]], "inits": [1.0]}]}}],
    }  # fmt: skip


def test_inference_payloads_on_the_asimov_dataset(tmp_path):
    spec = small_workspace()
    asimov = asimov_counts(spec)
    write_upper_limit(upper_limit_in_range(spec, asimov, 2.0, 64.0), tmp_path / "limit.json")
    write_significance(discovery_significance(spec, asimov, (0.0, 2.0)), tmp_path / "significance.json")
    write_impacts(impacts(spec, asimov, (-3.0, 5.0)), tmp_path / "impacts.json")
    limit, sig, imp = (json.loads((tmp_path / f"{k}.json").read_text()) for k in ("limit", "significance", "impacts"))

    bands = [limit["expected"][k] for k in ("-2", "-1", "0", "+1", "+2")]
    assert bands == sorted(bands) and not limit["at_bound"] and limit["test_stat"] == "qtilde"
    assert limit["observed"] > limit["expected"]["+1"]  # the Asimov data hold a μ = 1 signal
    # on Asimov data at μ = 1 the observed Z0 is the median expected one, and Z0 = √q0
    assert sig["z0"] == pytest.approx(sig["z0_expected"], rel=1e-4)
    assert sig["z0"] == pytest.approx(np.sqrt(sig["q0"]), rel=1e-6) and sig["mu_hat"] == pytest.approx(1.0, abs=1e-4)
    # impacts: every constrained NP once, ranked, pulls zero on Asimov data
    names = [r["name"] for r in imp["ranking"]]
    assert set(names) == {"lumi", "bkg_norm", "tes", "staterror_score[0]", "staterror_score[1]"}
    sizes = [max(abs(r["postfit_up"]), abs(r["postfit_down"])) for r in imp["ranking"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    assert all(abs(p["pull"]) < 1e-3 for p in imp["pulls"].values()) and imp["converged"]


def _dry_run(tmp_path: Path, *targets: str, overlay: str | None = None) -> list[tuple[str, str, str]]:
    """(rule, wildcards line, input line) of every job the dry run of ``targets`` on the tiny config (plus the YAML
    ``overlay``) would run."""
    for name in ("Snakefile", "workflow", "profiles", "config", "resources"):
        (tmp_path / name).symlink_to(ROOT / name)
    configs = ["config/tiny.yaml"]
    if overlay:
        (tmp_path / "overlay.yaml").write_text(overlay)
        configs.append("overlay.yaml")
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", *targets, "--cores", "2", "--configfile",
                          *configs], cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", run.stdout):
        head = re.match(r"rule (\w+):", block)
        if head:
            wildcards, inputs = re.search(r"wildcards: (.*)", block), re.search(r"input: (.*)", block)
            jobs.append((head.group(1), wildcards.group(1) if wildcards else "", inputs.group(1) if inputs else ""))
    return jobs


@pytest.mark.slow
def test_impacts_figures_and_summary_pull_in_the_fit_rule_of_each_model_kind(tmp_path):
    """Limits, Z0 and impacts come from rule fit (one job per model replica with its fits), for a fixed classifier
    from its workspace and for the parameterized model from its grid; lambda-scan models get no inference."""
    jobs = _dry_run(tmp_path, "results/figures/impacts_baseline.pdf", "results/figures/impacts_aware.pdf",
                    "results/inference/summary.md", "results/fits/pivot_lambda_0/r0/asimov.json")  # fmt: skip
    rules = {rule for rule, _, _ in jobs}
    assert [rule for rule, w, _ in jobs if "method=pivot_lambda_0" in w and rule.startswith("fit")] == [
        "fit_lambda_scan"]
    assert {"fit", "figure_impacts", "summary"} <= rules and "inference" not in rules
    assert not rules & {"figure_coverage", "figure_profile_curves", "theory_pulls", "figure_templates"}
    inference = [(w, inputs) for rule, w, inputs in jobs if rule == "fit"]
    fixed = [inputs for w, inputs in inference if "method=baseline" in w]
    grid = [inputs for w, inputs in inference if "method=aware" in w]
    # a fixed classifier from its workspace, the parameterized model from its grid-profiled likelihood
    workspace_and_templates = r"results/workspaces/baseline/(r\d+)\.json, results/templates/baseline/\1\.json"
    assert fixed and all(re.fullmatch(workspace_and_templates, i) for i in fixed)
    assert grid and all(i.startswith("results/grid/aware/r") and "/scores/tes_" in i for i in grid)


@pytest.mark.slow
def test_the_target_np_set_in_the_config_moves_every_rule_to_it(tmp_path):
    """systematics.target: jes — oracles, the aware grid, the interpolation check and the metrics follow it; no rule
    names TES for it any more (TES stays a profiled shape NP: its ±1σ samples still feed the histosys)."""
    overlay = ("systematics:\n  target: jes\n  shape:\n    jes: {nominal: 1.0, sigma: 0.01, grid: [-1, 0, 1]}\n"
               "pseudo_data:\n  below: {mu: 1.0, jes: -1.0}\n  nominal: {mu: 1.0}\n  above: {mu: 1.0, jes: 1.0}\n")
    jobs = _dry_run(tmp_path, overlay=overlay)
    wildcards = " ".join(w for _, w, _ in jobs)
    assert "method=oracle_jes_-1sd" in wildcards and "method=aware_without_jes_0sd" in wildcards
    assert "oracle_tes" not in wildcards and "aware_without_tes" not in wildcards
    grid = [inputs for rule, w, inputs in jobs if rule == "fit" and "method=aware," in w + ","]
    assert grid and all("/scores/jes_" in i and "/scores/tes_" not in i for i in grid)
    metrics = [inputs for rule, _, inputs in jobs if rule == "metrics"]
    assert metrics and all("/jes_+1sd.parquet" in i and "/tes_+1sd.parquet" not in i for i in metrics)
