"""Figure ``roc``: background rejection against signal efficiency per method at the target NP's -1 sigma, nominal,
+1 sigma."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.roc import RocSummary
from systlab.visualize.panels import grid_label
from systlab.visualize.style import method_colour, model_label, use_style, variation_title


def auc_text(summaries: Mapping[str, Mapping[str, RocSummary]], method: str) -> str:
    """Legend entry: the method and its AUC (mean +- std over replicas) at every variation, in column order."""
    values = ", ".join(f"{s[method].auc.mean[()]:.3f} $\\pm$ {s[method].auc.std[()]:.3f}" for s in summaries.values())
    return f"{model_label(method)}: {values}"


def plot_roc(summaries: Mapping[str, Mapping[str, RocSummary]], reference: str | None, lumi_fb: float):
    """One column per variation: rejection (log) with replica bands, AUC in the legend; ratio to ``reference``
    (the first method when no reference is given)."""
    use_style()
    variations = list(summaries)
    reference = reference or next(iter(summaries[variations[0]]))
    grid = next(iter(summaries[variations[0]].values())).signal_efficiency
    fig, axes = plt.subplots(2, len(variations), figsize=(7.5 * len(variations), 9.5), sharex=True,
                             sharey="row", gridspec_kw={"height_ratios": [3, 1.2], "hspace": 0.06, "wspace": 0.08},
                             squeeze=False)  # fmt: skip
    for col, variation in enumerate(variations):
        ax, rax = axes[0, col], axes[1, col]
        ref = summaries[variation][reference]
        for method, roc in summaries[variation].items():
            colour, dashed = method_colour(method), method == reference
            x, mean, std = roc.signal_efficiency, roc.rejection.mean, roc.rejection.std
            ax.plot(x, mean, color=colour, linestyle="--" if dashed else "-", linewidth=1.8, label=method)
            ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)
            base = ref.rejection.mean
            rax.plot(x, mean / base, color=colour, linestyle="--" if dashed else "-", linewidth=1.8)
            rax.fill_between(x, (mean - std) / base, (mean + std) / base, color=colour, alpha=0.15, linewidth=0)
        ax.set_yscale("log")
        ax.text(0.95, 0.95, variation_title(variation), ha="right", va="top", transform=ax.transAxes)
        rax.axhline(1.0, color="grey", linewidth=1)
        rax.set_xlabel(r"Signal efficiency $\varepsilon_\mathrm{S}$")
        rax.set_xlim(grid[0], 1.0)
    top = max(np.nanmax(r.rejection.high) for s in summaries.values() for r in s.values())
    axes[0, 0].set_ylim(0.8, top * 2)
    axes[0, 0].set_ylabel(r"Background rejection $1/\varepsilon_\mathrm{B}$")
    axes[1, 0].set_ylabel(f"Ratio to\n{model_label(reference)}")
    ratios = [
        r.rejection.mean / summaries[v][reference].rejection.mean for v in variations for r in summaries[v].values()
    ]
    # ratio range: the mean ratios where the reference still has background left (eps_S >= 0.2)
    deviation = np.abs(np.concatenate([r[grid >= 0.2] for r in ratios]) - 1)
    spread = min(1.5 * np.nanmax(deviation, initial=0.0) + 0.05, 0.9)
    axes[1, 0].set_ylim(1 - spread, 1 + spread)
    grid_label(axes[0, 0], axes[0, -1], lumi_fb)
    handles, methods = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        [auc_text(summaries, m) for m in methods],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=2,
        fontsize="small",
        frameon=False,
        title_fontsize="small",
        title=r"AUC (mean $\pm$ std over replicas) at " + ", ".join(variation_title(v) for v in variations),
    )
    return fig
