"""Figure ratio_closure_<model>: an unbinned model's learned density ratios against the simulated variations.

Top rows: per bin, the simulated variation over nominal (points, paired MC error) and the nominal events reweighted by
the learned R(x; a) over nominal (steps), for the target NP at -1 and +1 sigma, in the model's score and two mass /
momentum features, for signal and Z. Bottom right: chi2/ndf of every variation summed over the variables, learned
(filled) and without reweighting (open): closure means the filled markers near 1 far below the open ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from systlab.studies.ratio_closure import SCORE, FeatureClosure, ProcessClosure
from systlab.visualize.style import use_style

#: Variables of the ratio panels (the score first: the variable the likelihood separates signal with).
PANEL_FEATURES = (SCORE, "DER_mass_vis", "PRI_tau_pt")
#: Processes of the ratio panels, one row each.
PANEL_PROCESSES = ("htautau", "ztautau")
SIDE_COLOURS = {-1.0: "#0072B2", 1.0: "#D55E00"}
PROCESS_MARKERS = {"htautau": "o", "ztautau": "s", "ttbar": "^", "diboson": "D"}
LABELS = {SCORE: "learned signal fraction", "DER_mass_vis": r"$m_\mathrm{vis}$ [GeV]",
          "PRI_tau_pt": r"$p_\mathrm{T}^{\tau}$ [GeV]"}  # fmt: skip


def _find(closures: Sequence[ProcessClosure], process: str, nuisance: str, alpha: float) -> ProcessClosure | None:
    return next((c for c in closures if (c.process, c.nuisance, c.alpha) == (process, nuisance, alpha)), None)


def _feature(closure: ProcessClosure, name: str) -> FeatureClosure | None:
    return next((f for f in closure.features if f.feature == name), None)


def _ratio_panel(ax, closures: Sequence[ProcessClosure], process: str, feature: str, nuisance: str) -> None:
    for alpha, colour in SIDE_COLOURS.items():
        c = _find(closures, process, nuisance, alpha)
        f = None if c is None else _feature(c, feature)
        if f is None:
            continue
        nominal = np.where(f.nominal > 0, f.nominal, np.nan)
        centres = 0.5 * (f.edges[1:] + f.edges[:-1])
        ax.errorbar(centres, f.varied / nominal, yerr=f.sigma_nominal / nominal, color=colour, ls="none", marker="o",
                    ms=4, label=rf"simulated {nuisance} {alpha:+g}$\sigma$")  # fmt: skip
        ax.stairs(f.learned / nominal, f.edges, color=colour, lw=1.8,
                  label=rf"learned $R$, $\chi^2$/ndf = {f.chi2:.0f}/{f.ndf} (unweighted {f.chi2_nominal:.0f})")
    ax.axhline(1.0, color="0.5", ls=":")
    if len(ax.lines) or len(ax.patches):
        inner = f.edges[1:-1]
        pad = 0.5 * (inner[-1] - inner[0]) / max(len(inner) - 1, 1)
        ax.set_xlim(inner[0] - pad, inner[-1] + pad)
    ax.set_xlabel(LABELS.get(feature, feature))
    ax.set_ylabel(f"{process}: variation / nominal")
    ax.legend(fontsize=9, loc="best")


def _chi2_panel(ax, closures: Sequence[ProcessClosure]) -> None:
    samples = list(dict.fromkeys(c.sample for c in closures))
    x = {s: i for i, s in enumerate(samples)}
    processes = list(dict.fromkeys(c.process for c in closures))
    for j, process in enumerate(processes):
        mine = [c for c in closures if c.process == process]
        xs = np.array([x[c.sample] for c in mine]) + (j - (len(processes) - 1) / 2) * 0.15
        ndf = np.array([sum(f.ndf for f in c.features) for c in mine])
        learned = np.array([sum(f.chi2 for f in c.features) for c in mine]) / ndf
        unweighted = np.array([sum(f.chi2_nominal for f in c.features) for c in mine]) / ndf
        marker = PROCESS_MARKERS.get(process, "o")
        ax.plot(xs, learned, marker=marker, ls="none", color=f"C{j}", label=f"{process}: learned $R$")
        ax.plot(xs, unweighted, marker=marker, ls="none", color=f"C{j}", mfc="white", label=f"{process}: $R = 1$")
    ax.axhline(1.0, color="0.5", ls="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(samples)), samples, rotation=60, ha="right", fontsize=10)
    ax.set_ylabel(r"$\chi^2$/ndf, summed over the variables")
    ax.legend(fontsize=8, ncol=2, loc="upper center")


def plot_ratio_closure(closures: Sequence[ProcessClosure], model: str, nuisance: str, replica: str = "r0"):
    """The figure of one model replica's closure (:func:`systlab.studies.ratio_closure.ratio_closure`);
    ``nuisance``: the NP of the ratio panels (the config's target)."""
    use_style()
    mosaic = [[f"{p}/{f}" for f in PANEL_FEATURES] for p in PANEL_PROCESSES] + [["chi2"] * len(PANEL_FEATURES)]
    fig, axes = plt.subplot_mosaic(mosaic, figsize=(21, 19), layout="constrained")
    for process in PANEL_PROCESSES:
        for feature in PANEL_FEATURES:
            _ratio_panel(axes[f"{process}/{feature}"], closures, process, feature, nuisance)
    _chi2_panel(axes["chi2"], closures)
    fig.suptitle(f"{model} {replica}: learned density ratios on the template split (never trained on)", fontsize=16)
    return fig
