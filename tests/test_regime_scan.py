"""The regime scan: the cells' configs (axes, overlay, target NP), the per-cell row read from a summary, the
verdict, and the DAG: one module instance of the workflow per cell under regimes/<cell>/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from systlab.config import ConfigError, load_config
from systlab.studies.regime_scan import cell_points, cell_row, cells, cells_luminosity, scan_payload, scan_table

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_cells_apply_the_overlay_then_each_axis_value_to_the_target_np():
    raw = {**BASE, "systematics": {**BASE["systematics"], "target": "jes"},
           "regime_scan": {"axes": {"target_sigma": [0.005, 0.02], "luminosity_fb": [10, 100]},
                           "overlay": {"methods": ["baseline", "oracle"], "toys": {"n": 50}}}}  # fmt: skip
    configs = cells(raw)
    assert list(configs) == ["sigma0p005_lumi10", "sigma0p005_lumi100", "sigma0p02_lumi10", "sigma0p02_lumi100"]
    assert cell_points(raw)["sigma0p02_lumi10"] == {"target_sigma": 0.02, "luminosity_fb": 10}
    one = configs["sigma0p02_lumi100"]
    assert one["systematics"]["shape"]["jes"]["sigma"] == 0.02  # the target's prior, not TES's
    assert one["systematics"]["shape"]["tes"] == BASE["systematics"]["shape"]["tes"]
    assert one["simulate"]["luminosity_fb"] == 100 and one["methods"] == ["baseline", "oracle"]
    assert one["toys"]["n"] == 50 and one["toys"]["grid_n"] == BASE["toys"]["grid_n"]  # overlays merge key by key
    assert "regime_scan" not in one and one["run_id"] == f"{BASE['run_id']}_sigma0p02_lumi100"
    assert len({c["run_id"] for c in configs.values()}) == 4
    assert cells(BASE) == {} and cells({**BASE, "regime_scan": {"axes": {"target_sigma": []}}}) == {}
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", "sigma0p005_lumi10")  # module and rule names


def test_the_schema_takes_the_section_and_refuses_an_unknown_axis():
    load_config({**BASE, "regime_scan": {"axes": {"signal_boost": [1, 5]}, "overlay": {}}})
    with pytest.raises(ConfigError, match="signal_efficiency"):
        load_config({**BASE, "regime_scan": {"axes": {"signal_efficiency": [1.2]}}})


def test_the_z_peak_axis_sets_the_fitted_score_range():
    configs = cells({**BASE, "regime_scan": {"axes": {"signal_efficiency": [1.0, 0.8]}}})
    assert sorted(configs) == ["sr0p8", "sr1"]
    assert configs["sr0p8"]["templates"]["signal_efficiency"] == 0.8
    assert load_config(configs["sr0p8"]).signal_efficiency == 0.8 and load_config(configs["sr1"]).signal_efficiency == 1
    assert load_config(BASE).signal_efficiency == 1.0  # the full range unless configured


def test_the_figure_label_is_the_luminosity_the_cells_run_at():
    scan = {"axes": {"target_sigma": [0.05, 0.1]}, "overlay": {"simulate": {"luminosity_fb": 0.03}}}
    assert cells_luminosity({**BASE, "regime_scan": scan}) == 0.03  # the overlay's, not the top config's
    assert cells_luminosity({**BASE, "regime_scan": {"axes": {"luminosity_fb": [1, 10]}}}) is None
    assert cells_luminosity(BASE) is None
    with pytest.raises(ConfigError, match="regime_scan.axes"):
        load_config({**BASE, "regime_scan": {"axes": {"tes_sigma": [0.01]}}})


def _summary(gap: float, noise: float, rank: float, replicas: int = 10) -> dict:
    """A summary.json with baseline and the oracles at ±1σ: baseline wider by ``gap`` ± replica ``noise``."""
    methods = {}
    for model, extra in (("baseline", gap), ("oracle_tes_-1sd", 0.0), ("oracle_tes_+1sd", 0.0), ("oracle_tes_0sd", 0)):
        reps = {}
        for i in range(replicas):
            jitter = noise * (1 if i % 2 else -1)
            width = 1.0 + (extra + jitter if model == "baseline" else 0.0)
            reps[f"r{i}"] = {"asimov_width.profiled.-1": width, "asimov_width.profiled.+1": width,
                             "asimov_width.profiled.+0": width, "target_constraint": 0.3,
                             "target_impact_rank": rank}  # fmt: skip
        methods[model] = {"replicas": reps, "metrics": {}}
    return {"methods": methods}


def test_a_cell_is_decisive_when_the_gap_is_resolved_and_the_target_ranks_high():
    resolved = cell_row("a", _summary(gap=0.1, noise=0.02, rank=2))
    assert resolved.gap["+1"].mean == pytest.approx(0.1) and resolved.gap["-1"].n == 10
    assert resolved.gap["+1"].se == pytest.approx(0.02 * (10 / 9) ** 0.5 / 10**0.5)  # sample std / √n
    assert resolved.constraint.mean == pytest.approx(0.3) and resolved.decisive
    assert not cell_row("b", _summary(gap=0.1, noise=0.2, rank=2)).decisive  # the gap within 5 SE
    assert not cell_row("c", _summary(gap=0.1, noise=0.02, rank=3)).decisive  # TES not among the two largest
    rows = [resolved, cell_row("c", _summary(gap=0.1, noise=0.02, rank=3))]
    payload = scan_payload(rows, {"a": {"target_sigma": 0.05}})
    assert payload["cells"]["a"]["decisive"] and payload["cells"]["a"]["point"] == {"target_sigma": 0.05}
    table = scan_table(rows)
    assert "| a | 0.100 ± 0.007 (15.0 SE) |" in table and table.count("\n") == 4
    # the baseline's width and its replica sd (the training noise) per cell: 1.1 ± 0.02 jitter over 10 replicas
    assert resolved.width.mean == pytest.approx(1.1) and resolved.width_sd == pytest.approx(0.02 * (10 / 9) ** 0.5)
    assert payload["cells"]["a"]["baseline_width"]["sd"] == pytest.approx(resolved.width_sd)
    assert "| 1.100 (0.0211) | yes |" in table


def test_the_replica_noise_axis_separates_the_two_sources_of_training_noise():
    configs = cells({**BASE, "regime_scan": {"axes": {"replica_noise": ["data", "init"]}}})
    assert sorted(configs) == ["noisedata", "noiseinit"]
    seeds = {name: [load_config(c).replica_seeds(i) for i in range(3)] for name, c in configs.items()}
    assert len({s.init for s in seeds["noisedata"]}) == 1 and len({s.data for s in seeds["noisedata"]}) == 3
    assert len({s.init for s in seeds["noiseinit"]}) == 3 and len({s.data for s in seeds["noiseinit"]}) == 1
    with pytest.raises(ConfigError, match="replica_noise"):
        load_config({**BASE, "regime_scan": {"axes": {"replica_noise": ["seed"]}}})


def test_the_figure_draws_every_cell(tmp_path):
    from systlab.visualize.regime_scan import plot_regime_scan
    from systlab.visualize.style import save_figure

    rows = {(s, lumi): cell_row("x", _summary(gap=0.1 * s, noise=0.02, rank=2 if s > 1 else 4))
            for s in (1, 3) for lumi in (10, 100)}  # fmt: skip
    points = {f"s{s}_l{lumi}": {"target_sigma": 0.01 * s, "luminosity_fb": lumi} for s, lumi in rows}
    payload = scan_payload([r._replace(cell=f"s{s}_l{lumi}") for (s, lumi), r in rows.items()], points)
    fig = plot_regime_scan(payload, "tes")
    assert len(fig.axes[0].lines) == 2 * 2 + 3  # two luminosities × (−1σ, +1σ), the ±5-SE bars and zero
    save_figure(fig, tmp_path / "regime_scan.pdf", "test", tmp_path / "regime_scan.png")
    assert (tmp_path / "regime_scan.png").stat().st_size > 10_000


@pytest.mark.slow
def test_the_scan_is_one_module_instance_of_the_workflow_per_cell(tmp_path):
    """A dry run of the scan on the tiny config: every cell's own jobs under regimes/<cell>/, its own config (the
    overlay's methods only), one regime_scan job reading every cell's summary."""
    for name in ("Snakefile", "workflow", "profiles", "config", "resources"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "scan.yaml").write_text(
        "regime_scan:\n  axes: {target_sigma: [0.01, 0.05]}\n  overlay: {methods: [baseline, oracle], "
        "generator_check: {methods: [], closure_models: []}, fair_protocol: {models: [baseline]}}\n")
    targets = ["results/regime_scan/summary.md", "results/figures/regime_scan.pdf"]
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", *targets, "--configfile",
                          "config/tiny.yaml", "scan.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", run.stdout, flags=re.M))
    assert counts["regime_scan"] == counts["figure_regime_scan"] == "1"
    assert counts["sigma0p01_summary"] == counts["sigma0p05_summary"] == "1"
    assert counts["sigma0p01_train"] == "8"  # baseline and three oracles, 2 replicas: the overlay's methods
    assert "regimes/sigma0p05/results/inference/summary.json" in run.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("regime_scan:\n  axes: {target_sigma: [0.01]}\n  overlay: {methods: [baseline]}\n")
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--configfile", "config/tiny.yaml",
                          "bad.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode != 0 and "regime_scan cell sigma0p01" in run.stdout + run.stderr


def test_the_module_declarations_are_written_once_per_set_of_cells(tmp_path):
    from systlab.studies.regime_scan import module_file

    path = module_file(["sigma0p01", "sigma0p05"], "/x/Snakefile", tmp_path / "scan")
    text = path.read_text()
    assert text.count("module sigma0p0") == 2 and 'prefix: "regimes/sigma0p05"' in text
    assert "use rule * from sigma0p01 as sigma0p01_*" in text and 'snakefile: "/x/Snakefile"' in text
    stamp = path.stat().st_mtime_ns
    assert module_file(["sigma0p01", "sigma0p05"], "/x/Snakefile", tmp_path / "scan") == path
    assert path.stat().st_mtime_ns == stamp  # the same cells: not rewritten
    assert module_file(["sigma0p01"], "/x/Snakefile", tmp_path / "scan") != path
    assert sorted(p.name.endswith(".smk") for p in (tmp_path / "scan").iterdir()) == [True, True]  # no temporaries
