"""The ratio-closure study: the paired variance of a difference of histograms of the same events, a chi2 near ndf for
the exact density ratio and far above it for a wrong one, and the payload round trip."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.studies.ratio_closure import (
    Events,
    closure_from_payload,
    closure_payload,
    feature_closure,
    paired_variance,
    process_closure,
    quantile_edges,
)


def test_paired_variance_counts_each_event_once():
    """Brute force: per event, its signed contributions summed per bin, squared, summed over events."""
    rng = np.random.default_rng(1)
    ids_a, ids_b = rng.permutation(40)[:30], rng.permutation(40)[:25]  # events in one, the other or both
    bins_a, bins_b = rng.integers(0, 4, 30), rng.integers(0, 4, 25)
    w_a, w_b = rng.uniform(0.5, 2.0, 30), rng.uniform(0.5, 2.0, 25)
    want = np.zeros(4)
    for event in range(40):
        per_bin = np.zeros(4)
        np.add.at(per_bin, bins_a[ids_a == event], w_a[ids_a == event])
        np.add.at(per_bin, bins_b[ids_b == event], -w_b[ids_b == event])
        want += per_bin**2
    got = paired_variance((ids_a, ids_b), (bins_a, bins_b), (w_a, -w_b), 4)
    np.testing.assert_allclose(got, want)
    same = paired_variance((ids_a, ids_a), (bins_a, bins_a), (w_a, -w_a), 4)
    np.testing.assert_array_equal(same, np.zeros(4))  # an unmoved event cancels in its own bin


def shifted_events(n: int, shift: float, cut: float, seed: int) -> tuple[Events, Events, np.ndarray]:
    """Nominal x ~ N(0, 1) above ``cut``; the same events moved by ``shift`` (those ending above ``cut``); the exact
    ratio p(x | shift) / p(x) = exp(shift x - shift^2 / 2) of every nominal event (the selection cancels: both
    densities are cut at the same x)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    ids = np.arange(n)
    weight = np.full(n, 0.01)
    nominal, moved = x > cut, x + shift > cut
    ratio = np.exp(shift * x[nominal] - shift**2 / 2)
    return (Events(ids[nominal], weight[nominal], {"x": x[nominal]}),
            Events(ids[moved], weight[moved], {"x": x[moved] + shift}), ratio)  # fmt: skip


def test_the_exact_ratio_closes_and_a_wrong_one_does_not():
    nominal, varied, ratio = shifted_events(200_000, 0.3, -1.0, seed=2)
    exact = feature_closure("x", nominal, varied, ratio, bins=20)
    assert exact.ndf == 20
    assert exact.chi2 < exact.ndf + 5 * np.sqrt(2 * exact.ndf)
    assert exact.chi2_nominal > 50 * exact.ndf  # the shift itself is large against the MC error
    half = feature_closure("x", nominal, varied, np.sqrt(ratio), bins=20)  # half the log ratio
    assert half.chi2 > 10 * exact.ndf
    np.testing.assert_allclose(exact.learned.sum(), varied.weight.sum(), rtol=0.01)
    np.testing.assert_allclose(exact.nominal.sum(), nominal.weight.sum())


def test_quantile_edges_merge_for_discrete_values():
    values = np.repeat([0.0, 1.0, 2.0, 3.0], 50)
    edges = quantile_edges(values, np.ones(200), bins=20)
    assert edges[0] == 0.0 and edges[-1] == 3.0 and len(edges) <= 5


def test_payload_round_trip():
    nominal, varied, ratio = shifted_events(5_000, -0.5, 0.0, seed=3)
    closure = process_closure("ztautau", "tes", -1.0, "tes_-1sd", nominal, varied, np.log(ratio), ["x"], bins=5)
    back = closure_from_payload(closure_payload([closure]))
    assert len(back) == 1 and back[0].yields == pytest.approx(closure.yields)
    np.testing.assert_allclose(back[0].features[0].learned, closure.features[0].learned)
    assert back[0].features[0].chi2 == pytest.approx(closure.features[0].chi2)
    with pytest.raises(ValueError, match="not a ratio closure"):
        closure_from_payload({"format": "other"})
