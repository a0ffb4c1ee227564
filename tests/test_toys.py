"""Toys: coverage of the 68% interval, FAIR Universe score, chunking reproducibility, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systlab.infer.toy_io import read_toy_chunk, write_coverage, write_toy_chunk
from systlab.infer.toys import ToyChunk, concatenate, coverage_penalty, fair_score, merge_chunks, run_toys

SIG, BKG = np.array([30.0, 60.0]), np.array([400.0, 150.0])


def two_bin_spec(sigma: float = 0.05, sig: np.ndarray = SIG) -> dict:
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": sig.tolist(), "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "bkg", "data": BKG.tolist(), "modifiers": [
                {"name": "bnorm", "type": "normsys", "data": {"hi": 1 + sigma, "lo": 1 - sigma}}]},
        ]}],
        "observations": [{"name": "c", "data": (SIG + BKG).tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_coverage_of_two_bin_model_is_68_percent_within_3_sigma68():
    """Frequentist toys (Poisson counts + Gaussian auxiliary datum): the issue-9 reliability check."""
    chunk = run_toys(two_bin_spec(), SIG + BKG, 1.0, 0, 400, seed=2024, mu_range=(-3.0, 5.0), fluctuate_aux=True)
    result = merge_chunks([chunk])
    assert result.n_failed == 0 and result.n_open == 0
    assert abs(result.coverage - 0.6827) < 3 * result.sigma68, result
    assert abs(result.bias) < 3 * result.mu_hat_std / np.sqrt(result.n_used)
    assert result.mean_width == pytest.approx(2 * result.mu_hat_std, rel=0.15)


def test_fair_toys_without_np_fluctuation_over_cover():
    """Fixed truth and nominal auxiliary data: the NP part of the interval is not sampled -> over-coverage.

    Signal ∝ background, so the data cannot constrain the 10% normalisation: it doubles the interval.
    """
    sig = 0.1 * BKG
    chunk = run_toys(two_bin_spec(sigma=0.1, sig=sig), sig + BKG, 1.0, 0, 60, seed=1, mu_range=(-5.0, 7.0))
    result = merge_chunks([chunk])
    assert result.coverage > 0.9 and result.mean_width > 3 * result.mu_hat_std


def test_chunks_concatenate_to_the_single_job(tmp_path):
    spec, expected = two_bin_spec(), SIG + BKG
    whole = run_toys(spec, expected, 1.0, 0, 12, seed=9, mu_range=(-3.0, 5.0))
    parts = [run_toys(spec, expected, 1.0, a, b, seed=9, mu_range=(-3.0, 5.0)) for a, b in ((5, 12), (0, 5))]
    joined = concatenate(parts)
    for field in ("mu_true", "mu_hat", "lo", "hi", "converged", "n_fits"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field))
    with pytest.raises(ValueError, match="contiguous"):
        concatenate([parts[0], run_toys(spec, expected, 1.0, 0, 4, seed=9, mu_range=(-3.0, 5.0))])
    write_toy_chunk(parts[1], tmp_path / "c.json")
    back = read_toy_chunk(tmp_path / "c.json")
    assert isinstance(back, ToyChunk)
    np.testing.assert_array_equal(back.hi, parts[1].hi)
    write_coverage(merge_chunks([back]), tmp_path / "cov.json")


def test_per_toy_expectations_and_truths():
    rows = np.array([SIG * m + BKG for m in (0.5, 1.0, 1.5, 2.0)])
    chunk = run_toys(two_bin_spec(), rows, np.array([0.5, 1.0, 1.5, 2.0]), 0, 4, seed=3, mu_range=(-3.0, 5.0))
    np.testing.assert_array_equal(chunk.mu_true, [0.5, 1.0, 1.5, 2.0])
    assert np.corrcoef(chunk.mu_true, chunk.mu_hat)[0, 1] > 0.8


def test_fair_score_hand_computed_cases():
    n = 100
    s68 = np.sqrt(0.6827 * 0.3173 / n)  # 0.046539...
    assert coverage_penalty(0.6827, n) == 1.0
    assert coverage_penalty(0.6827 + 2 * s68 - 1e-9, n) == 1.0
    # 0.50 is (0.6827 − 2σ68 − 0.5)/σ68 = 1.9257 σ68 below the band: 1 + 1.9257⁴
    low = (0.6827 - 2 * s68 - 0.50) / s68
    assert coverage_penalty(0.50, n) == pytest.approx(1 + low**4)
    assert coverage_penalty(0.50, n) == pytest.approx(14.744, rel=1e-4)
    high = (0.95 - 0.6827 - 2 * s68) / s68
    assert coverage_penalty(0.95, n) == pytest.approx(1 + high**3)
    assert coverage_penalty(0.95, n) == pytest.approx(53.45, rel=1e-3)
    # 100 intervals of width 0.2 around μ = 1, 70 of them covering
    mu = np.ones(n)
    lo = np.where(np.arange(n) < 70, 0.9, 1.05)
    width, coverage, score = fair_score(mu, lo, lo + 0.2)
    assert (width, coverage) == (pytest.approx(0.2), 0.70)
    assert score == pytest.approx(-np.log(0.201))
    _, coverage, score = fair_score(mu, np.where(np.arange(n) < 50, 0.9, 1.05), np.where(np.arange(n) < 50, 1.1, 1.25))
    assert coverage == 0.5 and score == pytest.approx(-np.log(0.201 * (1 + low**4)))
    # closed interval: μ on an end counts as covered
    assert fair_score(np.array([1.0]), np.array([1.0]), np.array([2.0]))[1] == 1.0


def one_bin_spec(s: float, b: float) -> dict:
    """One bin, μ on the signal; a 1e-6 normsys keeps the fits non-empty (no effect on the likelihood)."""
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": [s], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "bkg", "data": [b], "modifiers": [
                {"name": "bnorm", "type": "normsys", "data": {"hi": 1 + 1e-6, "lo": 1 - 1e-6}}]},
        ]}],
        "observations": [{"name": "c", "data": [s + b]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_q_mu_of_each_toy_equals_the_poisson_profile_value_at_mu_true(tmp_path):
    """One bin: −2ΔlnL(μ_true) = 2[ν(μ) − n ln ν(μ)] − 2[ν(μ̂) − n ln ν(μ̂)], μ̂ = (n − b)/s inside the range."""
    s, b, mu_range = 20.0, 100.0, (-3.0, 5.0)
    chunk = run_toys(one_bin_spec(s, b), [s + b], 1.0, 0, 25, seed=3, mu_range=mu_range)
    n = np.array([np.random.default_rng([3, i]).poisson(s + b) for i in range(25)], dtype=float)
    mu_hat = np.clip((n - b) / s, *mu_range)

    def twice_nll(mu: np.ndarray) -> np.ndarray:
        return 2 * ((mu * s + b) - n * np.log(mu * s + b))

    assert chunk.q_mu_true is not None and chunk.q_mu_true.shape == (25,)
    np.testing.assert_allclose(chunk.q_mu_true, twice_nll(np.ones(25)) - twice_nll(mu_hat), atol=2e-4)
    assert np.any(chunk.q_mu_true > 1.0) and np.all(chunk.q_mu_true >= 0.0)
    # the JSON round trip and the merge keep it: one value per converged toy in the coverage file
    write_toy_chunk(chunk, tmp_path / "chunk.json")
    np.testing.assert_array_equal(read_toy_chunk(tmp_path / "chunk.json").q_mu_true, chunk.q_mu_true)
    coverage = merge_chunks([chunk])
    write_coverage(coverage, tmp_path / "coverage.json")
    payload = json.loads((tmp_path / "coverage.json").read_text())
    assert payload["q_mu_true"] == pytest.approx(chunk.q_mu_true[chunk.converged].tolist())
    # toys inside vs outside the 68% interval: q < 1 exactly when μ_true is covered
    covered = (chunk.lo <= 1.0) & (1.0 <= chunk.hi)
    np.testing.assert_array_equal(covered, chunk.q_mu_true < 1.0)


def test_chunks_without_q_mu_still_merge():
    """A chunk built without q_mu_true (older writer, other engines) merges; its toys count as not computed."""
    chunk = run_toys(one_bin_spec(20.0, 100.0), [120.0], 1.0, 0, 4, seed=1, mu_range=(-3.0, 5.0))
    old = chunk._replace(start=4, stop=8, q_mu_true=None)
    merged = concatenate([chunk, old])
    assert merged.q_mu_true.shape == (8,) and np.isnan(merged.q_mu_true[4:]).all()
    assert concatenate([old]).q_mu_true is None and merge_chunks([old]).q_mu_true is None


def test_chunk_bounds_cover_every_toy_once():
    from systlab.infer.toys import chunk_bounds

    assert chunk_bounds(10, 1) == [(0, 10)]
    bounds = chunk_bounds(100, 7)
    assert bounds[0][0] == 0 and bounds[-1][1] == 100
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False)) and all(b > a for a, b in bounds)
    with pytest.raises(ValueError, match="field 'chunks'"):
        chunk_bounds(3, 4)
