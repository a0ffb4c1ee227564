"""Shared look of every figure (mplhep style) and the one way figures are saved (PDF + PNG, with metadata)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402

from systlab.atomic import atomic_path  # noqa: E402


def use_style() -> None:
    """Apply the HEP plot style used by every systlab figure."""
    plt.style.use(mplhep.style.ROOT)


def label(ax, text: str = "Simulation", lumi_fb: float | None = None) -> None:
    """Write the experiment-style label (and the luminosity, when given) at the top of ``ax``."""
    rlabel = "(13 TeV)" if lumi_fb is None else f"{lumi_fb:g} fb$^{{-1}}$ (13 TeV)"
    mplhep.label.exp_label(exp="systlab", text="", llabel=text, rlabel=rlabel, ax=ax, loc=0, data=False)


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
