"""Figure histosys_check: μ̂, 68% width and fitted target NP (e.g. TES) of each fixed classifier's histosys fit (open
circles) and of the grid construction in that NP (filled squares), both with histosys code 0, and of the fits rule's
code-4p fit (open diamonds, no NP marker: its payload keeps μ̂ and interval only), per dataset. Error bars: spread
over replicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.spread import spread_of
from systlab.visualize.style import finish_category_row, method_colour, model_label, np_name_label, use_style

FITS = {"histosys": ("histosys, ±1σ templates (code 0)", "white", "o"),
        "grid": ("{np} grid, simulated sample per point (code 0)", None, "s"),
        "default": ("histosys, the fits' code 4p", "white", "D")}  # fmt: skip


def _value(row: Mapping[str, Any], fit: str, key: str) -> float:
    if key == "width":
        lo, hi = row[f"{fit}_interval"]
        return float("nan") if lo is None or hi is None else hi - lo
    value = row.get(f"{fit}_{key}")
    return float("nan") if value is None else float(value)


def plot_histosys_check(results: Mapping[str, Sequence[Mapping[str, Any]]], true_alpha: Mapping[str, float],
                        lumi_fb: float | None = None):  # fmt: skip
    """``results[model]`` = the per-replica payloads of rule histosys_check; ``true_alpha[dataset]`` = the shift (σ)
    of the payloads' NP in each dataset's truth (Asimov: 0), which also orders the datasets."""
    use_style()
    models = list(results)
    first = next(iter(results.values()))[0]
    have, np_text = first["datasets"], np_name_label(first["np"])
    datasets = sorted(have, key=lambda d: (d != "asimov", true_alpha.get(d, 0.0)))
    fig, axes = plt.subplots(1, 3, figsize=(21, 7.5), layout="constrained")
    x = np.arange(len(datasets))
    for m, model in enumerate(models):
        colour = method_colour(model)
        for f, (fit, (text, face, marker)) in enumerate(FITS.items()):
            dx = (m - 0.5 * (len(models) - 1)) * 0.3 + (f - 1) * 0.09
            style = dict(marker=marker, color=colour, mfc=face or colour, ls="none", capsize=3, ms=9)
            for ax, key in zip(axes, ("mu_hat", "width", "alpha"), strict=True):
                if fit == "default" and key == "alpha":
                    continue
                stats = np.array([spread_of([_value(r["datasets"][d], fit, key) for r in results[model]])
                                  for d in datasets])  # fmt: skip
                text_np = text.format(np=np_text)
                ax.errorbar(x + dx, stats[:, 0], yerr=stats[:, 1], label=f"{model_label(model)}: {text_np}", **style)
    axes[0].set_ylabel(r"$\hat\mu$ (true $\mu$ = 1)")
    axes[0].axhline(1.0, color="0.5", ls=":")
    axes[1].set_ylabel(r"68% interval width on $\mu$")
    axes[2].set_ylabel(rf"fitted {np_text} shift ($\sigma$)")
    axes[2].axhline(0.0, color="0.5", ls=":")
    axes[2].scatter(x, [true_alpha.get(d, 0.0) for d in datasets], marker="_", s=900, color="k", zorder=5,
                    label=f"true {np_text}")  # fmt: skip
    axes[2].legend(loc="upper left", fontsize=14)
    names = [d.replace("expected_", "expected\n") for d in datasets]
    finish_category_row(fig, axes, names, ncol=2, lumi_fb=lumi_fb, fontsize=14)
    return fig
