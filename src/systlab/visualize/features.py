"""Figure ``features``: input features per process (stacked backgrounds, scaled signal) with ratios of the target NP's
+-1 sigma samples."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import mplhep
import numpy as np

from systlab.studies.feature_histograms import FeatureHistograms
from systlab.studies.result_files import SampleKey
from systlab.visualize.panels import grid_label
from systlab.visualize.style import use_style, variation_style

#: Axis text of the features most often drawn; others fall back to their name (with GeV if a mass/momentum).
FEATURE_LABELS = {
    "DER_mass_vis": r"$m_\mathrm{vis}(\ell, \tau_\mathrm{h})$",
    "DER_mass_MMC": r"$m_{\tau\tau}^\mathrm{MMC}$",
    "PRI_tau_pt": r"$p_\mathrm{T}(\tau_\mathrm{h})$",
    "PRI_lep_pt": r"$p_\mathrm{T}(\ell)$",
    "PRI_met": r"$E_\mathrm{T}^\mathrm{miss}$",
    "DER_mass_transverse_met_lep": r"$m_\mathrm{T}(\ell, E_\mathrm{T}^\mathrm{miss})$",
    "DER_pt_h": r"$p_\mathrm{T}^{H}$",
    "DER_pt_ratio_lep_tau": r"$p_\mathrm{T}(\ell) / p_\mathrm{T}(\tau_\mathrm{h})$",
    "DER_deltar_tau_lep": r"$\Delta R(\tau_\mathrm{h}, \ell)$",
}
PROCESS_COLOURS = ("#92dadd", "#e76300", "#b9ac70", "#717581", "#a96b59", "#3f90da")


def in_gev(feature: str) -> bool:
    """Masses and transverse momenta/energies are in GeV; angles, counts and ratios have no unit."""
    name = feature.lower()
    unitless = any(t in name for t in ("ratio", "centrality", "phi", "eta", "num"))
    return not unitless and any(t in name for t in ("mass", "_pt", "met"))


def axis_label(feature: str) -> str:
    """Axis text of a feature, with its unit."""
    text = FEATURE_LABELS.get(feature, feature)
    return f"{text} [GeV]" if in_gev(feature) else text


def draw_feature(ax, rax, hists: FeatureHistograms, signal: str, backgrounds: Sequence[str], scale: float,
                 nominal: str = "nominal") -> None:  # fmt: skip
    """One panel: stacked nominal backgrounds, scaled signal, total background at each shifted sample (the target NP
    at +-1 sigma); ratio below."""
    edges = hists.edges
    order = sorted(backgrounds, key=lambda p: hists.counts[SampleKey(p, nominal)].sum())
    stack = [hists.counts[SampleKey(p, nominal)] for p in order]
    colours = [PROCESS_COLOURS[backgrounds.index(p) % len(PROCESS_COLOURS)] for p in order]
    mplhep.histplot(stack, edges, stack=True, histtype="fill", color=colours, label=order, ax=ax)
    total = np.sum(stack, axis=0)
    stat = np.sqrt(np.sum([hists.sumw2[SampleKey(p, nominal)] for p in order], axis=0))
    ax.stairs(
        total + stat,
        edges,
        baseline=total - stat,
        fill=True,
        color="none",
        hatch="////",
        edgecolor="grey",
        linewidth=0,
        label="MC stat.",
    )
    shifted_samples = sorted({key.variation for key in hists.counts} - {nominal})  # "+1sd" before "-1sd"
    for variation in shifted_samples:
        colour, style, text = variation_style(variation)
        shifted = sum(hists.counts[SampleKey(p, variation)] for p in backgrounds)
        ax.stairs(shifted, edges, color=colour, linestyle=style, linewidth=1.5, label=f"Total bkg., {text}")
        safe = np.where(total > 0, total, np.nan)
        rax.stairs(shifted / safe, edges, color=colour, linestyle=style, linewidth=1.5)
    rel = np.where(total > 0, stat / np.where(total > 0, total, 1), np.nan)
    rax.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="none", hatch="////", edgecolor="grey", linewidth=0)
    mplhep.histplot(
        hists.counts[SampleKey(signal, nominal)] * scale,
        edges,
        histtype="step",
        color="black",
        linewidth=2,
        ax=ax,
        label=f"{signal} (signal) $\\times${scale:g}",
    )
    ax.set_xlim(edges[0], edges[-1])
    ax.set_yscale("log")
    smallest = min(c[c > 0].min() for c in (*stack, hists.counts[SampleKey(signal, nominal)]) if (c > 0).any())
    ax.set_ylim(max(smallest * scale / 3, total.max() * 1e-4), total.max() * 8)
    width = edges[1] - edges[0]
    unit = " GeV" if in_gev(hists.feature) else ""
    ax.set_ylabel(f"Events / {width:.3g}{unit}")
    rax.axhline(1.0, color="grey", linewidth=1)
    rax.set_ylim(0.75, 1.25)
    rax.set_ylabel("shifted / nom.", fontsize="small")
    rax.set_xlabel(axis_label(hists.feature))
    ax.tick_params(labelbottom=False)


def plot_features(histograms: Sequence[FeatureHistograms], signal: str, backgrounds: Sequence[str], scale: float,
                  lumi_fb: float, ncols: int = 3):  # fmt: skip
    """Grid of feature panels (main + ratio) with one legend for the whole figure."""
    use_style()
    nrows = -(-len(histograms) // ncols)
    fig = plt.figure(figsize=(6.2 * ncols, 6.4 * nrows))
    outer = fig.add_gridspec(nrows, ncols, hspace=0.32, wspace=0.38)
    for i, hists in enumerate(histograms):
        cell = outer[divmod(i, ncols)].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.06)
        ax = fig.add_subplot(cell[0])
        rax = fig.add_subplot(cell[1], sharex=ax)
        draw_feature(ax, rax, hists, signal, list(backgrounds), scale)
        fig.align_ylabels([ax, rax])
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
    top_row = fig.axes[0 : 2 * min(ncols, len(histograms)) : 2]
    grid_label(top_row[0], top_row[-1], lumi_fb)
    fig.legend(
        handles[::-1],
        labels[::-1],
        loc="lower center",
        ncols=4,
        fontsize="small",
        frameon=False,
        bbox_to_anchor=(0.5, 0.885 + 0.25 / (6.4 * nrows)),
    )
    return fig
