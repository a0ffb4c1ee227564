"""Figure 7 (the headline): 68% interval width on μ against the true TES shift of the pseudo-data, per method,
the oracle trained at each true α as the reference line, and each method's width relative to it."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.inference_inputs import ReplicaValues
from systlab.visualize.style import label, method_colour, model_label, np_name_label, np_symbol, use_style


def replica_mean_spread(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample std over replicas (std 0 for one replica), NaN-safe."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def plot_width_vs_alpha(
    widths: Mapping[str, Mapping[float, ReplicaValues]],
    oracle: Mapping[float, ReplicaValues],
    lumi_fb: float | None = None,
    *,
    np_name: str,
    sigma: float | None = None,
):
    """``widths``: model -> true shift (σ) of the target NP ``np_name`` -> width per replica; ``oracle``: shift -> the
    width of the
    oracle trained at that shift. Top: widths (mean ± std over replicas); bottom: ratio to the oracle."""
    use_style()
    if not widths:
        raise ValueError("no interval widths to draw")
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(10, 10), sharex=True, gridspec_kw={"height_ratios": (3, 1.3)})
    n = len(widths)
    offsets = (np.arange(n) - (n - 1) / 2) * 0.04
    shifts_all = sorted({s for per in widths.values() for s in per} | set(oracle))
    ref = {s: replica_mean_spread(oracle[s].values) for s in sorted(oracle)}
    if ref:
        xs = np.array(list(ref))
        mean, std = np.array([ref[s] for s in xs]).T
        ax.plot(xs, mean, color="black", linewidth=2.5, label=f"oracle (trained at the true {np_symbol(np_name)})",
                zorder=1)  # fmt: skip
        ax.fill_between(xs, mean - std, mean + std, color="0.6", alpha=0.35, linewidth=0, zorder=0)
        rax.fill_between(xs, 1 - std / mean, 1 + std / mean, color="0.6", alpha=0.35, linewidth=0,
                         label="oracle replica spread")  # fmt: skip
        rax.axhline(1.0, color="black", linewidth=2)
        for k, level in enumerate((0.9, 1.1)):
            rax.axhline(level, color="0.3", linestyle="--", linewidth=1.2, label="±10%" if k else None)
    for offset, (model, per) in zip(offsets, widths.items(), strict=True):
        xs = np.array(sorted(per))
        stats = np.array([replica_mean_spread(per[s].values) for s in xs])
        colour = method_colour(model)
        ax.errorbar(xs + offset, stats[:, 0], yerr=stats[:, 1], fmt="o-", color=colour, markersize=8, capsize=4,
                    linewidth=1.5, label=model_label(model))  # fmt: skip
        have = np.array([s in ref for s in xs])
        if have.any():
            r = np.array([ref[s][0] for s in xs[have]])
            rax.errorbar(xs[have] + offset, stats[have, 0] / r, yerr=stats[have, 1] / r, fmt="o", color=colour,
                         markersize=7, capsize=3)  # fmt: skip
    ax.set_ylabel(r"68% interval width on $\mu$")
    top = np.nanmax([replica_mean_spread(v.values)[0] for per in widths.values() for v in per.values()])
    ax.set_ylim(0.0, 1.45 * top)
    ax.legend(loc="upper left", ncol=2, fontsize=14)
    label(ax, lumi_fb=lumi_fb)
    rax.set_ylabel("width / oracle")
    name = np_name_label(np_name).replace(" ", "~")
    xlabel = rf"true {np_name_label(np_name)} shift {np_symbol(np_name)} [$\sigma_\mathrm{{{name}}}$]"
    if sigma is not None:
        xlabel += rf", $\sigma_\mathrm{{{name}}}$ = {100 * sigma:g}%"
    rax.set_xlabel(xlabel)
    rax.set_xticks(shifts_all)
    if shifts_all:
        rax.set_xlim(shifts_all[0] - 0.4, shifts_all[-1] + 0.4)
    rax.legend(loc="upper right", ncol=2, fontsize=12, frameon=False)
    fig.subplots_adjust(hspace=0.06)
    return fig
