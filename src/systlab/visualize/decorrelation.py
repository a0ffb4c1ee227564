"""Figure ``decorrelation``: background score shapes at the target NP's -1 sigma, nominal, +1 sigma per method, ratio
below."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.score_shapes import ScoreShapes
from systlab.visualize.panels import grid_label
from systlab.visualize.style import method_colour, model_label, use_style, variation_style


def draw_band(ax, edges: np.ndarray, mean: np.ndarray, std: np.ndarray, colour: str, style: str, text: str) -> None:
    """Step line of the replica mean with a +-1 std band."""
    ax.stairs(mean, edges, color=colour, linestyle=style, linewidth=1.8, label=text)
    ax.stairs(mean + std, edges, baseline=mean - std, fill=True, color=colour, alpha=0.2, linewidth=0)


def plot_decorrelation(shapes: Mapping[str, ScoreShapes], js: Mapping[str, tuple[float, float]], lumi_fb: float,
                       reference: str = "nominal"):  # fmt: skip
    """One column per method: unit-area background score densities with replica bands; ratio to nominal below."""
    use_style()
    methods = list(shapes)
    fig, axes = plt.subplots(2, len(methods), figsize=(7 * len(methods), 9), sharey="row", squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.06, "wspace": 0.1})  # fmt: skip
    for col, method in enumerate(methods):
        ax, rax = axes[0, col], axes[1, col]
        edges = shapes[method].edges
        for variation, density in shapes[method].density.items():
            colour, style, text = variation_style(variation)
            draw_band(ax, edges, density.mean, density.std, colour, style, text)
            if variation != reference:
                ratio = shapes[method].ratio_to_nominal[variation]
                draw_band(rax, edges, ratio.mean, ratio.std, colour, style, text)
        mean, std = js[method]
        ax.text(0.95, 0.95, model_label(method), color=method_colour(method), fontweight="bold", ha="right", va="top",
                transform=ax.transAxes)  # fmt: skip
        ax.text(0.95, 0.86, f"JS($-1\\sigma$, $+1\\sigma$) = {mean:.2g} $\\pm$ {std:.1g} bit", ha="right", va="top",
                fontsize="small", transform=ax.transAxes)  # fmt: skip
        ax.set_yscale("log")
        rax.axhline(1.0, color="grey", linewidth=1)
        rax.set_xlabel("Classifier score")
        for a in (ax, rax):  # the last tick label of inner columns would touch the next column's first
            a.set_xlim(0.0, 1.0)
            a.set_xticks(np.arange(0.0, 1.01 if col == len(methods) - 1 else 0.9, 0.2))
        ax.tick_params(labelbottom=False)
    top = max(np.nanmax(d.high) for s in shapes.values() for d in s.density.values())
    low = min(np.nanmin(np.where(d.mean > 0, d.mean, np.nan)) for s in shapes.values() for d in s.density.values())
    axes[0, 0].set_ylim(low / 3, top * 30)  # headroom for the labels
    axes[0, 0].set_ylabel("Density (unit area)")
    handles, texts = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        texts,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(texts),
        frameon=False,
        title="Total background, mean over replicas (band: std)",
        title_fontsize="small",
    )
    ratios = np.concatenate([r.mean for s in shapes.values() for v, r in s.ratio_to_nominal.items() if v != reference])
    spread = np.nanmax(np.abs(ratios - 1)) if np.isfinite(ratios).any() else 0.1
    axes[1, 0].set_ylim(1 - min(1.3 * spread + 0.02, 0.95), 1 + min(1.3 * spread + 0.02, 1.5))
    axes[1, 0].set_ylabel("Ratio to\nnominal", fontsize="small")
    fig.align_ylabels(axes[:, 0])
    grid_label(axes[0, 0], axes[0, -1], lumi_fb)
    return fig
