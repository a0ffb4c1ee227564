"""CLs upper limits (pyhf, q̃_μ asymptotics) against the analytic asymptotic answer of a one-bin model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from models import one_bin_spec
from systlab.infer.limits import (
    BANDS,
    UpperLimit,
    band_roots,
    cls_expected,
    cls_observed,
    expected_limits,
    upper_limit,
    upper_limit_in_range,
    write_upper_limit,
)

S, B = 10.0, 50.0




def q_asimov(mu: float) -> float:
    """q_μ on the background-only Asimov data n = b."""
    return 2.0 * (mu * S - B * np.log1p(mu * S / B))


def q_tilde(mu: float, n: float) -> float:
    """q̃_μ of the Poisson counting model (μ̂ = (n − b)/s, clipped at 0; 0 above μ̂)."""
    mu_hat = (n - B) / S

    def nll(m: float) -> float:
        return m * S + B - n * np.log(m * S + B)

    return 0.0 if mu_hat > mu else 2.0 * (nll(mu) - nll(max(mu_hat, 0.0)))


def cls(mu: float, n: float) -> float:
    """Asymptotic CLs (Cowan et al. 2011) of q̃_μ, in pyhf's shifted form."""
    q, qa = q_tilde(mu, n), q_asimov(mu)
    t = np.sqrt(q) - np.sqrt(qa) if q <= qa else (q - qa) / (2 * np.sqrt(qa))
    return (1 - norm.cdf(t + np.sqrt(qa))) / (1 - norm.cdf(t))


def expected_band(n_sigma: float) -> float:
    """The μ where CLs of the ±nσ background-only quantile is 0.05: (1−Φ(N+√q_A))/(1−Φ(N)) = 0.05."""
    return brentq(lambda m: (1 - norm.cdf(n_sigma + np.sqrt(q_asimov(m)))) / (1 - norm.cdf(n_sigma)) - 0.05, 1e-6, 10)


@pytest.mark.parametrize("n", [55.0, 44.0])
def test_one_bin_cls_limit_matches_asymptotic_formula(n, tmp_path):
    r = upper_limit(one_bin_spec(S, B, n), [n], cl=0.95, poi_bounds=(0.0, 10.0))
    assert isinstance(r, UpperLimit) and not r.at_bound
    assert r.observed == pytest.approx(brentq(lambda m: cls(m, n) - 0.05, 1e-3, 10), rel=1e-3)
    expected = sorted(expected_band(k) for k in (2, 1, 0, -1, -2))
    assert r.expected == pytest.approx(expected, rel=1e-3)
    # the median alone: √q_A = Φ⁻¹(0.975)
    assert r.expected[2] == pytest.approx(brentq(lambda m: q_asimov(m) - norm.ppf(0.975) ** 2, 1e-3, 10), rel=1e-3)
    write_upper_limit(r, tmp_path / "limit.json")
    payload = json.loads((tmp_path / "limit.json").read_text())
    assert payload["expected"]["0"] == pytest.approx(r.expected[2]) and payload["test_stat"] == "qtilde"


def test_bad_bounds_rejected():
    with pytest.raises(ValueError, match="lower POI bound"):
        upper_limit(one_bin_spec(S, B, 50.0), [50.0], poi_bounds=(-1.0, 5.0))


def test_limit_above_the_bound_is_flagged_and_the_bound_raised():
    """μ ≤ 0.5 cannot hold the limit (≈ 1.6 for s = 10, b = 50): flagged at the bound, then found by doubling."""
    spec, n = one_bin_spec(S, B, 50.0), [50.0]
    capped = upper_limit(spec, n, poi_bounds=(0.0, 0.5))
    assert capped.at_bound and capped.observed == pytest.approx(0.5)
    found = upper_limit_in_range(spec, n, 0.5, max_high=8.0)
    assert not found.at_bound and found.poi_bounds == (0.0, 4.0)  # the +2σ band (≈ 2.2) needs 4
    assert found.expected[2] == pytest.approx(expected_band(0), rel=1e-3)


def test_cls_stays_finite_where_both_tail_probabilities_underflow():
    """Far above a limit q̃_μ and q_A are huge: Φ(−t − √q_A) and Φ(−t) underflow to 0, their ratio must not be 0/0."""
    assert cls_observed(2500.0, 1600.0) == pytest.approx(0.0, abs=1e-300)
    assert np.isfinite(cls_observed(2500.0, 1600.0)) and np.isfinite(cls_expected(5000.0, 40.0))
    assert cls_observed(4.0, 4.0) == pytest.approx(norm.sf(2.0) / 0.5, rel=1e-12)  # t = 0: Φ(−√q_A)/½


def test_band_roots_are_where_each_expected_cls_is_alpha():
    roots = band_roots(0.95)
    assert roots[2] == pytest.approx(norm.ppf(0.975), rel=1e-10)  # median: 2Φ(−√q) = 0.05
    for n, root in zip(BANDS, roots, strict=True):
        assert cls_expected(root * root, n) == pytest.approx(0.05, rel=1e-9)


def test_expected_limits_find_every_band_in_a_few_asimov_fits():
    """q_{μ,A} slightly non-quadratic: every band within 1e-4 of its Brent root, at most 4 evaluations per band."""
    calls = []

    def q_asimov(mu: float) -> float:
        calls.append(mu)
        return (mu / 0.4) ** 2 * (1.0 + 0.05 * mu)

    found = expected_limits(q_asimov, 1.2, 0.95, 10.0)
    assert len(calls) <= 1 + 4 * len(BANDS), calls
    for mu, root in zip(found, band_roots(0.95), strict=True):
        assert mu == pytest.approx(brentq(lambda m, r=root: q_asimov(m) - r * r, 1e-6, 10.0), rel=1e-4)
    assert expected_limits(q_asimov, 1.2, 0.95, 0.3) == [0.3] * len(BANDS)  # no crossing below the bound
