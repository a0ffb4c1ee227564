"""Figure ``calibration``: reliability curve (balanced-class signal fraction vs mean score) per method."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.calibration import ReliabilitySummary
from systlab.visualize.style import label, method_colour, model_label, use_style


def plot_calibration(summaries: Mapping[str, ReliabilitySummary], reference: str | None, lumi_fb: float):
    """Observed signal fraction against mean score per bin (replica mean, std band); observed - predicted below."""
    use_style()
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(9, 10), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.06})  # fmt: skip
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1.5, label="perfectly calibrated")
    rax.axhline(0.0, color="grey", linestyle=":", linewidth=1.5)
    for method, curve in summaries.items():
        colour, style = method_colour(method), "--" if method == reference else "-"
        x, y, dy = curve.mean_score.mean, curve.signal_fraction.mean, curve.signal_fraction.std
        ok = np.isfinite(x) & np.isfinite(y)
        x, y, dy = x[ok], y[ok], dy[ok]
        ax.plot(x, y, color=colour, linestyle=style, marker="o", markersize=4, linewidth=1.6, label=model_label(method))
        ax.fill_between(x, y - dy, y + dy, color=colour, alpha=0.15, linewidth=0)
        rax.plot(x, y - x, color=colour, linestyle=style, marker="o", markersize=4, linewidth=1.6)
        rax.fill_between(x, y - dy - x, y + dy - x, color=colour, alpha=0.15, linewidth=0)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("Observed signal fraction\n(classes weighted equally)")
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        title="Nominal NPs,\ntemplate split",
        title_fontsize="small",
        frameon=False,
    )
    rax.set_xlabel("Mean classifier score in bin")
    rax.set_ylabel("Observed $-$\npredicted", fontsize="small")
    deviation = max(np.nanmax(np.abs(c.signal_fraction.mean - c.mean_score.mean) + c.signal_fraction.std)
                    for c in summaries.values())  # fmt: skip
    limit = min(max(1.2 * deviation, 0.05), 1.0)
    rax.set_ylim(-limit, limit)
    fig.align_ylabels([ax, rax])
    label(ax, lumi_fb=lumi_fb)
    return fig
