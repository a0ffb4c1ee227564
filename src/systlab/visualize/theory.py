"""Figures of the scale-uncertainty pull study; every function receives computed numbers and only draws."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.style import label, save_figure, use_style

BEFORE_COLOUR = "#e42536"
AFTER_COLOUR = "#3f90da"
GAUSS_COLOUR = "0.3"
LABEL_TEXT = "MG5_aMC LO vs NLO"


def _note(ax, note: str, y: float = 0.90) -> None:
    """Write the input-coverage note (partial transcription) inside the axes, top left under the label."""
    ax.text(0.03, y, note, transform=ax.transAxes, fontsize=14, va="top", color="0.25")


def _histogram(pulls: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in ``edges`` with the last bin collecting everything above the range (overflow)."""
    clipped = np.clip(pulls, edges[0], edges[-1] - 1e-9)
    return np.histogram(clipped, bins=edges)[0]


def plot_pull_distribution(pulls_before: Sequence[float], pulls_after: Sequence[float], note: str,
                           pdf_path: str | os.PathLike, run_id: str, x_max: float = 10.0,
                           bin_width: float = 0.5) -> None:
    """Pull t = (σ_NLO − σ_LO)/Δσ_LO with the LO band and with the reference scheme, vs a unit Gaussian."""
    use_style()
    before, after = np.asarray(pulls_before, float), np.asarray(pulls_after, float)
    x_min = min(-4.0, np.floor(min(before.min(initial=0), after.min(initial=0))))
    edges = np.append(np.arange(x_min, x_max + bin_width / 2, bin_width), x_max + 2 * bin_width)
    fig, ax = plt.subplots(figsize=(11, 8.5))
    counts_before, counts_after = _histogram(before, edges), _histogram(after, edges)
    ax.stairs(counts_before, edges, color=BEFORE_COLOUR, linewidth=2, fill=True, alpha=0.25)
    ax.stairs(counts_before, edges, color=BEFORE_COLOUR, linewidth=2,
              label=f"LO scale band: mean {before.mean():.3g}, std {before.std(ddof=1):.3g}")
    ax.stairs(counts_after, edges, color=AFTER_COLOUR, linewidth=3,
              label=f"reference-process scheme: mean {after.mean():.2f}, std {after.std(ddof=1):.2f}")
    t = np.linspace(x_min, x_max, 400)
    gauss = before.size * bin_width * np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)
    ax.plot(t, gauss, color=GAUSS_COLOUR, linestyle="--", linewidth=2,
            label=f"unit Gaussian × {before.size} processes")
    ax.axvspan(x_max, edges[-1], color="0.9", zorder=0)
    n_over = (before >= x_max).sum(), (after >= x_max).sum()
    ax.text(x_max - 0.2, 12, f"overflow bin (t > {x_max:g}) →\nLO band: {n_over[0]}, scheme: {n_over[1]}\n"
            f"largest t: {before.max():.4g} (LO band), {after.max():.3g} (scheme)", fontsize=13, ha="right",
            va="bottom")
    ax.set_yscale("log")
    ax.set_ylim(0.05, 60 * max(1, counts_before.max(), counts_after.max()))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(r"pull $t = (\sigma_\mathrm{NLO} - \sigma_\mathrm{LO}) / \Delta\sigma_\mathrm{LO}$")
    ax.set_ylabel(f"processes / {bin_width:g}")
    ax.legend(loc="upper right", fontsize=14, bbox_to_anchor=(1.0, 0.86))
    label(ax, LABEL_TEXT)
    _note(ax, note, y=0.97)
    save_figure(fig, pdf_path, run_id)


def plot_per_particle(processes: Sequence[str], n: Sequence[int], up_per_particle: Sequence[float],
                      down_per_particle: Sequence[float], mean_up: float, std_up: float, mean_down: float,
                      std_down: float, note: str, pdf_path: str | os.PathLike, run_id: str) -> None:
    """Δσ/(nσ0) of each QCD-only process (up and down, in %), grouped by n, with the average ± spread."""
    use_style()
    order = np.lexsort((np.arange(len(n)), np.asarray(n)))
    n_sorted = np.asarray(n)[order]
    x = np.arange(len(order))
    up, down = 100 * np.asarray(up_per_particle)[order], 100 * np.asarray(down_per_particle)[order]
    fig, ax = plt.subplots(figsize=(12, 8.5))
    for mean, std, colour in ((mean_up, std_up, BEFORE_COLOUR), (mean_down, std_down, AFTER_COLOUR)):
        ax.axhspan(100 * (mean - std), 100 * (mean + std), color=colour, alpha=0.15, linewidth=0)
        ax.axhline(100 * mean, color=colour, linewidth=1.5)
    average = r"$\langle\Delta\sigma/(n\sigma_0)\rangle$"
    ax.plot(x, up, "^", color=BEFORE_COLOUR, markersize=11,
            label=f"up: {average} = {100 * mean_up:.1f} ± {100 * std_up:.1f} %")
    ax.plot(x, down, "v", color=AFTER_COLOUR, markersize=11,
            label=f"down: {average} = {100 * mean_down:.1f} ± {100 * std_down:.1f} %")
    for value in np.unique(n_sorted):
        members = x[n_sorted == value]
        ax.axvline(members[-1] + 0.5, color="0.6", linewidth=1, linestyle=":")
        ax.text(members.mean(), 1.5, f"n = {value}", ha="center", fontsize=15)
    ax.set_xticks(x, [processes[i] for i in order], rotation=60, ha="right", fontsize=13)
    ax.minorticks_off()
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 1.6 * max(up.max(), 100 * (mean_up + std_up)))
    ax.set_ylabel(r"LO scale band per particle, $\Delta\sigma / (n\,\sigma_0)$ [%]")
    ax.legend(loc="upper right", fontsize=14, title="QCD-only processes, band = ±1 std", title_fontsize=14)
    label(ax, LABEL_TEXT)
    _note(ax, note, y=0.97)
    fig.tight_layout()
    save_figure(fig, pdf_path, run_id)


def plot_tail_table(header: Sequence[str], rows: Sequence[Sequence[str]], title: str, note: str,
                    pdf_path: str | os.PathLike, run_id: str) -> None:
    """Draw pre-formatted table cells (the surviving tails) as a figure."""
    use_style()
    height = 1.6 + 0.5 * (max(len(rows), 1) + 1)
    fig = plt.figure(figsize=(16, height))
    fig.suptitle(title, fontsize=18, x=0.02, ha="left", y=1 - 0.35 / height, va="top")
    ax = fig.add_axes((0.01, 0.7 / height, 0.98, 1 - 1.5 / height))
    ax.axis("off")
    if rows:
        chars = [max(len(str(c)) for c in col) + 3 for col in zip(header, *rows, strict=True)]
        table = ax.table(cellText=[list(r) for r in rows], colLabels=list(header), bbox=(0, 0, 1, 1),
                         cellLoc="center", colLoc="center", colWidths=[c / sum(chars) for c in chars])
        table.auto_set_font_size(False)
        table.set_fontsize(14)
        for (r, _), cell in table.get_celld().items():
            if r == 0:
                cell.set_text_props(weight="bold")
                cell.set_facecolor("0.9")
    else:
        ax.text(0.5, 0.5, "no process above the tail threshold", ha="center", fontsize=16,
                transform=ax.transAxes)
    fig.text(0.01, 0.2 / height, f"{note}. Bands are relative, on the side toward NLO.", fontsize=13,
             color="0.25")
    save_figure(fig, pdf_path, run_id)
