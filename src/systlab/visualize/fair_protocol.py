"""The FAIR-protocol figure, like the challenge's coverage plot: per method, every pseudo-experiment's [p16, p84]
against its true μ (thin lines, spread sideways within its set), each set's mean interval and mean μ̂ (bold), the
diagonal μ̂ = μ_true; the two prior settings side by side in their colours, their coverage and score in the panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.style import label_row, method_colour, model_label, use_style

#: Colour, marker and legend text of each prior setting.
PRIOR_STYLE = {
    "challenge": ("#0072B2", "o", "challenge priors (HiggsML 0.1.5)"),
    "systlab": ("#D55E00", "s", "systlab priors (this config)"),
}
#: Sideways room of one prior setting's pseudo-experiments of a set, as a share of the μ range.
SPREAD = 0.035


def _floats(values: Sequence) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def plot_fair_protocol(replicas: Mapping[str, Sequence[Mapping]], lumi_fb: float | None = None, ncols: int = 4):
    """``replicas``: model -> its replicas' protocol payloads (results/fair_protocol/<model>/<replica>.json)."""
    use_style()
    if not replicas:
        raise ValueError("no FAIR-protocol results to draw")
    models = list(replicas)
    ncols = min(ncols, len(models))
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 5.0 * nrows + 1.2), sharex=True, sharey=True,
                             squeeze=False)  # fmt: skip
    first = replicas[models[0]][0]
    settings = first["settings"]
    lo, hi = settings["mu_range"]
    width = SPREAD * (hi - lo)
    priors = [p for p in PRIOR_STYLE if p in first["priors"]]
    for ax, model in zip(axes.flat, models, strict=False):
        lines = []
        for k, prior in enumerate(priors):
            colour, marker, _ = PRIOR_STYLE[prior]
            offset = (k - (len(priors) - 1) / 2) * 1.2 * width
            pes = [r["priors"][prior]["pseudo_experiments"] for r in replicas[model]]
            mu = np.concatenate([_floats(p["mu_true"]) for p in pes])
            p16 = np.concatenate([_floats(p["p16"]) for p in pes])
            p84 = np.concatenate([_floats(p["p84"]) for p in pes])
            mu_hat = np.concatenate([_floats(p["mu_hat"]) for p in pes])
            for m in np.unique(mu):
                one = np.flatnonzero((mu == m) & np.isfinite(p16) & np.isfinite(p84))
                if not one.size:
                    continue
                x = m + offset + np.linspace(-width / 2, width / 2, one.size)
                ax.vlines(x, p16[one], p84[one], color=colour, alpha=0.25, linewidth=0.8)
                centre = np.nanmean(mu_hat[one])
                ax.errorbar(m + offset, centre, yerr=[[centre - p16[one].mean()], [p84[one].mean() - centre]],
                            fmt=marker, color=colour, markersize=7, capsize=5, linewidth=2.2)  # fmt: skip
            stats = [r["priors"][prior] for r in replicas[model]]
            coverage = np.mean([s["coverage"] for s in stats if s["coverage"] is not None])
            score = np.mean([s["score"] for s in stats if s["score"] is not None])
            lines.append((colour, f"{prior}: coverage {coverage:.2f}, score {score:.2f}"))
        ax.plot([lo, hi], [lo, hi], color="0.3", linestyle="--", linewidth=1.2, zorder=0)
        # the method's name inside its panel: above the panels the experiment label of the first one would cover it
        ax.text(0.04, 0.95, model_label(model), color=method_colour(model), transform=ax.transAxes, fontsize=17,
                fontweight="bold", va="top")  # fmt: skip
        for j, (colour, text) in enumerate(lines):
            ax.text(0.04, 0.85 - 0.075 * j, text, color=colour, transform=ax.transAxes, fontsize=12, va="top")
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for k, ax in enumerate(axes.flat[: len(models)]):
        if k + ncols >= len(models):  # no panel below: its own μ axis labelled
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(r"true $\mu$", fontsize=17)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\hat\mu$ and [p16, p84]", fontsize=17)
    pad = 0.1 * (hi - lo)
    axes[0, 0].set_xlim(lo - pad, hi + pad)
    label_row(axes[0, 0], axes[0, -1], lumi_fb=lumi_fb)
    handles = [plt.Line2D([], [], color=PRIOR_STYLE[p][0], marker=PRIOR_STYLE[p][1], linewidth=2.2,
                          label=f"{PRIOR_STYLE[p][2]}: set mean [p16, p84] and mean " + r"$\hat\mu$")
               for p in priors]  # fmt: skip
    handles.append(plt.Line2D([], [], color="0.5", alpha=0.5, linewidth=0.8,
                              label="one pseudo-experiment's [p16, p84]"))
    handles.append(plt.Line2D([], [], color="0.3", linestyle="--", label=r"$\hat\mu$ = true $\mu$"))
    n = settings["sets"] * settings["pseudo_experiments"]
    fig.legend(handles=handles, loc="upper center", ncol=2, fontsize=13, frameon=False,
               title=f"FAIR-Universe protocol: {settings['sets']} sets x {settings['pseudo_experiments']} "
                     f"pseudo-experiments ({n} per prior setting and replica), every replica",
               title_fontsize=14)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 1.3 / (5.0 * nrows + 1.2)))
    return fig
