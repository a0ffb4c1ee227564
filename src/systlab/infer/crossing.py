"""The two −2ΔlnL = 1 crossings of a profile: a safeguarded secant on √q, for one search or many at once.

√q is nearly linear in μ, so the first trial (μ̂ ± σ) and one or two secant steps usually land within ``Q_TOL``;
every later trial stays inside the bracket [q < 1, q ≥ 1] (bisection otherwise). The search is written in reverse
communication: :class:`CrossingSearch` proposes the μ of every pending search, the caller evaluates q there however
its likelihood does (one conditional fit, a batch of them, an α-profiled grid) and hands the values back. One
implementation serves the binned fits, the batched toys and the parameterised grid.
"""

from __future__ import annotations

import numpy as np

#: A crossing is accepted when |−2ΔlnL − 1| is below this (≈ 1e-4 σ on μ).
Q_TOL = 2e-4
#: Root-finder tolerance on the μ of a 68% interval end.
XTOL = 1e-5
#: Stand-in for −2ΔlnL where the model is undefined, while root finding.
Q_CAP = 1e3
#: Most q evaluations spent on one side of an interval before giving up (flagged).
MAX_CROSSING_FITS = 30


class CrossingSearch:
    """Many crossing searches in lock step: search i looks for q = 1 on ``side[i]`` (−1/+1) of ``mu_hat[i]``.

    ``trials()`` gives (search indices, μ to evaluate); ``update(indices, q)`` takes q there (NaN/inf counts as
    ``Q_CAP``; negative as 0) and returns which of them became the new inner point (q < 1: the caller's warm start).
    When no search is pending: ``mu`` is each crossing, ``open`` whether it is the μ bound (no crossing inside),
    ``converged`` whether it was found within ``max_evals`` evaluations, ``n_evals`` the evaluations spent.
    """

    def __init__(self, mu_hat, sigma, side, edge, q_tol: float = Q_TOL, max_evals: int = MAX_CROSSING_FITS,
                 xtol: float = XTOL) -> None:  # fmt: skip
        mu_hat, sigma, side, edge = np.broadcast_arrays(
            *(np.atleast_1d(np.asarray(a, dtype=float)) for a in (mu_hat, sigma, side, edge))
        )
        self.mu_hat, self.side, self.edge, self.q_tol = mu_hat.copy(), side.copy(), edge.copy(), q_tol
        self.max_evals, self.xtol = int(max_evals), float(xtol)
        n = mu_hat.size
        self.inner, self.inner_root = mu_hat.copy(), np.zeros(n)
        self.outer, self.outer_root = np.full(n, np.nan), np.full(n, np.nan)
        self.mu = mu_hat + side * sigma
        self.open = side * (edge - mu_hat) <= 0  # μ̂ at (or beyond) the bound: that end is open
        self.mu[self.open] = edge[self.open]
        self.done = self.open.copy()
        self.converged = np.ones(n, dtype=bool)
        self.n_evals = np.zeros(n, dtype=int)

    def trials(self) -> tuple[np.ndarray, np.ndarray]:
        """(indices, μ) of the searches still pending; μ clipped to the bound."""
        pending = np.flatnonzero(~self.done)
        beyond = self.side[pending] * (self.mu[pending] - self.edge[pending]) >= 0
        self.mu[pending[beyond]] = self.edge[pending[beyond]]
        return pending, self.mu[pending].copy()

    def update(self, index: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Record q at the trial μ of searches ``index``; returns the mask of those whose trial became inner."""
        index = np.asarray(index, dtype=int)
        q = np.asarray(q, dtype=float)
        q = np.where(np.isfinite(q), np.maximum(q, 0.0), Q_CAP)
        mu = self.mu[index]
        self.n_evals[index] += 1
        hit = np.abs(q - 1.0) < self.q_tol
        root = np.sqrt(q)
        below = (q < 1.0) & ~hit
        at_edge = below & (mu == self.edge[index])
        self.open[index[at_edge]] = True
        inner = below & ~at_edge
        self.inner[index[inner]], self.inner_root[index[inner]] = mu[inner], root[inner]
        outer = ~below & ~hit
        self.outer[index[outer]], self.outer_root[index[outer]] = mu[outer], root[outer]
        finished = hit | at_edge
        # next trial: extrapolate through (μ̂, 0) and the inner point (overshooting slightly) until a point lies
        # beyond the crossing, then the secant between the bracket ends if it falls well inside, else bisection
        i = index[~finished]
        inn, inn_root, out, out_root = self.inner[i], self.inner_root[i], self.outer[i], self.outer_root[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            extrapolated = self.mu_hat[i] + (inn - self.mu_hat[i]) / np.maximum(inn_root, 1e-3) * 1.02
            guess = inn + (1.0 - inn_root) * (out - inn) / (out_root - inn_root)
        lo, hi = np.minimum(inn, out), np.maximum(inn, out)
        inside = (lo + 0.01 * (hi - lo) < guess) & (guess < hi - 0.01 * (hi - lo))
        secant = np.where(inside, guess, 0.5 * (inn + out))
        bracketed = np.isfinite(out)
        self.mu[i] = np.where(bracketed, secant, extrapolated)
        narrow = bracketed & (hi - lo < self.xtol)
        finished[~finished] = narrow
        self.done[index[finished]] = True
        exhausted = ~self.done & (self.n_evals >= self.max_evals)
        self.converged[exhausted] = False
        self.done |= exhausted
        return inner
