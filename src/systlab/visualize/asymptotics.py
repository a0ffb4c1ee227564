"""Figure 15: per method, the toy distribution of q_μ at the true μ against the χ²₁ density of Wilks'
theorem (log scale), every replica its own histogram, the KS distance (and p-value) in the legend."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats

from systlab.infer.significance import wilks_check
from systlab.visualize.inference_inputs import ToyFigures
from systlab.visualize.style import label_row, method_colour, model_label, use_style

Q_MAX = 10.0
LINESTYLES = ("-", "--", ":", "-.")


def plot_asymptotics(toys: Mapping[str, ToyFigures], bin_width: float = 0.5, lumi_fb: float | None = None,
                     ncols: int = 4):  # fmt: skip
    """One panel per model: replica histograms of q_μ(μ_true) (density; last bin holds the overflow), the
    χ²₁ density and its bin average; a panel says so when the toys did not store q_μ."""
    use_style()
    if not toys:
        raise ValueError("no toy results to draw")
    models = list(toys)
    nrows = int(np.ceil(len(models) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.8 * nrows + 0.6), sharex=True, sharey=True,
                             squeeze=False)  # fmt: skip
    edges = np.arange(0.0, Q_MAX + bin_width / 2, bin_width)
    t = np.linspace(0.02, Q_MAX, 300)
    chi2_bins = np.diff(scipy.stats.chi2.cdf(edges, 1)) / bin_width
    chi2_bins[-1] += scipy.stats.chi2.sf(Q_MAX, 1) / bin_width  # the overflow folded into the last bin
    for ax, model in zip(axes.flat, models, strict=False):
        ax.plot(t, scipy.stats.chi2.pdf(t, 1), color="0.35", linewidth=1.5, label=r"$\chi^2_1$ density")
        ax.stairs(chi2_bins, edges, color="0.35", linestyle=":", linewidth=1.2)
        colour = method_colour(model)
        drawn = 0
        sources = toys[model].q_source or ("held-out",) * len(toys[model].replicas)
        for k, (replica, q, source) in enumerate(zip(toys[model].replicas, toys[model].q_mu_true, sources,
                                                     strict=True)):
            values = None if q is None else q[np.isfinite(q)]
            if values is None or not values.size:
                continue
            density = np.histogram(np.clip(values, 0.0, Q_MAX - 1e-9), edges)[0] / (values.size * bin_width)
            check = wilks_check(values)
            ax.stairs(density, edges, color=colour, linewidth=2, linestyle=LINESTYLES[k % len(LINESTYLES)],
                      label=f"{replica} ({source}): KS {check.ks:.2f} (p {check.ks_p_value:.2g}), N={check.n}")
            drawn += 1
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 300.0)  # room for the legend above the χ²₁ peak
        ax.set_xlim(0.0, Q_MAX)
        ax.set_xticks(np.arange(0.0, Q_MAX, 2.0))
        if not drawn:
            ax.text(0.5, 0.5, r"no $q_\mu$ stored by these toys", transform=ax.transAxes, ha="center",
                    fontsize=13, color="0.3")  # fmt: skip
        ax.legend(loc="upper right", fontsize=11, frameon=False, title=model_label(model), title_fontsize=15,
                  alignment="right")  # fmt: skip
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(r"$q_\mu$ at $\mu_\mathrm{true}$")
    for ax in axes[:, 0]:
        ax.set_ylabel("toys (density)")
    label_row(axes[0, 0], axes[0, -1], lumi_fb=lumi_fb)
    fig.subplots_adjust(hspace=0.08, wspace=0.05)
    return fig
