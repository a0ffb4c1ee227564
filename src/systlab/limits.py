"""95% CL CLs upper limits on μ with pyhf's own tools (q̃_μ test statistic, asymptotic formulae).

pyhf's ``toms748_scan`` root-finds CLs(μ) = 1 − CL for the observed and each expected band
(−2σ … +2σ); its hypotests use pyhf's MINUIT optimiser (:func:`systlab.fit.use_minuit`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyhf

from systlab.atomic import write_json
from systlab.fit import json_float, quiet_pyhf_failures, use_minuit
from systlab.workspace import workspace_model


class UpperLimit(NamedTuple):
    """Observed and expected CLs upper limits on μ at confidence level ``cl``."""

    observed: float
    expected: tuple[float, float, float, float, float]  # −2σ, −1σ, median, +1σ, +2σ (ascending)
    cl: float
    test_stat: str
    poi_bounds: tuple[float, float]
    scan: tuple[np.ndarray, np.ndarray]  # μ tested by the root finder, observed CLs there (sorted by μ)
    at_bound: bool  # a limit equals the upper POI bound: raise the bound


def upper_limit(
    workspace_spec: dict,
    observed_counts: Sequence[float],
    cl: float = 0.95,
    poi_bounds: tuple[float, float] = (0.0, 10.0),
    test_stat: str = "qtilde",
    rtol: float = 1e-4,
) -> UpperLimit:
    """CLs upper limit on μ (observed, expected median and ±1σ/±2σ bands), asymptotic, via pyhf.

    ``poi_bounds`` bound μ in every fit and bracket the root finding (q̃_μ needs a lower bound of 0).
    """
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl {cl} not in (0, 1)")
    lo, hi = map(float, poi_bounds)
    if test_stat == "qtilde" and lo != 0.0:
        raise ValueError("the qtilde test statistic needs the lower POI bound at 0")
    use_minuit()
    model = workspace_model(workspace_spec)
    data = np.concatenate([np.asarray(observed_counts, dtype=float), model.config.auxdata])
    bounds = [tuple(b) for b in model.config.suggested_bounds()]
    bounds[model.config.poi_index] = (lo, hi)
    init = list(model.config.suggested_init())
    init[model.config.poi_index] = min(max(init[model.config.poi_index], lo), hi)
    failure: Exception | None = None
    for fraction in (1e-2, 1e-3, 1e-4, 1e-5):  # lowest μ bracket: CLs is 0/0 (NaN) as μ → 0
        try:
            with quiet_pyhf_failures(), np.errstate(invalid="ignore", divide="ignore"):
                obs, exp, (mus, results) = pyhf.infer.intervals.upper_limits.toms748_scan(
                    data, model, lo + fraction * (hi - lo), hi, level=1.0 - cl, rtol=rtol, test_stat=test_stat,
                    par_bounds=bounds, init_pars=init, from_upper_limit_fn=True,
                )  # fmt: skip
            break
        except ValueError as err:  # NaN at the lower bracket, or no sign change (limit below it)
            failure = err
    else:
        raise ValueError(f"CLs root finding failed in poi_bounds {poi_bounds}: {failure}") from failure
    order = np.argsort(mus)
    cls_obs = np.array([float(np.asarray(r[0])) for r in results])[order]
    expected = tuple(sorted(float(e) for e in exp))
    limits = [float(obs), *expected]
    return UpperLimit(
        observed=float(obs),
        expected=expected,  # type: ignore[arg-type]
        cl=float(cl),
        test_stat=test_stat,
        poi_bounds=(lo, hi),
        scan=(np.asarray(mus, dtype=float)[order], cls_obs),
        at_bound=any(np.isclose(v, hi, rtol=1e-3) for v in limits),
    )


def upper_limit_payload(result: UpperLimit) -> dict:
    """JSON-ready form of an upper limit."""
    return {
        "observed": json_float(result.observed),
        "expected": {k: json_float(v) for k, v in zip(("-2", "-1", "0", "+1", "+2"), result.expected, strict=True)},
        "cl": result.cl,
        "test_stat": result.test_stat,
        "calculator": "asymptotics",
        "poi_bounds": list(result.poi_bounds),
        "scan": {"mu": result.scan[0].tolist(), "cls_observed": [json_float(v) for v in result.scan[1]]},
        "at_bound": bool(result.at_bound),
    }


def write_upper_limit(result: UpperLimit, path: str | os.PathLike) -> None:
    """Write an upper limit as sorted-key JSON, atomically."""
    write_json(path, upper_limit_payload(result))
