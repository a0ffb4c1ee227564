"""Figure generator_closure: mu-hat bias, 68% width and toy coverage per fixed classifier when the pseudo-data come
from the held-back generator C or the higher-order prediction (nominal A as the reference), fitted without (open
markers) and with (filled) the two-point generator NP. Error bars: spread over training replicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.generator_closure import TARGETS, WORKSPACES
from systlab.studies.spread import spread_of
from systlab.visualize.style import finish_category_row, use_style

ONE_SIGMA = 0.6827
TARGET_STYLE = {"nominal": ("generator A (nominal)", "0.45", "o"), "generator_C": ("generator C", "#D55E00", "s"),
                "higher_order": ("higher order", "#CC79A7", "D")}  # fmt: skip
WORKSPACE_TEXT = {"without_generator_np": "analysis NPs only", "with_generator_np": "+ generator NP (A vs B)"}


def plot_generator_closure(results: Mapping[str, Sequence[Mapping[str, Any]]], lumi_fb: float | None = None):
    """``results[model]`` = the per-replica payloads of rule generator_closure."""
    use_style()
    models = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(21, 7.5), layout="constrained")
    x = np.arange(len(models))
    n_toys = None
    for t, target in enumerate(TARGETS):
        name, colour, marker = TARGET_STYLE[target]
        for w, workspace in enumerate(WORKSPACES):
            dx = (t - 1) * 0.22 + (w - 0.5) * 0.09
            rows = [[r["results"][workspace][target] for r in results[m]] for m in models]
            style = dict(marker=marker, color=colour, ls="none", capsize=3, ms=9,
                         mfc=colour if workspace == "with_generator_np" else "white")  # fmt: skip
            text = f"{name}, {WORKSPACE_TEXT[workspace]}"
            for ax, key in ((axes[0], "bias"), (axes[1], "width")):
                stats = np.array([spread_of([row[key] for row in per]) for per in rows])
                ax.errorbar(x + dx, stats[:, 0], yerr=stats[:, 1], label=text, **style)
            if all("toys" in row for per in rows for row in per):
                stats = np.array([spread_of([row["toys"]["coverage"] for row in per]) for per in rows])
                axes[2].errorbar(x + dx, stats[:, 0], yerr=stats[:, 1], **style)
                n_toys = rows[0][0]["toys"]["n_used"]
    axes[0].axhline(0.0, color="0.5", ls=":")
    axes[0].set_ylabel(r"bias $\hat\mu - 1$ on the toy-split expectation")
    axes[1].set_ylabel(r"68% interval width on $\mu$")
    axes[2].set_ylabel("coverage of the 68% interval (toys)")
    if n_toys:
        s68 = np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n_toys)
        axes[2].axhspan(ONE_SIGMA - s68, ONE_SIGMA + s68, color="0.85", zorder=0)
        axes[2].axhline(ONE_SIGMA, color="0.5", ls="--")
        axes[2].text(0.03, 0.96, rf"band: 0.683 $\pm\sigma_{{68}}$ ({n_toys} toys)", transform=axes[2].transAxes,
                     fontsize=13, va="top")  # fmt: skip
    axes[2].set_ylim(0, 1.05)
    finish_category_row(fig, axes, models, ncol=3, lumi_fb=lumi_fb)
    return fig
