"""Figure 14: interval width and coverage against the number of score bins and against the width of the prior
the pseudo-data were drawn from (fit prior fixed), per studied model with the spread over training replicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.visualize.style import label_row, method_colour, model_label, np_name_label, use_style

ONE_SIGMA = 0.6827


def _stat(points: Sequence[Mapping], key) -> tuple[float, float]:
    values = np.array([key(p) for p in points], dtype=float)
    return float(np.nanmean(values)), float(np.nanstd(values))


def _series(results: Sequence[Mapping], key) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Point names (in file order) and mean/std over the replicas' results of ``key(point)``."""
    names = [p["point"] for p in results[0]["points"]]
    stats = [_stat([r["points"][i] for r in results], key) for i in range(len(names))]
    return names, np.array([s[0] for s in stats]), np.array([s[1] for s in stats])


def _width(p: Mapping) -> float:
    lo, hi = p["asimov_interval"]
    return hi - lo


def plot_sensitivity(results: Mapping[str, Mapping[str, Sequence[Mapping]]], lumi_fb: float | None = None, *,
                     np_name: str):  # fmt: skip
    """``results[study][model]`` = the per-replica JSON payloads of rule sensitivity; ``np_name``: the NP whose prior
    the prior study scales (the target NP)."""
    use_style()
    fig, axes = plt.subplots(2, 2, figsize=(15, 11), layout="constrained")
    (ax_bw, ax_bc), (ax_pc, ax_pw) = axes
    for study, (ax_w, ax_c) in (("bins", (ax_bw, ax_bc)), ("prior", (ax_pw, ax_pc))):
        n_toys = None
        for i, (model, reps) in enumerate(results.get(study, {}).items()):
            colour, dx = method_colour(model), 0.08 * i
            names, cov, cov_s = _series(reps, lambda p: p["coverage"]["coverage"])
            n_toys = reps[0]["points"][0]["coverage"]["n_used"]
            x = np.arange(len(names)) if study == "bins" else np.array([float(n) for n in names])
            ax_c.errorbar(x + dx, cov, yerr=cov_s, marker="o", color=colour, capsize=3, label=model_label(model))
            _, width, width_s = _series(reps, lambda p: p["coverage"]["mean_width"])
            ax_w.errorbar(x + dx, width, yerr=width_s, marker="o", color=colour, capsize=3,
                          label=f"{model_label(model)}, toys (mean)")
            if study == "bins":
                _, asimov, asimov_s = _series(reps, _width)
                ax_w.errorbar(x + dx, asimov, yerr=asimov_s, marker="s", ls="--", color=colour, capsize=3,
                              label=f"{model_label(model)}, Asimov")
                for ax in (ax_w, ax_c):
                    ax.set_xticks(np.arange(len(names)), ["1 (cut)" if n == "cut" else n for n in names])
        if n_toys:
            s68 = np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n_toys)
            ax_c.axhspan(ONE_SIGMA - s68, ONE_SIGMA + s68, color="0.85", zorder=0, label=r"0.683 $\pm\sigma_{68}$")
            ax_c.axhline(ONE_SIGMA, color="0.5", ls="--")
        ax_c.set_ylabel("coverage of the 68% interval")
        ax_w.set_ylabel(r"68% interval width on $\mu$")
    for ax in (ax_bw, ax_bc):
        ax.set_xlabel("score bins (signal quantiles)")
    scales = sorted({float(p["point"]) for reps in results.get("prior", {}).values() for p in reps[0]["points"]})
    for ax in (ax_pw, ax_pc):
        ax.set_xlabel(rf"pseudo-data {np_name_label(np_name)} prior width [$\sigma_\mathrm{{fit}}$]")
        ax.axvline(1.0, color="0.6", ls=":")
        ax.set_xscale("log", base=2)
        if scales:
            ax.set_xticks(scales, [f"{x:g}" for x in scales])
            ax.set_xlim(scales[0] / 1.25, scales[-1] * 1.25)
    for ax in axes.ravel():
        ax.legend(fontsize="small", loc="best")
    label_row(ax_bw, ax_bc, lumi_fb=lumi_fb)
    return fig
