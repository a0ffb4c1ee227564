"""The headline table: widths ± SE and ratios to the oracle and the baseline paired replica by replica."""

from __future__ import annotations

import math

import pytest

from systlab.studies.headline import estimate, headline_payload, headline_rows, headline_table, paired_ratio
from systlab.studies.summary import build_summary


def record(widths: dict[str, float], coverage: float = 0.68) -> dict:
    return {"asimov_width": {"profiled": widths}, "coverage": coverage, "coverage_model": 0.69, "score": 0.4,
            "z0_expected": 2.0}  # fmt: skip


def test_paired_ratios_cancel_what_the_replicas_share():
    """Replica widths that swing together (training noise both models share) give a precise paired ratio although
    each model's own widths spread widely."""
    base = {"r0": 1.0, "r1": 1.5, "r2": 0.8, "r3": 1.2}
    method = {r: 0.9 * w * (1 + 0.001 * i) for i, (r, w) in enumerate(base.items())}
    ratio = paired_ratio(method, base)
    assert ratio.mean == pytest.approx(0.9 * 1.0015, rel=1e-6) and ratio.se < 1e-3 and ratio.n == 4
    alone = estimate(list(method.values()))
    assert alone.se > 50 * ratio.se  # unpaired, the same numbers would not resolve a 10 % difference
    assert paired_ratio({"r0": 1.0, "r9": 2.0}, {"r0": 2.0, "r1": 1.0}).n == 1  # only replicas both have


def test_estimate_is_mean_and_standard_error():
    e = estimate([1.0, 2.0, 3.0, None, math.nan])
    assert e.mean == pytest.approx(2.0) and e.se == pytest.approx(1.0 / math.sqrt(3)) and e.n == 3
    assert estimate([]).mean is None and estimate([4.0]).se is None


def test_headline_rows_take_each_truths_oracle_and_skip_the_references():
    per_method = {
        "baseline": {"r0": record({"-1": 1.2, "+0": 1.0, "+1": 1.1}), "r1": record({"-1": 1.4, "+0": 1.2, "+1": 1.3})},
        "aware": {"r0": record({"-1": 1.0, "+0": 1.0, "+1": 1.0}), "r1": record({"-1": 1.12, "+0": 1.2, "+1": 1.17})},
        "oracle_tes_-1sd": {"r0": record({"-1": 1.0, "+0": 5.0}), "r1": record({"-1": 1.1, "+0": 5.0})},
        "oracle_tes_0sd": {"r0": record({"+0": 1.0}), "r1": record({"+0": 1.2})},
        "oracle_tes_+1sd": {"r0": record({"+1": 0.9}), "r1": record({"+1": 1.0})},
    }
    summary = build_summary(per_method)
    rows = {r.method: r for r in headline_rows(summary)}
    assert set(rows) == {"baseline", "aware"}
    aware = rows["aware"]
    assert aware.to_oracle["-1"].mean == pytest.approx((1.0 / 1.0 + 1.12 / 1.1) / 2)  # the oracle at -1, not at 0
    assert aware.to_oracle["+0"].mean == pytest.approx(1.0)
    assert aware.to_baseline["+1"].mean == pytest.approx((1.0 / 1.1 + 1.17 / 1.3) / 2)
    assert aware.coverage.mean == pytest.approx(0.68) and aware.z0.mean == pytest.approx(2.0)
    table = headline_table(summary)
    header = "| method | replicas | width α=-1 | width α=+0 | width α=+1 | ÷ oracle α=-1"
    assert table.splitlines()[0].startswith(header)
    assert len(table.splitlines()) == 4 and "| aware | 2 |" in table
    assert headline_payload(summary)[0]["to_oracle"]["+0"]["n"] == 2
