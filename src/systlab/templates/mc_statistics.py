"""Whether the simulation closes: effective MC events per expected event, per bin, split and background.

Split weights are scaled so each split's Σw is the expected yield; the effective number of MC events of a bin is
(Σw)²/Σw², so N_eff/expected = Σw/Σw² (for equal weights: one over the weight per event). Below ~10 the
template (or the held-out toy expectation) fluctuates by a sizeable fraction of the data's own Poisson error,
and the MC-statistical NPs rather than the physics set the interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from systlab.templates.histograms import NOMINAL, Templates

#: The decisive benchmark's bar: at least this many effective MC events per expected event in every bin.
CLOSURE_TARGET = 10.0


class McStatistics(NamedTuple):
    """N_eff/expected per bin of one (split, process) of the nominal templates (NaN where the bin is empty)."""

    split: str
    process: str
    ratio: np.ndarray


def effective_ratio(sumw: np.ndarray, sumw2: np.ndarray) -> np.ndarray:
    """Σw/Σw² bin by bin (= N_eff/expected); NaN where a bin holds no weight."""
    sumw, sumw2 = np.asarray(sumw, dtype=float), np.asarray(sumw2, dtype=float)
    return np.divide(sumw, sumw2, out=np.full_like(sumw, np.nan), where=(sumw > 0) & (sumw2 > 0))


def mc_statistics(templates: Templates, processes: Iterable[str] | None = None) -> list[McStatistics]:
    """N_eff/expected of the nominal sample per bin for every split and ``processes`` (default: the backgrounds)."""
    out = []
    for split, h in sorted(templates.splits.items()):
        names = list(h.axes["process"])
        chosen = [p for p in names if p not in templates.signal] if processes is None else list(processes)
        view, j = h.view(flow=False), h.axes["variation"].index(NOMINAL)
        for process in chosen:
            i = names.index(process)  # ValueError names a process the templates lack
            out.append(McStatistics(split, process, effective_ratio(view.value[i, j], view.variance[i, j])))
    return out


def worst_ratio(stats: Iterable[McStatistics]) -> float:
    """The smallest N_eff/expected over every bin, split and process (NaN bins skipped; NaN if none is filled)."""
    values = np.concatenate([s.ratio[np.isfinite(s.ratio)] for s in stats] or [np.empty(0)])
    return float(values.min()) if values.size else float("nan")


def worst_by_split(stats: Iterable[McStatistics]) -> dict[str, float | None]:
    """split -> :func:`worst_ratio` over its processes and bins (None where nothing is filled)."""
    stats = list(stats)
    out = {}
    for split in sorted({s.split for s in stats}):
        worst = worst_ratio(s for s in stats if s.split == split)
        out[split] = worst if np.isfinite(worst) else None
    return out


def mc_statistics_payload(stats: Iterable[McStatistics]) -> dict:
    """JSON-ready: split -> process -> per-bin ratios (None for empty bins), and the worst ratio and the target."""
    stats = list(stats)
    table: dict[str, dict[str, list]] = {}
    for s in stats:
        table.setdefault(s.split, {})[s.process] = [float(v) if np.isfinite(v) else None for v in s.ratio]
    worst = worst_ratio(stats)
    return {"ratio": table, "worst": worst if np.isfinite(worst) else None, "target": CLOSURE_TARGET}
