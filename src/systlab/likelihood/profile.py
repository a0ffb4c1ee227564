"""One profile likelihood in μ, two kinds: the protocol that the limits, significance and impacts are written against.

:class:`ProfileLikelihood` is what inference needs of a likelihood: μ's range, the MLE (μ̂, −2lnL_min), the profiled
−2lnL(μ) at fixed μ, and for impacts the constrained nuisances, their post-fit value and width, and the MLE with one
of them held. :class:`BinnedProfileLikelihood` implements it for a fixed classifier's pyhf model
(:class:`systlab.likelihood.binned.Likelihood`), :class:`GridProfileLikelihood` for a parameterised classifier's grid
(:class:`systlab.likelihood.grid.GridLikelihood`, α profiled across the grid). Where the two kinds find a number by
different methods (the Hessian against a parabola of the profile), the adapter owns the method and says so.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np
import scipy.interpolate

from systlab.likelihood.binned import Likelihood, Minimum
from systlab.likelihood.grid import GridLikelihood
from systlab.likelihood.grid_alpha import alpha_profile, best_grid_mle, cell_window

if TYPE_CHECKING:
    from systlab.infer.grid_interval import GridInterval


class ProfileMinimum(NamedTuple):
    """μ̂ and −2lnL at the minimum of a (possibly constrained) profile."""

    mu_hat: float
    twice_nll: float


class Nuisance(NamedTuple):
    """A constrained nuisance parameter: its label (``name[i]`` for per-bin ones), prior centre and width, bounds."""

    label: str
    centre: float
    width: float
    bounds: tuple[float, float]


@runtime_checkable
class ProfileLikelihood(Protocol):
    """A likelihood profiled in μ (every other parameter minimised), as limits, Z0 and impacts need it."""

    notes: list[str]  # fit notes (fallbacks, failures), in the order they happened

    @property
    def mu_range(self) -> tuple[float, float]:
        """The bounds of μ in every fit."""

    @property
    def converged(self) -> bool:
        """Whether the MLE (and the fits behind the reported numbers) converged."""

    def mle(self) -> ProfileMinimum:
        """μ̂ and −2lnL_min inside ``mu_range`` (computed once)."""

    def profiled(self, mu: float) -> float:
        """−2lnL at fixed μ, every other parameter profiled; NaN where the model is undefined."""

    def mu_error(self) -> float:
        """σ of μ̂."""

    def nuisances(self) -> list[Nuisance]:
        """The constrained nuisances whose pulls and impacts are reported."""

    def postfit(self, nuisance: Nuisance) -> tuple[float, float]:
        """(θ̂, σ_post) of one nuisance."""

    def held_mle(self, label: str, value: float) -> ProfileMinimum:
        """μ̂ and −2lnL_min with the nuisance ``label`` held at ``value`` (everything else profiled)."""


def twice_dnll(profile: ProfileLikelihood) -> Callable[[float], float]:
    """μ ↦ −2ΔlnL(μ) relative to the MLE, floored at 0 (NaN stays NaN); the MLE is found first, as the profile's
    fits warm-start from it."""
    minimum = profile.mle().twice_nll

    def q(mu: float) -> float:
        value = profile.profiled(float(mu)) - minimum
        return float(max(value, 0.0)) if np.isfinite(value) else float("nan")

    return q


def constrained_parameters(lik: Likelihood, include_staterror: bool = True) -> list[tuple[str, int, float, float]]:
    """(label, index, prior centre, prior width) of every floating constrained NP of a pyhf model."""
    config = lik.model.config
    out = []
    for name in config.par_order:
        pset = config.param_set(name)
        if name == config.poi_name or not pset.constrained:
            continue
        if not include_staterror and name.startswith("staterror"):
            continue
        idx = np.arange(config.npars)[config.par_slice(name)]
        for i, (j, centre, width) in enumerate(zip(idx, pset.auxdata, pset.width(), strict=True)):
            if lik.fixed[j] or not width > 0:
                continue
            out.append((name if pset.n_parameters == 1 else f"{name}[{i}]", int(j), float(centre), float(width)))
    return out


def parabolic_minimum(f, x0: float, step: float, bounds: tuple[float, float], tol: float,
                      max_evals: int = 12) -> tuple[float, float, float]:  # fmt: skip
    """(x̂, f(x̂), curvature c2 of f ≈ c2 (x − x̂)² + f(x̂)) by successive parabolas through the 3 lowest points.

    Starts from x0 and x0 ± step (clipped to ``bounds``); a non-convex triple steps downhill instead.
    Stops when the new vertex lies within ``tol`` of a point already evaluated. NaN values count as +inf.
    """
    lo, hi = bounds

    def value(x: float) -> float:
        v = f(x)
        return float(v) if np.isfinite(v) else np.inf

    xs = sorted({float(np.clip(x, lo, hi)) for x in (x0 - step, x0, x0 + step)})
    fs = [value(x) for x in xs]
    c2 = float("nan")
    for _ in range(max_evals):
        order = np.argsort(fs)[:3]
        x3, f3 = np.asarray(xs)[order], np.asarray(fs)[order]
        if len(x3) == 3 and np.isfinite(f3).all():
            c2, c1, _ = np.polyfit(x3, f3, 2)
        if len(x3) == 3 and np.isfinite(f3).all() and c2 > 0:
            new = float(np.clip(-c1 / (2.0 * c2), lo, hi))
        else:  # no convex parabola yet: step beyond the lowest point, away from the others
            i = int(order[0])
            direction = 1.0 if xs[i] >= np.mean(xs) else -1.0
            new = float(np.clip(xs[i] + direction * step, lo, hi))
        if min(abs(new - x) for x in xs) < tol:
            break
        xs.append(new)
        fs.append(value(new))
    i = int(np.argmin(fs))
    return xs[i], fs[i], float(c2) if np.isfinite(c2) else float("nan")


class BinnedProfileLikelihood:
    """The profile of one pyhf model: Newton/MINUIT fits, each fixed-μ fit warm-started from the nearest μ done.

    ``start``: where the MLE starts (default the suggested init). ``minimum_at``: μ where the minimum is known to
    sit (the background-only Asimov data at the lower bound μ = 0): the conditional fit there replaces the free MLE.
    ``include_staterror``: whether the per-bin MC-statistics NPs are among the impacts' nuisances. σ_post (and σ_μ)
    come from the finite-difference Hessian of −2lnL at the MLE (MINUIT's HESSE after a fallback MIGRAD was measured
    4–5× too small on the tiny baseline workspace).
    """

    def __init__(self, lik: Likelihood, start: np.ndarray | None = None, include_staterror: bool = True,
                 minimum_at: float | None = None) -> None:  # fmt: skip
        self.lik = lik
        self.start = lik.init if start is None else np.asarray(start, dtype=float)
        self.include_staterror = include_staterror
        self.minimum_at = minimum_at
        self.notes: list[str] = []
        self.fits: dict[float, Minimum] = {}
        self._best: Minimum | None = None
        self._errors: np.ndarray | None = None
        self._index: dict[str, int] = {}

    @property
    def mu_range(self) -> tuple[float, float]:
        return self.lik.mu_range

    def minimum(self) -> Minimum:
        """The MLE fit (all parameters), computed once."""
        if self._best is None:
            if self.minimum_at is None:
                self._best = self.lik.mle(self.start, self.notes, hesse=False)
            else:
                self._best = self.lik.fixed_mu(self.minimum_at, self.start, self.notes)
        return self._best

    def mle(self) -> ProfileMinimum:
        best = self.minimum()
        return ProfileMinimum(float(best.pars[self.lik.poi]), best.twice_nll)

    def profiled(self, mu: float) -> float:
        mu = float(mu)
        if mu not in self.fits:
            near = min(self.fits, key=lambda m: abs(m - mu), default=None)
            start = self.minimum().pars if near is None else self.fits[near].pars
            self.fits[mu] = self.lik.fixed_mu(mu, start, self.notes)
        return self.fits[mu].twice_nll

    def errors(self) -> np.ndarray:
        """σ of every floating parameter from 2H⁻¹ of −2lnL at the MLE; 0 for fixed parameters."""
        if self._errors is None:
            self._errors = self.lik.hessian_errors(self.minimum().pars, self.lik.fixed)
        return self._errors

    def mu_error(self) -> float:
        return float(self.errors()[self.lik.poi])

    def nuisances(self) -> list[Nuisance]:
        found = constrained_parameters(self.lik, self.include_staterror)
        self._index.update({label: j for label, j, _, _ in found})
        return [Nuisance(label, centre, width, (float(self.lik.bounds[j, 0]), float(self.lik.bounds[j, 1])))
                for label, j, centre, width in found]  # fmt: skip

    def index(self, label: str) -> int:
        """The parameter index of ``name`` or ``name[i]``."""
        if label not in self._index:
            name, _, rest = label.partition("[")
            self._index[label] = self.lik.model.config.par_slice(name).start + (int(rest[:-1]) if rest else 0)
        return self._index[label]

    def postfit(self, nuisance: Nuisance) -> tuple[float, float]:
        j = self.index(nuisance.label)
        return float(self.minimum().pars[j]), float(self.errors()[j])

    def held_mle(self, label: str, value: float) -> ProfileMinimum:
        fit = self.lik.fixed_fit(self.index(label), value, self.minimum().pars, self.notes)
        return ProfileMinimum(float(fit.pars[self.lik.poi]), fit.twice_nll)

    @property
    def converged(self) -> bool:
        return bool(self.minimum().converged and not any("did not converge" in n for n in self.notes))

    def asimov(self, mu: float, start: np.ndarray | None = None,
               minimum_at_mu: bool = False) -> BinnedProfileLikelihood:  # fmt: skip
        """The profile of the Asimov data at ``mu`` with the NPs of this data's conditional fit at ``mu`` (pyhf's
        choice), that fit started at ``start`` (default this MLE). The model is shared, the data are the view's own.
        ``minimum_at_mu``: take the Asimov minimum as the conditional fit at ``mu`` (where it is by construction)."""
        fit = self.lik.fixed_mu(mu, self.minimum().pars if start is None else start, self.notes)
        view = copy.copy(self.lik)
        view.set_observed(self.lik.model.expected_actualdata(fit.pars), self.lik.model.expected_auxdata(fit.pars))
        return BinnedProfileLikelihood(view, fit.pars, self.include_staterror, mu if minimum_at_mu else None)


def value_at_alpha(grid: GridLikelihood, mu: float, alpha: float, interpolation: str) -> float:
    """−2lnL_k(μ) + prior_k interpolated at ``alpha``: a cubic spline through every grid point, or ("quadratic")
    the parabola through the three grid points nearest ``alpha`` (with the morph: in the nearest point's cell)."""
    if interpolation == "cubic":
        points = np.arange(grid.alphas.size)
    elif grid.cells is not None:
        nearest = int(np.argmin(np.abs(grid.alphas - alpha)))
        points = cell_window(grid.cells, nearest, grid.alphas.size)
        if points is None:
            return grid.value(nearest, float(mu))
    else:
        points = np.sort(np.argsort(np.abs(grid.alphas - alpha))[:3])
    values = grid.values(float(mu), points)
    if not np.isfinite(values).all():
        return float("nan")
    if interpolation == "cubic":
        return float(scipy.interpolate.CubicSpline(grid.alphas, values)(alpha))
    return float(np.polyval(np.polyfit(grid.alphas[points], values, 2), alpha))


def _profile_value(profile: Callable[[float], tuple[float, float]], mu: float) -> float:
    return profile(mu)[0]


class GridProfileLikelihood:
    """The α-profiled likelihood of a grid (every NP profiled inside each α_k, α across the grid with its prior).

    The grid's fits are warm-started from the last ones done, so the order of evaluations is part of the result.
    μ̂ comes from one of two methods, fixed at construction:

    - ``interval`` None: successive parabolas on −2lnL(μ) from the best grid point's MLE ± its error, to 1e-3 of
      that error (the limits and Z0); σ_μ is the parabola's width.
    - ``interval`` a :class:`systlab.infer.grid_interval.GridInterval` of this grid's data (the impacts): its μ̂,
      α̂ and convergence, and σ_μ its 68% half-width.

    Impacts: the grid NP ``np_name`` (prior N(``grid.alpha0``, ``alpha_width``)) is held by interpolating −2lnL at
    that α; θ̂ = α̂, σ_post from a parabola through the μ-profiled minima at α̂ and α̂ ± σ (σ = ¼, then its first
    estimate). Every other scalar NP is held inside every grid point's fits; θ̂ and σ_post are the vertex and width
    of a parabola through the held minima at θ̂_k ± σ_k (fit and Hessian at the point nearest α̂, α fixed there), so
    they include its correlation with α. Per-bin MC-statistics NPs are left out (``include_staterror`` False): the
    bins differ between grid points and only scalars can be held.
    """

    include_staterror = False

    def __init__(self, grid: GridLikelihood, interpolation: str = "quadratic", np_name: str = "alpha",
                 alpha_width: float = 1.0, interval: GridInterval | None = None) -> None:  # fmt: skip
        self.grid, self.interpolation, self.np_name, self.alpha_width = grid, interpolation, np_name, alpha_width
        self.interval = interval
        self.notes = grid.notes
        self._cache: dict[float, float] = {}
        self._profile: Callable[[float], tuple[float, float]] | None = None
        self._best: tuple[ProfileMinimum, float] | None = None
        self._point: tuple[Likelihood, Minimum, np.ndarray] | None = None
        self._index: dict[str, int] = {}

    @property
    def mu_range(self) -> tuple[float, float]:
        return self.grid.mu_range

    def profiled(self, mu: float) -> float:
        if self._profile is None:
            self._profile = alpha_profile(self.grid, self.interpolation)
        mu = float(mu)
        if mu not in self._cache:
            self._cache[mu] = self._profile(mu)[0]
        return self._cache[mu]

    def _mle(self) -> tuple[ProfileMinimum, float]:
        if self._best is None:
            if self.interval is not None:
                lo, hi = self.interval.interval_68
                found = ProfileMinimum(self.interval.mu_hat, self.interval.twice_nll_min)
                self._best = found, float(0.5 * (hi - lo))
            else:
                best = best_grid_mle(self.grid)
                poi = self.grid.liks[0].poi
                lo, hi = self.grid.mu_range
                sigma = float(best.errors[poi])
                if not (np.isfinite(sigma) and sigma > 0):
                    sigma = 0.1 * (hi - lo)
                mu_hat, minimum, c2 = parabolic_minimum(self.profiled, float(best.pars[poi]), sigma, (lo, hi),
                                                        tol=1e-3 * sigma)  # fmt: skip
                if not np.isfinite(minimum):
                    raise ValueError(f"the grid profile is undefined at every mu tried in [{lo}, {hi}]")
                self._best = ProfileMinimum(float(mu_hat), minimum), float(1.0 / np.sqrt(c2)) if c2 > 0 else sigma
        return self._best

    def mle(self) -> ProfileMinimum:
        return self._mle()[0]

    def mu_error(self) -> float:
        return self._mle()[1]

    @property
    def converged(self) -> bool:
        if self.interval is not None:
            return bool(self.interval.converged)
        return bool(self.grid.converged_between(-np.inf, np.inf))

    def alpha_hat(self) -> float:
        """α̂ at μ̂."""
        if self.interval is not None:
            return float(self.interval.alpha_hat)
        return float(alpha_profile(self.grid, self.interpolation)(self.mle().mu_hat)[1])

    def _nearest(self) -> int:
        return int(np.argmin(np.abs(self.grid.alphas - self.alpha_hat())))

    def nuisances(self) -> list[Nuisance]:
        alphas = self.grid.alphas
        lik = self.grid.liks[self._nearest()]
        found = constrained_parameters(lik, self.include_staterror)
        self._index = {label: j for label, j, _, _ in found}
        edges = (float(alphas[0]), float(alphas[-1]))
        grid_np = Nuisance(self.np_name, self.grid.alpha0, float(self.alpha_width), edges)
        return [grid_np, *(Nuisance(label, centre, width, (float(lik.bounds[j, 0]), float(lik.bounds[j, 1])))
                           for label, j, centre, width in found)]  # fmt: skip

    def held_mle(self, label: str, value: float) -> ProfileMinimum:
        mu_hat, sigma_mu = self.mle().mu_hat, self.mu_error()
        grid, interpolation = self.grid, self.interpolation
        if label == self.np_name:  # α: −2lnL interpolated at that α
            f = functools.partial(value_at_alpha, grid, alpha=value, interpolation=interpolation)
        else:  # any other NP: held in every grid point's fits, α profiled
            grid.hold(label, value)
            f = functools.partial(_profile_value, alpha_profile(grid, interpolation))
        try:
            x, minimum, _ = parabolic_minimum(f, mu_hat, sigma_mu, grid.mu_range, tol=1e-3 * sigma_mu)
        finally:
            if grid.held:
                grid.hold(None)
        return ProfileMinimum(x, minimum)

    def postfit(self, nuisance: Nuisance) -> tuple[float, float]:
        if nuisance.label == self.np_name:
            return self._alpha_postfit(nuisance)
        if self._point is None:  # the fit and Hessian at the grid point nearest α̂, α fixed there
            k = self._nearest()
            lik = self.grid.liks[k]
            start = self.grid.mles[k].pars if self.grid.mles[k] is not None else lik.init
            best = self.grid.conditional(k, self.mle().mu_hat, start)
            self._point = lik, best, lik.hessian_errors(best.pars, lik.fixed)
        lik, best, errors = self._point
        j = self._index[nuisance.label]
        theta, step = float(best.pars[j]), float(errors[j]) if errors[j] > 0 else nuisance.width
        lo_b, hi_b = nuisance.bounds
        probes = [float(np.clip(theta - step, lo_b, hi_b)), theta, float(np.clip(theta + step, lo_b, hi_b))]
        heights = [self.held_mle(nuisance.label, value).twice_nll for value in probes]
        c2, c1, _ = np.polyfit(probes, heights, 2)
        if c2 > 0:
            return float(np.clip(-c1 / (2 * c2), lo_b, hi_b)), float(1.0 / np.sqrt(c2))
        self.grid.notes.append(f"{nuisance.label}: the profile in it is not convex near its fit; Hessian width kept")
        return theta, step

    def _alpha_postfit(self, nuisance: Nuisance) -> tuple[float, float]:
        """α̂ and its μ-profiled width: a parabola through α̂ and α̂ ± ¼, then again through α̂ ± that width."""
        alpha_hat = self.alpha_hat()
        lo_a, hi_a = nuisance.bounds
        sigma = 0.25
        for _ in range(2):
            probes = np.clip(alpha_hat + np.array([-sigma, 0.0, sigma]), lo_a, hi_a)
            heights = [self.held_mle(self.np_name, a).twice_nll for a in probes]
            c2 = np.polyfit(probes, heights, 2)[0] if np.ptp(probes) > 0 and np.isfinite(heights).all() else np.nan
            sigma = float(1.0 / np.sqrt(c2)) if c2 > 0 else float("nan")
            if not np.isfinite(sigma):
                break
        return alpha_hat, sigma
