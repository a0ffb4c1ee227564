"""The headline of the comparison: widths with standard errors and paired ratios to the oracle and the baseline.

Replica i of every model trains on the same bootstrap of the same events and is fitted on the same templates'
events and truths, so the ratio of two models' widths is taken replica by replica (a paired difference: the
training-set noise they share cancels) and its standard error is the spread of those ratios over √n. The
oracle at a truth α is the classifier trained at that α (``oracle_<np>_<α>sd``), fitted on the same truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from systlab.config import oracle_point

WIDTH = "asimov_width.profiled."
BASELINE = "baseline"


class Estimate(NamedTuple):
    """Mean over replicas and its standard error (None with fewer than two replicas); n replicas used."""

    mean: float | None
    se: float | None
    n: int


def estimate(values: Sequence[float | None]) -> Estimate:
    """Mean ± standard error (sample std / √n) of the finite values."""
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not x.size:
        return Estimate(None, None, 0)
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else None
    return Estimate(float(x.mean()), se, int(x.size))


def paired_ratio(numerator: Mapping[str, float | None], denominator: Mapping[str, float | None]) -> Estimate:
    """Mean ± SE over the replicas both have of numerator_r / denominator_r."""
    ratios = [numerator[r] / denominator[r] for r in sorted(set(numerator) & set(denominator))
              if numerator[r] is not None and denominator[r] not in (None, 0.0)]  # fmt: skip
    return estimate(ratios)


def truth_keys(summary: Mapping) -> list[str]:
    """The truths' target-NP shifts as the summary keys them ("-1", "+0", "+1"), in order."""
    keys = {k.removeprefix(WIDTH) for m in summary["methods"].values() for k in m["metrics"] if k.startswith(WIDTH)}
    return sorted(keys, key=float)


def per_replica(summary: Mapping, model: str, key: str) -> dict[str, float | None]:
    """replica -> value of ``key`` for ``model`` ({} if the model is not in the summary)."""
    entry = summary["methods"].get(model)
    return {} if entry is None else {r: rec.get(key) for r, rec in entry["replicas"].items()}


class HeadlineRow(NamedTuple):
    """One method's headline: width at each truth, paired ratios to the oracle and to the baseline at each truth,
    held-out and model-toy coverage, FAIR score, expected Z0."""

    method: str
    width: dict[str, Estimate]
    to_oracle: dict[str, Estimate]
    to_baseline: dict[str, Estimate]
    coverage: Estimate
    coverage_model: Estimate
    score: Estimate
    z0: Estimate


def headline_rows(summary: Mapping) -> list[HeadlineRow]:
    """One row per method (oracles and scan points excluded: they are the references and the studies)."""
    keys = truth_keys(summary)
    oracles = {oracle_point(m): m for m in summary["methods"] if oracle_point(m) is not None}
    rows = []
    for method in summary["methods"]:
        if method.startswith("oracle_") or "_lambda_" in method or "_without_" in method:
            continue
        width, to_oracle, to_baseline = {}, {}, {}
        for key in keys:
            mine = per_replica(summary, method, WIDTH + key)
            width[key] = estimate(list(mine.values()))
            to_oracle[key] = paired_ratio(mine, per_replica(summary, oracles.get(float(key), ""), WIDTH + key))
            to_baseline[key] = paired_ratio(mine, per_replica(summary, BASELINE, WIDTH + key))
        rows.append(HeadlineRow(method, width, to_oracle, to_baseline,
                                *(estimate(list(per_replica(summary, method, k).values()))
                                  for k in ("coverage", "coverage_model", "score", "z0_expected"))))  # fmt: skip
    return rows


def format_estimate(e: Estimate, digits: int = 3) -> str:
    if e.mean is None:
        return "–"
    return f"{e.mean:.{digits}f}" if e.se is None else f"{e.mean:.{digits}f} ± {e.se:.{digits}f}"


def headline_table(summary: Mapping) -> str:
    """The markdown headline: widths and ratios as mean ± SE over replicas (ratios paired per replica)."""
    keys = truth_keys(summary)
    alpha = [f"α={k}" for k in keys]
    header = ["method", "replicas", *(f"width {a}" for a in alpha), *(f"÷ oracle {a}" for a in alpha),
              *(f"÷ baseline {a}" for a in alpha), "coverage held-out", "coverage model", "FAIR score", "Z0"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in headline_rows(summary):
        cells = [row.method, str(summary["methods"][row.method]["n_replicas"])]
        cells += [format_estimate(row.width[k]) for k in keys]
        cells += [format_estimate(row.to_oracle[k]) for k in keys]
        cells += [format_estimate(row.to_baseline[k]) if row.method != BASELINE else "1" for k in keys]
        cells += [format_estimate(e) for e in (row.coverage, row.coverage_model, row.score, row.z0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def headline_payload(summary: Mapping) -> list[dict]:
    """JSON-ready rows of :func:`headline_rows` (estimates as {mean, se, n})."""

    def as_dict(e: Estimate) -> dict:
        return e._asdict()

    return [{"method": r.method, "width": {k: as_dict(e) for k, e in r.width.items()},
             "to_oracle": {k: as_dict(e) for k, e in r.to_oracle.items()},
             "to_baseline": {k: as_dict(e) for k, e in r.to_baseline.items()},
             "coverage": as_dict(r.coverage), "coverage_model": as_dict(r.coverage_model), "score": as_dict(r.score),
             "z0": as_dict(r.z0)} for r in headline_rows(summary)]  # fmt: skip
