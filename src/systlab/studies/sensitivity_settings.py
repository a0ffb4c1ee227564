"""The ``sensitivity:`` config section as a named type, light enough for the DAG build (no fit imports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

STUDIES = ("bins", "prior")


class Settings(NamedTuple):
    """The ``sensitivity:`` config section (validated by the schema; empty models = studies off)."""

    models: tuple[str, ...]
    bins: tuple[int, ...]  # 1 = the single-bin cut
    cut_signal_efficiency: float
    prior_scales: tuple[float, ...]
    n_toys: int
    jes_bins: tuple[float, ...] = ()  # jet-pT edges (GeV) of the JES-granularity study; () = off


def settings(raw: Mapping[str, Any] | None) -> Settings:
    raw = raw or {}
    return Settings(tuple(raw.get("models", ())), tuple(int(b) for b in raw.get("bins", (1, 2, 5, 10, 20))),
                    float(raw.get("cut_signal_efficiency", 0.3)),
                    tuple(float(s) for s in raw.get("prior_scales", (0.5, 1.0, 2.0))), int(raw.get("n_toys", 100)),
                    tuple(float(e) for e in raw.get("jes_bins", ())))
