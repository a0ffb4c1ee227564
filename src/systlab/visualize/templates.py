"""Figure: classifier-score templates per process (stacked) with the shape-systematic bands of the background."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import mplhep
import numpy as np

from systlab.visualize.style import label, use_style

SHAPE_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")


def plot_score_templates(
    edges: np.ndarray,
    backgrounds: Mapping[str, np.ndarray],
    signal: tuple[str, np.ndarray],
    shifted_background: Mapping[str, tuple[np.ndarray, np.ndarray]],
    method: str,
    lumi_fb: float,
):
    """Stacked nominal backgrounds, signal overlay, and per shape NP the total-background (+1, -1 sigma) / nominal."""
    use_style()
    score_edges = np.asarray(edges, dtype=float)
    edges = np.arange(len(score_edges))  # bins drawn with equal width; ticks show the score edges
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(9, 9), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    names = sorted(backgrounds, key=lambda p: backgrounds[p].sum())
    mplhep.histplot([backgrounds[p] for p in names], edges, stack=True, histtype="fill", label=names, ax=ax,
                    alpha=0.8)
    total = np.sum([backgrounds[p] for p in names], axis=0)
    mplhep.histplot(signal[1], edges, histtype="step", color="black", linewidth=2, ax=ax,
                    label=f"{signal[0]} (signal, $\\mu$=1)")
    ax.set_yscale("log")
    ax.set_ylim(max(min(signal[1][signal[1] > 0].min(), total.min()) / 5, 1e-2), total.max() * 50)
    ax.set_ylabel("Expected events / bin")
    ax.legend(loc="upper right", ncols=2, fontsize="small", title=f"{method} classifier")
    label(ax, lumi_fb=lumi_fb)

    safe = np.where(total > 0, total, np.nan)
    for colour, (np_name, (up, down)) in zip(SHAPE_COLOURS, shifted_background.items(), strict=False):
        mplhep.histplot(up / safe, edges, ax=rax, color=colour, label=f"{np_name} $+1\\sigma$")
        mplhep.histplot(down / safe, edges, ax=rax, color=colour, linestyle="--", label=f"{np_name} $-1\\sigma$")
    rax.axhline(1.0, color="grey", linewidth=1)
    ratios = np.concatenate([np.r_[u, d] / np.r_[safe, safe] for u, d in shifted_background.values()])
    spread = max(np.nanmax(np.abs(ratios - 1)), 0.01)
    rax.set_ylim(1 - 1.3 * spread, 1 + 3.0 * spread)  # headroom for the legend
    rax.set_ylabel("Shifted / nominal")
    fig.align_ylabels([ax, rax])
    rax.set_xlabel(f"Classifier score bin ({method}; tick = bin edge)")
    step = max(1, len(score_edges) // 8)
    rax.set_xticks(edges[::step], [f"{e:.3g}" for e in score_edges[::step]], rotation=45)
    rax.legend(ncols=3, fontsize="x-small", loc="best")
    return fig
