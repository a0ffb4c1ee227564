"""Figures of the paper toys: decision maps (fig. 2), learned vs analytic likelihood ratio (fig. 12b), pivot outputs,
the positive control's profile curves.

Receives arrays from ``systlab.papertoys.figure_data`` and only draws them.
"""

from __future__ import annotations

from fractions import Fraction

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.lines import Line2D

from systlab.papertoys.figure_data import ControlCurves, DecisionMaps, OutputHistograms, RatioProfiles
from systlab.visualize.inference_inputs import ReplicaCurves, dense_curves
from systlab.visualize.style import use_style

MODEL_COLOURS = {"baseline": "tab:blue", "augmented": "tab:orange", "pivot": "tab:red", "disco": "tab:purple",
                 "aware": "tab:green"}  # fmt: skip
Z_COLOURS = ("tab:blue", "black", "tab:red", "tab:green", "tab:purple")


def toy_label(ax, toy: str) -> None:
    """Experiment-style label on ``ax`` and the toy's name over the figure (no beam energy: not collider events)."""
    mplhep.label.exp_label(exp="systlab", llabel="Toy", rlabel="", ax=ax, loc=0, data=False)
    ax.figure.suptitle(toy, fontsize="medium")  # across the panels: one panel is too narrow for it


def theta_text(z: float) -> str:
    """The rotation angle Z pi/4 in LaTeX (0, pi/4, pi/2, ...)."""
    quarters = Fraction(z).limit_denominator(8) / 4
    if quarters == 0:
        return "0"
    sign = "-" if quarters < 0 else ""
    quarters = abs(quarters)
    top = "" if quarters.numerator == 1 else str(quarters.numerator)
    return f"{sign}{top}\\pi" + ("" if quarters.denominator == 1 else f"/{quarters.denominator}")


def model_colour(model: str) -> str:
    return MODEL_COLOURS.get(model, "tab:gray" if model.startswith("oracle") else "tab:brown")


def plot_decision_maps(maps: DecisionMaps, width: float = 0.7):
    """One row per model, one column per Z: replica-mean f(x; Z), each replica's f = 0.5 contour, Bayes boundary."""
    use_style()
    models = list(maps.scores)
    fig, axes = plt.subplots(len(models), len(maps.z), figsize=(5.2 * len(maps.z), 5.0 * len(models)),
                             sharex=True, sharey=True, squeeze=False, layout="constrained")  # fmt: skip
    x1, x2 = np.meshgrid(maps.x1, maps.x2)
    for row, model in enumerate(models):
        for col, z in enumerate(maps.z):
            ax = axes[row, col]
            scores = maps.scores[model][:, col]
            image = ax.contourf(x1, x2, scores.mean(axis=0), levels=np.linspace(0, 1, 11), cmap="RdBu_r")
            for replica in scores:
                ax.contour(x1, x2, replica, levels=[0.5], colors="gold", linewidths=1.5)
            m = maps.signal_direction[col]
            ends = np.array([-1, 1])[:, None] * 5 * np.array([-m[1], m[0]])
            ax.plot(ends[:, 0], ends[:, 1], "k--", linewidth=2)
            for sign, marker in ((1, "+"), (-1, "_")):
                ax.add_patch(plt.Circle(sign * m, width, fill=False, color="black", linewidth=1))
                ax.plot(*(sign * m), marker=marker, color="black", markersize=14, markeredgewidth=3)
            ax.set_xlim(maps.x1[0], maps.x1[-1])
            ax.set_ylim(maps.x2[0], maps.x2[-1])
            ax.set_aspect("equal")
            ticks = np.arange(np.ceil(maps.x1[0]) + 1, maps.x1[-1])  # no tick on the edges (rows touch)
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            detail = f"model input $Z={z:g}$" if model == "aware" else "trained at nominal $Z=1$"
            title = f"{model}\ndata at $Z={z:g}$\n{detail}"
            ax.text(
                0.03,
                0.97,
                title,
                transform=ax.transAxes,
                va="top",
                ha="left",
                fontsize="x-small",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
            )
            if row == len(models) - 1:
                ax.set_xlabel("$x_1$")
            if col == 0:
                ax.set_ylabel("$x_2$")
    handles = [Line2D([], [], color="gold", linewidth=1.5, label="$f=0.5$ (each replica)"),
               Line2D([], [], color="black", linestyle="--", linewidth=2, label="Bayes boundary"),
               Line2D([], [], color="black", marker="o", markersize=12, fillstyle="none", linestyle="none",
                      label=r"signal (+) / background (−) mean, $1\sigma$")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="x-small")
    bar = fig.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("classifier output $f$ (replica mean)", fontsize="small")
    toy_label(axes[0, 0], "Rotating Gaussians (Ghosh, Nachman, Whiteson 2021)")
    return fig


def plot_likelihood_ratio(profiles: RatioProfiles):
    """One panel per Z: median learned c/(1-c) (band: replica mean +- std) vs analytic p_s/p_b, log-log."""
    use_style()
    zs = profiles.z
    fig, axes = plt.subplots(1, len(zs), figsize=(6.5 * len(zs), 7.0), sharey=True, squeeze=False,
                             layout="constrained")  # fmt: skip
    x = 10.0**profiles.centres
    names = {"baseline": "baseline (trained at $Z=1$)", "aware": "aware $f(x; Z)$, input = the data's $Z$",
             "oracle": "oracle (trained at the data's $Z$)"}  # fmt: skip
    handles = {"analytic": Line2D([], [], color="black", linestyle="--", linewidth=1.5, label="analytic (ideal)")}
    for ax, z in zip(axes[0], zs, strict=True):
        ax.plot(x, x, color="black", linestyle="--", linewidth=1.5)
        for model, per_z in profiles.medians.items():
            if z not in per_z:
                continue
            medians = per_z[z]
            mean = np.nanmean(medians, axis=0)
            spread = np.nanstd(medians, axis=0, ddof=1) if len(medians) > 1 else np.zeros_like(mean)
            kind = "oracle" if model.startswith("oracle") else model
            (line,) = ax.plot(x, 10.0**mean, color=model_colour(model), marker="o", markersize=4,
                              label=names.get(kind, model))  # fmt: skip
            handles.setdefault(kind, line)
            ax.fill_between(x, 10.0 ** (mean - spread), 10.0 ** (mean + spread), color=model_colour(model), alpha=0.3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"analytic $p_s(x|Z)/p_b(x|Z)$")
        ax.text(0.04, 0.96, f"data at $Z={z:g}$\n($\\theta={theta_text(z)}$)", transform=ax.transAxes, va="top",
                fontsize="small")  # fmt: skip
    n_replicas = len(next(iter(next(iter(profiles.medians.values())).values())))
    fig.legend(handles=list(handles.values()), loc="outside lower center", ncols=len(handles), fontsize="x-small",
               title=f"median per bin; band: ±1 std over {n_replicas} replicas", title_fontsize="x-small")  # fmt: skip
    axes[0, 0].set_ylabel("learned $c/(1-c)$ (median per bin)")
    toy_label(axes[0, 0], "Rotating Gaussians (Ghosh, Nachman, Whiteson 2021)")
    return fig


def plot_pivot_outputs(hists: OutputHistograms):
    """One panel per model: output density at each z (line: replica mean, band: +- std), JS(z=-1, z=+1) quoted."""
    use_style()
    models = list(hists.density)
    fig, axes = plt.subplots(1, len(models), figsize=(7.5 * len(models), 6.5), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax, model in zip(axes[0], models, strict=True):
        for colour, (z, density) in zip(Z_COLOURS, hists.density[model].items(), strict=False):
            mean = density.mean(axis=0)
            spread = density.std(axis=0, ddof=1) if len(density) > 1 else np.zeros_like(mean)
            mplhep.histplot(mean, hists.edges, ax=ax, color=colour, label=f"$z = {z:g}$")
            ax.stairs(mean + spread, hists.edges, baseline=mean - spread, fill=True, color=colour, alpha=0.25)
        js = hists.js[model]
        spread = js.std(ddof=1) if len(js) > 1 else 0.0
        ax.set_xlabel("classifier output $f(x)$")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.4 * ax.get_ylim()[1])
        ax.legend(loc="upper center", fontsize="small", title_fontsize="x-small",
                  title=f"{model}, {len(js)} replicas (band: ±1 std)\n"
                        f"JS($z=-1$, $z=+1$) = {js.mean():.4f} ± {spread:.4f} bit")  # fmt: skip
    for ax in axes[0]:
        ax.set_ylabel("$p(f \\,|\\, z)$ (signal + background)")
    toy_label(axes[0, 0], "Learning-to-pivot toy (Louppe, Kagan, Cranmer 2017)")
    return fig


#: −2ΔlnL levels drawn on the control's curves (one parameter).
CONTROL_LEVELS = ((1.0, "68% CL"), (3.84, "95% CL"))
CONTROL_Y_MAX = 5.0
CONTROL_LABELS = {"baseline": "baseline (trained at $Z=1$)", "augmented": "augmented ($Z$ drawn from its prior)",
                  "aware": "aware $f(x; Z)$", "oracle": "oracle (trained at the true $Z$)"}  # fmt: skip


def plot_positive_control(curves: ControlCurves):
    """One panel per true Z: each method's profiled −2ΔlnL(μ) (line: replica mean, band: min–max over replicas)
    with the 68%/95% levels, each panel's legend (under it) giving the 68% widths; the width ratios and the toys'
    coverage written under the figure."""
    use_style()
    panels = curves.panels
    fig, axes = plt.subplots(1, len(panels), figsize=(8.5 * len(panels), 7.0), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")  # fmt: skip
    lo_x, hi_x = np.inf, -np.inf
    for ax, panel in zip(axes[0], panels, strict=True):
        for method, model in panel.models.items():
            n = len(panel.q[method])
            dense = dense_curves(ReplicaCurves(tuple(f"r{i}" for i in range(n)), panel.mu[method], panel.q[method],
                                               panel.intervals[method], panel.mu_hat[method]))  # fmt: skip
            mean, low, high = (f(dense.q, axis=0) for f in (np.mean, np.min, np.max))
            colour = model_colour(model)
            widths = panel.intervals[method][:, 1] - panel.intervals[method][:, 0]
            spread = f" ± {widths.std(ddof=1):.3f}" if n > 1 else ""
            label = CONTROL_LABELS.get(method, method)
            if method == "baseline" and "oracle" not in panel.models:
                label += ", the oracle here"
            ax.fill_between(dense.mu, low, high, color=colour, alpha=0.2, linewidth=0)
            ax.plot(dense.mu, mean, color=colour, linewidth=2.2, linestyle="--" if method == "oracle" else "-",
                    label=f"{label}: width {widths.mean():.3f}{spread}")  # fmt: skip
            inside = dense.mu[mean < CONTROL_Y_MAX]
            if inside.size:
                lo_x, hi_x = min(lo_x, inside.min()), max(hi_x, inside.max())
        for level, text in CONTROL_LEVELS:
            ax.axhline(level, color="0.4", linestyle=":", linewidth=1.5)
            ax.text(0.02, level + 0.06, text, transform=ax.get_yaxis_transform(), fontsize=13, color="0.3")
        ax.set_xlabel(r"signal strength $\mu$ (true $\mu = 1$)", fontsize=20)
        ax.set_ylim(0.0, CONTROL_Y_MAX)
        ax.set_title(f"Asimov data at true $Z={panel.true_z:g}$ ($\\theta={theta_text(panel.true_z)}$)", loc="right",
                     fontsize=15)  # fmt: skip
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=12, frameon=False,
                  title=f"68% interval widths (mean ± std over {n} replicas)", title_fontsize=12)  # fmt: skip
    if np.isfinite(lo_x):
        pad = 0.15 * (hi_x - lo_x)
        axes[0, 0].set_xlim(lo_x - pad, hi_x + pad)
    axes[0, 0].set_ylabel(r"$-2\,\Delta\ln L(\mu)$")
    s, b = curves.yields
    ratios = ", ".join(f"{name} = {value:.3f} (required ≤ {limit:g})" for name, (value, limit) in curves.ratios.items())
    coverage = ", ".join(f"{m} {c:.3f} ± {e:.3f}" for m, (c, e, _) in curves.coverage.items())
    n_toys = max((n for *_, n in curves.coverage.values()), default=0)
    fig.text(0.5, 0.0, f"width ratios at true $Z={curves.toy_z:g}$ (of the replica-mean widths): "
             f"{ratios}\ncoverage of the 68% interval at true $Z={curves.toy_z:g}$ ({n_toys} toys, ± $\\sigma_{{68}}$; "
             f"required within 0.683 ± 3$\\sigma_{{68}}$): {coverage}\n"
             f"$s = {s:g}$, $b = {b:g}$ expected events; $Z$ profiled with its prior $N(1, 0.5)$ through the grid "
             "of simulated $Z$ points (band: min–max over replicas; line: replica mean)",
             ha="center", va="top", fontsize=13, color="0.2")  # fmt: skip
    toy_label(axes[0, 0], "Positive control: rotating Gaussians through the $(\\mu, Z)$ grid likelihood")
    return fig
