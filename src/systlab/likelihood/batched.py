"""Many datasets of one binned likelihood minimised at once: the batch engine of toys and studies.

Every row is one dataset (main counts and auxiliary data) with its own start point and fixed values; one
minimisation is a Newton iteration run on all rows in lock step. The expected counts λ(θ) and the −2lnL come from
:class:`systlab.likelihood.expected.ModelTerms` (pyhf's model in numpy, one call per iteration for every row's
central differences): the HistFactory form 2Σ(λ − n lnλ) + Σ((θ − a)/σ)² with pyhf's constants, checked against
``pyhf.Model.logpdf`` when the likelihood was built. The Hessian is 2JᵀWJ
(W = n/λ², the Poisson curvature in λ) + 2/σ² on the constraints + 2Σ(1 − n/λ)∂²λ, the last term with ∂²λ taken at
a reference point on a lattice in μ (the cost of one row's exact Hessian, shared by hundreds, and independent of
which rows share a batch, so a toy's result does not depend on its chunk); where the Hessian is not positive
definite (away from a minimum) the step is the Gauss–Newton one without that term. Rows that stall or fail are
flagged, never dropped: the caller refits them one by one (:class:`systlab.likelihood.binned.Likelihood`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from systlab.likelihood.binned import BOUND_AGREEMENT, FD_STEP, NEWTON_EDM, NEWTON_EDM_STALLED, Likelihood

#: Most Gauss–Newton iterations of one minimisation.
MAX_ITER = 40
#: Most step halvings of one line search.
MAX_HALVINGS = 30
#: The μ lattice on which ∂²λ is taken (the other parameters at the reference point).
MU_LATTICE = 0.05
#: Iterations after which a row still minimising takes ∂²λ at its own point (far from the lattice's reference).
OWN_CURVATURE_AFTER = 10
#: Finite-difference step of that curvature, in units of each parameter's prior width.
CURVATURE_STEP = 1e-2
#: Most points per evaluation (larger batches are split): bounds the memory of the (points, samples, bins) arrays.
BLOCK = 8192


class BatchMinimum(NamedTuple):
    """Minima of many rows: parameters (rows, pars), −2lnL, convergence, and the covariance 2H⁻¹ (the engine's
    Hessian at the last iterate; zero rows/columns for fixed parameters) with its σ."""

    pars: np.ndarray
    errors: np.ndarray
    twice_nll: np.ndarray
    converged: np.ndarray  # bool
    covariance: np.ndarray  # (rows, pars, pars)


class BatchedLikelihood:
    """−2lnL of many datasets of one pyhf model (the one of ``lik``), minimised together.

    ``set_data(counts, aux)`` stores one dataset per row; every method takes ``rows`` (indices into those
    datasets), so one dataset can be fitted at several fixed values side by side (both crossings of an interval).
    """

    def __init__(self, lik: Likelihood) -> None:
        self.lik = lik
        config = lik.model.config
        self.nmain = config.nmaindata
        self.bounds = lik.bounds
        self.fixed = lik.fixed
        self.widths = lik.widths
        if lik.terms is None:
            raise NotImplementedError("the batch engine needs a model that systlab.likelihood.expected evaluates")
        self.terms = lik.terms
        self.con_par, self.con_width = lik.terms.con_par, lik.terms.con_width
        self._curvatures: dict[tuple[int, bytes], np.ndarray] = {}
        #: where ∂²λ is taken (with each row's μ): the suggested init, or e.g. the fit of the expected counts
        self.reference = np.asarray(lik.init, dtype=float).copy()
        self.counts = np.zeros((0, self.nmain))
        self.aux = np.zeros((0, self.con_par.size))
        self.log_factorials = np.zeros((0, self.nmain))

    def expected(self, x: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """λ(θ) of every row of ``x`` (rows, pars) → (rows, bins), in blocks of :data:`BLOCK` rows; ``branch`` (rows,
        pars): the side of 0 each kinked NP is evaluated on (:meth:`ModelTerms.expected`)."""
        x = np.asarray(x, dtype=float)
        out = np.empty((len(x), self.nmain))
        for a in range(0, len(x), BLOCK):
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                if branch is None:
                    out[a : a + BLOCK] = self.terms.expected(x[a : a + BLOCK])
                else:
                    out[a : a + BLOCK] = self.terms.expected(x[a : a + BLOCK], branch[a : a + BLOCK])
        return out

    def set_data(self, counts: np.ndarray, aux: np.ndarray | None = None) -> None:
        """The datasets of the next fits: main counts (n, bins) and auxiliary data (n, aux; default nominal)."""
        counts = np.atleast_2d(np.asarray(counts, dtype=float))
        if counts.shape[1] != self.nmain:
            raise ValueError(f"counts have {counts.shape[1]} bins, model expects {self.nmain}")
        aux = np.broadcast_to(self.lik.auxdata, (len(counts), self.lik.auxdata.size)) if aux is None else aux
        aux = np.atleast_2d(np.asarray(aux, dtype=float))
        if aux.shape != (len(counts), self.con_par.size):
            raise ValueError(f"auxdata have shape {aux.shape}, model expects ({len(counts)}, {self.con_par.size})")
        self.counts, self.aux = counts, aux.copy()
        self.log_factorials = self.terms.log_factorials(counts)

    def _value(self, lam: np.ndarray, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.terms.value(lam, x, self.counts[rows], self.aux[rows], self.log_factorials[rows])

    def twice_nll(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """−2lnL (pyhf's value) of dataset ``rows[i]`` at ``x[i]``; NaN where the model is undefined."""
        x = np.asarray(x, dtype=float)
        return self._value(self.expected(x), x, np.asarray(rows))

    def derivatives(self, x: np.ndarray, rows: np.ndarray, free: np.ndarray, own: np.ndarray | None = None,
                    branch: np.ndarray | None = None):  # fmt: skip
        """(−2lnL, gradient, Gauss–Newton Hessian, Hessian) of each row in the ``free`` parameters.

        The gradient and the Gauss–Newton part come from one pyhf call of central differences per row; the full
        Hessian adds 2Σ(1 − n/λ)∂²λ with ∂²λ on a lattice in μ (:meth:`lattice_curvature`), or for the ``own``
        rows at their own point (k² more evaluations each). ``branch`` (rows, pars): each row's side of 0 of the
        kinked NPs, whose lines the differences take (:meth:`Likelihood.derivatives`).
        """
        idx = np.flatnonzero(free)
        r, k = len(x), idx.size
        h = FD_STEP * self.widths[idx]
        points = np.repeat(x[:, None, :], 2 * k + 1, axis=1)  # (rows, 2k+1, pars)
        points[:, 1 + np.arange(k), idx] += h
        points[:, 1 + k + np.arange(k), idx] -= h
        sides = None if branch is None else np.repeat(branch, 2 * k + 1, axis=0)
        lam_all = self.expected(points.reshape(-1, x.shape[1]), sides).reshape(r, 2 * k + 1, self.nmain)
        lam = lam_all[:, 0]
        jac = (lam_all[:, 1 : 1 + k] - lam_all[:, 1 + k :]) / (2.0 * h[None, :, None])  # (rows, k, bins)
        f = self._value(lam, x, rows)
        n = self.counts[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            resid = np.where(lam > 0, 1.0 - n / lam, np.nan)  # ∂(−2lnL)/∂λ / 2
            weight = np.where(lam > 0, n / lam**2, np.nan)
        grad = 2.0 * np.einsum("rkb,rb->rk", jac, resid)
        hess = 2.0 * np.einsum("rkb,rb,rlb->rkl", jac, weight, jac)
        # the curvature of λ itself, 2Σ(1 − n/λ)∂²λ, with ∂²λ at the reference point and the row's μ rounded to
        # MU_LATTICE: shared by rows (and cached), and a row's result does not depend on which rows are beside it
        extra = np.empty_like(hess)
        own = np.zeros(r, dtype=bool) if own is None else own
        keys = np.round(x[:, self.lik.poi] / MU_LATTICE).astype(int)
        if branch is None:
            for key in np.unique(keys[~own]):
                group = (keys == key) & ~own
                extra[group] = 2.0 * np.einsum("rb,klb->rkl", resid[group], self.lattice_curvature(int(key), idx))
        else:  # one lattice point per μ and side of the kinks
            patterns, pattern = np.unique(branch, axis=0, return_inverse=True)
            pattern = pattern.reshape(-1)
            for key, p in {(int(a), int(b)) for a, b in zip(keys[~own], pattern[~own], strict=True)}:
                group = (keys == key) & (pattern == p) & ~own
                curvature = self.lattice_curvature(key, idx, patterns[p])
                extra[group] = 2.0 * np.einsum("rb,klb->rkl", resid[group], curvature)
        if own.any():  # rows slow to converge: ∂²λ at their own point
            mine = None if branch is None else branch[own]
            extra[own] = 2.0 * np.einsum("rb,rklb->rkl", resid[own], self.curvature(x[own], idx, mine))
        # Gaussian constraints: 2(θ − a)/σ² and 2/σ² on the diagonal (a parameter may carry several aux data)
        position = np.full(x.shape[1], -1)
        position[idx] = np.arange(k)
        con = position[self.con_par]
        use = con >= 0
        c, w = con[use], self.con_width[use]
        np.add.at(grad, (slice(None), c), 2.0 * (x[:, self.con_par[use]] - self.aux[rows][:, use]) / w**2)
        diag = np.zeros(k)
        np.add.at(diag, c, 2.0 / w**2)
        hess[:, np.arange(k), np.arange(k)] += diag
        return f, grad, hess, hess + extra

    def curvature(self, x: np.ndarray, idx: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """∂²λ/∂θ_k∂θ_l (points, k, l, bins) of the ``idx`` parameters at every row of ``x`` by central differences
        (k² + k + 1 evaluations per point, one batched pyhf call; ``branch``: as :meth:`derivatives`)."""
        k, npts = idx.size, len(x)
        h = CURVATURE_STEP * self.widths[idx]
        i, j = np.triu_indices(k, 1)
        m = i.size
        points = np.repeat(x[:, None, :], 1 + 2 * k + 2 * m, axis=1)
        points[:, 1 + np.arange(k), idx] += h
        points[:, 1 + k + np.arange(k), idx] -= h
        rows = 1 + 2 * k + np.arange(m)
        points[:, rows, idx[i]] += h[i]
        points[:, rows, idx[j]] += h[j]
        points[:, rows + m, idx[i]] -= h[i]
        points[:, rows + m, idx[j]] -= h[j]
        flat = np.clip(points.reshape(-1, x.shape[1]), self.bounds[:, 0], self.bounds[:, 1])
        sides = None if branch is None else np.repeat(branch, points.shape[1], axis=0)
        lam = self.expected(flat, sides).reshape(npts, -1, self.nmain)
        f0, fp, fm = lam[:, :1], lam[:, 1 : 1 + k], lam[:, 1 + k : 1 + 2 * k]
        fpp, fmm = lam[:, 1 + 2 * k : 1 + 2 * k + m], lam[:, 1 + 2 * k + m :]
        out = np.zeros((npts, k, k, self.nmain))
        out[:, np.arange(k), np.arange(k)] = (fp - 2.0 * f0 + fm) / h[:, None] ** 2
        off = (fpp - fp[:, i] - fp[:, j] + 2.0 * f0 - fm[:, i] - fm[:, j] + fmm) / (2.0 * (h[i] * h[j])[:, None])
        out[:, i, j] = off
        out[:, j, i] = off
        return out

    def lattice_curvature(self, key: int, idx: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """∂²λ at the reference point with μ = key·MU_LATTICE (:meth:`curvature`; ``branch``: one row's sides of the
        kinks), cached."""
        cache_key = (key, idx.tobytes()) if branch is None else (key, idx.tobytes(), branch.tobytes())
        if cache_key not in self._curvatures:
            x = self.reference.copy()
            x[self.lik.poi] = key * MU_LATTICE
            self._curvatures[cache_key] = self.curvature(x[None, :], idx, None if branch is None else branch[None])[0]
        return self._curvatures[cache_key]

    def minimise(self, start: np.ndarray, rows: np.ndarray, fixed: np.ndarray | None = None) -> BatchMinimum:
        """Minimise −2lnL of dataset ``rows[i]`` from ``start[i]`` with the ``fixed`` parameters held at their start
        values (default the model's fixed ones); bounds by projection. Rows flagged not converged failed or stalled.

        Each Newton step is tried with the derivatives of the trial point (one pyhf call): accepted, they serve the
        next step; a row whose trial does not lower −2lnL backtracks on values alone and takes fresh derivatives.
        A minimum with parameters held at a bound is confirmed as :meth:`Likelihood.newton` does: the row restarts
        with them at their initial values and converges only if it reaches an interior minimum (the lower of the two
        is kept) or the same bound minimum within :data:`BOUND_AGREEMENT`.
        """
        rows = np.asarray(rows)
        found, held = self._minimise(start, rows, fixed)
        redo = np.flatnonzero(found.converged & held.any(axis=1))
        if not redo.size:
            return found
        inside = np.where(held[redo], self.lik.init, found.pars[redo])  # held parameters are free ones
        again, held_again = self._minimise(inside, rows[redo], fixed)
        agree = np.abs(again.twice_nll - found.twice_nll[redo]) <= BOUND_AGREEMENT
        confirmed = again.converged & (~held_again.any(axis=1) | agree)
        lower = confirmed & (again.twice_nll < found.twice_nll[redo])
        converged = found.converged.copy()
        converged[redo] = confirmed
        take = redo[lower]
        pars, errors, twice_nll, covariance = (a.copy() for a in (found.pars, found.errors, found.twice_nll,
                                                                   found.covariance))  # fmt: skip
        for mine, theirs in ((pars, again.pars), (errors, again.errors), (twice_nll, again.twice_nll),
                             (covariance, again.covariance)):  # fmt: skip
            mine[take] = theirs[lower]
        return BatchMinimum(pars, errors, twice_nll, converged, covariance)

    def _minimise(self, start: np.ndarray, rows: np.ndarray,
                  fixed: np.ndarray | None) -> tuple[BatchMinimum, np.ndarray]:  # fmt: skip
        """:meth:`minimise` without the confirmation: (minima, the parameters held at a bound at each row's end)."""
        fixed = self.fixed if fixed is None else np.asarray(fixed, dtype=bool)
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        x = np.clip(np.array(start, dtype=float), lo, hi)
        n, npars = x.shape
        free = ~fixed
        idx = np.flatnonzero(free)
        k = idx.size
        f = np.full(n, np.nan)
        grad, gn, hess = np.zeros((n, k)), np.zeros((n, k, k)), np.zeros((n, k, k))
        covariance = np.zeros((n, npars, npars))
        converged = np.zeros(n, dtype=bool)
        held = np.zeros((n, npars), dtype=bool)
        iterations = np.zeros(n, dtype=int)
        kinks = self.lik.kinks & free
        # code-0 kinks as in Likelihood._newton: each row works on one side of 0 of every kinked NP (its branch), with
        # 0 as that side's bound, and moves to the other side at 0 where that one descends
        branch = np.where(kinks, np.where(x < 0.0, -1, 1), 0) if kinks.any() else None

        def derive(at: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, ...]:
            return self.derivatives(at, rows[which], free, iterations[which] >= OWN_CURVATURE_AFTER,
                                    None if branch is None else branch[which])  # fmt: skip

        todo = np.arange(n)
        f[todo], grad[todo], gn[todo], hess[todo] = derive(x, todo)
        for _ in range(MAX_ITER):
            if not todo.size:
                break
            if branch is not None:
                flip = self._descends_across(x[todo], rows[todo], branch[todo], grad[todo], kinks, idx)
                if flip.any():  # fresh derivatives on the new side
                    turn = todo[flip.any(axis=1)]
                    branch[turn] = np.where(flip[flip.any(axis=1)], -branch[turn], branch[turn])
                    f[turn], grad[turn], gn[turn], hess[turn] = derive(x[turn], turn)
                lo = np.where(branch[todo] > 0, np.maximum(self.bounds[:, 0], 0.0), self.bounds[:, 0])
                hi = np.where(branch[todo] < 0, np.minimum(self.bounds[:, 1], 0.0), self.bounds[:, 1])
            xt, g = x[todo], grad[todo]
            ok = np.isfinite(f[todo]) & np.isfinite(g).all(axis=1) & np.isfinite(hess[todo]).all(axis=(1, 2))
            # parameters at a bound whose gradient pushes outwards stay put: they leave the step
            lo_t, hi_t = lo[..., idx], hi[..., idx]
            active = ~(((xt[:, idx] <= lo_t + 1e-12) & (g > 0)) | ((xt[:, idx] >= hi_t - 1e-12) & (g < 0)))
            g_a = np.where(active, g, 0.0)
            both = active[:, :, None] & active[:, None, :]
            eye = np.where(active, 0.0, 1.0)[:, :, None] * np.eye(k)
            h_a = np.where(both, np.nan_to_num(hess[todo]), 0.0) + eye
            step, edm, pd = _solve(h_a, g_a)
            if not pd.all():  # not positive definite (away from a minimum): the Gauss–Newton step, which always is
                h_a[~pd] = np.where(both[~pd], np.nan_to_num(gn[todo][~pd]), 0.0) + eye[~pd]
                step[~pd], edm[~pd], ok_gn = _solve(h_a[~pd], g_a[~pd])
                ok[~pd] &= ok_gn
            covariance[np.ix_(todo, idx, idx)] = np.where(both, 2.0 * _inverse(h_a), 0.0)
            iterations[todo] += 1
            full = np.zeros_like(xt)
            full[:, idx] = step
            slope = np.einsum("rk,rk->r", g_a, step)
            f0 = f[todo]
            near = ok & (edm < NEWTON_EDM_STALLED)  # next to the minimum: halving finds only rounding noise
            final = ok & (edm < NEWTON_EDM)  # converged: the last step is taken if it does not raise −2lnL
            trial = np.clip(xt + full, lo, hi)  # lo, hi: (pars) or, with kinks, (todo, pars)
            # the full step: converged rows need its value only, the others its derivatives too
            value = np.full(todo.size, np.nan)
            if final.any():
                value[final] = self.twice_nll(trial[final], rows[todo[final]])
            going = np.flatnonzero(ok & ~final)
            fresh = derive(trial[going], todo[going]) if going.size else None
            if fresh is not None:
                value[going] = fresh[0]
            slack = np.where(final, 0.0, 1e-4 * slope) + 1e-12
            accepted = ok & np.isfinite(value) & (value <= f0 + slack)
            x[todo[accepted]] = trial[accepted]
            f[todo[accepted]] = value[accepted]
            if fresh is not None:  # accepted full steps keep the derivatives taken at their point
                use = accepted[going]
                grad[todo[going[use]]], gn[todo[going[use]]], hess[todo[going[use]]] = (a[use] for a in fresh[1:])
            # a row whose full step raised −2lnL backtracks on values alone (converged rows stay where they are)
            t = np.ones(todo.size)
            back = ok & ~accepted & ~final
            for halving in range(MAX_HALVINGS):
                search = np.flatnonzero(back)
                if not search.size:
                    break
                t[search] *= 0.5
                cand = np.clip(xt[search] + t[search, None] * full[search], *(lo, hi) if branch is None else
                               (lo[search], hi[search]))  # fmt: skip
                val = self.twice_nll(cand, rows[todo[search]])
                good = np.isfinite(val) & (val <= f0[search] + 1e-4 * t[search] * slope[search] + 1e-12)
                x[todo[search[good]]] = cand[good]
                f[todo[search[good]]] = val[good]
                accepted[search[good]] = True
                back[search[good]] = False
                back[search[~good & near[search] & (halving >= 2)]] = False  # stalled at rounding level
            refresh = np.flatnonzero(accepted & (t < 1.0))  # backtracked rows need derivatives at their point
            if refresh.size:
                f[todo[refresh]], grad[todo[refresh]], gn[todo[refresh]], hess[todo[refresh]] = derive(
                    x[todo[refresh]], todo[refresh]
                )
            stop = final | (near & ~accepted) | (near & (t < 1.0))  # converged, or stalled next to the minimum
            failed = ~ok | (~accepted & ~near)
            done = stop & ~failed
            converged[todo[done]] = True
            # a minimum with a parameter held at its bound may be Newton's projection stranding it there (a staterror
            # γ clipped to ~0 far from μ̂: −2ΔlnL 250 instead of 94): :meth:`minimise` confirms it
            held[np.ix_(todo[done], idx)] = ~active[done]
            if branch is not None:  # a kinked NP held at 0 is a minimum on both sides of it, not stranded there
                real = (x[todo[done]] <= self.bounds[:, 0] + 1e-12) | (x[todo[done]] >= self.bounds[:, 1] - 1e-12)
                held[todo[done]] &= real
            todo = todo[~(stop | failed)]
        errors = np.sqrt(np.clip(np.einsum("rkk->rk", covariance), 0.0, None))
        return BatchMinimum(x, errors, f, converged, covariance), held

    def _descends_across(self, x: np.ndarray, rows: np.ndarray, branch: np.ndarray, grad: np.ndarray,
                         kinks: np.ndarray, idx: np.ndarray) -> np.ndarray:  # fmt: skip
        """(rows, pars) the kinked NPs at 0 whose own side rises (``grad`` in the ``idx`` parameters) and whose other
        side descends: their slope there, a central difference on that side's line, has the sign of the branch."""
        g = np.zeros_like(x)
        g[:, idx] = grad
        rising = kinks & (x == 0.0) & (branch * g > 0)
        out = np.zeros_like(rising)
        r, j = np.nonzero(rising)
        if not r.size:
            return out
        h = FD_STEP * self.widths[j]
        points = np.concatenate([x[r], x[r]])
        points[np.arange(r.size), j] += h
        points[r.size + np.arange(r.size), j] -= h
        other = branch[r].copy()
        other[np.arange(r.size), j] *= -1  # the other kinked NPs at 0 do not move in these points
        lam = self.expected(points, np.concatenate([other, other]))
        value = self._value(lam, points, np.concatenate([rows[r], rows[r]]))
        slope = (value[: r.size] - value[r.size :]) / (2.0 * h)
        out[r, j] = slope * branch[r, j] > 0
        return out


def _inverse(h: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        try:
            return np.linalg.inv(h)
        except np.linalg.LinAlgError:
            return np.linalg.pinv(h)


def _solve(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Newton steps −H⁻¹g of every row, ½gᵀH⁻¹g, and whether H was positive definite (Cholesky)."""
    ok = np.ones(len(h), dtype=bool)
    try:
        chol = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:  # some row is not positive definite: decide row by row
        chol = np.zeros_like(h)
        for i in range(len(h)):
            try:
                chol[i] = np.linalg.cholesky(h[i])
            except np.linalg.LinAlgError:
                ok[i] = False
                chol[i] = np.eye(h.shape[1])
    y = np.linalg.solve(chol, g[..., None])[..., 0]
    step = -np.linalg.solve(np.swapaxes(chol, 1, 2), y[..., None])[..., 0]
    edm = 0.5 * np.sum(y**2, axis=1)
    return np.where(ok[:, None], step, 0.0), np.where(ok, edm, np.inf), ok
