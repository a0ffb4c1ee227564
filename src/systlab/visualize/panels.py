"""Helpers shared by multi-panel figures (the experiment label is too wide for one narrow panel)."""

from __future__ import annotations

import mplhep


def grid_label(left, right, lumi_fb: float | None) -> None:
    """The experiment label over the top-left panel, luminosity and energy over the top-right one."""
    mplhep.label.exp_label(exp="systlab", llabel="Simulation", rlabel="", ax=left, loc=0, data=False)
    text = "(13 TeV)" if lumi_fb is None else f"{lumi_fb:g} fb$^{{-1}}$ (13 TeV)"
    right.text(1.0, 1.01, text, ha="right", va="bottom", transform=right.transAxes)
