"""Figure: classifier-score templates per process (stacked) with the shape-systematic bands of the background."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import mplhep
import numpy as np

from systlab.likelihood.workspace import histosys_data
from systlab.templates.histograms import NOMINAL, Templates, counts
from systlab.templates.mc_statistics import CLOSURE_TARGET, McStatistics, mc_statistics
from systlab.visualize.style import label, use_style

SHAPE_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")


def background_shifts(templates: Templates, backgrounds: Sequence[str],
                      shape_nps: Mapping[str, bool]) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Per shape NP (name -> one-sided) the total background at +1σ and −1σ exactly as the workspace's histosys
    modifiers hold them (a one-sided NP's −1σ mirrored), summed over ``backgrounds``."""
    out = {}
    for name, one_sided in shape_nps.items():
        shapes = [histosys_data(templates, p, name, one_sided) for p in backgrounds]
        out[name] = tuple(np.sum([np.asarray(s[key], dtype=float) for s in shapes], axis=0)
                          for key in ("hi_data", "lo_data"))  # fmt: skip
    return out


def model_templates_figure(templates: Templates, signal: str, backgrounds: Sequence[str],
                           shape_nps: Mapping[str, bool], method: str, lumi_fb: float):  # fmt: skip
    """:func:`plot_score_templates` of one model's templates: nominal stack, signal, the ±1σ background shapes of
    :func:`background_shifts` and the MC statistics of both splits."""
    return plot_score_templates(
        templates.edges, {p: counts(templates, p, NOMINAL) for p in backgrounds},
        (signal, counts(templates, signal, NOMINAL)), background_shifts(templates, backgrounds, shape_nps),
        method=method, lumi_fb=lumi_fb, mc_statistics=mc_statistics(templates, backgrounds))  # fmt: skip


def plot_score_templates(
    edges: np.ndarray,
    backgrounds: Mapping[str, np.ndarray],
    signal: tuple[str, np.ndarray],
    shifted_background: Mapping[str, tuple[np.ndarray, np.ndarray]],
    method: str,
    lumi_fb: float,
    mc_statistics: Sequence[McStatistics] = (),
):
    """Stacked nominal backgrounds, signal overlay, per shape NP the total-background (+1, -1 sigma) / nominal, and
    (given ``mc_statistics``) each background's effective MC events per expected event in both splits."""
    use_style()
    score_edges = np.asarray(edges, dtype=float)
    edges = np.arange(len(score_edges))  # bins drawn with equal width; ticks show the score edges
    rows = 3 if mc_statistics else 2
    fig, axes = plt.subplots(rows, 1, figsize=(9, 9 + 3.2 * (rows - 2)), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1.3, 1.5][:rows]})  # fmt: skip
    ax, rax = axes[0], axes[1]
    names = sorted(backgrounds, key=lambda p: backgrounds[p].sum())
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {p: cycle[i % len(cycle)] for i, p in enumerate(names)}
    mplhep.histplot([backgrounds[p] for p in names], edges, stack=True, histtype="fill", label=names, ax=ax,
                    alpha=0.8, color=[colours[p] for p in names])  # fmt: skip
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
    rax.set_ylabel("Shifted / nominal", fontsize="small" if mc_statistics else None)
    rax.legend(ncols=3, fontsize="x-small", loc="best")
    if mc_statistics:
        _plot_mc_statistics(axes[2], edges, mc_statistics, colours)
    fig.align_ylabels(axes)
    axes[-1].set_xlabel(f"Classifier score bin ({method}; tick = bin edge)")
    step = max(1, len(score_edges) // 8)
    axes[-1].set_xticks(edges[::step], [f"{e:.3g}" for e in score_edges[::step]], rotation=45)
    return fig


def _plot_mc_statistics(ax, edges: np.ndarray, stats: Sequence[McStatistics], colours: Mapping[str, str]) -> None:
    """N_eff/expected per bin: each background in its stack colour, template split solid, toy split dashed; the line
    at the closure target."""
    for s in stats:
        style = "-" if s.split == "template" else "--"
        mplhep.histplot(np.where(np.isfinite(s.ratio), s.ratio, np.nan), edges, ax=ax, linestyle=style,
                        color=colours.get(s.process, "grey"), label=f"{s.process} ({s.split})")  # fmt: skip
    ax.axhline(CLOSURE_TARGET, color="black", linewidth=1.5, linestyle=":", label="closure target")
    ax.set_yscale("log")
    ax.set_ylabel(r"$N_\mathrm{eff}^\mathrm{MC}$ / exp.", fontsize="small")
    low, high = np.nanmin([np.nanmin(s.ratio) for s in stats]), np.nanmax([np.nanmax(s.ratio) for s in stats])
    ax.set_ylim(min(low, CLOSURE_TARGET) / 3, max(high, CLOSURE_TARGET) * 1000)  # headroom for the legend
    ax.legend(ncols=3, fontsize="xx-small", loc="upper center")
