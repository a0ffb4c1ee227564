"""The binned likelihood of a fixed classifier: −2lnL of one pyhf model (numpy backend) and its minimiser.

One model serves many datasets (toys, impacts, grid profiles): the data are set, not rebuilt. Minimisation is a
damped Newton iteration whose gradient and Hessian come from one batched pyhf call, with MINUIT as the fallback
(benchmarks/README.md measures why: the HistFactory likelihoods here are badly conditioned).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import iminuit
import numpy as np
import pyhf

from systlab.likelihood.expected import ModelTerms
from systlab.likelihood.workspace import workspace_model

#: MINUIT tolerance (EDM goal 0.002·tol): tight enough for μ̂ to 1e-4 σ on smooth profiles.
TOLERANCE = 0.01


class Minimum(NamedTuple):
    """One minimisation: all parameters, their HESSE errors, −2lnL and MINUIT's validity."""

    pars: np.ndarray
    errors: np.ndarray
    twice_nll: float
    converged: bool


def use_minuit() -> None:
    """Select pyhf's numpy backend and MINUIT optimiser (pyhf keeps this as global state)."""
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TOLERANCE))


@contextmanager
def quiet_pyhf_failures() -> Iterator[None]:
    """Silence pyhf's error log of a failed minimisation: failures are retried and recorded in the notes."""
    logger = logging.getLogger("pyhf.optimize.mixins")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)



# --------------------------------------------------------------------------------------------------
# Fast engine: one pyhf model reused for many fits (toys, impacts, grid profiles). Each minimisation is
# a damped Newton iteration on −2lnL whose gradient and Hessian come from finite differences evaluated
# in ONE batched pyhf call (k² + k + 1 points for k floating parameters); MINUIT (strategy 1, then 2)
# is the fallback. Newton matters here: the HistFactory likelihoods of this project are badly
# conditioned (lumi, normalisations and per-bin staterror nearly degenerate under ~1e5 counts per bin)
# and MIGRAD at strategy 0 stops with a "valid" minimum up to ~1 unit of −2lnL too high.
# The 68% crossings are found by a safeguarded secant on sqrt(−2ΔlnL) instead of a full scan.
# --------------------------------------------------------------------------------------------------

#: Finite-difference step in units of each parameter's prior width (1 for unconstrained parameters).
FD_STEP = 1e-3
#: Newton stops when the estimated distance to the minimum ½ gᵀH⁻¹g (in −2lnL) is below this.
NEWTON_EDM = 1e-8
#: Where the line search can no longer lower −2lnL (the decrease per step is at its rounding level) or the
#: iterations run out, an EDM below this is a minimum all the same (MINUIT's goal is 2e-5 at TOLERANCE).
#: Without it, 12 of 41 toy MLEs on the tiny workspace stalled at EDM 1e-8 … 5e-8 and went to MIGRAD.
NEWTON_EDM_STALLED = 1e-6
NEWTON_MAX_ITER = 50
#: A bound minimum is confirmed by a restart that lands within this much −2lnL of it (MINUIT's EDM goal is 2e-5).
BOUND_AGREEMENT = 1e-4


class Likelihood:
    """−2lnL of one pyhf model, with the data settable so the same model serves many datasets.

    ``twice_nll`` is pyhf's ``-2 * model.logpdf`` (numpy backend), evaluated by :class:`ModelTerms` where the model
    has only the modifiers it knows (checked against pyhf once, when the likelihood is built). ``minimise`` runs a
    damped Newton iteration with a batched finite-difference Hessian (bounds by projection; the covariance is 2H⁻¹)
    and falls back to MINUIT (strategy 1, 2; suggested init) when Newton fails.
    """

    def __init__(self, workspace_spec: dict, observed_counts: Sequence[float] | None = None,
                 mu_range: tuple[float, float] | None = None, histosys_code: str = "code4p") -> None:  # fmt: skip
        pyhf.set_backend("numpy")
        self.spec, self.histosys_code = workspace_spec, histosys_code
        self.model = workspace_model(workspace_spec, histosys_code=histosys_code)
        n = self.model.config.npars
        self.batch: pyhf.pdf.Model | None = None  # pyhf's batch models, only where ModelTerms cannot evaluate
        self.batch_grad: pyhf.pdf.Model | None = None
        try:
            self.terms: ModelTerms | None = ModelTerms(self.model)
        except NotImplementedError:  # a modifier ModelTerms does not evaluate
            self.terms = None
            self.batch = workspace_model(workspace_spec, histosys_code=histosys_code, batch_size=n * n + n + 1)
            self.batch_grad = workspace_model(workspace_spec, histosys_code=histosys_code, batch_size=2 * n + 1)
        self.poi = self.model.config.poi_index
        self.npars = n
        #: code-0 histosys NPs with a kink at 0, which Newton treats as a constraint (:meth:`_newton`); none without
        #: ModelTerms (pyhf cannot evaluate one side's line beyond 0, so those fits keep the MINUIT fallback)
        self.kinks = self.terms.kinks() if self.terms is not None else np.zeros(n, dtype=bool)
        self.bounds = np.array([tuple(map(float, b)) for b in self.model.config.suggested_bounds()])
        if mu_range is not None:
            lo, hi = map(float, mu_range)
            if not lo < hi:
                raise ValueError(f"mu_range {mu_range} is empty")
            self.bounds[self.poi] = (lo, hi)
        self.init = np.asarray(self.model.config.suggested_init(), dtype=float)
        self.init[self.poi] = min(max(self.init[self.poi], self.bounds[self.poi, 0]), self.bounds[self.poi, 1])
        self.fixed = np.asarray(self.model.config.suggested_fixed(), dtype=bool)
        self.auxdata = np.asarray(self.model.config.auxdata, dtype=float)
        self.widths = np.ones(n)
        for name in self.model.config.par_order:
            pset = self.model.config.param_set(name)
            if pset.constrained:
                self.widths[self.model.config.par_slice(name)] = np.asarray(pset.width(), dtype=float)
        self.data = np.concatenate([np.zeros(self.model.config.nmaindata), self.auxdata])
        if self.terms is not None:  # on the model's own expectation: the data only enter through n ln λ
            self.terms.check(self.model, self.init, np.asarray(self.model.expected_data(self.init), dtype=float))
        if observed_counts is not None:
            self.set_observed(observed_counts)

    def pinned(self, name: str, value: float) -> Likelihood:
        """A view of this likelihood with the scalar parameter ``name`` fixed at ``value`` in every fit.

        The pyhf models are shared (building them is the expensive part); data, start and fixed flags are
        the view's own. ValueError naming the parameter if it is not scalar or ``value`` is out of bounds.
        """
        sl = self.model.config.par_slice(name)  # KeyError names the parameter
        if sl.stop - sl.start != 1:
            raise ValueError(f"{name!r} has {sl.stop - sl.start} parameters; only a scalar can be pinned")
        j = sl.start
        if not self.bounds[j, 0] <= value <= self.bounds[j, 1]:
            raise ValueError(f"{name!r} = {value} is outside its bounds {self.bounds[j].tolist()}")
        view = copy.copy(self)
        view.init, view.fixed, view.data = self.init.copy(), self.fixed.copy(), self.data.copy()
        view.init[j], view.fixed[j] = float(value), True
        return view

    @property
    def mu_range(self) -> tuple[float, float]:
        return float(self.bounds[self.poi, 0]), float(self.bounds[self.poi, 1])

    def set_observed(self, observed_counts: Sequence[float], auxdata: Sequence[float] | None = None) -> None:
        """Main-channel counts (and optionally auxiliary data, default the nominal auxdata) of the next fits."""
        observed = np.asarray(observed_counts, dtype=float)
        if observed.shape != (self.model.config.nmaindata,):
            raise ValueError(
                f"observed counts have shape {observed.shape}, model expects ({self.model.config.nmaindata},)"
            )
        aux = self.auxdata if auxdata is None else np.asarray(auxdata, dtype=float)
        if aux.shape != self.auxdata.shape:
            raise ValueError(f"auxdata have shape {aux.shape}, model expects {self.auxdata.shape}")
        self.data = np.concatenate([observed, aux])

    def _twice_nll(self, points: np.ndarray, batch: pyhf.pdf.Model | None = None,
                   branch: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """−2lnL of each row of ``points`` (rows, pars) for the current data; ``batch``: the pyhf model of that many
        rows, used when there are no :class:`ModelTerms` (a 1-D ``points`` then goes to the plain model); ``branch``:
        the side of 0 each kinked NP is evaluated on (:meth:`ModelTerms.expected`; needs ModelTerms)."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if self.terms is not None:
                n = self.terms.nbins
                return self.terms.twice_nll(points, self.data[None, :n], self.data[None, n:], branch)
            return -2.0 * np.asarray((batch or self.model).logpdf(points, self.data), dtype=float)

    def twice_nll(self, pars: np.ndarray) -> float:
        """−2lnL at ``pars``; NaN where the model is undefined."""
        pars = np.asarray(pars, dtype=float)
        value = float(self._twice_nll(pars[None, :] if self.terms is not None else pars)[0])
        return value if np.isfinite(value) else float("nan")

    def derivatives(self, pars: np.ndarray, free: np.ndarray,
                    branch: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:  # fmt: skip
        """(−2lnL, gradient, Hessian) at ``pars`` in the ``free`` parameters: one batched pyhf call. ``branch``: the
        side of 0 (±1) of each kinked NP whose smooth line the differences take, so they never straddle a kink."""
        x = np.asarray(pars, dtype=float)
        idx = np.flatnonzero(free)
        k = idx.size
        h = FD_STEP * self.widths[idx]
        points = np.repeat(x[None, :], self.npars**2 + self.npars + 1, axis=0)
        points[1 + np.arange(k), idx] += h  # x + h_i
        points[1 + k + np.arange(k), idx] -= h  # x − h_i
        i, j = np.triu_indices(k, 1)
        m = i.size
        rows = 1 + 2 * k + np.arange(m)
        points[rows, idx[i]] += h[i]
        points[rows, idx[j]] += h[j]  # x + h_i + h_j
        points[rows + m, idx[i]] -= h[i]
        points[rows + m, idx[j]] -= h[j]  # x − h_i − h_j
        f = self._twice_nll(points if self.terms is None else points[: 1 + 2 * k + 2 * m], self.batch, branch)
        f0, fp, fm = f[0], f[1 : 1 + k], f[1 + k : 1 + 2 * k]
        fpp, fmm = f[1 + 2 * k : 1 + 2 * k + m], f[1 + 2 * k + m : 1 + 2 * k + 2 * m]
        grad = (fp - fm) / (2.0 * h)
        hess = np.diag((fp - 2.0 * f0 + fm) / h**2)
        off = (fpp - fp[i] - fp[j] + 2.0 * f0 - fm[i] - fm[j] + fmm) / (2.0 * h[i] * h[j])
        hess[i, j] = off
        hess[j, i] = off
        return float(f0), grad, hess

    def gradient(self, pars: np.ndarray, free: np.ndarray,
                 branch: np.ndarray | None = None) -> tuple[float, np.ndarray]:  # fmt: skip
        """(−2lnL, gradient) at ``pars`` in the ``free`` parameters: one batched call of 2k + 1 points (``branch``: as
        :meth:`derivatives`)."""
        x = np.asarray(pars, dtype=float)
        idx = np.flatnonzero(free)
        k = idx.size
        h = FD_STEP * self.widths[idx]
        points = np.repeat(x[None, :], 2 * self.npars + 1 if self.terms is None else 2 * k + 1, axis=0)
        points[1 + np.arange(k), idx] += h
        points[1 + k + np.arange(k), idx] -= h
        f = self._twice_nll(points, self.batch_grad, branch)
        return float(f[0]), (f[1 : 1 + k] - f[1 + k : 1 + 2 * k]) / (2.0 * h)

    def _descends_across(self, x: np.ndarray, at_kink: np.ndarray, branch: np.ndarray) -> np.ndarray:
        """Which of the ``at_kink`` NPs (at α = 0 exactly) −2lnL descends from on the side opposite their ``branch``
        (its slope there, a central difference on that side's line, has the sign of the branch)."""
        j = np.flatnonzero(at_kink)
        h = FD_STEP * self.widths[j]
        points = np.repeat(x[None, :], 2 * j.size, axis=0)
        points[np.arange(j.size), j] += h
        points[j.size + np.arange(j.size), j] -= h
        other = branch.copy()
        other[j] = -branch[j]  # the other kinked NPs at 0 are unmoved in these points: their side does not matter
        f = self._twice_nll(points, None, other)
        slope = (f[: j.size] - f[j.size :]) / (2.0 * h)
        out = np.zeros(self.npars, dtype=bool)
        out[j] = slope * branch[j] > 0
        return out

    def newton(self, start: np.ndarray, fixed: np.ndarray, hesse: bool = True) -> Minimum | None:
        """Damped Newton minimisation with bounds by projection; None if it fails (NaN, no progress).

        ``hesse``: the errors come from a Hessian evaluated next to the minimum, never from one reused since the
        start point (that one gave σ_post/σ_prior 7–20% off on data far from the start).

        A minimum with parameters held at a bound may be the projection stranding them there (a staterror γ clipped
        to ~0: −2ΔlnL 35 instead of 15.7 on a tiny-run scan). It is kept only if a second Newton, started with those
        parameters back at their initial values, confirms it: it reaches an interior minimum (the lower of the two is
        returned) or the same bound minimum within :data:`BOUND_AGREEMENT`; otherwise None (MINUIT decides). This
        replaced MINUIT on every bound minimum, which cost ~0.25 s each (559 of 611 fits of a tiny aware grid fit).
        """
        found, held = self._newton(start, fixed, hesse)
        if found is None or not held.any():
            return found
        inside = np.where(held, self.init, found.pars)
        again, held_again = self._newton(inside, fixed, hesse)
        if again is None:
            return None
        if not held_again.any() or abs(again.twice_nll - found.twice_nll) <= BOUND_AGREEMENT:
            return again if again.twice_nll < found.twice_nll else found
        return None

    def _newton(self, start: np.ndarray, fixed: np.ndarray, hesse: bool) -> tuple[Minimum | None, np.ndarray]:
        """:meth:`newton` without the confirmation: (minimum or None, the parameters held at a bound there).

        A kinked NP (code-0 histosys, :attr:`kinks`) is smooth on either side of 0 only, so Newton works on one side
        at a time (its ``branch``) with 0 as a bound: differences on that side's line, steps projected onto it. At 0 it
        is held, like a parameter at a bound, only while −2lnL rises on both sides (a kink minimum, not "held" for the
        confirmation); where the other side descends it moves there. Central differences across 0 saw the slope jump
        as a huge, wrong curvature and most code-0 fits went to MINUIT.
        """
        held = np.zeros(self.npars, dtype=bool)
        x = np.clip(np.asarray(start, dtype=float), self.bounds[:, 0], self.bounds[:, 1])
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        free = ~fixed
        if not free.any():
            return Minimum(x, np.zeros_like(x), self.twice_nll(x), True), held
        kinks = self.kinks & free
        branch = np.where(kinks, np.where(x < 0.0, -1, 1), 0) if kinks.any() else None  # kinked NPs' side of 0
        hess, last_edm, near = None, np.inf, False  # near: a fresh Hessian was taken once the EDM was small
        stalled = None
        for _ in range(NEWTON_MAX_ITER):
            if branch is not None:  # the bounds of this side of every kink
                lo = np.where(branch > 0, np.maximum(self.bounds[:, 0], 0.0), self.bounds[:, 0])
                hi = np.where(branch < 0, np.minimum(self.bounds[:, 1], 0.0), self.bounds[:, 1])
            fresh = hess is None
            if fresh:  # a fresh Hessian; later iterations reuse it while the EDM keeps falling fast
                f0, g, hess = self.derivatives(x, free, branch)
            else:
                f0, g = self.gradient(x, free, branch)
            if not (np.isfinite(f0) and np.isfinite(g).all() and np.isfinite(hess).all()):
                return None, held
            idx = np.flatnonzero(free)
            if branch is not None:  # a kinked NP at 0 whose own side rises takes the other side if that one descends
                rising = np.zeros(self.npars, dtype=bool)
                rising[idx] = branch[idx] * g > 0
                rising &= kinks & (x == 0.0)
                flip = self._descends_across(x, rising, branch) if rising.any() else rising
                if flip.any():
                    branch[flip] = -branch[flip]
                    hess, last_edm = None, np.inf
                    continue
            # bound constraints: parameters at a bound whose gradient pushes outwards stay put
            at_lo = (x[idx] <= lo[idx] + 1e-12) & (g > 0)
            at_hi = (x[idx] >= hi[idx] - 1e-12) & (g < 0)
            active = ~(at_lo | at_hi)
            held = np.zeros(self.npars, dtype=bool)
            held[idx[~active]] = True  # at a bound, the gradient pushing outwards: Newton may have stranded them
            if branch is not None:  # a kinked NP held at 0 is a minimum on both sides, not a stranded one
                held &= (x <= self.bounds[:, 0] + 1e-12) | (x >= self.bounds[:, 1] - 1e-12)
            if not active.any():  # every free parameter pinned at a bound by its gradient: a bounded minimum
                return Minimum(x, np.zeros_like(x), f0, True), held
            ga, ha = g[active], hess[np.ix_(active, active)]
            step_a, edm = newton_step(ga, ha)
            if step_a is None:
                return None, held
            if edm < NEWTON_EDM_STALLED and hesse and not (fresh or near):
                # the EDM and errors of a Hessian reused since the start point can be wrong (σ_post/σ_prior 7–20 %
                # off; taking only its errors from a fresh one broke conditional fits far from μ̂): redo this
                # iteration at x with a fresh Hessian before trusting either
                hess, near = None, True
                continue
            stalled = None  # the minimum to return if the steps stall from here: only below NEWTON_EDM_STALLED
            if edm < NEWTON_EDM_STALLED:
                errors = np.zeros_like(x)  # from the Hessian at (or next to) the minimum
                errors[idx[active]] = np.sqrt(np.clip(np.diag(2.0 * inverse_pd(ha)), 0.0, None))
                stalled = Minimum(x, errors, f0, True)
            stale = edm > 0.25 * last_edm
            last_edm = edm
            if edm < NEWTON_EDM and not stale:
                last = x.copy()
                last[idx[active]] += step_a  # the final (already computed) step: quadratic convergence
                last = np.clip(last, lo, hi)
                f1 = self.twice_nll(last)
                return (Minimum(last, errors, f1, True) if f1 <= f0 else stalled), held
            step = np.zeros_like(x)
            step[idx[active]] = step_a
            slope = float(ga @ step_a)
            t = 1.0
            for _ in range(4 if stalled is not None else 40):  # near the minimum, halving only finds rounding noise
                trial = np.clip(x + t * step, lo, hi)
                f1 = self.twice_nll(trial)
                if np.isfinite(f1) and f1 <= f0 + 1e-4 * t * slope + 1e-12:
                    break
                t *= 0.5
            else:
                return stalled, held
            if np.array_equal(trial, x):
                return stalled, held
            if t < 1.0 or stale:
                hess, last_edm = None, np.inf
            x = trial
        return stalled, held

    def hessian_errors(self, x: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """σ of every free parameter from 2H⁻¹ of −2lnL at ``x`` (the engine's finite-difference Hessian, as
        Newton uses; MINUIT's HESSE is unreliable at the kink of piecewise-linear histosys at an exact minimum)."""
        free = ~np.asarray(fixed, dtype=bool)
        errors = np.zeros_like(np.asarray(x, dtype=float))
        if free.any():
            _, _, hess = self.derivatives(np.asarray(x, dtype=float), free)
            errors[free] = np.sqrt(np.clip(np.diag(2.0 * inverse_pd(hess)), 0.0, None))
        return errors

    def _migrad(self, start: np.ndarray, fixed: np.ndarray, strategy: int, hesse: bool) -> Minimum:
        start = np.clip(np.asarray(start, dtype=float), self.bounds[:, 0], self.bounds[:, 1])
        if fixed.all():
            return Minimum(start, np.zeros_like(start), self.twice_nll(start), True)
        minuit = iminuit.Minuit(self.twice_nll, start)
        minuit.errordef = 1.0
        minuit.limits = [tuple(b) for b in self.bounds]
        minuit.fixed = fixed.tolist()
        minuit.tol = TOLERANCE
        minuit.strategy = strategy
        minuit.throw_nan = False
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            minuit.migrad()
            if hesse and minuit.valid:
                minuit.hesse()
        errors = np.where(fixed, 0.0, np.asarray(minuit.errors, dtype=float))
        twice_nll = float(minuit.fval) if np.isfinite(minuit.fval) else float("nan")
        return Minimum(np.asarray(minuit.values, dtype=float), errors, twice_nll, bool(minuit.valid))

    def minimise(self, start: np.ndarray, fixed: np.ndarray | None = None, notes: list[str] | None = None,
                 what: str = "fit", hesse: bool = False) -> Minimum:  # fmt: skip
        """Newton from ``start``; MINUIT (strategy 1, 2, then from the suggested init) if it fails."""
        fixed = self.fixed if fixed is None else np.asarray(fixed, dtype=bool)
        start = np.asarray(start, dtype=float)
        result = self.newton(start, fixed, hesse)
        if result is not None:
            return result
        reset = np.where(fixed, start, self.init)
        attempts = [(start, 1), (start, 2), (reset, 1), (reset, 2)]
        failures = []
        for k, (s, strategy) in enumerate(attempts):
            result = self._migrad(s, fixed, strategy, hesse)
            if result.converged and np.isfinite(result.twice_nll):
                if notes is not None:
                    notes.append(f"{what}: Newton failed; MINUIT converged on attempt {k + 1} of {len(attempts)}")
                return result._replace(errors=self.hessian_errors(result.pars, fixed)) if hesse else result
            failures.append(result)
        if notes is not None:
            notes.append(f"{what}: did not converge after Newton and {len(attempts)} MINUIT attempts; "
                         "best invalid minimum kept")  # fmt: skip
        return min(failures, key=lambda r: np.nan_to_num(r.twice_nll, nan=np.inf))

    def mle(self, start: np.ndarray | None = None, notes: list[str] | None = None, hesse: bool = True) -> Minimum:
        """The unconditional MLE (μ and every non-fixed NP floating), with errors (2H⁻¹) by default."""
        return self.minimise(self.init if start is None else start, self.fixed, notes, "MLE", hesse)

    def fixed_fit(self, index: int, value: float, start: np.ndarray, notes: list[str] | None = None,
                  hesse: bool = False) -> Minimum:  # fmt: skip
        """The conditional fit with parameter ``index`` held at ``value`` (the rest as usual)."""
        fixed = self.fixed.copy()
        fixed[index] = True
        start = np.asarray(start, dtype=float).copy()
        start[index] = value
        return self.minimise(start, fixed, notes, f"fixed {self.model.config.par_names[index]}={value:.6g}", hesse)

    def fixed_mu(self, mu: float, start: np.ndarray, notes: list[str] | None = None) -> Minimum:
        """The conditional fit at fixed μ."""
        return self.fixed_fit(self.poi, mu, start, notes)


def inverse_pd(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric matrix via its eigen-decomposition, tiny/negative eigenvalues floored."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    floor = max(float(np.max(np.abs(values))) * 1e-14, 1e-300)
    return (vectors / np.maximum(values, floor)) @ vectors.T


def newton_step(grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The Newton step −H⁻¹g (H made positive definite by shifting its spectrum) and ½gᵀH⁻¹g."""
    if grad.size == 0:
        return np.zeros(0), 0.0
    values, vectors = np.linalg.eigh(0.5 * (hess + hess.T))
    if not np.isfinite(values).all():
        return None, float("inf")
    scale = float(np.max(np.abs(values))) or 1.0
    values = np.where(values > 1e-10 * scale, values, np.abs(values) + 1e-6 * scale)
    proj = vectors.T @ grad
    step = -vectors @ (proj / values)
    return step, float(0.5 * np.sum(proj**2 / values))
