"""The unbinned method's H->tautau events (systlab.methods.unbinned): every event moved by systlab's own variation
code, the acceptance change included, the rows kept."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.config import ShapeNP
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import (
    PerEventVariation,
    apply_variation,
    features_everywhere,
    share_events,
    soft_met_draws,
    variation_values,
)

TES = ShapeNP("tes", 1.0, 0.10, False, (-1.0, 0.0, 1.0))


@pytest.fixture(scope="module")
def ztautau():
    return simulate_process("ztautau", 40_000, seed=2)


@pytest.mark.parametrize("shift", [-2.0, 0.0, 1.5])
def test_features_everywhere_equal_the_varied_sample_where_the_event_passes(ztautau, shift):
    soft = soft_met_draws(len(ztautau), 7)
    at = variation_values(PerEventVariation("t", {"tes": TES.at(shift)}))
    ends = [variation_values(PerEventVariation("t", {"tes": TES.at(s)})) for s in (-3.0, 0.0, 3.0)]
    shared = share_events(ztautau, soft, ends)
    passes, features = features_everywhere(shared, at)
    table = apply_variation(ztautau, PerEventVariation("t", {"tes": TES.at(shift)}), soft)
    assert passes.sum() == len(table)  # every event that passes at the shift is among the shared ones
    ids = shared.event_id[passes]
    np.testing.assert_array_equal(np.sort(ids), np.sort(table["event_id"].to_numpy()))
    order = np.argsort(table["event_id"].to_numpy())
    for name in ("PRI_tau_pt", "DER_mass_vis", "PRI_met", "DER_mass_MMC"):
        np.testing.assert_allclose(np.asarray(features[name])[passes][np.argsort(ids)],
                                   table[name].to_numpy()[order], rtol=1e-5)  # fmt: skip


def test_per_event_shifts_move_each_event_to_its_own_value(ztautau):
    soft = soft_met_draws(len(ztautau), 7)
    ends = [variation_values(PerEventVariation("t", {"tes": TES.at(s)})) for s in (-3.0, 0.0, 3.0)]
    shared = share_events(ztautau, soft, ends)
    shifts = np.random.default_rng(0).uniform(-3, 3, len(shared.weight))
    _, moved = features_everywhere(shared, variation_values(PerEventVariation("t", {"tes": TES.at(shifts)})))
    _, nominal = features_everywhere(shared, variation_values(PerEventVariation("t", {})))
    ratio = np.asarray(moved["PRI_tau_pt"]) / np.asarray(nominal["PRI_tau_pt"])
    np.testing.assert_allclose(ratio, TES.at(shifts), rtol=1e-5)  # TES scales the tau pT by its own value
