"""Figure 9: NP pulls and constraints with the ranking of their impacts on μ̂ (the ATLAS/CMS layout, drawn
with matplotlib: cabinetry is not a dependency). Rows ranked by the replica-mean post-fit impact; MC-stat
γ parameters are kept only where they reach the top ranks, the rest summarised in one line."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from systlab.visualize.inference_inputs import ImpactRow
from systlab.visualize.style import label, use_style

UP, DOWN = "#0072B2", "#56B4E9"
GAMMA_PREFIX = "staterror"


def select_rows(rows: Sequence[ImpactRow], max_rows: int = 15, gamma_rank: int = 5) -> tuple[list[ImpactRow], list]:
    """(rows to draw, γ rows left out): the top ``max_rows``, γ (MC stat) only within the top ``gamma_rank``."""
    shown, hidden = [], []
    for rank, row in enumerate(rows):
        if row.name.startswith(GAMMA_PREFIX) and rank >= gamma_rank:
            hidden.append(row)
        elif len(shown) < max_rows:
            shown.append(row)
    return shown, hidden


def plot_impacts(rows: Sequence[ImpactRow], replicas: Sequence[str], method: str, dataset: str = "Asimov",
                 lumi_fb: float | None = None, max_rows: int = 15):  # fmt: skip
    """Left: pulls (θ̂ − θ0)/Δθ ± σ_post/Δθ, one marker per replica. Right: post-fit (filled) and pre-fit
    (open) Δμ̂ bars, replica mean, whiskers min–max over replicas. Rows share the NP axis (CMS layout)."""
    use_style()
    shown, hidden = select_rows(rows, max_rows)
    if not shown:
        raise ValueError(f"no nuisance parameter to draw for {method}")
    n = len(shown)
    fig, (ax, imp) = plt.subplots(1, 2, figsize=(16, 3.4 + 0.6 * n), sharey=True,
                                  gridspec_kw={"width_ratios": (1.0, 1.0), "wspace": 0.04})  # fmt: skip
    y = np.arange(n)[::-1].astype(float)  # largest impact at the top
    for yi, row in zip(y, shown, strict=True):
        offsets = np.linspace(-0.18, 0.18, row.pull.size) if row.pull.size > 1 else np.zeros(1)
        ax.errorbar(row.pull, yi + offsets, xerr=row.constraint, fmt="o", color="black", markersize=6, capsize=3,
                    linewidth=1.5, zorder=4)  # fmt: skip
        for key, colour in (("postfit_up", UP), ("postfit_down", DOWN)):
            values = getattr(row, key)
            mean = float(np.nanmean(values))
            imp.barh(yi, mean, height=0.7, color=colour, alpha=0.8, zorder=1)
            if np.isfinite(values).sum() > 1:
                side = 0.15 if key == "postfit_up" else -0.15
                imp.plot([np.nanmin(values), np.nanmax(values)], [yi + side] * 2, color="0.15", linewidth=1.5,
                         zorder=3)  # fmt: skip
        for key, colour in (("prefit_up", UP), ("prefit_down", DOWN)):
            imp.barh(yi, float(np.nanmean(getattr(row, key))), height=0.7, fill=False, edgecolor=colour,
                     linewidth=1.8, zorder=2)  # fmt: skip
    values = np.concatenate([np.concatenate([r.postfit_up, r.postfit_down, r.prefit_up, r.prefit_down]) for r in shown])
    reach = max(float(np.nanmax(np.abs(values))), 1e-6)
    imp.set_xlim(-1.2 * reach, 1.2 * reach)
    imp.axvline(0, color="0.5", linewidth=1, zorder=0)
    imp.set_xlabel(r"impact on $\hat\mu$: $\Delta\hat\mu$")
    ax.set_xlim(-2.5, 2.5)
    ax.axvspan(-1, 1, color="0.92", zorder=0)
    ax.axvline(0, color="0.5", linewidth=1, zorder=0)
    ax.set_yticks(y, [r.name for r in shown], fontsize=15)
    ax.set_ylim(-1.0 - (0.6 if hidden else 0.0), n + 1.4)
    for a in (ax, imp):
        a.tick_params(axis="y", which="both", left=False, right=False)
        a.yaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel(r"pull $(\hat\theta - \theta_0)/\Delta\theta$")
    pull_label = rf"$\hat\theta \pm \sigma_\mathrm{{post}}$, one per replica ({len(replicas)})"
    ax.legend(handles=[plt.Line2D([], [], marker="o", color="black", linestyle="-", label=pull_label)],
              loc="upper left", fontsize=13, frameon=False)  # fmt: skip
    ax.text(0.98, 0.985, f"{method}, {dataset} data", transform=ax.transAxes, ha="right", va="top", fontsize=14)
    imp.legend(handles=[
        Patch(facecolor=UP, alpha=0.8, label=r"post-fit $+\sigma_\mathrm{post}$"),
        Patch(facecolor=DOWN, alpha=0.8, label=r"post-fit $-\sigma_\mathrm{post}$"),
        Patch(facecolor="none", edgecolor="0.3", label=r"pre-fit $\pm\Delta\theta$"),
        plt.Line2D([], [], color="0.15", label="min–max over replicas"),
    ], loc="upper left", ncol=2, fontsize=12, frameon=False)  # fmt: skip
    if hidden:
        largest = max(r.size for r in hidden)
        ax.text(0.01, 0.01, f"{len(hidden)} MC-stat $\\gamma$ below the top ranks not shown "
                f"(each |$\\Delta\\hat\\mu$| ≤ {largest:.2g})", transform=ax.transAxes, fontsize=12, va="bottom")
    label(ax, lumi_fb=lumi_fb)
    return fig
