"""Figure jes_granularity: post-fit / prior width of every JES NP when JES is one coherent NP or one per jet-pT
bin (Asimov fit, line at the over-constraint flag), and the 68% width and bias on mu of each scheme, per studied
model with the spread over training replicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.jes_granularity import OVER_CONSTRAINED, SCHEMES, bin_labels
from systlab.studies.spread import spread_of
from systlab.visualize.style import label_row, method_colour, use_style

SCHEME_TEXT = {"coherent": "one coherent JES NP", "per_pt_bin": "one JES NP per jet-pT bin"}
SCHEME_HATCH = {"coherent": "", "per_pt_bin": "//"}


def plot_jes_granularity(results: Mapping[str, Sequence[Mapping[str, Any]]], lumi_fb: float | None = None):
    """``results[model]`` = the per-replica payloads of rule jes_granularity."""
    use_style()
    fig, (ax_c, ax_w) = plt.subplots(1, 2, figsize=(17, 7.5), layout="constrained", width_ratios=(3, 2))
    for m, (model, reps) in enumerate(results.items()):
        colour = method_colour(model)
        names = ["jes"] + [n for n in reps[0]["results"]["per_pt_bin"]["asimov"]["jes_constraints"]]
        for s, scheme in enumerate(SCHEMES):
            fits = [r["results"][scheme]["asimov"]["jes_constraints"] for r in reps]
            x = [i for i, n in enumerate(names) if n in fits[0]]
            stats = np.array([spread_of([f[names[i]] for f in fits]) for i in x])
            ax_c.bar(np.array(x) + 0.8 * m / len(results), stats[:, 0], width=0.7 / len(results), yerr=stats[:, 1],
                     color=colour, alpha=0.85, hatch=SCHEME_HATCH[scheme], edgecolor="black", capsize=4,
                     label=f"{model}, {SCHEME_TEXT[scheme]}")  # fmt: skip
            datasets = list(reps[0]["results"][scheme])
            for d, dataset in enumerate(datasets):
                width = spread_of([r["results"][scheme][dataset]["width"] for r in reps])
                ax_w.errorbar(d + (s - 0.5) * 0.25 + 0.08 * m, width[0], yerr=width[1], color=colour, capsize=4,
                              marker="o" if scheme == "coherent" else "s", ms=9,
                              mfc=colour if scheme == "coherent" else "white", ls="none",
                              label=f"{model}, {SCHEME_TEXT[scheme]}" if d == 0 else None)  # fmt: skip
        ticks = ["all jets"] + [f"jets {b} GeV" for b in bin_labels(reps[0]["jes_bins"])]
        ax_c.set_xticks(range(len(names)), ticks, fontsize=14)
        ax_w.set_xticks(range(len(datasets)), [d.replace("expected_", "TES ") for d in datasets], fontsize=14)
    ax_c.axhline(1.0, color="0.5", ls=":")
    ax_c.axhline(OVER_CONSTRAINED, color="#D55E00", ls="--", label=f"over-constraint flag ({OVER_CONSTRAINED:g})")
    ax_c.set_ylabel(r"$\sigma_\mathrm{post} / \sigma_\mathrm{prior}$ of the JES NP (Asimov)")
    ax_c.set_ylim(0, 1.35)
    ax_c.legend(fontsize=12, loc="upper right", ncol=2)
    ax_w.set_ylabel(r"68% interval width on $\mu$")
    ax_w.legend(fontsize=12, loc="best")
    label_row(ax_c, ax_w, lumi_fb=lumi_fb)
    return fig
