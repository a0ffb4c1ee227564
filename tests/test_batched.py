"""The batch engine of toys: its −2lnL is pyhf's, its intervals are the one-dataset path's, toy by toy.

The batch (all toys in lock step, :mod:`systlab.likelihood.batched`, :mod:`systlab.infer.intervals`) replaced the
per-toy loop in ``run_toys``; the per-toy path (:func:`systlab.infer.fit.profile_interval`) is kept as the fallback
and is the reference here.
"""

from __future__ import annotations

import numpy as np
import pytest

import systlab.infer.fit as fit_module
import systlab.infer.intervals as intervals
from models import default_like_spec
from systlab.infer.crossing import CrossingSearch
from systlab.infer.fit import asimov_counts, profile_interval
from systlab.infer.lockstep import LockStep
from systlab.infer.toy_io import chunk_payload, toy_chunk_from_payload
from systlab.infer.toys import aux_widths, merge_chunks, q_at, run_toys, toy_auxdata, toy_counts
from systlab.likelihood.batched import BatchedLikelihood
from systlab.likelihood.binned import Likelihood

MU_RANGE = (-2.0, 5.0)


@pytest.fixture(scope="module")
def spec() -> dict:
    return default_like_spec()


@pytest.fixture(scope="module")
def toys(spec):
    """200 frequentist toys of the default-like model: Poisson counts and Gaussian auxiliary data."""
    expected = asimov_counts(spec)
    lik = Likelihood(spec, expected, MU_RANGE)
    counts = np.array([toy_counts(expected, 11, i) for i in range(200)])
    aux = np.array([toy_auxdata(lik.auxdata, aux_widths(lik), 11, i) for i in range(200)])
    return lik, counts, aux


def test_batch_twice_nll_is_pyhfs_at_any_point_and_dataset(spec, toys):
    lik, counts, aux = toys
    blik = BatchedLikelihood(lik)
    blik.set_data(counts[:20], aux[:20])
    rng = np.random.default_rng(0)
    x = lik.init + 0.3 * lik.widths * rng.standard_normal((20, lik.npars))
    x = np.clip(x, lik.bounds[:, 0], lik.bounds[:, 1])
    rows = rng.permutation(20)  # any row may be evaluated against any dataset
    expected = []
    for xi, r in zip(x, rows, strict=True):
        lik.set_observed(counts[r], aux[r])
        expected.append(lik.twice_nll(xi))
    np.testing.assert_allclose(blik.twice_nll(x, rows), expected, rtol=1e-12, atol=1e-8)


def test_batch_gradient_and_hessian_match_the_one_dataset_finite_differences(spec, toys):
    lik, counts, aux = toys
    blik = BatchedLikelihood(lik)
    blik.set_data(counts[:3], aux[:3])
    x = np.tile(lik.init, (3, 1)) + 0.2 * lik.widths
    free = ~lik.fixed
    f, grad, _, hess = blik.derivatives(x, np.arange(3), free, own=np.ones(3, dtype=bool))  # ∂²λ at each row
    for i in range(3):
        lik.set_observed(counts[i], aux[i])
        f_ref, g_ref, h_ref = lik.derivatives(x[i], free)
        assert f[i] == pytest.approx(f_ref, rel=1e-10)
        np.testing.assert_allclose(grad[i], g_ref, rtol=1e-4, atol=1e-3 * np.abs(g_ref).max())
        np.testing.assert_allclose(hess[i], h_ref, rtol=1e-3, atol=1e-4 * np.abs(h_ref).max())


def test_batch_and_per_toy_engines_agree_toy_by_toy_on_200_toys(spec, toys):
    """Same μ̂ to 1e-4, interval ends to 1e-3 and q_μ(μ_true) where both converge (issue: ten times faster)."""
    lik, counts, aux = toys
    warm = Likelihood(spec, asimov_counts(spec), MU_RANGE).mle(hesse=False).pars
    blik = BatchedLikelihood(lik)
    blik.set_data(counts, aux)
    batch = intervals.profile_intervals(blik, warm, np.ones(len(counts)))
    assert batch.fallback.sum() <= 4, "the batch should decide nearly every toy of a smooth model"
    compared = 0
    for i in np.flatnonzero(~batch.fallback):
        lik.set_observed(counts[i], aux[i])
        ref = profile_interval(lik, start=warm)
        if not ref.converged:
            continue
        compared += 1
        assert batch.mu_hat[i] == pytest.approx(ref.mu_hat, abs=1e-4), i
        assert batch.lo[i] == pytest.approx(ref.interval_68[0], abs=1e-3), i
        assert batch.hi[i] == pytest.approx(ref.interval_68[1], abs=1e-3), i
        assert (batch.open_lo[i], batch.open_hi[i]) == ref.interval_open
        assert batch.q_mu[i] == pytest.approx(q_at(lik, ref.best, 1.0), abs=1e-3), i
    assert compared >= 190


def test_run_toys_refits_the_toys_the_batch_cannot_decide_and_counts_them(spec, monkeypatch):
    expected = asimov_counts(spec)
    clean = run_toys(spec, expected, 1.0, 0, 12, seed=5, mu_range=MU_RANGE, fluctuate_aux=True)
    assert clean.n_fallback == 0
    real = intervals.profile_intervals

    def undecided(blik, start, mu=None):  # the batch gives up on toys 3 and 7 (and its numbers there are junk)
        found = real(blik, start, mu)
        fallback = found.fallback.copy()
        fallback[[3, 7]] = True
        junk = found.mu_hat.copy()
        junk[[3, 7]] = 99.0
        return found._replace(fallback=fallback, mu_hat=junk)

    monkeypatch.setattr("systlab.infer.toys.profile_intervals", undecided)
    chunk = run_toys(spec, expected, 1.0, 0, 12, seed=5, mu_range=MU_RANGE, fluctuate_aux=True)
    assert chunk.n_fallback == 2
    np.testing.assert_allclose(chunk.mu_hat, clean.mu_hat, atol=1e-4)  # toys 3 and 7 refitted, not the junk
    np.testing.assert_allclose(chunk.lo, clean.lo, atol=1e-3)
    np.testing.assert_allclose(chunk.hi, clean.hi, atol=1e-3)
    assert chunk.converged.all()
    assert merge_chunks([chunk]).n_fallback == 2
    assert toy_chunk_from_payload(chunk_payload(chunk), "x").n_fallback == 2


def test_crossing_search_finds_many_parabola_crossings_at_once():
    """q = ((μ − a)/s)²: crossings at a ± s; an end past the bound is open there; a spent budget is flagged."""
    a = np.array([0.0, 1.0, 2.0, 4.5])
    s = np.array([0.5, 0.2, 1.0, 1.0])
    side = np.array([-1, 1, -1, 1])
    edge = np.where(side < 0, -2.0, 5.0)
    search = CrossingSearch(a, 0.7 * s, side, edge)  # a first step 30 % short of the crossing
    while True:
        index, mu = search.trials()
        if not index.size:
            break
        search.update(index, ((mu - a[index]) / s[index]) ** 2)
    np.testing.assert_allclose(search.mu[:3], (a + side * s)[:3], atol=1e-4)
    assert search.open.tolist() == [False, False, False, True] and search.mu[3] == 5.0
    assert search.converged.all() and (search.n_evals[:3] <= 6).all()
    tight = CrossingSearch(a, 1e-3 * s, side, edge, max_evals=2)
    while True:
        index, mu = tight.trials()
        if not index.size:
            break
        tight.update(index, ((mu - a[index]) / s[index]) ** 2)
    assert not tight.converged[:3].any() and (tight.n_evals[:3] == 2).all()


def test_lockstep_answers_every_round_together_and_passes_errors_on():
    """Each task asks three dependent questions; every round holds one question of every task still running."""
    seen: list[list[tuple[int, int]]] = []

    def evaluate(payloads):
        seen.append(sorted(payloads))
        return [10 * item + step for item, step in payloads]

    step = LockStep(evaluate)

    def task(item):
        total = 0
        for k in range(3 if item != 2 else 1):  # task 2 stops after one question
            total += step.request((item, k))
        return total

    assert step.run(task, [0, 1, 2, 3]) == [3, 33, 20, 93]
    assert seen == [[(0, 0), (1, 0), (2, 0), (3, 0)], [(0, 1), (1, 1), (3, 1)], [(0, 2), (1, 2), (3, 2)]]
    assert step.rounds == 3

    broken = LockStep(lambda payloads: [1 / 0])  # every waiting task gets the batch's error
    with pytest.raises(ZeroDivisionError):
        broken.run(broken.request, [1, 2])


def test_a_toy_whose_conditional_fits_keep_going_below_its_mle_is_failed_not_fatal(spec, monkeypatch):
    """The one-toy path raises LowerMinimum after three refits (e.g. MINUIT walking to negative expected counts in a
    bin with no event, where pyhf's −2lnL has no lower bound); run_toys counts that toy as not converged."""
    expected = asimov_counts(spec)
    real = intervals.profile_intervals

    def undecided(blik, start, mu=None):
        found = real(blik, start, mu)
        return found._replace(fallback=np.isin(np.arange(found.fallback.size), [2]))

    def lower(lik, start=None, notes=None, hesse=False):
        raise fit_module.LowerMinimum(lik.mle(start, hesse=False))

    monkeypatch.setattr("systlab.infer.toys.profile_intervals", undecided)
    monkeypatch.setattr("systlab.infer.toys.profile_interval", lower)
    chunk = run_toys(spec, expected, 1.0, 0, 5, seed=5, mu_range=MU_RANGE, fluctuate_aux=True)
    assert chunk.converged.tolist() == [True, True, False, True, True] and np.isnan(chunk.mu_hat[2])
    assert merge_chunks([chunk]).n_failed == 1


def test_batch_rows_ending_at_a_bound_converge_when_confirmed_and_equal_the_one_dataset_fits():
    """Conditional fits at large μ push the background's γ of the signal bin to its bound: each row, confirmed by
    its restart from inside, converges in the batch (it used to be flagged and refitted one by one by MINUIT) with
    the one-dataset Newton's −2lnL, which equals MINUIT's to its tolerance."""
    from test_fit import staterror_spec

    lik = Likelihood(staterror_spec(), [100.0, 50.0], MU_RANGE)
    blik = BatchedLikelihood(lik)
    counts = np.array([[100.0, 50.0], [95.0, 40.0], [105.0, 60.0]])
    blik.set_data(counts, np.tile(lik.auxdata, (3, 1)))
    fixed = lik.fixed.copy()
    fixed[lik.poi] = True
    mus = np.array([4.0, 4.5, 0.5])  # the first two at γ₂'s bound, the last inside
    start = np.tile(lik.init, (3, 1))
    start[:, lik.poi] = mus
    found = blik.minimise(start, np.arange(3), fixed)
    assert found.converged.all()
    j = lik.model.config.par_slice("stat").start + 1
    assert (found.pars[:2, j] == lik.bounds[j, 0]).all() and found.pars[2, j] > 0.5
    for i in range(3):
        lik.set_observed(counts[i])
        one = lik.minimise(start[i], fixed)
        assert found.twice_nll[i] == pytest.approx(one.twice_nll, abs=1e-6)
        assert found.twice_nll[i] == pytest.approx(lik._migrad(start[i], fixed, 2, False).twice_nll, abs=1e-4)
