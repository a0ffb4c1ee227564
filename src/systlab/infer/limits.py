"""95% CL CLs upper limits on μ: the q̃_μ test statistic and its asymptotic formulae.

CLs(μ) = CL_{s+b}/CL_b from q̃_μ of the data and q_{μ,A} of the background-only Asimov data (Cowan,
Cranmer, Gross, Vitells 2011), in pyhf's shifted form; the expected bands solve the same equation at
the ±1σ/±2σ background-only quantiles. :func:`profile_upper_limit` is the one implementation, on any
:class:`systlab.likelihood.profile.ProfileLikelihood`: :func:`upper_limit` runs it on a pyhf workspace,
:func:`systlab.infer.grid_inference.grid_upper_limit` on a grid. The binned fits use
:class:`systlab.likelihood.binned.Likelihood` (damped Newton, MINUIT fallback) because pyhf's own ``toms748_scan``
fails on this project's workspaces: its MINUIT fixed-μ fits stop above the EDM goal (FailedMinimization) on the
tiny baseline, and at strategy 2 one limit took 85 s. The observed limit is a Brent root in μ; the expected bands
are where √q_{μ,A} reaches fixed values, found band after band by the secant of :mod:`systlab.infer.crossing`;
fits warm-start from the nearest μ done.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.stats

from systlab.atomic import write_json
from systlab.infer.crossing import CrossingSearch
from systlab.infer.fit import json_float
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.profile import BinnedProfileLikelihood, ProfileLikelihood, twice_dnll

log = logging.getLogger(__name__)

BANDS = (2.0, 1.0, 0.0, -1.0, -2.0)  # background-only quantiles in σ: −2σ band first (lowest limit)


class UpperLimit(NamedTuple):
    """Observed and expected CLs upper limits on μ at confidence level ``cl``."""

    observed: float
    expected: tuple[float, float, float, float, float]  # −2σ, −1σ, median, +1σ, +2σ (ascending)
    cl: float
    test_stat: str
    poi_bounds: tuple[float, float]
    scan: tuple[np.ndarray, np.ndarray]  # μ tested by the root finder, observed CLs there (sorted by μ)
    at_bound: bool  # a limit equals the upper POI bound: raise the bound


def cls_observed(q_tilde: float, q_asimov: float) -> float:
    """Asymptotic CLs of an observed q̃_μ given q_{μ,A} of the background-only Asimov data."""
    sqa = np.sqrt(max(q_asimov, 0.0))
    q = max(q_tilde, 0.0)
    t = np.sqrt(q) - sqa if q <= q_asimov or sqa == 0.0 else (q - q_asimov) / (2.0 * sqa)
    return float(np.exp(scipy.stats.norm.logsf(t + sqa) - scipy.stats.norm.logsf(t)))  # ratio of logs: no 0/0


def cls_expected(q_asimov: float, n_sigma: float) -> float:
    """Expected CLs at the background-only quantile ``n_sigma`` (Φ(−√q_A − N)/Φ(−N))."""
    sqa = np.sqrt(max(q_asimov, 0.0))
    return float(np.exp(scipy.stats.norm.logsf(n_sigma + sqa) - scipy.stats.norm.logsf(n_sigma)))


def limit_bounds(cl: float, poi_bounds: tuple[float, float], test_stat: str = "qtilde") -> tuple[float, float]:
    """The validated (0, upper) μ bounds of a q̃_μ limit at confidence level ``cl``."""
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl {cl} not in (0, 1)")
    if test_stat != "qtilde":
        raise ValueError(f"test_stat {test_stat!r}: only 'qtilde' is implemented")
    lo, hi = map(float, poi_bounds)
    if lo != 0.0:
        raise ValueError("the qtilde test statistic needs the lower POI bound at 0")
    if not hi > lo:
        raise ValueError(f"poi_bounds {poi_bounds} are empty")
    return lo, hi


def profile_upper_limit(
    data: ProfileLikelihood, background: ProfileLikelihood, cl: float = 0.95, rtol: float = 1e-4
) -> UpperLimit:
    """CLs limits of any profile likelihood: q̃_μ of ``data`` against q_{μ,A} of the background-only Asimov data.

    Both profiles bound μ to the same range with lower bound 0 (μ̂ ≥ 0: q̃_μ compares with L(0) when the free μ̂
    would be negative); what the Asimov data are is the caller's (binned: pyhf's NPs of the μ = 0 fit to the data,
    :meth:`BinnedProfileLikelihood.asimov`; grid: the nominal background binned at every grid point).
    """
    lo, hi = limit_bounds(cl, data.mu_range)
    if tuple(map(float, background.mu_range)) != (lo, hi):
        raise ValueError(f"mu ranges differ: data {data.mu_range}, background {background.mu_range}")
    q_data, q_background = twice_dnll(data), twice_dnll(background)  # each minimum first: fits warm-start
    return limit_from_profiles(q_data, q_background, data.mle().mu_hat, cl, (lo, hi), rtol)


def upper_limit(
    workspace_spec: dict,
    observed_counts: Sequence[float],
    cl: float = 0.95,
    poi_bounds: tuple[float, float] = (0.0, 10.0),
    test_stat: str = "qtilde",
    rtol: float = 1e-4,
) -> UpperLimit:
    """CLs upper limit on μ (observed, expected median and ±1σ/±2σ bands), asymptotic, of a pyhf workspace.

    ``poi_bounds`` bound μ in every fit and bracket the root finding (q̃_μ needs a lower bound of 0);
    a limit beyond the upper bound is reported as the bound with ``at_bound`` set. The background-only
    Asimov data take the NPs of the μ = 0 fit to the data (pyhf), their minimum is that fit's μ = 0.
    """
    lo, hi = limit_bounds(cl, poi_bounds, test_stat)
    data = BinnedProfileLikelihood(Likelihood(workspace_spec, observed_counts, (lo, hi)))
    return profile_upper_limit(data, data.asimov(0.0, minimum_at_mu=True), cl, rtol)


def limit_from_profiles(
    observed: Callable[[float], float],
    asimov: Callable[[float], float],
    mu_hat: float,
    cl: float,
    poi_bounds: tuple[float, float],
    rtol: float = 1e-4,
) -> UpperLimit:
    """The CLs limits from two profile curves: −2ΔlnL(μ) of the data (μ̂ ≥ 0) and of the background-only Asimov data.

    The observed limit is a Brent root in μ inside ``poi_bounds`` (lower bound 0); the expected ones come from
    :func:`expected_limits`.
    """
    lo, hi = map(float, poi_bounds)
    alpha = 1.0 - cl
    tested: dict[float, float] = {}

    def cls_obs(mu: float) -> float:
        tested[float(mu)] = cls_observed(0.0 if mu_hat > mu else observed(mu), asimov(mu))
        return tested[float(mu)]

    def solve(f) -> float:
        low = lo + 1e-3 * (hi - lo)
        if f(hi) - alpha > 0:
            return hi
        while f(low) - alpha < 0 and low > 1e-9 * (hi - lo):  # the limit is below the first bracket
            low *= 0.1
        return float(scipy.optimize.brentq(lambda m: f(m) - alpha, low, hi, rtol=rtol, xtol=1e-8))

    limit_obs = solve(cls_obs)
    expected = tuple(sorted(expected_limits(asimov, limit_obs, cl, hi, rtol)))
    mus = np.array(sorted(tested))
    return UpperLimit(
        observed=limit_obs,
        expected=expected,  # type: ignore[arg-type]
        cl=float(cl),
        test_stat="qtilde",
        poi_bounds=(lo, hi),
        scan=(mus, np.array([tested[m] for m in mus])),
        at_bound=any(np.isclose(v, hi, rtol=1e-3) for v in (limit_obs, *expected)),
    )


def band_roots(cl: float) -> np.ndarray:
    """√q_{μ,A} at which the expected CLs of each band in ``BANDS`` equals 1 − ``cl`` (no fit: Φ(−√q − N)/Φ(−N))."""
    alpha = 1.0 - cl
    return np.array([scipy.optimize.brentq(lambda s, n=n: cls_expected(s * s, n) - alpha, 0.0, 50.0, xtol=1e-12)
                     for n in BANDS])  # fmt: skip


def expected_limits(asimov: Callable[[float], float], mu_start: float, cl: float, high: float,
                    rtol: float = 1e-4) -> list[float]:  # fmt: skip
    """The expected limit of every band: the μ where q_{μ,A} reaches that band's :func:`band_roots`, by the secant of
    :class:`CrossingSearch` on q_{μ,A}/root² (√q_{μ,A} is nearly linear in μ: two to four fits a band instead of a
    Brent search's eight to fifteen), band after band upwards so each starts from the last one's slope and its fits
    warm-start nearby; ``high`` (the upper μ bound) where none is inside. ``rtol``: on μ, as a Brent root's (q_{μ,A}
    within 2·rtol of its root², the bracket narrower than rtol·μ).
    """
    roots = band_roots(cl)
    start = min(max(float(mu_start), 1e-3 * high), high)
    q_start = asimov(start)
    sigma = start / np.sqrt(q_start) if np.isfinite(q_start) and q_start > 0 else 0.5 * high
    found, evals, converged = np.full(roots.size, high), np.zeros(roots.size, dtype=int), True
    for i in np.argsort(roots):
        scale = roots[i] * sigma
        search = CrossingSearch(0.0, scale, 1.0, high, q_tol=2.0 * rtol, xtol=rtol * min(scale, high))
        while True:
            index, mus = search.trials()
            if not index.size:
                break
            search.update(index, np.array([asimov(m) for m in mus]) / roots[i] ** 2)
        found[i], evals[i], converged = search.mu[0], search.n_evals[0], converged and bool(search.converged[0])
        if search.open[0]:
            break  # this band's limit is at the bound, and so are the higher bands'
        sigma = found[i] / roots[i]
    log.info("expected limits: %s Asimov fits per band%s", evals.tolist(),
             "" if converged else " (some not converged: bisection limit reached)")
    return [float(m) for m in found]


def limit_in_range(limit_at: Callable[[float], UpperLimit], high: float, max_high: float) -> UpperLimit:
    """``limit_at(upper μ bound)`` with the bound doubled from ``high`` until no limit sits at it (≤ ``max_high``)."""
    if not 0.0 < high <= max_high:
        raise ValueError(f"upper POI bound {high} not in (0, {max_high}]")
    while True:
        result = limit_at(high)
        if not result.at_bound or high >= max_high:
            return result
        high = min(2.0 * high, max_high)


def upper_limit_in_range(
    workspace_spec: dict, observed_counts: Sequence[float], high: float, max_high: float, cl: float = 0.95
) -> UpperLimit:
    """:func:`upper_limit` with the upper μ bound doubled from ``high`` until no limit sits at it (≤ ``max_high``)."""
    return limit_in_range(lambda h: upper_limit(workspace_spec, observed_counts, cl, (0.0, h)), high, max_high)


def upper_limit_payload(result: UpperLimit) -> dict:
    """JSON-ready form of an upper limit."""
    return {
        "observed": json_float(result.observed),
        "expected": {k: json_float(v) for k, v in zip(("-2", "-1", "0", "+1", "+2"), result.expected, strict=True)},
        "cl": result.cl,
        "test_stat": result.test_stat,
        "calculator": "asymptotics (Cowan et al. 2011)",
        "poi_bounds": list(result.poi_bounds),
        "scan": {"mu": result.scan[0].tolist(), "cls_observed": [json_float(v) for v in result.scan[1]]},
        "at_bound": bool(result.at_bound),
    }


def write_upper_limit(result: UpperLimit, path: str | os.PathLike) -> None:
    """Write an upper limit as sorted-key JSON, atomically."""
    write_json(path, upper_limit_payload(result))
