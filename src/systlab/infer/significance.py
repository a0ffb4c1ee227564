"""Discovery significance (q0 → p0, Z0; asymptotic formulae) and a toy check of the asymptotic formulae.

:func:`profile_significance` is the one implementation, on any :class:`systlab.likelihood.profile.ProfileLikelihood`
(:func:`discovery_significance` runs it on a pyhf workspace, :func:`systlab.infer.grid_inference.grid_significance`
on a grid): q0 = −2ln L(0)/L(μ̂) with μ̂ ≥ 0, p0 = 1 − Φ(√q0), Z0 = √q0 (Cowan, Cranmer, Gross, Vitells 2011;
what ``pyhf.infer.hypotest(0, …, test_stat="q0")`` computes, on the fit engine that the limits need because
pyhf's MINUIT fits fail on this project's badly conditioned workspaces, see :mod:`systlab.infer.limits`); the
expected (median) Z0 at μ = 1 is √q0 of the Asimov data at μ = 1 with the NPs of the μ = 1 conditional
fit (pyhf's choice). :func:`asymptotic_check` throws frequentist toys (Poisson main counts and Gaussian
auxiliary data around a truth) and compares the toy distribution of q_μ (two-sided, μ free: χ²₁ under
Wilks) or q0 (½δ(0) + ½χ²₁) with the asymptotic law: tail fractions above thresholds and the
Kolmogorov–Smirnov distance, plus the toy histogram for a figure. :func:`wilks_check` does the same
comparison for toy values computed elsewhere (the q_μ(μ_true) of each coverage toy, :mod:`systlab.infer.toys`).
Where Wilks fails, toy-based intervals are the fallback (not implemented here).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from systlab.atomic import write_json

if TYPE_CHECKING:
    from systlab.likelihood.profile import ProfileLikelihood

# scipy.stats, the fit engine (pyhf) and the toys are imported inside the functions that use them: the summary and the
# figure jobs import this module for wilks_check / scan_interval and must not pay for pyhf (job start-up, issue 19).

#: Tail thresholds of the toy check (χ²₁ quantiles at 1σ, 90%, 95%, 99%, 3σ).
THRESHOLDS = (1.0, 2.706, 3.841, 6.635, 9.0)
#: A KS p-value below this says the toys do not follow the asymptotic law (Wilks fails).
WILKS_P_MIN = 0.01


class Significance(NamedTuple):
    """Asymptotic discovery significance of one dataset (and the expected median at μ = 1)."""

    q0: float
    p0: float
    z0: float
    p0_expected: float
    z0_expected: float
    mu_hat: float  # μ̂ with μ ≥ 0 (the q0 convention)


class AsymptoticCheck(NamedTuple):
    """Toy distribution of a test statistic against its asymptotic law."""

    test_stat: str  # "qmu" (two-sided, χ²₁) or "q0" (½δ + ½χ²₁)
    mu_test: float
    values: np.ndarray  # per converged toy
    thresholds: tuple[float, ...]
    tail_toys: np.ndarray  # fraction of toys above each threshold
    tail_errors: np.ndarray  # binomial error of those fractions
    tail_asymptotic: np.ndarray
    ks: float  # sup |F_toys − F_asymptotic|
    ks_critical_95: float  # 1.358/√N
    n_failed: int
    observed: float | None  # an observed value of the statistic, if given
    p_toys: float | None  # fraction of toys ≥ observed
    p_asymptotic: float | None
    histogram: tuple[np.ndarray, np.ndarray]  # (edges, toy counts) for a figure


def p_to_z(p: float) -> float:
    """One-sided Gaussian significance of a p-value."""
    import scipy.stats

    return float(scipy.stats.norm.isf(p))


def discovery_q0(profile: ProfileLikelihood) -> tuple[float, float]:
    """(q0 = −2ΔlnL(μ = 0), μ̂) of a profile likelihood whose μ range starts at 0 (μ̂ ≥ 0, the q0 convention)."""
    from systlab.likelihood.profile import twice_dnll

    if profile.mu_range[0] != 0.0:
        raise ValueError(f"mu range {profile.mu_range}: q0 needs the lower bound at 0")
    return twice_dnll(profile)(0.0), profile.mle().mu_hat


def profile_significance(data: ProfileLikelihood, expected: ProfileLikelihood | None = None) -> Significance:
    """q0, p0 and Z0 of ``data`` and the median expected ones of ``expected`` (the Asimov data at μ = 1; None: the
    data are those Asimov data, so observed and expected are the same number). The one implementation."""
    import scipy.stats

    q0, mu_hat = discovery_q0(data)
    q0_expected = q0 if expected is None else discovery_q0(expected)[0]
    p0, p0_exp = (float(scipy.stats.norm.sf(np.sqrt(q))) for q in (q0, q0_expected))
    return Significance(q0=q0, p0=p0, z0=p_to_z(p0), p0_expected=p0_exp, z0_expected=p_to_z(p0_exp), mu_hat=mu_hat)


def discovery_significance(
    workspace_spec: dict, observed_counts: Sequence[float], poi_bounds: tuple[float, float] = (0.0, 10.0)
) -> Significance:
    """q0, p0 and Z0 of ``observed_counts`` and the median expected Z0 at μ = 1 (asymptotic formulae).

    The expected Z0 is that of the Asimov data at μ = 1 with the NPs of the μ = 1 fit to the data (started at the
    suggested init; pyhf's choice), their MLE started there.
    """
    from systlab.likelihood.binned import Likelihood
    from systlab.likelihood.profile import BinnedProfileLikelihood

    lo, hi = map(float, poi_bounds)
    if lo != 0.0 or not hi > 1.0:
        raise ValueError(f"poi_bounds {poi_bounds}: q0 needs the lower bound at 0 and the upper above 1")
    data = BinnedProfileLikelihood(Likelihood(workspace_spec, observed_counts, (lo, hi)))
    return profile_significance(data, data.asimov(1.0, start=data.lik.init))


def asymptotic_cdf(test_stat: str, t: np.ndarray) -> np.ndarray:
    """CDF of the asymptotic law: χ²₁ for q_μ, ½ + ½χ²₁ (t ≥ 0) for q0."""
    import scipy.stats

    t = np.asarray(t, dtype=float)
    chi2 = scipy.stats.chi2.cdf(np.clip(t, 0.0, None), 1)
    return chi2 if test_stat == "qmu" else np.where(t >= 0.0, 0.5 + 0.5 * chi2, 0.0)


def asymptotic_tail(test_stat: str, t: float) -> float:
    """P(statistic ≥ t) under the asymptotic law (t > 0)."""
    import scipy.stats

    sf = float(scipy.stats.chi2.sf(t, 1))
    return sf if test_stat == "qmu" else 0.5 * sf


def ks_distance(test_stat: str, values: np.ndarray) -> float:
    """sup |F_empirical − F_asymptotic|, the point mass of q0 at 0 included."""
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    f = asymptotic_cdf(test_stat, x)
    f_left = np.where(x <= 0.0, 0.0, f) if test_stat == "q0" else f
    upper = np.arange(1, n + 1) / n - f
    lower = f_left - np.arange(n) / n
    return float(max(upper.max(), lower.max()))


def asymptotic_check(
    workspace_spec: dict,
    n_toys: int,
    seed: int,
    test_stat: str = "qmu",
    mu_test: float = 1.0,
    truth_pars: Sequence[float] | None = None,
    mu_range: tuple[float, float] = (-5.0, 10.0),
    observed: float | None = None,
    thresholds: Sequence[float] = THRESHOLDS,
    bins: int = 40,
) -> AsymptoticCheck:
    """Toys at the truth (default: suggested init with μ = ``mu_test``, or μ = 0 for q0) → test statistic.

    Each toy: Poisson main counts of the truth's expectation and Gaussian auxiliary data around the
    truth's auxiliary expectation (the frequentist ensemble). q_μ = −2ΔlnL(μ_test), μ free in
    ``mu_range``; q0 = −2ΔlnL(0) with μ ≥ 0. ``observed`` gives the toy p-value of an observed value.
    """
    from systlab.infer.toys import aux_widths, toy_auxdata, toy_counts
    from systlab.likelihood.binned import Likelihood

    if test_stat not in ("qmu", "q0"):
        raise ValueError(f"test_stat {test_stat!r} is not 'qmu' or 'q0'")
    mu_test = 0.0 if test_stat == "q0" else float(mu_test)
    lo, hi = (0.0, float(mu_range[1])) if test_stat == "q0" else tuple(map(float, mu_range))
    lik = Likelihood(workspace_spec, None, (lo, hi))
    truth = lik.init.copy() if truth_pars is None else np.asarray(truth_pars, dtype=float)
    if truth_pars is None:
        truth[lik.poi] = mu_test
    expected = np.asarray(lik.model.expected_actualdata(truth), dtype=float)
    aux_centre = np.asarray(lik.model.expected_auxdata(truth), dtype=float)
    widths = aux_widths(lik)
    values, failed = [], 0
    for index in range(int(n_toys)):
        lik.set_observed(toy_counts(expected, seed, index), toy_auxdata(aux_centre, widths, seed, index))
        notes: list[str] = []
        best = lik.mle(truth, notes, hesse=False)
        fixed = lik.fixed_mu(mu_test, best.pars, notes)
        if notes and any("did not converge" in n for n in notes) or not np.isfinite(fixed.twice_nll - best.twice_nll):
            failed += 1
            continue
        values.append(max(fixed.twice_nll - best.twice_nll, 0.0))
    v = np.asarray(values)
    n = v.size
    if not n:
        raise ValueError("no toy converged")
    tail = np.array([np.mean(v >= t) for t in thresholds])
    asym = np.array([asymptotic_tail(test_stat, t) for t in thresholds])
    top = max(float(np.max(v)), float(max(thresholds)))
    counts, edges = np.histogram(v, bins=bins, range=(0.0, top))
    return AsymptoticCheck(
        test_stat=test_stat,
        mu_test=mu_test,
        values=v,
        thresholds=tuple(float(t) for t in thresholds),
        tail_toys=tail,
        tail_errors=np.sqrt(np.clip(asym * (1 - asym), 1.0 / n**2, None) / n),
        tail_asymptotic=asym,
        ks=ks_distance(test_stat, v),
        ks_critical_95=1.358 / np.sqrt(n),
        n_failed=failed,
        observed=None if observed is None else float(observed),
        p_toys=None if observed is None else float(np.mean(v >= observed)),
        p_asymptotic=None if observed is None else asymptotic_tail(test_stat, float(observed)),
        histogram=(edges, counts),
    )


class WilksCheck(NamedTuple):
    """Toy values of a test statistic (computed elsewhere) against its asymptotic law."""

    test_stat: str
    n: int  # finite toy values used
    ks: float
    ks_p_value: float  # exact one-sample KS distribution (scipy.stats.kstwo)
    ks_critical_95: float
    thresholds: tuple[float, ...]
    tail_toys: np.ndarray
    tail_errors: np.ndarray
    tail_asymptotic: np.ndarray
    wilks_ok: bool  # KS p-value ≥ p_min


def wilks_check(
    values: Sequence[float], test_stat: str = "qmu", thresholds: Sequence[float] = THRESHOLDS,
    p_min: float = WILKS_P_MIN,
) -> WilksCheck:  # fmt: skip
    """KS distance (and p-value) and tail fractions of toy values against χ²₁ (q_μ) or ½δ + ½χ²₁ (q0).

    Non-finite values (toys where the statistic was not computed) are dropped; ValueError if none is left.
    """
    import scipy.stats

    if test_stat not in ("qmu", "q0"):
        raise ValueError(f"test_stat {test_stat!r} is not 'qmu' or 'q0'")
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if not n:
        raise ValueError("no finite toy value of the test statistic")
    ks = ks_distance(test_stat, v)
    p_value = float(scipy.stats.kstwo.sf(ks, n))
    asym = np.array([asymptotic_tail(test_stat, t) for t in thresholds])
    return WilksCheck(
        test_stat=test_stat,
        n=int(n),
        ks=ks,
        ks_p_value=p_value,
        ks_critical_95=float(1.358 / np.sqrt(n)),
        thresholds=tuple(float(t) for t in thresholds),
        tail_toys=np.array([np.mean(v >= t) for t in thresholds]),
        tail_errors=np.sqrt(np.clip(asym * (1 - asym), 1.0 / n**2, None) / n),
        tail_asymptotic=asym,
        wilks_ok=bool(p_value >= p_min),
    )


def wilks_payload(result: WilksCheck) -> dict:
    """JSON-ready Wilks check (tail fractions keyed by threshold)."""
    return {
        "test_stat": result.test_stat,
        "n": result.n,
        "ks": result.ks,
        "ks_p_value": result.ks_p_value,
        "ks_critical_95": result.ks_critical_95,
        "tail_toys": {f"{t:g}": float(f) for t, f in zip(result.thresholds, result.tail_toys, strict=True)},
        "tail_asymptotic": {f"{t:g}": float(f) for t, f in zip(result.thresholds, result.tail_asymptotic, strict=True)},
        "wilks_ok": result.wilks_ok,
    }


def significance_payload(result: Significance) -> dict:
    """JSON-ready discovery significance (infinite Z0 as null)."""
    from systlab.infer.fit import json_float

    return {k: json_float(v) for k, v in result._asdict().items()} | {"calculator": "asymptotics"}


def check_payload(result: AsymptoticCheck) -> dict:
    """JSON-ready toy check (the per-toy values included for figures)."""
    from systlab.infer.fit import json_float

    return {
        "test_stat": result.test_stat,
        "mu_test": result.mu_test,
        "n_toys": int(result.values.size),
        "n_failed": result.n_failed,
        "values": [json_float(v) for v in result.values],
        "thresholds": list(result.thresholds),
        "tail_toys": result.tail_toys.tolist(),
        "tail_errors": result.tail_errors.tolist(),
        "tail_asymptotic": result.tail_asymptotic.tolist(),
        "ks": result.ks,
        "ks_critical_95": result.ks_critical_95,
        "wilks_ok": bool(result.ks < result.ks_critical_95),
        "observed": result.observed,
        "p_toys": result.p_toys,
        "p_asymptotic": result.p_asymptotic,
        "histogram": {"edges": result.histogram[0].tolist(), "counts": result.histogram[1].tolist()},
    }


def write_significance(result: Significance, path: str | os.PathLike) -> None:
    """Write a discovery significance as sorted-key JSON, atomically."""
    write_json(path, significance_payload(result))


def write_check(result: AsymptoticCheck, path: str | os.PathLike) -> None:
    """Write a toy check as sorted-key JSON, atomically."""
    write_json(path, check_payload(result))


def toy_critical_value(values: Sequence[float | None], cl: float = 0.6827) -> float:
    """The ``cl`` quantile of the toys' q_mu(mu_true): the Neyman critical value at the true mu, which replaces
    chi2_1's 1.0 where Wilks fails. ValueError without a finite value."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        raise ValueError("no finite toy value of q_mu to calibrate on")
    return float(np.quantile(v, cl))


def scan_interval(mu: Sequence[float], twice_dnll: Sequence[float], critical: float) -> tuple[float, float] | None:
    """{mu : -2 Delta lnL(mu) <= critical} of a stored profile scan, with linear interpolation at the crossings;
    None where the scan does not cross ``critical`` on both sides of its minimum (an open interval)."""
    x, q = np.asarray(mu, dtype=float), np.asarray(twice_dnll, dtype=float)
    ok = np.isfinite(q)
    x, q = x[ok], q[ok]
    if x.size < 3:
        return None
    best = int(np.argmin(q))
    ends = []
    for side in (-1, 1):
        i = best
        while 0 <= i + side < x.size and q[i + side] <= critical:
            i += side
        j = i + side
        if not 0 <= j < x.size:
            return None
        ends.append(float(np.interp(critical, [q[i], q[j]], [x[i], x[j]])))
    return ends[0], ends[1]

