"""The published behaviour of each toy, checked on the trained replicas: numbers per model and pass/fail per claim.

* pivot (Louppe et al. fig. 4): the pivot's output distribution p(f(X) | z) is the same for z = -1, 0, +1
  while the baseline's moves: JS divergence between z = -1 and +1 far smaller for the pivot (and DisCo).
* rotating (Ghosh et al.): at every oracle point Z the aware classifier f(x; Z) reaches the oracle's AUC
  within the replica spread while the baseline (trained at Z = 1) does worse; its learned likelihood ratio
  c/(1-c) tracks the analytic p_s/p_b (its error nearer the oracle's than the baseline's).
* inferno: AUCs of every model at nominal and +-1 sigma of r and lambda, next to the Bayes-optimal AUC of
  the analytic density ratio; no model may beat it, and the aware model should stay close to it. The expected
  sigma(mu) of each model's binned likelihood with r and lambda profiled: INFERNO's below the baseline's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from systlab.methods.onnx_io import OnnxScorer
from systlab.papertoys.evaluate import (
    auc,
    evaluation_sample,
    learned_log_ratio,
    model_scores,
    ratio_profile,
    score_shift,
)
from systlab.papertoys.settings import oracle_name
from systlab.papertoys.toys import Toy, get_toy
from systlab.studies.metrics import mean_std

#: The pivot passes when its mean JS divergence (z = -1 vs +1) is below this fraction of the baseline's.
PIVOT_JS_RATIO = 0.25
#: A decorrelated classifier must still separate the classes (a constant output coincides trivially).
MIN_DECORRELATED_AUC = 0.6
#: Smallest AUC tolerance (the replica spread of small toy runs can be tiny by chance).
AUC_TOLERANCE_FLOOR = 0.004
#: Without a baseline to compare with, the aware model's log-ratio RMS may be at most this multiple of the oracle's.
RATIO_RMS_FACTOR = 2.5
#: Window of analytic log10 ratios over which learned ratios are compared.
RATIO_WINDOW_LOG10 = (-3.0, 3.0)
#: The aware model's AUC on the INFERNO toy may fall at most this far below the Bayes-optimal AUC.
INFERNO_AWARE_GAP = 0.01
#: Rotating-Gaussians points always evaluated (the oracle points are added).
ROTATING_POINTS = (0.0, 1.0, 2.0)

Models = Mapping[str, Sequence[OnnxScorer]]


class Check(NamedTuple):
    """One published claim: what it says, the numbers it rests on, and whether they bear it out."""

    name: str
    statement: str
    values: dict[str, Any]
    passed: bool


def point_label(point: Mapping[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in point.items()) or "nominal"


def auc_tolerance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Two combined replica standard deviations, at least AUC_TOLERANCE_FLOOR."""
    return max(2.0 * math.hypot(a["std"], b["std"]), AUC_TOLERANCE_FLOOR)


def per_replica(models: Models, metric: Callable[[OnnxScorer], float]) -> dict[str, dict[str, Any]]:
    """metric of every replica of every model, with mean and std."""
    out = {}
    for model, scorers in models.items():
        values = [float(metric(s)) for s in scorers]
        out[model] = {"replicas": values, **mean_std(values)}
    return out


def auc_table(toy: Toy, models: Models, points: Sequence[Mapping[str, float]], n: int, seed: int
              ) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:  # fmt: skip
    """AUC per point per model (replicas, mean, std), and the Bayes-optimal AUC of the analytic ratio per point."""
    table: dict[str, dict[str, Any]] = {m: {} for m in models}
    bayes = {}
    for point in points:
        sample = evaluation_sample(toy, n, seed, point)
        label = point_label(point)
        bayes[label] = auc(toy.log_likelihood_ratio(sample.features, sample.nuisances), sample)
        for model, stats in per_replica(models, lambda s, smp=sample: auc(model_scores(s, toy, smp), smp)).items():
            table[model][label] = stats
    return table, bayes


def pivot_checks(models: Models, n: int, seed: int) -> dict[str, Any]:
    """Output distributions of every model at z = -1, 0, +1 (all events, as p(f(X) | z) in the paper)."""
    toy = get_toy("pivot")
    points = [{"z": -1.0}, {"z": 0.0}, {"z": 1.0}]
    aucs, bayes = auc_table(toy, models, points, n, seed)
    low, high = (evaluation_sample(toy, n, seed, p) for p in (points[0], points[2]))
    shifts = {m: [score_shift(model_scores(s, toy, low), model_scores(s, toy, high), low.weight) for s in scorers]
              for m, scorers in models.items()}  # fmt: skip
    summary = {
        m: {"auc": aucs[m], "js_divergence_z-1_z+1": {"replicas": [s.js_divergence for s in v],
                                                      **mean_std([s.js_divergence for s in v])},
            "ks_distance_z-1_z+1": {"replicas": [s.ks_distance for s in v], **mean_std([s.ks_distance for s in v])}}
        for m, v in shifts.items()
    }  # fmt: skip
    checks = []
    for method in ("pivot", "disco"):
        if {"baseline", method} <= set(models):
            js_base = summary["baseline"]["js_divergence_z-1_z+1"]["mean"]
            js = summary[method]["js_divergence_z-1_z+1"]["mean"]
            auc_nominal = summary[method]["auc"]["z=0"]["mean"]
            checks.append(Check(
                f"{method}_outputs_coincide",
                f"mean JS(f | z=-1, f | z=+1) of {method} < {PIVOT_JS_RATIO} x the baseline's, "
                f"while its AUC at z=0 stays > {MIN_DECORRELATED_AUC}",
                {f"js_{method}": js, "js_baseline": js_base, "ratio": js / js_base if js_base > 0 else math.inf,
                 f"auc_{method}": auc_nominal},
                bool(js < PIVOT_JS_RATIO * js_base and auc_nominal > MIN_DECORRELATED_AUC),
            ))  # fmt: skip
    return {"models": summary, "bayes_auc": bayes, "checks": checks}


def ratio_check(z: float, rms: Mapping[str, float], oracle: str) -> Check:
    """The aware model's learned ratio error at Z: nearer the oracle's than the baseline's (if there is one),
    else within RATIO_RMS_FACTOR of the oracle's."""
    if "baseline" in rms:
        limit, against = 0.5 * (rms[oracle] + rms["baseline"]), "nearer the oracle's than the baseline's"
    else:
        limit, against = RATIO_RMS_FACTOR * rms[oracle], f"<= {RATIO_RMS_FACTOR} x the oracle's"
    return Check(
        f"aware_ratio_tracks_analytic_Z{z:g}",
        f"RMS of log c/(1-c) - log p_s/p_b for aware at Z={z:g} {against}",
        {**{f"rms_{m}": v for m, v in rms.items()}, "limit": limit},
        bool(rms["aware"] <= limit),
    )


def rotating_checks(models: Models, oracle_points: Sequence[float], n: int, seed: int) -> dict[str, Any]:
    """AUC and learned-ratio RMS per Z for every model; aware vs oracle and baseline vs oracle per oracle point."""
    toy = get_toy("rotating")
    values = sorted(set(ROTATING_POINTS) | set(oracle_points))
    points = [{"Z": z} for z in values]
    aucs, bayes = auc_table(toy, models, points, n, seed)
    edges = np.linspace(*RATIO_WINDOW_LOG10, 25)
    rms: dict[str, dict[str, Any]] = {m: {} for m in models}
    for point in points:
        sample = evaluation_sample(toy, n, seed, point)
        true_log = toy.log_likelihood_ratio(sample.features, sample.nuisances)

        def rms_of(scorer, sample=sample, true_log=true_log):
            return ratio_profile(learned_log_ratio(model_scores(scorer, toy, sample)), true_log, edges).rms_log

        for model, stats in per_replica(models, rms_of).items():
            rms[model][point_label(point)] = stats
    checks = []
    for z in oracle_points:
        oracle, label = oracle_name("Z", z), point_label({"Z": z})
        if oracle not in models:
            continue
        ref = aucs[oracle][label]
        if "aware" in models:
            got, tol = aucs["aware"][label], auc_tolerance(aucs["aware"][label], ref)
            checks.append(Check(
                f"aware_auc_equals_oracle_Z{z:g}", f"|AUC(aware; Z={z:g}) - AUC({oracle})| <= tolerance",
                {"aware": got["mean"], "oracle": ref["mean"], "difference": got["mean"] - ref["mean"],
                 "tolerance": tol},
                bool(abs(got["mean"] - ref["mean"]) <= tol),
            ))  # fmt: skip
            checks.append(ratio_check(z, {m: rms[m][label]["mean"] for m in ("aware", oracle, "baseline")
                                          if m in rms}, oracle))  # fmt: skip
        if "baseline" in models and z != toy.primary.nominal:
            got, tol = aucs["baseline"][label], auc_tolerance(aucs["baseline"][label], ref)
            checks.append(Check(
                f"baseline_auc_below_oracle_Z{z:g}", f"AUC(baseline; Z={z:g}) < AUC({oracle}) - tolerance",
                {"baseline": got["mean"], "oracle": ref["mean"], "tolerance": tol},
                bool(got["mean"] < ref["mean"] - tol),
            ))  # fmt: skip
    return {
        "models": {m: {"auc": aucs[m], "log_ratio_rms": rms[m]} for m in models},
        "bayes_auc": bayes,
        "checks": checks,
    }


def inferno_checks(models: Models, n: int, seed: int) -> dict[str, Any]:
    """AUC at nominal and +-1 sigma of each nuisance for every scoring model, against the Bayes-optimal AUC;
    expected sigma(mu) of every model's binned likelihood with r and lambda profiled; INFERNO vs cross-entropy."""
    from systlab.papertoys.inferno import expected_mu_std, is_binning_model  # imports torch (the INFERNO training)

    toy = get_toy("inferno")
    points = [{}] + [{nu.name: nu.nominal + sign * nu.sigma} for nu in toy.nuisances for sign in (-1, 1)]
    sigma = per_replica(models, lambda s: expected_mu_std(s, n, seed))
    binning = {m for m, scorers in models.items() if is_binning_model(scorers[0])}
    models = {m: s for m, s in models.items() if m not in binning}
    aucs, bayes = auc_table(toy, models, points, n, seed)
    checks = []
    worst = {m: max(aucs[m][p]["mean"] - bayes[p] for p in bayes) for m in models}
    tol = 2 * AUC_TOLERANCE_FLOOR
    checks.append(Check(
        "no_model_beats_bayes", f"AUC of every model <= Bayes-optimal AUC + {tol:g} at every point",
        {"max_excess": worst, "tolerance": tol}, bool(all(v <= tol for v in worst.values())),
    ))  # fmt: skip
    if "aware" in models:
        gap = {p: bayes[p] - aucs["aware"][p]["mean"] for p in bayes}
        checks.append(Check(
            "aware_close_to_bayes", f"AUC(aware) >= Bayes-optimal AUC - {INFERNO_AWARE_GAP:g} at every point",
            {"gap": gap, "tolerance": INFERNO_AWARE_GAP}, bool(all(g <= INFERNO_AWARE_GAP for g in gap.values())),
        ))  # fmt: skip
    if {"inferno", "baseline"} <= set(sigma):
        got, ref = sigma["inferno"], sigma["baseline"]
        checks.append(Check(
            "inferno_beats_cross_entropy", "expected sigma(mu), r and lambda profiled: INFERNO < baseline classifier",
            {"inferno": got["mean"], "baseline": ref["mean"]}, bool(got["mean"] < ref["mean"]),
        ))  # fmt: skip
    summary = {m: {"sigma_mu": sigma[m], **({"auc": aucs[m]} if m in aucs else {})} for m in sigma}
    return {"models": summary, "bayes_auc": bayes, "checks": checks}


def toy_checks(toy: str, models: Models, oracle_points: Sequence[float], n: int, seed: int) -> dict[str, Any]:
    """The checks.json payload of one toy: numbers per model, the checks, and whether all passed."""
    if toy == "pivot":
        result = pivot_checks(models, n, seed)
    elif toy == "rotating":
        result = rotating_checks(models, oracle_points, n, seed)
    elif toy == "inferno":
        result = inferno_checks(models, n, seed)
    else:
        raise ValueError(f"no checks defined for paper toy {toy!r}")
    checks = [c._asdict() for c in result["checks"]]
    return {
        "toy": toy,
        "n_test_per_class": n,
        "replicas": {m: len(s) for m, s in models.items()},
        **result,
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }
