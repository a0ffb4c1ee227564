"""Figure 6: profile-likelihood curves −2ΔlnL(μ) of every method on the same axes, one panel per pseudo-data
truth (the target NP, e.g. TES, below / at / above nominal), the spread across training replicas as a band."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.inference_inputs import ReplicaCurves, dense_curves
from systlab.visualize.style import label_row, method_colour, model_label, use_style

#: −2ΔlnL levels of the 68% and 95% CL intervals (one parameter).
LEVELS = ((1.0, "68% CL"), (3.84, "95% CL"))
Y_MAX = 6.5
ORACLE_LABEL = "oracle (trained at the truth's value of the target NP)"


def plot_profile_curves(
    panels: Sequence[tuple[str, Mapping[str, ReplicaCurves]]],
    lumi_fb: float | None = None,
    note: str = "",
):
    """One panel per (title, model -> curves): mean curve over replicas, min–max band, 68%/95% lines."""
    use_style()
    if not panels:
        raise ValueError("no profile curves to draw")
    fig, axes = plt.subplots(1, len(panels), figsize=(9 * len(panels), 7.5), sharex=True, sharey=True, squeeze=False)
    axes = axes[0]
    handles = {}
    lo_x, hi_x = np.inf, -np.inf
    for ax, (title, models) in zip(axes, panels, strict=True):
        for model, curves in models.items():
            curves = dense_curves(curves)
            colour = method_colour(model)
            style = "--" if model.startswith("oracle") else "-"
            with warnings.catch_warnings():  # all-NaN columns (outside every scan) stay NaN, silently
                warnings.simplefilter("ignore", RuntimeWarning)
                low, high = np.nanmin(curves.q, axis=0), np.nanmax(curves.q, axis=0)
            # the mean only where every replica's scan reaches (a scan stops 5σ out): a mean of the replicas still
            # there would jump where one of them ends
            mean = np.mean(curves.q, axis=0)
            ax.fill_between(curves.mu, low, high, color=colour, alpha=0.18, linewidth=0)
            (line,) = ax.plot(curves.mu, mean, style, color=colour, linewidth=2)
            handles["oracle" if model.startswith("oracle") else model] = line
            inside = curves.mu[mean < Y_MAX]
            if inside.size:
                lo_x, hi_x = min(lo_x, inside.min()), max(hi_x, inside.max())
        for level, text in LEVELS:
            ax.axhline(level, color="0.4", linestyle=":", linewidth=1.5)
            ax.text(0.98, level + 0.08, text, transform=ax.get_yaxis_transform(), ha="right", va="bottom",
                    fontsize=13, color="0.3")  # fmt: skip
        ax.set_ylim(0.0, Y_MAX)
        ax.set_xlabel(r"signal strength $\mu$")
        ax.text(0.5, 0.985, title, transform=ax.transAxes, ha="center", va="top", fontsize=16,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})  # fmt: skip
    label_row(axes[0], axes[-1], lumi_fb=lumi_fb)
    if np.isfinite(lo_x):
        pad = 0.05 * (hi_x - lo_x)
        axes[0].set_xlim(lo_x - pad, hi_x + pad)
    axes[0].set_ylabel(r"$-2\,\Delta\ln L(\mu)$")
    names = [ORACLE_LABEL if m == "oracle" else model_label(m) for m in handles]
    fig.legend(handles.values(), names, loc="lower center", ncol=min(len(handles), 6),
               fontsize=14, bbox_to_anchor=(0.5, -0.02), frameon=False)  # fmt: skip
    band = "band: min–max over replicas; line: replica mean"
    fig.text(0.5, -0.07, f"{band}. {note}".strip(), ha="center", fontsize=13, color="0.3")
    fig.subplots_adjust(bottom=0.2, wspace=0.08)
    return fig
