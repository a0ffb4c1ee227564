"""μ̂, the 68% profile interval and q_μ of many datasets of one binned model at once (the toys' engine).

All datasets are fitted together (:class:`systlab.likelihood.batched.BatchedLikelihood`): the MLEs, then both
crossings of every dataset as one :class:`systlab.infer.crossing.CrossingSearch` whose trials are one batch of
conditional fits per round, then q at the true μ. A dataset whose MLE or any conditional fit did not converge, or
whose conditional fit went below its MLE, is flagged ``fallback``: the caller refits it on the one-dataset path
(:func:`systlab.infer.fit.profile_interval`), which retries with MINUIT.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from systlab.infer.crossing import CrossingSearch
from systlab.infer.fit import NLL_SLACK
from systlab.likelihood.batched import BatchedLikelihood


class Intervals(NamedTuple):
    """Per dataset: μ̂, 68% interval ends and open flags, q at the requested μ, fits spent, and ``fallback``
    (True: the batch could not decide this dataset; its numbers are not to be used)."""

    mu_hat: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    open_lo: np.ndarray
    open_hi: np.ndarray
    q_mu: np.ndarray
    n_fits: np.ndarray
    fallback: np.ndarray


def profile_intervals(blik: BatchedLikelihood, start: np.ndarray, mu: np.ndarray | None = None) -> Intervals:
    """Intervals of every dataset set on ``blik``, each fit starting from ``start`` (pars, or one row per dataset);
    ``mu``: where q_μ is wanted (one per dataset; NaN or outside the μ range: not computed)."""
    lik = blik.lik
    poi, (mu_lo, mu_hi) = lik.poi, lik.mu_range
    n = len(blik.counts)
    rows = np.arange(n)
    blik.reference = np.asarray(start if np.ndim(start) == 1 else lik.init, dtype=float).copy()
    best = blik.minimise(np.broadcast_to(start, (n, lik.npars)), rows)
    fallback = ~best.converged
    mu_hat = best.pars[:, poi]
    sigma = best.errors[:, poi]
    sigma = np.where(np.isfinite(sigma) & (sigma > 0), sigma, 0.1 * (mu_hi - mu_lo))
    # both sides of every dataset: search j < n is dataset j's lower crossing, n + j its upper one
    of = np.concatenate([rows, rows])
    side = np.repeat([-1.0, 1.0], n)
    search = CrossingSearch(mu_hat[of], sigma[of], side, np.where(side < 0, mu_lo, mu_hi))
    search.done |= fallback[of]
    warm = best.pars[of].copy()
    # where the NPs go when μ moves, to first order: Cov(θ, μ)/Var(μ) at the MLE; each conditional fit starts there
    with np.errstate(invalid="ignore", divide="ignore"):
        response = best.covariance[:, :, poi] / best.covariance[:, poi, poi][:, None]
    response = np.where(np.isfinite(response), response, 0.0)[of]
    fixed = lik.fixed.copy()
    fixed[poi] = True
    while True:
        index, trial = search.trials()
        if not index.size:
            break
        start_pars = warm[index] + (trial - warm[index, poi])[:, None] * response[index]
        start_pars = np.clip(start_pars, lik.bounds[:, 0], lik.bounds[:, 1])
        start_pars[:, poi] = trial
        fit = blik.minimise(start_pars, of[index], fixed)
        q = fit.twice_nll - best.twice_nll[of[index]]
        bad = ~fit.converged | (q < -10 * NLL_SLACK)  # failed, or below the MLE: the one-dataset path decides
        fallback[of[index[bad]]] = True
        inner = search.update(index[~bad], q[~bad])
        warm[index[~bad][inner]] = fit.pars[~bad][inner]
        search.done[np.isin(of, of[index[bad]])] = True
    fallback |= ~(search.converged[:n] & search.converged[n:])
    q_mu = np.full(n, np.nan)
    if mu is not None:
        mu = np.broadcast_to(np.asarray(mu, dtype=float), (n,))
        want = np.flatnonzero(~fallback & (mu >= mu_lo) & (mu <= mu_hi))
        start_pars = best.pars[want] + (mu[want] - mu_hat[want])[:, None] * response[want]
        start_pars = np.clip(start_pars, lik.bounds[:, 0], lik.bounds[:, 1])
        start_pars[:, poi] = mu[want]
        fit = blik.minimise(start_pars, want, fixed)
        q = fit.twice_nll - best.twice_nll[want]
        q_mu[want] = np.where(fit.converged & np.isfinite(q), np.maximum(q, 0.0), np.nan)
        fallback[want[~fit.converged]] = True
    return Intervals(
        mu_hat=mu_hat, lo=search.mu[:n], hi=search.mu[n:], open_lo=search.open[:n], open_hi=search.open[n:],
        q_mu=q_mu, n_fits=1 + search.n_evals[:n] + search.n_evals[n:] + (mu is not None), fallback=fallback,
    )  # fmt: skip
