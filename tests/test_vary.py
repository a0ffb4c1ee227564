"""Variations: TES/JES/soft MET act on objects, MET follows, derived features recomputed; splits disjoint."""

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from systlab.events import FEATURES, SENTINEL, SPLITS
from systlab.simulate import simulate_process
from systlab.vary import Variation, apply_variation, finish_sample, soft_met_draws, split_labels, vary_process

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
    np.testing.assert_allclose(up["DER_mass_jet_jet"][two_jets], 1.05 * nom["DER_mass_jet_jet"][two_jets],
                               rtol=1e-5)
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
