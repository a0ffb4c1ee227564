"""The regime scan (issue #20 item 3): where can the methods differ? The whole analysis again per cell of a grid of
target-NP prior width × luminosity × signal boost, each cell a Snakemake module instance of this workflow under
``regimes/<cell>/`` with its own config, and one table of what decides a comparison in each cell: the
oracle–baseline width gap at ±1σ of the target NP with its replica standard error, the target's post-fit
constraint and its rank among the impacts on μ.

A cell is *decisive* where the gap at both ±1σ is at least :data:`DECISIVE_SE` standard errors and the target NP is
among the :data:`DECISIVE_RANK` largest impacts for the baseline (the issue's bar for the default config).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from systlab.atomic import atomic_path, write_json
from systlab.config.load import deep_update
from systlab.config.model import DEFAULT_TARGET, oracle_point
from systlab.studies.headline import WIDTH, Estimate, estimate, per_replica

#: The gap must be this many standard errors, and the target among this many largest impacts, for a decisive cell.
DECISIVE_SE = 5.0
DECISIVE_RANK = 2
#: The scan's axes and the config value each sets in a cell (``{target}``: ``systematics.target``).
AXES = {"target_sigma": ("systematics", "shape", "{target}", "sigma"),
        "luminosity_fb": ("simulate", "luminosity_fb"),
        "signal_boost": ("simulate", "signal_boost"),
        "signal_efficiency": ("templates", "signal_efficiency"),
        "replica_noise": ("training", "replica_noise")}  # fmt: skip
LABELS = {"target_sigma": "sigma", "luminosity_fb": "lumi", "signal_boost": "boost", "signal_efficiency": "sr",
          "replica_noise": "noise"}  # fmt: skip


def cell_name(point: Mapping[str, float]) -> str:
    """Name of a cell, an identifier (Snakemake module and rule names) and a directory: ``sigma0p05_lumi100``."""
    parts = (f"{LABELS[axis]}{_text(value)}" for axis, value in point.items())
    return "_".join(part.replace(".", "p").replace("-", "m") for part in parts)


def _text(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def cell_points(config: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """{cell name: {axis: value}}: every combination of ``regime_scan.axes`` ({} when the scan is off)."""
    axes = {axis: list(v) for axis, v in ((config.get("regime_scan") or {}).get("axes") or {}).items() if v}
    if not axes:
        return {}
    points = (dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values()))
    return {cell_name(p): p for p in points}


def cells(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{cell name: the full config of that cell}: the run's config with ``regime_scan.overlay`` and the cell's axis
    values applied, its own ``run_id`` and no scan of its own ({} when the scan is off)."""
    points = cell_points(config)
    if not points:
        return {}
    target = (config.get("systematics") or {}).get("target", DEFAULT_TARGET)
    scan = config["regime_scan"]
    base = deep_update({k: v for k, v in config.items() if k != "regime_scan"}, scan.get("overlay") or {})
    out = {}
    for name, point in points.items():
        change: dict[str, Any] = {}
        for axis, value in point.items():
            path = [p.format(target=target) for p in AXES[axis]]
            node = change
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        out[name] = deep_update(base, {**change, "run_id": f"{config.get('run_id', 'run')}_{name}"})
    return out


def cells_luminosity(config: Mapping[str, Any]) -> float | None:
    """The luminosity every cell runs at (the overlay or an axis may set it): the figure's label; None where the
    cells differ or there is no cell."""
    lumis = {cell["simulate"]["luminosity_fb"] for cell in cells(config).values()}
    return lumis.pop() if len(lumis) == 1 else None


def module_file(cells: Sequence[str], snakefile: str | os.PathLike, directory: str | os.PathLike) -> Path:
    """The Snakemake declarations of one module instance of ``snakefile`` per cell (config ``REGIME_CELLS[<cell>]``,
    prefix ``regimes/<cell>``, rules ``<cell>_<rule>``), written once (atomically) to ``directory/<hash>.smk`` for the
    rule file to include: module names must be literals, so they cannot come from a loop in the rule file."""
    text = "".join(f'module {cell}:\n    snakefile: "{snakefile}"\n    config: REGIME_CELLS["{cell}"]\n'
                   f'    prefix: "regimes/{cell}"\n\nuse rule * from {cell} as {cell}_*\n\n' for cell in cells)
    path = Path(directory, hashlib.sha256(text.encode()).hexdigest()[:12] + ".smk")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return path


class CellRow(NamedTuple):
    """One cell: baseline − oracle width at each truth key ("-1", "+1"), the target's constraint and impact rank
    for the baseline (means over replicas), whether the cell is decisive, and the baseline's width at the nominal
    truth with its replica standard deviation (the training noise: compare cells of the ``replica_noise`` axis)."""

    cell: str
    gap: dict[str, Estimate]
    constraint: Estimate
    rank: Estimate
    decisive: bool
    width: Estimate = Estimate(None, None, 0)

    @property
    def width_sd(self) -> float | None:
        """Replica standard deviation of the baseline's width (None with fewer than two replicas)."""
        return None if self.width.se is None else self.width.se * math.sqrt(self.width.n)


def paired_difference(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> Estimate:
    """Mean ± SE over the replicas both have of a_r − b_r (training noise they share cancels)."""
    return estimate([a[r] - b[r] for r in sorted(set(a) & set(b)) if a[r] is not None and b[r] is not None])


def cell_row(cell: str, summary: Mapping[str, Any], baseline: str = "baseline") -> CellRow:
    """The scan's row of one cell's results/inference/summary.json."""
    oracles = {oracle_point(m): m for m in summary["methods"] if oracle_point(m) is not None}
    gap = {}
    for key in ("-1", "+1"):
        oracle = oracles.get(float(key))
        mine = per_replica(summary, baseline, WIDTH + key)
        gap[key] = paired_difference(mine, per_replica(summary, oracle, WIDTH + key)) if oracle else estimate([])
    constraint = estimate(list(per_replica(summary, baseline, "target_constraint").values()))
    rank = estimate(list(per_replica(summary, baseline, "target_impact_rank").values()))
    decisive = all(_significant(g) for g in gap.values()) and rank.mean is not None and rank.mean <= DECISIVE_RANK
    width = estimate(list(per_replica(summary, baseline, WIDTH + "+0").values()))
    return CellRow(cell, gap, constraint, rank, decisive, width)


def _significant(e: Estimate) -> bool:
    return e.mean is not None and e.se is not None and e.se > 0 and abs(e.mean) >= DECISIVE_SE * e.se


def scan_payload(rows: Sequence[CellRow], points: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """JSON-ready scan: per cell its axis values, the gaps (mean, se, n), constraint, rank and the verdict."""
    return {"format": "systlab.regime_scan/1", "decisive_se": DECISIVE_SE, "decisive_rank": DECISIVE_RANK,
            "cells": {r.cell: {"point": dict(points.get(r.cell, {})),
                               "gap": {k: g._asdict() for k, g in r.gap.items()},
                               "target_constraint": r.constraint._asdict(), "target_impact_rank": r.rank._asdict(),
                               "baseline_width": {**r.width._asdict(), "sd": r.width_sd},
                               "decisive": r.decisive} for r in rows}}  # fmt: skip


def write_scan(summary_paths: Sequence[str | os.PathLike], points: Mapping[str, Mapping[str, float]],
               json_path: str | os.PathLike, markdown_path: str | os.PathLike) -> list[CellRow]:  # fmt: skip
    """The scan from every cell's regimes/<cell>/results/inference/summary.json: JSON payload and markdown table."""
    rows = [cell_row(Path(p).parents[2].name, json.loads(Path(p).read_text())) for p in summary_paths]
    write_json(json_path, scan_payload(rows, points))
    with atomic_path(markdown_path) as tmp:
        tmp.write_text(scan_table(rows))
    return rows


def scan_table(rows: Sequence[CellRow]) -> str:
    """Markdown: one line per cell with the gaps as mean ± SE (and their ratio), constraint, rank, verdict."""

    def cell(e: Estimate) -> str:
        if e.mean is None:
            return "–"
        if e.se is None or not e.se > 0:
            return f"{e.mean:.3f}"
        return f"{e.mean:.3f} ± {e.se:.3f} ({abs(e.mean) / e.se:.1f} SE)"

    lines = ["| cell | baseline − oracle width at −1σ | at +1σ | target constraint | target impact rank | "
             "baseline width at 0σ (replica sd) | decisive |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        rank = "–" if r.rank.mean is None else f"{r.rank.mean:.1f}"
        constraint = "–" if r.constraint.mean is None or math.isnan(r.constraint.mean) else f"{r.constraint.mean:.2f}"
        width = "–" if r.width.mean is None else f"{r.width.mean:.3f}" + (
            "" if r.width_sd is None else f" ({r.width_sd:.4f})")
        lines.append(f"| {r.cell} | {cell(r.gap['-1'])} | {cell(r.gap['+1'])} | {constraint} | {rank} | {width} | "
                     f"{'yes' if r.decisive else 'no'} |")
    return "\n".join(lines) + "\n"
