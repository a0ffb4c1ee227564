"""Figure 13: the pivot and DisCo lambda scans — AUC, decorrelation, interval width and bias against lambda."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.lambda_scan import ScanPoint
from systlab.visualize.style import label_row, method_colour, use_style

PANELS = (
    ("auc", "AUC (nominal)", False),
    ("js_divergence", "JS divergence at $\\pm1\\sigma$ [bits]", True),
    ("asimov_width", "Asimov 68% width on $\\mu$", False),
)
BIAS_MARKERS = ("v", "^", "s", "D")


def _errorbar(ax, points: Sequence[ScanPoint], value, colour: str, offset: float, **style) -> None:
    x = np.array([p.lam for p in points]) * (1.0 + offset)
    mean = np.array([value(p).mean for p in points])
    std = np.array([value(p).std for p in points])
    ax.errorbar(x, mean, yerr=std, color=colour, capsize=3, **style)


def plot_lambda_scan(scans: Mapping[str, Sequence[ScanPoint]], baseline: ScanPoint, lumi_fb: float | None = None):
    """One row of four panels; x = lambda on a symlog axis (lambda = 0 is the first point), error bars =
    replica std; the baseline is the grey band (mean +- std), lambda = 0 should sit on it."""
    use_style()
    fig, axes = plt.subplots(2, 2, figsize=(15, 11), layout="constrained")
    axes = axes.ravel()
    methods = list(scans)
    for ax, (field, ylabel, log) in zip(axes, PANELS, strict=False):
        base = getattr(baseline, field)
        ax.axhspan(base.mean - base.std, base.mean + base.std, color="0.85", zorder=0)
        ax.axhline(base.mean, color="0.5", ls="--", label="baseline")
        for i, method in enumerate(methods):
            points = sorted(scans[method], key=lambda p: p.lam)
            _errorbar(ax, points, lambda p, f=field: getattr(p, f), method_colour(method), 0.04 * i,
                      marker="o", ls="-", label=method)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
    ax = axes[3]
    ax.axhline(0.0, color="0.5", ls=":")
    truths = sorted({t for points in scans.values() for p in points for t in p.bias})
    for i, method in enumerate(methods):
        points = sorted(scans[method], key=lambda p: p.lam)
        for j, truth in enumerate(truths):
            _errorbar(ax, points, lambda p, t=truth: p.bias[t], method_colour(method), 0.04 * i,
                      marker=BIAS_MARKERS[j % len(BIAS_MARKERS)], ls="-" if j == 0 else "--",
                      label=f"{method}, {truth}")
    for j, truth in enumerate(truths):
        b = baseline.bias[truth]
        ax.errorbar([0.0], [b.mean], yerr=[b.std], color="0.5", marker=BIAS_MARKERS[j % len(BIAS_MARKERS)],
                    capsize=3, ls="none", label=f"baseline, {truth}")
    ax.set_ylabel(r"bias $\hat\mu - \mu_\mathrm{true}$ at shifted truths")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.6 * (hi - lo))  # room for the legend above the points
    lam_max = max(p.lam for points in scans.values() for p in points)
    for ax in axes:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(-0.3, 1.6 * max(lam_max, 1.0))
        ax.set_xlabel(r"decorrelation strength $\lambda$")
    for ax, loc in zip(axes, ("lower left", "lower left", "upper left"), strict=False):
        ax.legend(fontsize="small", loc=loc)
    axes[3].legend(fontsize="x-small", loc="upper left", ncol=2)
    label_row(axes[0], axes[1], lumi_fb=lumi_fb)
    return fig
