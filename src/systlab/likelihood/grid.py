"""The grid-profiled likelihood of a parameterized classifier f(x; α), profiled continuously over α.

At every grid point α_k the caller gives a full pyhf workspace (templates of f(x; α_k); every other
NP inside as usual) and the observed counts re-binned with f(x; α_k). Per k and μ, everything but μ
is profiled (a pyhf conditional fit) → −2lnL_k(μ). Because the binned data differ between grid
points, each −2lnL_k is taken relative to its saturated Poisson term (the deviance
2Σ[ν − n + n ln(n/ν)] plus the constraint terms), which removes the data-only terms
(ln n!, n ln n) that change with the binning. Adding the Gaussian prior ((α_k − α0)/σ)² and
interpolating across k (cubic spline, or a parabola through the lowest point and its neighbours)
gives −2lnL(μ, α), minimised over α → the profile −2ΔlnL(μ), μ̂, α̂ and the 68% interval.

Interpolating −2lnL between grid points fails where the data pin α more tightly than the grid spacing:
each point's templates carry their own MC noise and the parabola through three points spaced wider than
the α width does not follow the likelihood. The morph (:class:`systlab.likelihood.morph.Morph`) cures
it: every point's workspace carries α as a histosys towards its neighbours' samples (scored with the same
f(x; α_k)), so inside a point's cell α moves the templates at a fixed observable, and the profile is taken
on a fine α grid of pinned values.

The same construction for a fixed classifier (:func:`systlab.likelihood.morph.histosys_grid_specs`:
the workspace at α_k with one histosys NP replaced by its interpolated templates, identical observed counts)
is the cross-check of pyhf's histosys interpolation. The grid-spacing effect is reported by redoing the
profile with every second grid point (no new fits except at μ not yet visited).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import scipy.special

from systlab.likelihood.batched import BatchedLikelihood
from systlab.likelihood.binned import Likelihood, Minimum
from systlab.likelihood.morph import Morph, morph_points, one_sided_morph

#: A grid point whose prior term alone lies this far above the profile's minimum (3σ in α) can be neither the α
#: minimiser inside a 68% interval (where the profile is at most the minimum + 1) nor a parabola neighbour of it.
CONVERGENCE_MARGIN = 9.0


def saturated_twice_nll(observed: np.ndarray) -> float:
    """−2 Σ ln Poisson(n | n): the main-data part of −2lnL of the saturated model."""
    n = np.asarray(observed, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logn = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)
    return float(-2.0 * np.sum(logn - n - scipy.special.gammaln(n + 1.0)))


def saturated_constraint(lik: Likelihood) -> float:
    """−2 ln of the constraint terms at their maximum (each constrained NP at its auxiliary datum).

    Gaussian constraints carry ln σ normalisations; the per-bin MC-statistics widths differ between
    grid points (different binnings), so this term must leave −2lnL_k like the data-only terms do.
    """
    config = lik.model.config
    if not config.auxdata_order:
        return 0.0
    pars = np.asarray(lik.init, dtype=float).copy()
    aux = lik.data[config.nmaindata :]
    i = 0
    for name in config.auxdata_order:
        sl = config.par_slice(name)
        n = sl.stop - sl.start
        pars[sl] = aux[i : i + n]
        i += n
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-2.0 * lik.model.constraint_logpdf(aux, pars))


def _data_view(lik: Likelihood) -> Likelihood:
    """``lik`` with data, auxdata, start and fixed flags of its own (the pyhf models shared)."""
    view = copy.copy(lik)
    view.data, view.auxdata, view.init, view.fixed = (a.copy() for a in (lik.data, lik.auxdata, lik.init, lik.fixed))
    return view


def _morph_view(lik: Likelihood, np_name: str, alpha_k: float, delta: float, alpha0: float) -> Likelihood:
    """Point k's likelihood with the grid NP pinned at δ and its auxiliary datum at α0 − α_k (prior N(α0, 1))."""
    config = lik.model.config
    if np_name not in config.auxdata_order:
        raise KeyError(f"morph: no constrained parameter {np_name!r} in the grid point's workspace")
    view = lik.pinned(np_name, delta)
    i = sum(config.param_set(n).n_parameters for n in config.auxdata_order[: config.auxdata_order.index(np_name)])
    view.auxdata = lik.auxdata.copy()
    view.auxdata[i] = alpha0 - alpha_k
    view.data[config.nmaindata + i] = alpha0 - alpha_k
    return view


class GridLikelihood:
    """−2lnL_k(μ) + prior_k for every grid point, each conditional fit cached and warm-started.

    One pyhf model per grid point serves many datasets (:meth:`set_data`), e.g. the toys of a grid.
    """

    def __init__(self, specs: Sequence[dict], observed: Sequence[Sequence[float]], alphas: Sequence[float],
                 alpha0: float, alpha_sigma: float, mu_range: tuple[float, float],
                 auxdata: Sequence[Sequence[float]] | None = None, morph: Morph | None = None,
                 histosys_code: str = "code4p") -> None:  # fmt: skip
        if not len(specs) == len(observed) == len(alphas):
            raise ValueError(f"{len(specs)} specs, {len(observed)} observations and {len(alphas)} alphas differ")
        grid_alphas = np.asarray(alphas, dtype=float)
        if grid_alphas.size < 3 or not np.all(np.diff(grid_alphas) > 0):
            raise ValueError(f"alphas must be >= 3 increasing grid points, got {grid_alphas.tolist()}")
        if not alpha_sigma > 0:
            raise ValueError(f"alpha_sigma {alpha_sigma} must be > 0")
        self.grid_alphas, self.alpha0 = grid_alphas, float(alpha0)
        if morph is None:
            self.owner, shifts = np.arange(grid_alphas.size), np.zeros(grid_alphas.size)
            self.model_of = self.owner.copy()
            self.liks = [Likelihood(s, None, mu_range, histosys_code) for s in specs]
            self.prior = ((grid_alphas - alpha0) / alpha_sigma) ** 2
        else:
            if alpha_sigma != 1.0:
                raise ValueError(f"morph: the grid NP's constraint is pyhf's unit Gaussian, alpha_sigma {alpha_sigma}")
            self.owner, shifts = morph_points(grid_alphas, morph.step, morph.reach)
            # one model per (grid point, side of it): the morph towards one neighbour, linear (see one_sided_morph)
            sides = [(int(k), 1 if d >= 0 else -1) for k, d in zip(self.owner, shifts, strict=True)]
            keys = list(dict.fromkeys(sides))
            base = {key: Likelihood(one_sided_morph(specs[key[0]], morph.np_name, key[1]), None, mu_range,
                                    histosys_code) for key in keys}  # fmt: skip
            self.model_of = np.array([keys.index(key) for key in sides], dtype=int)
            self.liks = [_morph_view(base[key], morph.np_name, grid_alphas[key[0]], d, self.alpha0)
                         for key, d in zip(sides, shifts, strict=True)]  # fmt: skip
            self.prior = np.zeros(self.owner.size)  # the prior is each model's own constraint term
        self.alphas = grid_alphas[self.owner] + shifts
        #: A lower bound of each point's value: its prior term alone (every other term is ≥ 0 against the saturated
        #: model). A point whose bound lies far above the profile's minimum cannot set an interval.
        self.floor = self.prior if morph is None else (self.alphas - self.alpha0) ** 2
        #: Points of one cell share an observable (a parabola may join them); None: every point its own observable
        #: and −2lnL interpolated across them
        self.cells = None if morph is None or morph.step == 0 or morph.shared_observable else self.owner
        self.mu_range = tuple(map(float, mu_range))
        self.held: dict[str, float] = {}  # scalar NPs held fixed in every conditional fit (impacts)
        #: [(point, start, fixed), ...] -> [Minimum, ...]: where fits are tried first (e.g. one batch for many toys or
        #: datasets in lock step); a fit it does not converge goes the usual way (Newton, MINUIT). None: the usual way
        #: only. A point is named by its :attr:`index` (its number in the grid this one is a subset of).
        self.batch: Callable[[list[tuple[int, np.ndarray, np.ndarray]]], list[Minimum]] | None = None
        self.index = np.arange(self.alphas.size)
        self.set_data(observed, auxdata)

    def warm_starts(self) -> list[np.ndarray]:
        """Each point's MLE parameters (its start where it has no MLE): where the fits of other data start."""
        return [start if mle is None else mle.pars for start, mle in zip(self.starts, self.mles, strict=True)]

    def view(self) -> GridLikelihood:
        """A copy for other data (another toy): the pyhf models are shared, data, starts and fits are its own."""
        view = copy.copy(self)
        view.liks = [_data_view(lik) for lik in self.liks]
        view.held = dict(self.held)
        view.batch = None
        view._engines = {}
        return view

    def _batched(self, k: int, start: np.ndarray, fixed: np.ndarray) -> Minimum | None:
        """The fit from :attr:`batch` if it converged, else None."""
        if self.batch is None:
            return None
        found = self.batch([(int(self.index[k]), start, fixed)])[0]
        return found if found.converged else None

    def subset(self, points: Sequence[int]) -> GridLikelihood:
        """A view on ``points`` only (e.g. every second one: the spacing effect); fits and caches are shared."""
        points = np.asarray(points, dtype=int)
        view = copy.copy(self)
        for name in ("alphas", "prior", "offsets", "owner", "model_of", "floor", "index"):
            setattr(view, name, getattr(self, name)[points])
        view.cells = None if self.cells is None else self.cells[points]
        for name in ("liks", "mles", "cache", "starts"):
            setattr(view, name, [getattr(self, name)[k] for k in points])
        view._engines = {}
        return view

    @property
    def centre(self) -> int:
        """The point nearest the prior's centre α0."""
        return int(np.argmin(np.abs(self.alphas - self.alpha0)))

    def hold(self, name: str | None, value: float = 0.0) -> None:
        """Hold the scalar NP ``name`` at ``value`` in every conditional fit from now on (None releases all).

        The conditional-fit caches start afresh; the MLEs stay (they only serve as start points).
        """
        if name is None:
            self.held = {}
        else:
            for lik in self.liks:
                sl = lik.model.config.par_slice(name)  # KeyError names the parameter
                if sl.stop - sl.start != 1:
                    raise ValueError(f"{name!r} has {sl.stop - sl.start} parameters; only scalar NPs can be held")
            self.held = {name: float(value)}
        self.cache = [{} for _ in self.liks]

    def _with_held(self, lik: Likelihood, pars: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pars, fixed = np.asarray(pars, dtype=float).copy(), fixed.copy()
        for name, value in self.held.items():
            j = lik.model.config.par_slice(name).start
            pars[j], fixed[j] = value, True
        return pars, fixed

    def set_data(self, observed: Sequence[Sequence[float]], auxdata: Sequence[Sequence[float]] | None = None,
                 starts: Sequence[np.ndarray] | None = None,
                 mle_points: Sequence[int] | None = None) -> None:  # fmt: skip
        """New observed counts (and auxiliary data) per grid point: offsets, MLEs and caches start afresh.

        ``starts`` are per-point start parameters (default the suggested init); ``mle_points`` limits the
        unconditional fits to those points (default all; toys need one), the others warm-start from ``starts``.
        """
        observed, auxdata = self._per_point(observed, "observations"), self._per_point(auxdata, "auxdata")
        for lik, obs, aux in zip(self.liks, observed, auxdata, strict=True):
            lik.set_observed(obs, aux)
        self.offsets = np.array([saturated_twice_nll(o) + saturated_constraint(lik)
                                 for o, lik in zip(observed, self.liks, strict=True)])  # fmt: skip
        self.notes: list[str] = []
        self.starts = [lik.init if s is None else np.asarray(s, float)
                       for lik, s in zip(self.liks, starts or [None] * len(self.liks), strict=True)]  # fmt: skip
        wanted = set(range(len(self.liks)) if mle_points is None else mle_points)
        # nearest the prior's centre first; a point whose floor lies CONVERGENCE_MARGIN above the lowest MLE so far
        # cannot hold the minimum nor move an interval: no MLE there (MINUIT spent ~1 s on each far point's failures)
        self.mles: list[Minimum | None] = [None] * len(self.liks)
        lowest = np.inf
        for k in sorted(wanted, key=lambda k: self.floor[k]):
            if self.floor[k] > lowest + CONVERGENCE_MARGIN:
                continue
            lik, start = self.liks[k], self.starts[k]
            found = self._batched(k, start, lik.fixed) or lik.mle(start, notes=self.notes, hesse=False)
            self.mles[k] = found
            if found.converged and np.isfinite(found.twice_nll):
                lowest = min(lowest, found.twice_nll - self.offsets[k] + self.prior[k])
        self.cache: list[dict[float, Minimum]] = [{} for _ in self.liks]
        self.converged = all(m.converged for m in self.mles if m is not None)
        self._engines: dict[int, tuple[BatchedLikelihood, dict[int, int]]] = {}  # per simulated point, for prefill

    def _per_point(self, values: Sequence | None, what: str) -> list:
        """One entry per point: given per grid point (repeated over each point's fine α grid) or per point."""
        if values is None:
            return [None] * len(self.liks)
        if len(values) == self.grid_alphas.size:
            return [values[k] for k in self.owner]
        if len(values) != len(self.liks):
            raise ValueError(f"{len(values)} {what} for {self.grid_alphas.size} grid points ({len(self.liks)} points)")
        return list(values)

    def value(self, k: int, mu: float) -> float:
        """−2lnL_k(μ) (conditional fit, saturated term removed) + prior_k; NaN where the model is undefined."""
        cache = self.cache[k]
        if mu not in cache:
            cache[mu] = self.conditional(k, mu, self._start(k, mu))
        return cache[mu].twice_nll - self.offsets[k] + self.prior[k]

    def _start(self, k: int, mu: float) -> np.ndarray:
        """Where point k's fit at ``mu`` starts: its fit at the nearest μ done, else its MLE, else its start."""
        cache = self.cache[k]
        near = min(cache, key=lambda m: abs(m - mu), default=None)
        if near is not None and np.isfinite(cache[near].twice_nll):
            return cache[near].pars
        return self.starts[k] if self.mles[k] is None else self.mles[k].pars

    def _at_mu(self, k: int, mu: float, pars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(``pars`` with μ and the held NPs set, the fixed flags) of point k's conditional fit at ``mu``."""
        lik = self.liks[k]
        fixed = lik.fixed.copy()
        fixed[lik.poi] = True
        out, fixed = self._with_held(lik, pars, fixed)
        out[lik.poi] = mu
        return out, fixed

    def conditional(self, k: int, mu: float, start: np.ndarray) -> Minimum:
        """The fixed-μ fit at grid point k: Newton, MINUIT only if the model is defined at the start point.

        Where the expected counts are negative at the start (μ far below 0) the fit is undefined: NaN,
        without the costly MINUIT retries (an undefined scan point counts as excluded).
        """
        lik = self.liks[k]

        def at_mu(pars: np.ndarray) -> np.ndarray:
            return self._at_mu(k, mu, pars)[0]

        first, fixed = self._at_mu(k, mu, start)
        found = self._batched(k, first, fixed) or lik.newton(first, fixed, hesse=False)
        if found is not None:
            return found
        if not np.isfinite(lik.twice_nll(first)):  # try the point's own MLE and the suggested init as starts
            mle = self.mles[k].pars if self.mles[k] is not None else self.starts[k]
            for other in (mle, lik.init):
                retry = at_mu(other)
                if np.isfinite(lik.twice_nll(retry)):
                    return lik.newton(retry, fixed, hesse=False) or lik.minimise(retry, fixed, self.notes,
                                                                             f"fixed mu={mu:.6g}")
            return Minimum(first, np.zeros_like(first), float("nan"), True)
        reset = at_mu(lik.init)
        found = lik.newton(reset, fixed, hesse=False)  # e.g. a start exactly at the minimum stalls the line search
        if found is not None and found.twice_nll <= lik.twice_nll(first) + 1e-6:
            return found
        return lik.minimise(first, fixed, self.notes, f"fixed mu={mu:.6g}")

    def prefill(self, points: Sequence[int], mus: Sequence[float]) -> None:
        """The conditional fits of every (point, μ) pair not cached yet, made at once: through :attr:`batch` if set
        (they join the lock step's batch), else one batch per simulated grid point (:class:`BatchedLikelihood`; the
        morph's fine points are pinned views of it), each fit starting where :meth:`value` would start it. A fit the
        batch does not converge is left to :meth:`value` (Newton, MINUIT). The caches then serve a scan of many
        (point, μ) values in one go."""
        pairs = [(int(k), float(mu)) for k in points for mu in mus if float(mu) not in self.cache[int(k)]]
        at = {(k, mu): self._at_mu(k, mu, self._start(k, mu)) for k, mu in pairs}  # (start, fixed flags)
        starts = {pair: start for pair, (start, _) in at.items()}
        if self.batch is not None:
            found = self.batch([(int(self.index[k]), *at[(k, mu)]) for k, mu in pairs]) if pairs else []
            for (k, mu), fit in zip(pairs, found, strict=True):
                if fit.converged:
                    self.cache[k][mu] = fit
            return
        groups: dict[tuple[int, bytes], list[tuple[int, float]]] = {}
        for (k, mu), (_, fixed) in at.items():
            groups.setdefault((int(self.model_of[k]), fixed.tobytes()), []).append((k, mu))
        for (b, mask), members in groups.items():
            engine, row = self._engine(b, starts[members[0]])
            fit = engine.minimise(np.array([starts[m] for m in members]), np.array([row[id(self.liks[k])]
                                  for k, _ in members]), np.frombuffer(mask, dtype=bool))  # fmt: skip
            for i, (k, mu) in enumerate(members):
                if fit.converged[i]:
                    self.cache[k][mu] = Minimum(fit.pars[i], fit.errors[i], float(fit.twice_nll[i]), True)

    def _engine(self, b: int, reference: np.ndarray) -> tuple[BatchedLikelihood, dict[int, int]]:
        """The batch engine of simulated point ``b`` with one dataset per point it owns (built once per data; its
        curvature reference the first start asked for), and the row of each point's likelihood."""
        if b not in self._engines:
            points = np.flatnonzero(self.model_of == b)
            liks = [self.liks[k] for k in points]
            nmain = liks[0].model.config.nmaindata
            engine = BatchedLikelihood(liks[0])
            engine.reference = np.asarray(reference, dtype=float).copy()
            engine.set_data(np.array([lik.data[:nmain] for lik in liks]), np.array([lik.data[nmain:] for lik in liks]))
            self._engines[b] = engine, {id(lik): i for i, lik in enumerate(liks)}
        return self._engines[b]

    def converged_between(self, lo: float, hi: float, ceiling: float = np.inf) -> bool:
        """Whether every MLE and every conditional fit at μ in [lo, hi] converged, at the points whose
        :attr:`floor` is at most ``ceiling`` (e.g. the profile's minimum + :data:`CONVERGENCE_MARGIN`: the far α
        points the morph reaches, where fits failed 1000 units up in the tiny run, cannot move a 68% interval)."""
        near = [k for k in range(len(self.liks)) if self.floor[k] <= ceiling]
        fits = [m for k in near for mu, m in self.cache[k].items() if lo <= mu <= hi]
        return all(m.converged for m in [*(self.mles[k] for k in near), *fits] if m is not None)

    def values(self, mu: float, points: np.ndarray) -> np.ndarray:
        return np.array([self.value(int(k), float(mu)) for k in points])


class GridBatch:
    """The fits of many datasets (toys, or a rule's datasets) through one grid, made together: one
    :class:`BatchedLikelihood` per simulated grid point (the morph's fine points are pinned views of it), one row per
    (dataset, point); :meth:`answer` serves the requests (dataset j, point k, start, fixed) of a
    :class:`systlab.infer.lockstep.LockStep` round, grouped by simulated point and fixed parameters."""

    def __init__(self, grid: GridLikelihood, observed: Sequence[Sequence[np.ndarray]],
                 auxdata: Sequence[Sequence[np.ndarray]], reference: Sequence[np.ndarray]) -> None:  # fmt: skip
        self.model_of, owner = np.asarray(grid.model_of), np.asarray(grid.owner)
        n_toys, n_points = len(observed), len(grid.liks)
        self.engines, self.row = {}, np.zeros((n_toys, n_points), dtype=int)
        for b in np.unique(self.model_of):
            points = np.flatnonzero(self.model_of == b)
            engine = BatchedLikelihood(grid.liks[points[0]])
            engine.reference = np.asarray(reference[points[0]], dtype=float).copy()
            engine.set_data(np.array([observed[j][owner[points[0]]] for j in range(n_toys) for _ in points]),
                            np.array([auxdata[j][p] for j in range(n_toys) for p in points]))  # fmt: skip
            self.row[:, points] = np.arange(n_toys * points.size).reshape(n_toys, points.size)
            self.engines[int(b)] = engine

    def answer(self, requests: list[tuple[int, int, np.ndarray, np.ndarray]]) -> list[Minimum]:
        groups: dict[tuple[int, bytes], list[int]] = {}
        for i, (_, k, _, fixed) in enumerate(requests):
            groups.setdefault((int(self.model_of[k]), np.asarray(fixed, bool).tobytes()), []).append(i)
        out: list[Minimum | None] = [None] * len(requests)
        for (b, _), members in groups.items():
            fixed = np.asarray(requests[members[0]][3], dtype=bool)
            starts = np.array([requests[i][2] for i in members], dtype=float)
            rows = np.array([self.row[requests[i][0], requests[i][1]] for i in members])
            fit = self.engines[b].minimise(starts, rows, fixed)
            for m, i in enumerate(members):
                out[i] = Minimum(fit.pars[m], fit.errors[m], float(fit.twice_nll[m]), bool(fit.converged[m]))
        return out
