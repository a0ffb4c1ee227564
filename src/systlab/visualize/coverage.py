"""Figure 8: per method, the coverage of the 68% intervals over toys (with the 0.6827 ± σ68 band), their
mean width, and the FAIR-Universe score; every replica as a point, the replica mean ± std beside it. Beside
each replica's held-out coverage, the coverage the offset of its expectation's fit alone predicts (a cross)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.inference_inputs import ToyFigures
from systlab.visualize.style import label, method_colour, model_label, use_style

ONE_SIGMA = 0.6827  # nominal coverage of a 68% interval (systlab.infer.toys.ONE_SIGMA; not imported: pyhf)

PANELS = (
    ("coverage", "coverage of 68% intervals"),
    ("mean_width", r"mean 68% width on $\mu$"),
    ("score", "FAIR-Universe score"),
)


def plot_coverage(toys: Mapping[str, ToyFigures], n_toys: int | None = None, lumi_fb: float | None = None):
    """Three panels sharing the method axis: coverage (±1σ68 band, ±3σ68 lines), mean width, score."""
    use_style()
    if not toys:
        raise ValueError("no toy results to draw")
    models = list(toys)
    fig, axes = plt.subplots(3, 1, figsize=(max(10, 1.4 * len(models) + 3), 13), sharex=True)
    x = np.arange(len(models))
    sigma68 = float(np.nanmedian(np.concatenate([t.sigma68 for t in toys.values()])))
    cov_ax = axes[0]
    cov_ax.axhspan(ONE_SIGMA - sigma68, ONE_SIGMA + sigma68, color="0.85", zorder=0,
                   label=rf"0.6827 $\pm$ $\sigma_{{68}}$ ($\sigma_{{68}}$ = {sigma68:.3f})")  # fmt: skip
    cov_ax.axhline(ONE_SIGMA, color="0.3", linewidth=1.5, zorder=0)
    for k in (-3, 3):
        cov_ax.axhline(ONE_SIGMA + k * sigma68, color="0.4", linestyle="--", linewidth=1.2, zorder=0,
                       label=r"$\pm 3\sigma_{68}$" if k > 0 else None)  # fmt: skip
    for ax, (field, ylabel) in zip(axes, PANELS, strict=True):
        for i, model in enumerate(models):
            values = np.asarray(getattr(toys[model], field), dtype=float)
            colour = method_colour(model)
            jitter = np.linspace(-0.12, 0.12, values.size) if values.size > 1 else np.zeros(1)
            ax.plot(i - 0.1 + jitter, values, "o", color=colour, markersize=6, alpha=0.55, markeredgewidth=0)
            if field == "coverage" and toys[model].coverage_model is not None:
                model_cov = np.asarray(toys[model].coverage_model, dtype=float)
                ax.plot(i - 0.1 + jitter, model_cov, "D", markerfacecolor="none", markeredgecolor=colour,
                        markersize=7, markeredgewidth=1.5)
            if field == "coverage" and toys[model].coverage_from_bias is not None:
                ax.plot(i - 0.1 + jitter, toys[model].coverage_from_bias, "x", color=colour, markersize=9,
                        markeredgewidth=2)  # fmt: skip
            finite = values[np.isfinite(values)]
            if finite.size:
                std = finite.std(ddof=1) if finite.size > 1 else 0.0
                ax.errorbar(i + 0.2, finite.mean(), yerr=std, fmt="s", color=colour, markersize=9, capsize=5,
                            linewidth=2)  # fmt: skip
        ax.set_ylabel(ylabel, fontsize=18)
    cov_ax.set_ylim(max(0.0, min(0.3, cov_ax.get_ylim()[0])), 1.4)  # room for the legend above coverage 1
    cov_ax.plot([], [], "o", color="0.5", alpha=0.55, label="one replica (held-out toys)")
    cov_ax.plot([], [], "D", markerfacecolor="none", markeredgecolor="0.3", label="one replica (model toys)")
    if any(t.coverage_from_bias is not None for t in toys.values()):
        cov_ax.plot([], [], "x", color="0.3", markersize=9, markeredgewidth=2,
                    label="held-out, predicted from the bias of its expectation")  # fmt: skip
    cov_ax.errorbar([], [], yerr=[], fmt="s", color="0.3", capsize=5, label="replica mean ± std")
    title = None if n_toys is None else f"{n_toys} toys per replica at $\\mu$ = 1"
    cov_ax.legend(loc="upper left", ncol=4, fontsize=12, title=title, title_fontsize=13, alignment="left")
    label(cov_ax, lumi_fb=lumi_fb)
    axes[1].set_ylim(0.0, None)
    axes[2].text(0.99, 0.04, r"score $= -\ln[(\bar w + \epsilon) f(c)]$: higher is better", ha="right",
                 va="bottom", transform=axes[2].transAxes, fontsize=13)  # fmt: skip
    axes[-1].set_xticks(x, [model_label(m) for m in models], rotation=30, ha="right", fontsize=15)
    axes[-1].set_xlim(-0.6, len(models) - 0.4)
    axes[-1].minorticks_off()
    fig.subplots_adjust(hspace=0.07)
    return fig
