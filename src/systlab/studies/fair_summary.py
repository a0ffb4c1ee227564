"""The FAIR-protocol table of the summary: per method and prior setting, coverage, mean width and the challenge's score
of the replicas' pseudo-experiments (results/fair_protocol/<model>/<replica>.json, :mod:`systlab.infer.fair_protocol`)
with their standard errors.

Every replica is evaluated on the same pseudo-experiments (PEs), so a value is the mean over replicas and its
standard error adds in quadrature the PEs' part (coverage: binomial, :func:`binomial_se`; mean width: the spread
over PEs of the replica-averaged width / √N; score: a bootstrap over the PEs, resampled jointly for every replica,
as the score is not a mean) and the replicas' part (their standard deviation / √R; none with one replica).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: The table's value columns, in order: each with a standard error ``<name>_se``.
COLUMNS = ("coverage", "mean_width", "score")
BOOTSTRAP_SAMPLES = 200
NOTE = (
    "FAIR-Universe protocol (results/fair_protocol/; HiggsML 0.1.5's ingestion): sets of pseudo-experiments with "
    "mu_true ~ U(mu_range), every NP truth drawn per pseudo-experiment from its prior - challenge: HiggsML's own "
    "priors and clips (TES, JES ~ N(1, 0.001) in [0.99, 1.01], soft MET ~ LogNormal(0, 1) GeV in [0, 5], ttbar, "
    "diboson, background scales ~ N(1, 0.02 | 0.25 | 0.001)); systlab: this config's systematics.shape, "
    "systematics.norm and lumi - the pseudo-data bootstrapped from the held-out toy split (Poisson(scale * w) per "
    "event), moved by systlab's variations, fitted through each model's own likelihood with nominal auxiliary "
    "data; coverage of [p16, p84], mean width and score = -ln((mean width + 1e-3) f(coverage)) (the challenge's "
    "Quantiles_Score, systlab.infer.toys.fair_score); mean over replicas +- standard error (PEs and replicas)"
)


def read_replica(path: str | os.PathLike) -> dict:
    """One replica's protocol JSON; ValueError naming the file if it is missing or not the protocol's."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not readable as the FAIR-protocol JSON ({err})") from err
    if "priors" not in payload:
        raise ValueError(f"{path}: field 'priors' missing")
    return payload


def _arrays(prior: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ_true, p16, p84, converged) of one prior setting's PEs (NaN where a fit gave none)."""
    pes = prior["pseudo_experiments"]
    as_float = lambda xs: np.array([np.nan if x is None else x for x in xs], dtype=float)  # noqa: E731
    return as_float(pes["mu_true"]), as_float(pes["p16"]), as_float(pes["p84"]), np.array(pes["converged"], bool)


def binomial_se(coverage: float, n: int) -> float:
    """Binomial standard error of a coverage over ``n`` PEs, Agresti-Coull's (two successes and two failures added:
    not 0 at a coverage of 0 or 1), √(c̃(1 − c̃)/(n + 4)) with c̃ = (c·n + 2)/(n + 4)."""
    if not math.isfinite(coverage):
        return float("nan")
    tilde = (coverage * n + 2.0) / (n + 4.0)
    return math.sqrt(tilde * (1.0 - tilde) / (n + 4.0))


def method_stats(replicas: Sequence[Mapping], seed: int = 0) -> dict:
    """Coverage, mean width and score (means over replicas) with standard errors, from one prior setting's payloads
    of every replica of one method (the same PEs in each)."""
    from systlab.infer.toys import fair_score  # here: the figure jobs that import this module need no pyhf/scipy

    arrays = [_arrays(r) for r in replicas]
    n = {a[0].size for a in arrays}
    if len(n) != 1:
        raise ValueError(f"replicas have {sorted(n)} pseudo-experiments: not the same protocol")
    n_pe = n.pop()

    def values(index: np.ndarray) -> np.ndarray:  # (replicas, 3): coverage, mean width, score on PEs ``index``
        out = []
        for mu, lo, hi, ok in arrays:
            keep = index[ok[index]]
            width, coverage, score = fair_score(mu[keep], lo[keep], hi[keep]) if keep.size else (np.nan,) * 3
            out.append((coverage, width, score))
        return np.array(out, dtype=float)

    every = values(np.arange(n_pe))
    means = every.mean(axis=0)
    replica_se = every.std(axis=0, ddof=1) / math.sqrt(len(arrays)) if len(arrays) > 1 else np.zeros(3)
    n_used = int(min(ok.sum() for *_, ok in arrays))
    widths = np.nanmean([np.where(ok, hi - lo, np.nan) for _, lo, hi, ok in arrays], axis=0)
    rng = np.random.default_rng(seed)
    boot = np.array([values(rng.integers(0, n_pe, n_pe)).mean(axis=0)[2] for _ in range(BOOTSTRAP_SAMPLES)])
    pe_se = np.array([binomial_se(means[0], n_used),
                      float(np.nanstd(widths, ddof=1) / math.sqrt(max(np.isfinite(widths).sum(), 1))),
                      float(np.nanstd(boot, ddof=1))])  # fmt: skip
    se = np.sqrt(pe_se**2 + replica_se**2)
    out: dict[str, float | int | None] = {"replicas": len(arrays), "pseudo_experiments": n_pe,
                                          "n_failed": int(sum((~ok).sum() for *_, ok in arrays))}  # fmt: skip
    for i, name in enumerate(COLUMNS):
        out[name] = float(means[i]) if math.isfinite(means[i]) else None
        out[f"{name}_se"] = float(se[i]) if math.isfinite(se[i]) else None
    return out


def fair_protocol_table(paths: Sequence[str | os.PathLike]) -> dict:
    """{prior: {method: stats}} from results/fair_protocol/<model>/<replica>.json files (every method's replicas)."""
    by_method: dict[str, list[dict]] = {}
    for path in sorted(map(Path, paths)):
        by_method.setdefault(path.parent.name, []).append(read_replica(path))
    priors = sorted({p for payloads in by_method.values() for r in payloads for p in r["priors"]})
    return {prior: {method: method_stats([r["priors"][prior] for r in payloads])
                    for method, payloads in sorted(by_method.items())} for prior in priors}  # fmt: skip


def _cell(stats: Mapping, name: str) -> str:
    value, se = stats.get(name), stats.get(f"{name}_se")
    if value is None:
        return "–"
    return f"{value:.3g}" if se is None else f"{value:.3g} ± {se:.2g}"


def fair_protocol_markdown(table: Mapping[str, Mapping[str, Mapping]]) -> str:
    """The table as markdown: one row per (method, prior setting)."""
    lines = ["| method | prior | replicas | PEs | coverage | mean width | score |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    methods = sorted({m for by_method in table.values() for m in by_method})
    for method in methods:
        for prior, by_method in table.items():
            if method in by_method:
                s = by_method[method]
                failed = f" ({s['n_failed']} failed)" if s["n_failed"] else ""
                lines.append(f"| {method} | {prior} | {s['replicas']} | {s['pseudo_experiments']}{failed} | "
                             + " | ".join(_cell(s, c) for c in COLUMNS) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"
