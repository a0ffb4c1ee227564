"""Figure generator_check: apparent vs held-back modelling differences after a score cut, per classifier, for the
generator pair (A vs B, held-back C) and the scale family (x1/2..x2, held-back higher order); background and
signal rows, bars are the mean over training replicas with their spread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.style import label_row, method_colour, use_style

FAMILY_TITLES = {"generator": "generators: |B − A| (two-point)\nvs |C − A| (held back)",
                 "scale": "scale family: max over ξ = ½, 2 of |ξ − 1|\nvs |higher order − 1| (held back)"}  # fmt: skip
KIND_LABELS = {"apparent": "apparent (the uncertainty assigned)", "held_back": "held back (the true difference)"}


def model_text(model: str, entry: Mapping[str, Any]) -> str:
    """Tick label: ``disco_generator`` -> ``disco\\nvs generator``; plain models unchanged."""
    if entry.get("nuisance"):
        return f"{entry['method']}\nvs {entry['nuisance']}"
    return model


def plot_generator_check(payload: Mapping[str, Any], lumi_fb: float | None = None):
    """``payload`` = results/generator_check/summary.json."""
    use_style()
    models = payload["models"]
    names = list(models)
    fig, axes = plt.subplots(2, 2, figsize=(16, 11), layout="constrained", sharex=True)
    x = np.arange(len(names))
    for row, what in enumerate(("background", "signal")):
        for col, family in enumerate(("generator", "scale")):
            ax = axes[row, col]
            for k, (kind, hatch) in enumerate((("apparent", "//"), ("held_back", ""))):
                stats = [models[m]["summary"][family][what][kind] for m in names]
                mean = 100 * np.array([s["mean"] for s in stats])
                std = 100 * np.array([s["std"] for s in stats])
                colours = [method_colour(models[m]["method"]) for m in names]
                ax.bar(x + (k - 0.5) * 0.38, mean, width=0.36, yerr=std, capsize=4, color=colours,
                       alpha=0.45 if kind == "apparent" else 0.9, hatch=hatch, edgecolor="black", linewidth=0.8,
                       label=KIND_LABELS[kind])  # fmt: skip
            ax.set_ylabel(f"{what}: |ΔN| / N after the cut [%]", fontsize=18)
            ax.set_ylim(0, 1.5 * ax.get_ylim()[1])
            ax.text(0.03, 0.96, FAMILY_TITLES[family], transform=ax.transAxes, va="top", fontsize=14)
            ax.set_xticks(x, [model_text(m, models[m]) for m in names], fontsize=13)
            if row == 1 and col == 0:
                ax.legend(loc="upper right", fontsize=13,
                          title=f"cut keeps {payload['cut_signal_efficiency']:.0%} of the nominal signal",
                          title_fontsize=13)  # fmt: skip
    label_row(axes[0, 0], axes[0, 1], lumi_fb=lumi_fb)
    return fig
