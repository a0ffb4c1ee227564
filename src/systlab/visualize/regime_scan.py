"""Figure regime_scan: per cell of the regime scan, the baseline − oracle width gap at −1σ and +1σ of the target NP
in units of its replica standard error (left), and the target's post-fit constraint and impact rank for the
baseline (right), against the target's prior width; one line per value of the other axes, the decisive bars
(±5 SE) drawn, decisive cells filled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.style import label, np_name_label, use_style

#: How each axis but the target's σ names a line of the figure.
SERIES = {"luminosity_fb": lambda v: f"{v:g} fb$^{{-1}}$", "signal_boost": lambda v: f"boost {v:g}",
          "signal_efficiency": lambda v: "Z peak in" if v == 1 else f"signal region {v:g}",
          "replica_noise": lambda v: f"replica noise {v}"}  # fmt: skip


def _series(cells: Mapping[str, Any]) -> dict[str, list[tuple[float, Mapping[str, Any]]]]:
    """Line name (the values of every axis but the target's σ) -> [(target σ, cell)] sorted by σ."""
    out: dict[str, list] = {}
    for cell in cells.values():
        point = cell["point"]
        name = ", ".join(text(point[axis]) for axis, text in SERIES.items() if axis in point) or "all cells"
        out.setdefault(name, []).append((float(point.get("target_sigma", np.nan)), cell))
    return {k: sorted(v, key=lambda item: item[0]) for k, v in sorted(out.items())}


def _ratio(gap: Mapping[str, Any]) -> float:
    mean, se = gap.get("mean"), gap.get("se")
    return float(mean / se) if mean is not None and se else np.nan


def plot_regime_scan(payload: Mapping[str, Any], np_name: str, lumi_fb: float | None = None):
    """``payload`` = results/regime_scan/summary.json; ``np_name``: the target NP (axis labels); ``lumi_fb``: the
    luminosity label, left out where the scan varies the luminosity."""
    use_style()
    if any("luminosity_fb" in cell["point"] for cell in payload["cells"].values()):
        lumi_fb = None
    fig, (ax_gap, ax_np) = plt.subplots(1, 2, figsize=(17, 7.5), layout="constrained")
    rank_ax = ax_np.twinx()
    bar = float(payload["decisive_se"])
    for i, (name, rows) in enumerate(_series(payload["cells"]).items()):
        colour = f"C{i}"
        sigma = np.array([s for s, _ in rows]) * 100.0
        for side, style in (("-1", "--"), ("+1", "-")):
            ratio = np.array([_ratio(c["gap"][side]) for _, c in rows])
            ax_gap.plot(sigma, ratio, style, color=colour, lw=2, label=f"{name}: at {side}σ")
            decisive = np.array([c["decisive"] for _, c in rows])
            ax_gap.scatter(sigma, ratio, s=90, color=colour, zorder=3,
                           facecolors=np.where(decisive, colour, "white"))  # fmt: skip
        ax_np.plot(sigma, [c["target_constraint"]["mean"] for _, c in rows], "o-", color=colour, lw=2,
                   label=f"{name}: post-fit constraint")  # fmt: skip
        rank_ax.plot(sigma, [c["target_impact_rank"]["mean"] for _, c in rows], "s:", color=colour, lw=1.5,
                     label=f"{name}: impact rank")  # fmt: skip
    ax_gap.axhline(bar, color="k", lw=1.5, ls=":", label=f"decisive: |gap| ≥ {bar:g} SE at both (filled)")
    ax_gap.axhline(-bar, color="k", lw=1.5, ls=":")  # an oracle wider than the baseline is resolved too
    ax_gap.axhline(0.0, color="0.6", lw=1)
    low, high = ax_gap.get_ylim()
    ax_gap.set_ylim(min(low, -bar) * 1.15, max(high, bar) * 1.6)  # room above the bar for the legend
    text = np_name_label(np_name)
    for ax in (ax_gap, ax_np):
        ax.set_xlabel(f"{text} prior width [%]")
        label(ax, lumi_fb=lumi_fb)
    ax_gap.set_ylabel("(baseline − oracle width) / standard error", fontsize=20)
    ax_gap.legend(fontsize=12, loc="upper right", ncol=2)
    ax_np.set_ylabel(rf"{text} post-fit $\sigma_\mathrm{{post}}/\sigma$ (baseline)", fontsize=20)
    ax_np.set_ylim(0.0, 1.15)
    rank_ax.set_ylabel(f"{text} rank among impacts on μ", fontsize=20)
    rank_ax.set_ylim(0.5, max(6.0, rank_ax.get_ylim()[1]))
    rank_ax.invert_yaxis()
    handles = [h for ax in (ax_np, rank_ax) for h in ax.get_legend_handles_labels()[0]]
    labels = [t for ax in (ax_np, rank_ax) for t in ax.get_legend_handles_labels()[1]]
    ax_np.legend(handles, labels, fontsize=12, loc="center right")  # clear of the rank-1 markers at the top
    return fig
