"""Shared look of every figure (mplhep style) and the one way figures are saved (PDF + PNG, with metadata)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep
import numpy as np  # noqa: E402

from systlab.atomic import atomic_path  # noqa: E402
from systlab.config.model import oracle_point  # noqa: E402
from systlab.methods.registry import REGISTRY  # noqa: E402


def use_style() -> None:
    """Apply the HEP plot style used by every systlab figure."""
    plt.style.use(mplhep.style.ROOT)


def method_colour(model: str) -> str:
    """The colour of a model name from the method registry (colour-blind-safe Okabe-Ito set, the oracle black;
    ``oracle_tes_+1sd`` takes the oracle's); grey for names that are no registered method."""
    family = "oracle" if model.startswith("oracle") else model
    return REGISTRY[family].colour if family in REGISTRY else "#777777"


def np_name_label(np_name: str) -> str:
    """Text of a shape NP's name: ``tes`` -> ``TES``, ``soft_met`` -> ``SOFT MET``."""
    return np_name.upper().replace("_", " ")


def np_symbol(np_name: str) -> str:
    """Math text of a shape NP's shift: ``tes`` -> α_TES as ``$\\alpha_\\mathrm{TES}$``."""
    return rf"$\alpha_\mathrm{{{np_name_label(np_name).replace(' ', '~')}}}$"


def _shift_of(name: str) -> tuple[str, str] | None:
    """(NP, signed shift text) of ``<np>_<k>sd`` names (samples ``tes_+1sd``, oracles ``oracle_tes_+1sd``)."""
    np_name, _, shift = name.rpartition("_")
    return (np_name, shift[:-2]) if np_name and shift.endswith("sd") and shift[:-2].lstrip("+-") else None


def model_label(model: str) -> str:
    """Legend text of a model name: ``oracle_tes_+1sd`` -> ``oracle (α_TES +1σ)``, others unchanged."""
    parsed = _shift_of(model.removeprefix("oracle_")) if oracle_point(model) is not None else None
    if parsed is None:
        return model
    return rf"oracle ({np_symbol(parsed[0])} {parsed[1]}$\sigma$)"


def variation_title(variation: str) -> str:
    """Legend text of a sample variation: ``tes_+1sd`` -> ``α_TES = +1σ``; other names unchanged."""
    parsed = _shift_of(variation)
    return variation if parsed is None else rf"{np_symbol(parsed[0])} = {parsed[1]}$\sigma$"


def variation_style(variation: str) -> tuple[str, str, str]:
    """Colour, line style and legend text of a sample variation: down blue dashed, up red, others black."""
    parsed = _shift_of(variation)
    if parsed is None:
        return "black", "-", variation_title(variation)
    return ("tab:blue", "--", variation_title(variation)) if parsed[1].startswith("-") else \
        ("tab:red", "-", variation_title(variation))


def label(ax, text: str = "Simulation", lumi_fb: float | None = None) -> None:
    """Write the experiment-style label (and the luminosity, when given) at the top of ``ax``."""
    rlabel = "(13 TeV)" if lumi_fb is None else f"{lumi_fb:g} fb$^{{-1}}$ (13 TeV)"
    mplhep.label.exp_label(exp="systlab", text="", llabel=text, rlabel=rlabel, ax=ax, loc=0, data=False)


def label_row(first_ax, last_ax, text: str = "Simulation", lumi_fb: float | None = None) -> None:
    """The experiment label of a row of panels: name on ``first_ax``, luminosity and energy on ``last_ax``."""
    rlabel = "(13 TeV)" if lumi_fb is None else f"{lumi_fb:g} fb$^{{-1}}$ (13 TeV)"
    mplhep.label.exp_label(exp="systlab", text="", llabel=text, rlabel="", ax=first_ax, loc=0, data=False)
    mplhep.label.exp_label(exp="", text="", llabel="", rlabel=rlabel, ax=last_ax, loc=0, data=False)


def finish_category_row(fig, axes, names, ncol: int, lumi_fb: float | None = None, fontsize: int = 15) -> None:
    """A row of panels over the same categories: their names under every panel, the first panel's legend below
    the figure, the experiment label across the row."""
    x = np.arange(len(names))
    for ax in axes:
        ax.set_xticks(x, names, fontsize=fontsize)
        ax.set_xlim(-0.6, len(names) - 0.4)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=14)
    label_row(axes[0], axes[-1], lumi_fb=lumi_fb)


def save_figure(fig, pdf_path: str | os.PathLike, run_id: str, png_path: str | os.PathLike | None = None) -> None:
    """Save ``fig`` atomically as PDF (and PNG beside it), stamping the run id in the metadata.

    PDF metadata has no creation date so two runs give identical files.
    """
    pdf_path = Path(pdf_path)
    png_path = Path(png_path) if png_path is not None else pdf_path.with_suffix(".png")
    with atomic_path(pdf_path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight",
                    metadata={"Title": pdf_path.stem, "Subject": f"systlab run {run_id}",
                              "CreationDate": None, "Creator": "systlab"})
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight",
                    metadata={"Title": pdf_path.stem, "Description": f"systlab run {run_id}"})
    plt.close(fig)
