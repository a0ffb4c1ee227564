"""Comparison table: mean ± std across replicas, null-safe JSON, markdown rendering, metrics.json AUCs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systlab.studies.summary import auc_from_metrics, build_summary, markdown_table, replica_record, write_summary


def records() -> dict:
    def rec(auc: float, width: float, cov: float | None) -> dict:
        return replica_record(
            auc={"nominal": auc, "tes_+1sd": auc - 0.01},
            asimov_width_stat={"-2": width * 0.8, "0": width * 0.7},
            asimov_width_profiled={"-2": width * 1.2, "0": width},
            bias={"truth_tes_up": 0.01},
            coverage=cov,
            mean_width=width,
            score=float("nan"),
        )

    return {"baseline": {"0": rec(0.80, 0.30, 0.70), "1": rec(0.82, 0.34, None)}, "aware": {"0": rec(0.85, 0.2, 0.66)}}


def test_summary_aggregates_across_replicas_and_writes_deterministic_json(tmp_path):
    s = build_summary(records(), notes={"aware": "toy-based intervals not yet available"})
    base = s["methods"]["baseline"]["metrics"]
    assert base["auc.nominal"]["mean"] == pytest.approx(0.81)
    assert base["auc.nominal"]["std"] == pytest.approx(0.01414, rel=1e-3)
    assert base["coverage"] == {"mean": 0.70, "std": None, "n": 1}  # the missing replica is skipped
    assert base["score"] == {"mean": None, "std": None, "n": 0}  # NaN -> null
    assert s["methods"]["aware"]["metrics"]["asimov_width.profiled.0"]["std"] is None
    write_summary(s, tmp_path / "summary.json", tmp_path / "summary.md")
    first = (tmp_path / "summary.json").read_bytes()
    write_summary(build_summary(records(), notes={"aware": "toy-based intervals not yet available"}),
                  tmp_path / "summary.json")  # fmt: skip
    assert (tmp_path / "summary.json").read_bytes() == first
    assert json.loads(first)["format"] == "systlab.summary/1"
    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("## Headline") and text.splitlines()[2].startswith("| method | replicas | width α=")
    assert json.loads(first)["headline"][0]["method"] == "aware"
    table = text.split("## Every figure of merit")[1].split("\n", 2)[2]
    header = "| method | replicas | auc.nominal | auc.tes_+1sd | asimov_width.stat_only.-2"
    assert table.splitlines()[0].startswith(header)
    assert "| baseline | 2 | 0.81 ± 0.014 |" in table and "| – |" in table and "toy-based" in table


def test_markdown_columns_can_be_chosen():
    table = markdown_table(build_summary(records()), columns=["coverage", "mean_width"])
    assert table.splitlines()[0] == "| method | replicas | coverage | mean_width |"
    assert "| aware | 1 | 0.66 | 0.2 |" in table


def test_auc_from_metrics_json(tmp_path):
    payload = {"model": "baseline", "replicas": {"0": {"auc": {"nominal": 0.8}, "js_divergence": 0.1}}}
    (tmp_path / "metrics.json").write_text(json.dumps(payload))
    assert auc_from_metrics(tmp_path / "metrics.json") == {"0": {"nominal": 0.8}}


def test_record_from_results_keys_widths_and_bias_by_tes_shift():
    from systlab.studies.summary import record_from_results

    fits = {"asimov": {"interval_68": [0.5, 1.5], "mu_hat": 1.0},
            "expected_below": {"interval_68": [0.4, 1.8], "mu_hat": 1.1},
            "expected_above": {"interval_68": [0.7, 1.2], "mu_hat": 0.9}}
    record = record_from_results({"auc": {"nominal": 0.9}, "js_divergence": 0.01}, fits,
                                 {"below": (1.0, -1.0), "above": (1.0, 1.0)},
                                 {"coverage": 0.7, "mean_width": 0.8, "score": 0.3})
    assert record["asimov_width"]["profiled"] == pytest.approx({"-1": 1.4, "+1": 0.5})
    assert record["bias"] == pytest.approx({"-1": 0.1, "+1": -0.1})
    assert record["coverage"] == 0.7 and record["js_divergence"] == 0.01 and record["auc"] == {"nominal": 0.9}


def test_summary_from_files_reads_the_workflow_layout(tmp_path):
    from systlab.studies.summary import summary_from_files

    metrics = tmp_path / "models" / "baseline" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"replicas": {"r0": {"auc": {"nominal": 0.9}, "js_divergence": 0.01},
                                                "r1": {"auc": {"nominal": 0.8}, "js_divergence": 0.03}}}))
    fits, toys = [], []
    for replica, hi in (("r0", 1.5), ("r1", 1.7)):
        fit = tmp_path / "fits" / "baseline" / replica / "expected_nominal.json"
        fit.parent.mkdir(parents=True)
        fit.write_text(json.dumps({"interval_68": [0.5, hi], "mu_hat": 1.0}))
        toy = tmp_path / "toys" / "baseline" / f"{replica}.json"
        toy.parent.mkdir(parents=True, exist_ok=True)
        toy.write_text(json.dumps({"coverage": 0.6, "mean_width": 1.0, "score": 0.1}))
        fits.append(fit)
        toys.append(toy)
    summary = summary_from_files([metrics], fits, toys, {"nominal": (1.0, 0.0)})
    stats = summary["methods"]["baseline"]["metrics"]
    assert stats["auc.nominal"]["mean"] == pytest.approx(0.85)
    assert stats["asimov_width.profiled.+0"]["mean"] == pytest.approx(1.1)
    assert stats["coverage"]["n"] == 2


def _layout(tmp_path, q_scale: float = 1.0):
    """metrics, fits, toys, limits and significances of one model with two replicas, as the workflow lays them out."""
    metrics = tmp_path / "models" / "baseline" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"replicas": {r: {"auc": {"nominal": 0.9}} for r in ("r0", "r1")}}))
    rng = np.random.default_rng(3)
    paths: dict[str, list] = {"fits": [], "toys": [], "limits": [], "significances": []}
    for replica, median in (("r0", 0.8), ("r1", 1.0)):
        base = tmp_path / "inference" / "baseline" / replica
        base.mkdir(parents=True)
        limit = {"expected": {"-2": 0.4, "-1": 0.6, "0": median, "+1": 1.2, "+2": 1.6}, "observed": 1.5}
        (base / "limit.json").write_text(json.dumps(limit))
        (base / "significance.json").write_text(json.dumps({"z0_expected": 3.0 * median}))
        toy = tmp_path / "toys" / "baseline" / f"{replica}.json"
        toy.parent.mkdir(parents=True, exist_ok=True)
        toy.write_text(json.dumps({"coverage": 0.68, "coverage_pull": -0.1, "mean_width": 1.0, "score": 0.1,
                                   "q_mu_true": (q_scale * rng.chisquare(1, 300)).tolist()}))
        paths["toys"].append(toy)
        paths["limits"].append(base / "limit.json")
        paths["significances"].append(base / "significance.json")
    return metrics, paths


def test_summary_has_limit_z0_and_wilks_columns(tmp_path):
    from systlab.studies.summary import markdown_table, summary_from_files

    metrics, paths = _layout(tmp_path)
    summary = summary_from_files([metrics], [], paths["toys"], {}, {"x": "note"}, paths["limits"],
                                 paths["significances"])
    stats = summary["methods"]["baseline"]["metrics"]
    assert stats["cls95_expected"]["mean"] == pytest.approx(0.9) and stats["cls95_expected"]["n"] == 2
    assert stats["z0_expected"]["mean"] == pytest.approx(2.7)
    assert stats["cls95_band.+1"]["mean"] == pytest.approx(1.2)
    assert stats["wilks.ks_p_value"]["mean"] > 0.01 and "asymptotics" not in summary["notes"]
    header = markdown_table(summary).splitlines()[0]
    for column in ("auc.nominal", "coverage", "score", "cls95_expected", "z0_expected", "wilks.ks", "wilks.ks_p_value"):
        assert f"| {column} |" in header, column
    assert "cls95_band" not in header  # bands: summary.json only
    assert header.index("score") < header.index("cls95_expected") < header.index("wilks.ks")


def test_summary_notes_where_wilks_fails(tmp_path):
    from systlab.studies.summary import summary_from_files

    metrics, paths = _layout(tmp_path, q_scale=2.0)  # q_mu twice too wide: not chi2_1
    summary = summary_from_files([metrics], [], paths["toys"], {})
    assert "baseline/r0 (KS p =" in summary["notes"]["asymptotics"]
    assert "cls95_expected" not in summary["methods"]["baseline"]["metrics"]  # no limit files given


def test_where_wilks_fails_the_width_is_calibrated_on_the_toys():
    """q_mu twice as wide as chi2_1: the toys' 68% quantile is ~2, so the scan -2 Delta lnL = (mu - 1)^2 / 0.25 is
    cut at 2 and the calibrated width is sqrt(2) times the asymptotic one."""
    from scipy.stats import chi2

    from systlab.infer.significance import scan_interval, toy_critical_value
    from systlab.studies.summary import record_from_results, wilks_note

    wide = (2.0 * chi2.ppf((np.arange(400) + 0.5) / 400, 1)).tolist()
    assert toy_critical_value(wide) == pytest.approx(2.0, rel=0.02)
    mu = np.linspace(-3.0, 5.0, 401)
    scan = {"mu": mu.tolist(), "twice_dnll": ((mu - 1.0) ** 2 / 0.25).tolist()}
    fits = {"expected_nominal": {"interval_68": [0.5, 1.5], "mu_hat": 1.0, "scan": scan}}
    record = record_from_results({}, fits, {"nominal": (1.0, 0.0)}, {"q_mu_true": wide})
    assert record["width_toy_calibrated"]["+0"] == pytest.approx(np.sqrt(2.0), rel=0.01)
    assert record["wilks"]["c68"] == pytest.approx(2.0, rel=0.02)
    assert scan_interval(mu, (mu - 1.0) ** 2, 100.0) is None  # the scan never reaches the critical value: open
    summary = {"methods": {"aware": {"replicas": {"r0": {"wilks.ks_p_value": 1e-9}}}}}
    assert "width_toy_calibrated" in wilks_note(summary)


def test_summary_names_a_missing_or_incomplete_input(tmp_path):
    from systlab.studies.summary import summary_from_files

    metrics, paths = _layout(tmp_path)
    missing = tmp_path / "inference" / "baseline" / "r2" / "limit.json"
    with pytest.raises(ValueError, match=rf"{missing}: input file missing"):
        summary_from_files([metrics], [], paths["toys"], {}, limit_paths=[*paths["limits"], missing])
    paths["limits"][1].write_text(json.dumps({"expected": {"0": 1.0}}))
    with pytest.raises(ValueError, match=r"r1/limit.json: field 'expected.-2' missing"):
        summary_from_files([metrics], [], paths["toys"], {}, limit_paths=paths["limits"])


def test_wilks_check_reads_the_model_toys_when_there_are_some():
    """Held-out toys carry the templates' MC non-closure: the asymptotics check uses the model toys."""
    from scipy.stats import chi2

    from systlab.studies.summary import inference_record

    good = chi2.ppf((np.arange(200) + 0.5) / 200, 1).tolist()  # q_mu distributed as chi2_1
    shifted = [q + 3.0 for q in good]  # what a biased (non-closing) toy sample looks like
    held_out = {"coverage": 0.4, "coverage_pull": -4.0, "q_mu_true": shifted}
    record = inference_record(None, None, {**held_out, "model": {"coverage": 0.69, "coverage_pull": 0.2,
                                                                 "q_mu_true": good}})
    assert record["coverage_model"] == 0.69 and record["wilks"]["ks_p_value"] > 0.5
    assert inference_record(None, None, held_out)["wilks"]["ks_p_value"] < 1e-6


def test_unconverged_fits_are_named_not_dropped():
    from systlab.studies.summary import unconverged_fits

    fits = {("baseline", "r0"): {"asimov": {"converged": True}, "truth_above": {"converged": False}},
            ("pivot", "r1"): {"asimov": {"converged": False}}}
    assert unconverged_fits(fits) == ["baseline/r0/truth_above", "pivot/r1/asimov"]


def test_coverage_from_bias_matches_hand_computed_gaussian_cases():
    from systlab.studies.summary import coverage_from_bias, record_from_results

    assert coverage_from_bias(0.0, 2.0) == pytest.approx(0.682689, abs=1e-6)
    assert coverage_from_bias(0.5, 1.0) == pytest.approx(0.5 - 0.022750, abs=1e-6)  # b = sigma: Phi(0) - Phi(-2)
    assert coverage_from_bias(-0.5, 1.0) == coverage_from_bias(0.5, 1.0)
    assert coverage_from_bias(None, 1.0) is None and coverage_from_bias(0.1, 0.0) is None
    fits = {"expected_nominal": {"interval_68": [0.6, 1.6], "mu_hat": 1.5}}
    record = record_from_results({}, fits, {"nominal": (1.0, 0.0)}, {"coverage": 0.4, "mean_width": 1.0},
                                 toy_truth="nominal")
    assert record["coverage_from_bias"] == pytest.approx(0.477250, abs=1e-6)
    assert "coverage_from_bias" not in record_from_results({}, fits, {"nominal": (1.0, 0.0)}, {"mean_width": 1.0})


def test_summary_ranks_the_target_np_among_the_impacts(tmp_path):
    """The target NP's rank, impact and post-fit constraint come from each replica's impacts JSON."""
    from systlab.studies.summary import markdown_table, summary_from_files, target_record

    metrics, paths = _layout(tmp_path)
    impacts = []
    for replica, tes in (("r0", 0.3), ("r1", 0.1)):
        ranking = sorted([{"name": "jes", "postfit_up": -0.2, "postfit_down": 0.18},
                          {"name": "tes", "postfit_up": tes, "postfit_down": -tes},
                          {"name": "staterror_score[4]", "postfit_up": -0.25, "postfit_down": 0.25}],
                         key=lambda r: -max(abs(r["postfit_up"]), abs(r["postfit_down"])))  # fmt: skip
        path = tmp_path / "inference" / "baseline" / replica / "impacts.json"
        path.write_text(json.dumps({"ranking": ranking, "pulls": {"tes": {"constraint": 0.5 + tes, "pull": 0.0}}}))
        impacts.append(path)
    summary = summary_from_files([metrics], [], paths["toys"], {}, None, paths["limits"], paths["significances"],
                                 impact_paths=impacts, target="tes")
    stats = summary["methods"]["baseline"]["metrics"]
    assert stats["target_impact_rank"]["mean"] == pytest.approx(2.0)  # 1st in r0, 3rd in r1
    assert stats["target_impact"]["mean"] == pytest.approx(0.2)
    assert stats["target_constraint"]["mean"] == pytest.approx(0.7)
    header = markdown_table(summary).splitlines()[0]
    assert header.index("z0_expected") < header.index("target_impact_rank") < header.index("wilks.ks")
    assert target_record(None, "tes") == {}
    assert target_record({"ranking": [], "pulls": {}}, "tes") == {
        "target_impact_rank": None, "target_impact": None, "target_constraint": None}


def test_summary_says_which_code_computed_the_score(tmp_path):
    from systlab.infer.toys import SCORE_SOURCE
    from systlab.studies.summary import markdown_table, summary_from_files

    metrics, paths = _layout(tmp_path)
    summary = summary_from_files([metrics], [], paths["toys"], {})
    assert summary["notes"]["score"] == SCORE_SOURCE
    assert "Quantiles_Score" in SCORE_SOURCE and "systlab.infer.toys.fair_score" in SCORE_SOURCE
    assert f"*score*: {SCORE_SOURCE}" in markdown_table(summary)
    assert "score" not in summary_from_files([metrics], [], [], {})["notes"]  # no toys, nothing scored
