"""Variations: TES/JES/soft MET act on objects, MET follows, derived features recomputed; splits disjoint."""

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from systlab.events import FEATURES, SENTINEL, SPLITS
from systlab.samples.features import compute_features, jet_features
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import (
    Variation,
    apply_variation,
    by_jets,
    finish_sample,
    np_point,
    soft_met_draws,
    split_labels,
    vary_process,
    write_sample,
)

FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}


@pytest.fixture(scope="module")
def events():
    return simulate_process("htautau", 20_000, seed=11)


@pytest.fixture(scope="module")
def draws(events):
    return soft_met_draws(len(events), seed=5)


def _pair(events, draws, **values):
    """Nominal and varied tables restricted to the events present in both, aligned by event_id."""
    nominal = apply_variation(events, Variation("nominal"), draws).set_index("event_id")
    varied = apply_variation(events, Variation("x", values), draws).set_index("event_id")
    common = nominal.index.intersection(varied.index)
    return nominal.loc[common], varied.loc[common]


def test_tes_up_scales_tau_pt_and_moves_met_and_masses(events, draws):
    nom, up = _pair(events, draws, tes=1.03)
    np.testing.assert_allclose(up["PRI_tau_pt"], 1.03 * nom["PRI_tau_pt"], rtol=1e-6)
    assert np.median(up["DER_mass_vis"] - nom["DER_mass_vis"]) > 0
    # MET absorbs the opposite of the tau's extra transverse momentum (vector relation)
    for trig in (np.cos, np.sin):
        expected = nom["PRI_met"] * trig(nom["PRI_met_phi"]) - 0.03 * nom["PRI_tau_pt"] * trig(nom["PRI_tau_phi"])
        np.testing.assert_allclose(up["PRI_met"] * trig(up["PRI_met_phi"]), expected, atol=2e-3)
    aligned = np.cos(nom["PRI_met_phi"] - nom["PRI_tau_phi"]) > 0.9
    assert np.median(up["PRI_met"][aligned] - nom["PRI_met"][aligned]) < 0
    # ... and the lepton and jets are untouched
    for name in ("PRI_lep_pt", "PRI_lep_eta", "PRI_jet_all_pt", "PRI_jet_leading_pt", "DER_mass_jet_jet"):
        np.testing.assert_array_equal(up[name], nom[name])


def test_tes_down_removes_events_at_threshold(events, draws):
    nominal = apply_variation(events, Variation("nominal"), draws)
    down = apply_variation(events, Variation("d", {"tes": 0.97}), draws)
    assert len(down) < len(nominal)
    assert down["PRI_tau_pt"].min() > 26.0


def test_jes_scales_jets_and_jet_pair_mass(events, draws):
    nom, up = _pair(events, draws, jes=1.05)
    two_jets = (nom["PRI_jet_num"] >= 2) & (up["PRI_jet_num"] == nom["PRI_jet_num"])
    np.testing.assert_allclose(up["DER_mass_jet_jet"][two_jets], 1.05 * nom["DER_mass_jet_jet"][two_jets], rtol=1e-5)
    np.testing.assert_array_equal(up["PRI_tau_pt"], nom["PRI_tau_pt"])
    assert (up["PRI_jet_num"] >= nom["PRI_jet_num"]).all()  # jets only cross the threshold upwards


def test_soft_met_smears_met_only_and_reuses_draws(events, draws):
    nom, soft = _pair(events, draws, soft_met=5.0)
    assert not np.allclose(soft["PRI_met"], nom["PRI_met"])
    np.testing.assert_array_equal(soft["PRI_tau_pt"], nom["PRI_tau_pt"])
    again = apply_variation(events, Variation("x", {"soft_met": 5.0}), draws)
    np.testing.assert_array_equal(again["PRI_met"], soft.reset_index()["PRI_met"])


def test_features_complete_and_sentinel_only_where_undefined(events, draws):
    table = apply_variation(events, Variation("nominal"), draws)
    assert list(table.columns) == ["event_id", "weight", *FEATURES]
    assert np.isfinite(table[list(FEATURES)].to_numpy()).all()
    few_jets = table["PRI_jet_num"] < 2
    assert (table.loc[few_jets, "DER_mass_jet_jet"] == SENTINEL).all()
    assert (table.loc[~few_jets, "DER_mass_jet_jet"] > 0).all()
    assert (table.loc[table["PRI_jet_num"] == 0, "PRI_jet_leading_pt"] == SENTINEL).all()


def test_splits_are_deterministic_disjoint_and_follow_fractions():
    ids = np.arange(200_000, dtype=np.uint64)
    labels = split_labels(ids, 42, FRACTIONS)
    np.testing.assert_array_equal(labels, split_labels(ids, 42, FRACTIONS))
    for name, code in SPLITS.items():
        assert np.mean(labels == code) == pytest.approx(FRACTIONS[name], abs=0.005)
    assert np.mean(labels != split_labels(ids, 43, FRACTIONS)) > 0.5  # the seed reshuffles


def test_weights_per_split_sum_to_the_yield(events, draws):
    sample = finish_sample(apply_variation(events, Variation("nominal"), draws), 1, 42, FRACTIONS)
    totals = sample.groupby("split")["weight"].sum()
    np.testing.assert_allclose(totals.to_numpy(), 1015.0, rtol=0.05)
    assert set(sample["label"]) == {1}


def test_vary_process_writes_every_variation_with_zero_split_overlap(tmp_path, events):
    canonical = tmp_path / "events.parquet"
    ak.to_parquet(events, canonical)
    variations = [Variation("nominal"), Variation("tes_+1sd", {"tes": 1.03})]
    outs = {v.name: tmp_path / f"{v.name}.parquet" for v in variations}
    result = vary_process(canonical, variations, outs, label=1, seed=42, fractions=FRACTIONS, draw_seed=3)
    assert set(result.events_out) == {"nominal", "tes_+1sd"}
    tables = {name: pd.read_parquet(path) for name, path in outs.items()}
    by_split = [set(tables["nominal"].loc[tables["nominal"]["split"] == c, "event_id"]) for c in SPLITS.values()]
    for i in range(len(by_split)):
        for j in range(i + 1, len(by_split)):
            assert not by_split[i] & by_split[j]
    merged = tables["nominal"].merge(tables["tes_+1sd"], on="event_id")
    assert (merged["split_x"] == merged["split_y"]).all()  # an event keeps its split in every variation


def test_vary_refuses_a_sample_without_events_or_positive_weight(tmp_path, events):
    variations = [Variation("nominal")]
    outs = {"nominal": tmp_path / "nominal.parquet"}
    canonical = tmp_path / "events.parquet"
    ak.to_parquet(ak.with_field(events, -ak.ones_like(events.weight), "weight"), canonical)
    with pytest.raises(ValueError, match=r"events.parquet: field 'weight': total weight .* <= 0"):
        vary_process(canonical, variations, outs, label=1, seed=42, fractions=FRACTIONS, draw_seed=3)
    ak.to_parquet(ak.with_field(events, ak.ones_like(events.tau_pt) * 20, "tau_pt"), canonical)  # all below 26 GeV
    with pytest.raises(ValueError, match="no event passes the thresholds"):
        vary_process(canonical, variations, outs, label=1, seed=42, fractions=FRACTIONS, draw_seed=3)
    assert not outs["nominal"].exists()


def straightforward_variation(events, variation, draws):
    """Reference: vary the objects, select the events, then compute every feature on the selected events only."""
    tes, jes, soft = (variation.value(n) for n in ("tes", "jes", "soft_met"))
    col = {
        c: ak.to_numpy(events[c]).astype(np.float64)
        for c in ("tau_pt", "tau_eta", "tau_phi", "lep_pt", "lep_eta", "lep_phi", "met_pt", "met_phi")
    }
    jet_pt, jet_eta, jet_phi = (ak.values_astype(events[f"jet_{c}"], np.float64) for c in ("pt", "eta", "phi"))
    met_x = col["met_pt"] * np.cos(col["met_phi"]) + (1.0 - tes) * col["tau_pt"] * np.cos(col["tau_phi"])
    met_y = col["met_pt"] * np.sin(col["met_phi"]) + (1.0 - tes) * col["tau_pt"] * np.sin(col["tau_phi"])
    met_x = met_x + (1.0 - jes) * ak.to_numpy(ak.sum(jet_pt * np.cos(jet_phi), axis=1)) + abs(soft) * draws[:, 0]
    met_y = met_y + (1.0 - jes) * ak.to_numpy(ak.sum(jet_pt * np.sin(jet_phi), axis=1)) + abs(soft) * draws[:, 1]
    tau_pt, jet_pt = col["tau_pt"] * tes, jet_pt * jes
    keep = np.flatnonzero((tau_pt > 26.0) & (col["lep_pt"] > 20.0))
    jet_keep = jet_pt[keep] > 26.0
    features = compute_features(
        tau_pt[keep], col["tau_eta"][keep], col["tau_phi"][keep], col["lep_pt"][keep], col["lep_eta"][keep],
        col["lep_phi"][keep], met_x[keep], met_y[keep],
        jet_pt[keep][jet_keep], jet_eta[keep][jet_keep], jet_phi[keep][jet_keep],
    )  # fmt: skip
    ids, weight = ak.to_numpy(events.event_id).astype(np.uint64), ak.to_numpy(events.weight).astype(np.float64)
    return pd.DataFrame({"event_id": ids[keep], "weight": weight[keep], **features})


GRID = [
    Variation("nominal"),
    Variation("tes_-1sd", {"tes": 0.97}),
    Variation("jes_+1sd", {"jes": 1.01}),
    Variation("soft_met_-1sd", {"soft_met": -3.0}),
    Variation("soft_met_+1sd", {"soft_met": 3.0}),  # the same point as -1sd: |soft| is the width
    Variation("mixed", {"tes": 1.03, "jes": 0.99, "soft_met": 2.0}),
    Variation("truth_below", {"tes": 0.97}),  # the same point as tes_-1sd
]


def test_shared_grid_equals_the_per_variation_path(tmp_path, events):
    """vary_process (shared conversions, jets once per JES, copies of repeated points) == the straightforward path."""
    canonical = tmp_path / "events.parquet"
    ak.to_parquet(events, canonical)
    outs = {v.name: tmp_path / f"{v.name}.parquet" for v in GRID}
    result = vary_process(canonical, GRID, outs, label=1, seed=42, fractions=FRACTIONS, draw_seed=3)
    draws = soft_met_draws(len(events), 3)
    for variation in GRID:
        reference = straightforward_variation(events, variation, draws)
        pd.testing.assert_frame_equal(apply_variation(events, variation, draws), reference, check_exact=True)
        expected = finish_sample(reference, 1, 42, FRACTIONS)
        pd.testing.assert_frame_equal(pd.read_parquet(outs[variation.name]), expected, check_exact=True)
        assert result.events_out[variation.name] == len(expected)
    assert outs["soft_met_+1sd"].read_bytes() == outs["soft_met_-1sd"].read_bytes()
    assert outs["truth_below"].read_bytes() == outs["tes_-1sd"].read_bytes()
    assert outs["mixed"].read_bytes() != outs["nominal"].read_bytes()


def test_write_sample_writes_the_bytes_of_pandas_to_parquet(tmp_path, events, draws):
    sample = finish_sample(apply_variation(events, Variation("x", {"tes": 1.03}), draws), 1, 42, FRACTIONS)
    write_sample({name: sample[name].to_numpy() for name in sample.columns}, tmp_path / "direct.parquet")
    sample.to_parquet(tmp_path / "pandas.parquet", index=False, compression="zstd", use_dictionary=False)
    assert (tmp_path / "direct.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    with pytest.raises(ValueError, match=r"wrong.parquet: sample columns"):
        write_sample({"event_id": sample["event_id"].to_numpy()}, tmp_path / "wrong.parquet")


def test_jet_features_of_all_events_then_taken_equal_those_of_the_taken_events(events):
    """The property the shared path rests on: per-event features commute with event selection, bit for bit."""
    jet_pt, jet_eta, jet_phi = (ak.values_astype(events[f"jet_{c}"], np.float64) for c in ("pt", "eta", "phi"))
    lep_eta = ak.to_numpy(events.lep_eta).astype(np.float64)
    index = np.flatnonzero(np.arange(len(events)) % 3 != 1)
    whole, subset = (
        jet_features(jet_pt, jet_eta, jet_phi, lep_eta).take(index),
        jet_features(jet_pt[index], jet_eta[index], jet_phi[index], lep_eta[index]),
    )
    for name in whole.columns:
        np.testing.assert_array_equal(whole.columns[name], subset.columns[name])
    np.testing.assert_array_equal(whole.all_pt, subset.all_pt)
    np.testing.assert_array_equal(whole.pxy, subset.pxy)


def test_compute_features_keeps_its_columns_and_dtypes(events):
    flat = {
        c: ak.to_numpy(events[c]).astype(np.float64)
        for c in ("tau_pt", "tau_eta", "tau_phi", "lep_pt", "lep_eta", "lep_phi", "met_pt", "met_phi")
    }
    met_x, met_y = flat["met_pt"] * np.cos(flat["met_phi"]), flat["met_pt"] * np.sin(flat["met_phi"])
    jets = [ak.values_astype(events[f"jet_{c}"], np.float64) for c in ("pt", "eta", "phi")]
    features = compute_features(flat["tau_pt"], flat["tau_eta"], flat["tau_phi"], flat["lep_pt"], flat["lep_eta"],
                                flat["lep_phi"], met_x, met_y, *jets)  # fmt: skip
    assert list(features) == list(FEATURES)
    assert all(values.dtype == np.float32 and len(values) == len(events) for values in features.values())
    np.testing.assert_allclose(features["DER_pt_ratio_lep_tau"], flat["lep_pt"] / flat["tau_pt"], rtol=1e-6)


def test_np_points_and_jes_groups():
    assert np_point(Variation("a", {"soft_met": -3.0})) == np_point(Variation("b", {"soft_met": 3.0}))
    assert np_point(Variation("a", {"tes": 0.97})) != np_point(Variation("b", {"tes": 1.03}))
    groups = by_jets(GRID)
    assert [key for key, _ in groups] == [(1.0,), (1.01,), (0.99,)]  # keyed by the JES value, the only jet NP
    assert sorted(v.name for _, group in groups for v in group) == sorted(v.name for v in GRID)
    assert [v.name for v in groups[0][1]] == ["nominal", "tes_-1sd", "soft_met_-1sd", "soft_met_+1sd", "truth_below"]
