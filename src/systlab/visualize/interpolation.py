"""Figure aware_interpolation: AUC against the true TES shift for the baseline, the aware classifier, the aware
classifier trained without a grid point's neighbourhood (shaded) and the oracles; below, each AUC minus the full
aware model's. Error bars: spread over training replicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.methods.data import nearest_cell
from systlab.visualize.style import label, method_colour, model_label, np_name_label, use_style

LEFT_OUT_COLOUR = "#D55E00"


def _label(model: str, curve: Mapping[str, Any]) -> str:
    if curve.get("left_out") is not None:
        return rf"aware without $\alpha$ near {curve['left_out']:g}$\sigma$"
    return model_label(model)


def plot_interpolation(payload: Mapping[str, Any], grid: Sequence[float], lumi_fb: float | None = None, *,
                       np_name: str):  # fmt: skip
    """``payload`` = results/interpolation_check/summary.json; ``grid`` = the grid (sigma) of the target NP
    ``np_name`` the aware model used."""
    shift = f"{np_name_label(np_name)} shift"
    use_style()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 10), sharex=True, height_ratios=(2, 1),
                                      layout="constrained")  # fmt: skip
    curves = payload["curves"]
    for model, curve in curves.items():
        k = np.asarray(curve["points"], float)
        mean, std = np.asarray(curve["mean"], float), np.asarray(curve["std"], float)
        is_oracle, left = curve["method"] == "oracle", curve.get("left_out") is not None
        colour = LEFT_OUT_COLOUR if left else method_colour(model)
        style = dict(marker="*" if is_oracle else "o", ms=14 if is_oracle else 6, ls="none" if is_oracle else "-",
                     color=colour, capsize=3, mfc="white" if left else colour)  # fmt: skip
        if left:
            style["ls"] = "--"
        top.errorbar(k, mean, yerr=std, label=None if is_oracle else _label(model, curve), **style)
        if "minus_aware" in curve and model != "aware":
            diff = curve["minus_aware"]
            bottom.errorbar(k, 1e3 * np.asarray(diff["mean"]), yerr=1e3 * np.asarray(diff["std"]), **style)
        if left:
            for ax in (top, bottom):
                ax.axvspan(*nearest_cell(sorted(grid), curve["left_out"]), color=LEFT_OUT_COLOUR, alpha=0.12, lw=0)
    if any(c["method"] == "oracle" for c in curves.values()):
        top.plot([], [], "k*", ms=14, ls="none", label=f"oracle, trained at that {shift}")
    top.legend(fontsize=14, loc="lower center")
    top.set_ylabel(f"AUC at the true {shift}")
    bottom.axhline(0, color="0.5", ls=":")
    bottom.set_ylabel(r"$\Delta$AUC vs aware [$10^{-3}$]", fontsize=20)
    bottom.set_xlabel(rf"true {shift} $\alpha$ [$\sigma$] (shaded: left out of training)")
    label(top, lumi_fb=lumi_fb)
    return fig
