"""Templates from synthetic score tables: counts match weighted np.histogram, splits apart, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from systlab.templates.histograms import (
    build_templates,
    check_background_positive,
    counts,
    empty_hist,
    merge_sparse_bins,
    read_templates,
    shape_variation,
    sumw2,
    templates_payload,
    write_templates,
)

PROCESSES = {"htautau": 1, "ztautau": 0, "ttbar": 0}
VARIATIONS = ("nominal", "tes_+1sd", "tes_-1sd", "truth_below")
BINS = 5


def score_table(rng: np.random.Generator, label: int, n: int = 400, low: float = 0.0) -> pd.DataFrame:
    """A score table with both splits, edge scores 0 and 1 included, positive weights."""
    score = rng.uniform(low, 1.0, n)
    score[:2] = [low, 1.0]
    return pd.DataFrame(
        {
            "event_id": np.arange(n, dtype=np.uint64),
            "weight": rng.uniform(0.5, 1.5, n),
            "split": rng.choice(np.array([2, 3], dtype=np.int8), n),
            "label": np.full(n, label, dtype=np.int8),
            "score": score,
        }
    )


@pytest.fixture
def score_paths(tmp_path):
    """One Parquet score file per (process, variation)."""
    rng = np.random.default_rng(7)
    paths = {}
    for process, label in PROCESSES.items():
        for variation in VARIATIONS:
            path = tmp_path / f"{process}__{variation}.parquet"
            score_table(rng, label).to_parquet(path)
            paths[(process, variation)] = path
    return paths


def weighted_hist(path, split: int, squared: bool = False) -> np.ndarray:
    """The reference: np.histogram of one split's scores with weights (or squared weights)."""
    t = pd.read_parquet(path)
    t = t[t["split"] == split]
    w = t["weight"].to_numpy() ** (2 if squared else 1)
    return np.histogram(t["score"], bins=BINS, range=(0.0, 1.0), weights=w)[0]


def test_template_counts_equal_weighted_histogram_of_template_split(score_paths):
    t = build_templates(score_paths, BINS)
    np.testing.assert_allclose(t.edges, np.linspace(0, 1, BINS + 1))
    for (process, variation), path in score_paths.items():
        np.testing.assert_allclose(counts(t, process, variation), weighted_hist(path, 2), rtol=1e-12)
        np.testing.assert_allclose(sumw2(t, process, variation), weighted_hist(path, 2, True), rtol=1e-12)


def test_toy_split_holds_only_truths_and_nominal(score_paths):
    t = build_templates(score_paths, BINS)
    assert list(t.splits["toy"].axes["variation"]) == ["nominal", "truth_below"]
    path = score_paths[("ztautau", "truth_below")]
    np.testing.assert_allclose(counts(t, "ztautau", "truth_below", "toy"), weighted_hist(path, 3), rtol=1e-12)
    with pytest.raises(KeyError, match="tes_\\+1sd"):
        counts(t, "ztautau", "tes_+1sd", "toy")
    assert t.signal == ("htautau",)


def test_json_round_trip_is_exact_and_deterministic(score_paths, tmp_path):
    t = build_templates(score_paths, BINS)
    write_templates(t, tmp_path / "a.json")
    write_templates(read_templates(tmp_path / "a.json"), tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert templates_payload(read_templates(tmp_path / "a.json")) == templates_payload(t)
    layout = templates_payload(t)["splits"]["template"]["ttbar"]["tes_-1sd"]
    assert sorted(layout) == ["counts", "sumw2"] and len(layout["counts"]) == BINS


def test_missing_column_names_file_and_field(score_paths):
    path = score_paths[("ttbar", "nominal")]
    pd.read_parquet(path).drop(columns="label").to_parquet(path)
    with pytest.raises(ValueError, match=r"ttbar__nominal\.parquet.*'label'"):
        build_templates(score_paths, BINS)


def test_nan_score_names_file_and_field(score_paths):
    path = score_paths[("ztautau", "tes_+1sd")]
    table = pd.read_parquet(path)
    table.loc[3, "score"] = np.nan
    table.to_parquet(path)
    with pytest.raises(ValueError, match=r"ztautau__tes_\+1sd\.parquet.*'score'.*NaN"):
        build_templates(score_paths, BINS)


def test_labels_other_than_zero_or_one_are_refused(score_paths):
    path = score_paths[("ttbar", "nominal")]
    table = pd.read_parquet(path)
    table.loc[0, "label"] = 2
    table.to_parquet(path)
    with pytest.raises(ValueError, match=r"ttbar__nominal\.parquet: column 'label' has value\(s\) \[2\]"):
        build_templates(score_paths, BINS)


def test_empty_background_bin_is_named(tmp_path):
    rng = np.random.default_rng(1)
    paths = {}
    for process, label in PROCESSES.items():
        path = tmp_path / f"{process}.parquet"
        table = score_table(rng, label)
        if label == 0:  # backgrounds never reach the last bin
            table["score"] = table["score"] * 0.7
        table.to_parquet(path)
        paths[(process, "nominal")] = path
    with pytest.raises(ValueError, match=r"score bin 4 \[0\.8, 1\).*'nominal'"):
        build_templates(paths, BINS)


def test_the_positivity_check_can_leave_out_named_variations_and_says_where():
    h = empty_hist(["htautau", "ztautau"], ["nominal", "tes_-1sd"], np.linspace(0, 1, 3))
    h.view(flow=False).value[:] = [[[1, 1], [1, 1]], [[5, 5], [5, -2]]]  # (process, variation, bin)
    with pytest.raises(ValueError, match=r"^grid point tes_-1sd: background total is -2 .*bin 1 .*'tes_-1sd'"):
        check_background_positive(h, ["ztautau"], where="grid point tes_-1sd: ")
    check_background_positive(h, ["ztautau"], skip=["tes_-1sd"])  # the grid NP's own +-1 templates


def test_incomplete_variation_grid_is_an_error(score_paths):
    del score_paths[("ttbar", "tes_-1sd")]
    with pytest.raises(ValueError, match="missing.*ttbar.*tes_-1sd"):
        build_templates(score_paths, BINS)


def test_shape_variation_names():
    assert [shape_variation("tes", k) for k in (1, -1, 0.5)] == ["tes_+1sd", "tes_-1sd", "tes_+0.5sd"]


def test_signal_quantile_binning_puts_equal_signal_in_each_bin(score_paths):
    templates = build_templates(score_paths, BINS, binning="signal_quantiles")
    edges = templates.edges
    assert edges[0] == 0.0 and edges[-1] == 1.0 and np.all(np.diff(edges) > 0)
    signal = counts(templates, "htautau", "nominal")
    assert len(signal) == BINS
    np.testing.assert_allclose(signal / signal.sum(), 1 / BINS, atol=0.03)


def test_sparse_top_bins_are_merged_until_background_is_populated():
    scores = np.r_[np.full(100, 0.1), np.full(3, 0.95)]  # only 3 background MC events above 0.5
    edges = merge_sparse_bins(np.array([0.0, 0.5, 0.8, 0.9, 1.0]), scores, min_events=20)
    np.testing.assert_array_equal(edges, [0.0, 1.0])
    edges = merge_sparse_bins(np.array([0.0, 0.5, 0.8, 1.0]), np.r_[np.full(30, 0.1), np.full(25, 0.9)], 20)
    np.testing.assert_array_equal(edges, [0.0, 0.8, 1.0])  # the empty middle bin joins the one below


def test_unknown_binning_is_refused(score_paths):
    with pytest.raises(ValueError, match="field 'binning'"):
        build_templates(score_paths, BINS, binning="log")


def test_a_signal_region_keeps_that_share_of_the_signal_and_drops_the_lowest_scores(score_paths):
    full = build_templates(score_paths, BINS, binning="signal_quantiles")
    region = build_templates(score_paths, BINS, binning="signal_quantiles", signal_efficiency=0.6)
    nominal = pd.concat([pd.read_parquet(score_paths[("htautau", "nominal")])])
    template = nominal[nominal["split"] == 2]
    lowest = region.edges[0]
    kept = template["weight"][template["score"] >= lowest].sum() / template["weight"].sum()
    assert 0.2 < lowest < 0.6 and kept == pytest.approx(0.6, abs=0.01)
    assert len(region.edges) == BINS + 1 and region.edges[-1] == 1.0
    signal = counts(region, "htautau", "nominal")
    assert signal.sum() == pytest.approx(template["weight"][template["score"] >= lowest].sum())
    np.testing.assert_allclose(signal / signal.sum(), 1 / BINS, atol=0.04)  # equal signal in the kept range
    ztt = pd.read_parquet(score_paths[("ztautau", "truth_below")])
    toy = ztt[(ztt["split"] == 3) & (ztt["score"] >= lowest)]
    assert counts(region, "ztautau", "truth_below", "toy").sum() == pytest.approx(toy["weight"].sum())
    assert counts(full, "ztautau", "nominal").sum() > counts(region, "ztautau", "nominal").sum()
    assert full.edges[0] == 0.0  # 1 (the default) is the full range, as before
    equal = build_templates(score_paths, 4, binning="equal_width", signal_efficiency=0.6)
    np.testing.assert_allclose(np.diff(equal.edges), (1.0 - equal.edges[0]) / 4)
    assert equal.edges[0] == lowest


@pytest.mark.parametrize("efficiency", [0.0, 1.5, -0.2])
def test_a_signal_efficiency_outside_0_1_is_refused(score_paths, efficiency):
    with pytest.raises(ValueError, match="signal_efficiency"):
        build_templates(score_paths, BINS, binning="signal_quantiles", signal_efficiency=efficiency)
