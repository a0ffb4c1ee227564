"""systlab's coverage, mean width and FAIR score against the organisers' ``HiggsML.score.Scoring.Quantiles_Score``.

systlab runs its own :func:`systlab.infer.toys.fair_score` (no optional dependency in any job); this file proves it
equal to the challenge's scoring code on the same (μ, p16, p84) arrays, to the bit and at least to 1e-12, edge cases
included. Skipped only where the ``fair`` extra (``pip install -e ".[fair]"``, README's install command) is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from systlab.infer.toys import ToyChunk, coverage_penalty, fair_score, merge_chunks

score_module = pytest.importorskip(
    "HiggsML.score", reason="the organisers' HiggsML package (extra 'fair': pip install -e '.[dev,fair]') is missing"
)

TOLERANCE = 1e-12


def organisers(mu: np.ndarray, p16: np.ndarray, p84: np.ndarray) -> tuple[float, float, float]:
    """(mean width, coverage, score) from the challenge's own function, as its ``compute_scores`` calls it."""
    interval, coverage, score = score_module.Scoring().Quantiles_Score(
        np.asarray(mu, float), np.asarray(p16, float), np.asarray(p84, float)
    )
    return float(interval), float(coverage), float(score)


def assert_same(mu, p16, p84) -> float:
    """systlab's (width, coverage, score) equal the organisers' to the bit; returns the largest |difference|."""
    ours, theirs = fair_score(mu, p16, p84), organisers(mu, p16, p84)
    diff = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    assert diff <= TOLERANCE, (ours, theirs)
    assert ours == theirs, (ours, theirs)  # to the bit: systlab writes σ68 as the challenge's code does
    return diff


def random_intervals(rng: np.random.Generator, n: int, mu_fixed: bool) -> tuple[np.ndarray, ...]:
    """n intervals around μ (fixed at 1 like systlab's toys, or U(0.1, 3) like the challenge's sets), ends rounded
    to 0.1 so that many touch μ exactly and some have zero width or p16 > p84."""
    mu = np.ones(n) if mu_fixed else rng.uniform(0.1, 3.0, n)
    centre = mu + rng.normal(0.0, 0.5, n)
    width = rng.uniform(0.0, 1.5, n)
    return mu, np.round(centre - width / 2, 1), np.round(centre + width / 2, 1)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 13, 30, 100, 500, 1000, 10_000])
def test_random_intervals_score_as_the_organisers_code(n):
    """Many toy counts (30 and 500 are tiny's and the default's toys.n; 6, 13, 30, 100 are N where √(p(1−p)/N)
    and the challenge's √((1−p)pN)/N differ in the last bit) and coverages on both sides of the band."""
    rng = np.random.default_rng(n)
    worst = max(assert_same(*random_intervals(rng, n, mu_fixed=k % 2 == 0)) for k in range(40))
    assert worst == 0.0


def test_edge_cases_score_as_the_organisers_code():
    mu = np.ones(4)
    # interval ends exactly at μ (closed interval: covered), zero width at μ and away from it
    assert_same(mu, np.array([1.0, 0.5, 1.0, 1.2]), np.array([1.5, 1.0, 1.0, 1.2]))
    # every interval of zero width: width 0, score −ln(ε·f)
    width, coverage, score = fair_score(mu, mu, mu)
    assert (width, coverage) == (0.0, 1.0)
    assert_same(mu, mu, mu)
    assert_same(mu, mu + 1.0, mu + 1.0)
    # reversed ends (p16 > p84): both take |p84 − p16| as the width and cover nothing
    assert_same(mu, mu + 0.3, mu - 0.3)
    # coverage exactly on the band edge 0.6827 ± 2σ68 and inside: penalty 1
    n = 10_000
    sigma68 = np.sqrt((1 - 0.6827) * 0.6827 * n) / n
    for covered in (6827, int(np.ceil((0.6827 - 2 * sigma68) * n)), int(np.floor((0.6827 + 2 * sigma68) * n))):
        lo = np.where(np.arange(n) < covered, 0.5, 1.5)
        assert_same(np.ones(n), lo, lo + 1.0)
        assert coverage_penalty(covered / n, n) == 1.0
    # a single toy, covered or not
    assert_same(np.ones(1), np.array([0.0]), np.array([2.0]))
    assert_same(np.ones(1), np.array([1.5]), np.array([2.0]))


def test_merged_toys_report_the_organisers_numbers():
    """What results/toys/<model>/<replica>.json records (coverage, mean_width, score of the converged toys) is the
    organisers' function of the same arrays; unconverged toys are left out before either sees them."""
    rng = np.random.default_rng(7)
    n = 200
    mu, lo, hi = random_intervals(rng, n, mu_fixed=True)
    converged = rng.uniform(size=n) > 0.1
    false = np.zeros(n, bool)
    chunks = [ToyChunk(a, b, 3, mu[a:b], (lo[a:b] + hi[a:b]) / 2, lo[a:b], hi[a:b], converged[a:b], false[a:b],
                       false[a:b], np.ones(b - a, int), 1.0) for a, b in ((0, 120), (120, n))]  # fmt: skip
    result = merge_chunks(chunks)
    width, coverage, score = organisers(mu[converged], lo[converged], hi[converged])
    assert (result.mean_width, result.coverage, result.score) == (width, coverage, score)
