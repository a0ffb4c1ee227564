"""Figure 5: the −2ΔlnL surface in (μ, α_TES) of the grid-profiled aware likelihood, with the profiled path α̂(μ).

Numbers come from :func:`systlab.infer.grid_profile.likelihood_surface`; this module only draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from systlab.infer.grid_profile import Surface
from systlab.visualize.style import label_row, np_symbol, use_style

#: Colour-map range of −2ΔlnL (values above are drawn in the top colour).
Q_MAX = 25.0


class SurfacePanel(NamedTuple):
    """One panel: its title, the replica-0 surface and the best fit (μ̂, α̂) of every replica."""

    title: str
    surface: Surface
    replica_best: Sequence[tuple[float, float]]  # (μ̂, α̂) per replica, r0 first


def plot_likelihood_surface(panels: Sequence[SurfacePanel], lumi_fb: float | None = None, *, np_name: str,
                            sigma: float | None = None):  # fmt: skip
    """One panel per dataset: filled −2ΔlnL (0–25), the 1 and 4 contours, α̂(μ), the grid points, μ̂/α̂."""
    use_style()
    if not panels:
        raise ValueError("no likelihood surfaces to draw")
    fig, axes = plt.subplots(1, len(panels), figsize=(8.5 * len(panels), 7.5), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    levels = np.linspace(0.0, Q_MAX, 26)
    for ax, panel in zip(axes[0], panels, strict=True):
        s = panel.surface
        keep = np.isfinite(s.q).any(axis=0)
        mu, q = s.mu[keep], np.clip(s.q[:, keep], 0.0, Q_MAX)
        filled = ax.contourf(mu, s.alpha, q, levels=levels, cmap="viridis_r", extend="max")
        lines = ax.contour(mu, s.alpha, s.q[:, keep], levels=[1.0, 4.0], colors=["black", "black"],
                           linestyles=["solid", "dashed"], linewidths=2)  # fmt: skip
        ax.clabel(lines, fmt={1.0: "1", 4.0: "4"}, fontsize=14)
        ax.plot(s.mu, s.path_alpha, color="#D55E00", lw=2.5, label=r"profiled path $\hat{\alpha}(\mu)$")
        best = np.asarray(panel.replica_best, dtype=float)
        ax.plot(*best[0], marker="*", ms=20, color="#D55E00", mec="black", ls="none",
                label=r"$(\hat{\mu}, \hat{\alpha})$ replica r0")  # fmt: skip
        if len(best) > 1:
            ax.plot(best[1:, 0], best[1:, 1], marker="o", ms=10, mfc="white", mec="black", mew=2, ls="none",
                    label="other replicas")  # fmt: skip
        ax.plot([], [], color="black", lw=2, label=r"$-2\Delta\ln L = 1$ (solid), $4$ (dashed)")
        ax.set_xlim(mu.min(), mu.max())
        inside = np.flatnonzero((s.q[:, keep] < Q_MAX).any(axis=1))  # α rows below the colour-map top
        lo, hi = (s.alpha[inside[0]], s.alpha[inside[-1]]) if inside.size else (s.alpha[0], s.alpha[-1])
        pad = 0.15 * max(hi - lo, 0.2)
        y_lo, y_hi = max(s.alpha[0], lo - pad), min(s.alpha[-1], hi + pad)  # alpha reaches past the simulated grid
        ax.set_ylim(y_lo, y_hi)
        shown = s.grid_alphas[(s.grid_alphas >= y_lo - 1e-9) & (s.grid_alphas <= y_hi + 1e-9)]
        ax.plot(np.full(shown.size, mu.max()), shown, marker="<", ms=11, color="black", ls="none", clip_on=False,
                zorder=5, label=r"simulated grid points $\alpha_k$")  # fmt: skip
        ax.set_xlabel(r"signal strength $\mu$")
        unit = rf" (1$\sigma$ = {100 * sigma:g}%)" if sigma else ""
        ax.set_ylabel(rf"{np_symbol(np_name)} [$\sigma$]{unit}")
        ax.text(0.03, 0.03, panel.title, transform=ax.transAxes, fontsize=15, va="bottom", ha="left",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})  # fmt: skip
        fig.colorbar(filled, ax=ax, label=r"$-2\Delta\ln L(\mu, \alpha)$", ticks=np.arange(0, Q_MAX + 1, 5))
    label_row(axes[0][0], axes[0][-1], lumi_fb=lumi_fb)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=14, frameon=False)
    return fig
