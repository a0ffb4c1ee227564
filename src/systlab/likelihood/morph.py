"""The pyhf specs of the grid points: the α morph between neighbouring points and the histosys grid specs (no pyhf
import; :mod:`systlab.likelihood.grid` builds the likelihood on them)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Morph(NamedTuple):
    """The grid NP as a fit parameter between grid points (the cure for the noisy −2lnL interpolation).

    Every point's workspace carries the NP as a histosys whose ±1 templates extend, per unit α, the
    neighbouring grid points' samples scored with the point's own f(x; α_k)
    (:func:`systlab.likelihood.grid_inputs.unit_shifts`), and an auxiliary datum α0 − α_k; each side of the point is
    its own model with that side's pair made symmetric (:func:`one_sided_morph`), so pyhf moves the templates linearly
    and continuously in α with the observable held fixed. The NP is pinned on a
    fine grid of ``step`` inside each point's cell (half-way to its neighbours), so −2lnL varies smoothly in α
    except where the observable changes at a cell boundary. The end points' cells reach on to ±``reach``,
    extrapolating the last simulated segment linearly, as the histosys fit does beyond ±1σ: α is not truncated at
    the simulated grid (which made intervals narrower than the histosys fit's whose TES went past it). ``step`` 0
    keeps only the grid points (the interpolation of −2lnL alone).
    """

    np_name: str
    step: float  # σ units
    reach: float = 5.0  # σ: pyhf's bounds of a unit-Gaussian-constrained NP, the range the histosys fit allows
    #: The observable is the same at every grid point (a fixed classifier): −2lnL is continuous across the cell
    #: boundaries, so the α parabola may join points of neighbouring cells (else it stays inside one cell, and a
    #: minimum between two cells' outermost points is missed by up to the curvature × step²/4)
    shared_observable: bool = False


def morph_points(alphas: np.ndarray, step: float, reach: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(owning grid point k, shift δ) of every fine-grid point α_k + i·step inside the cell of α_k.

    The cell of α_k reaches half-way to each neighbour (lower end included); the end points' cells reach to
    −``reach`` and +``reach`` where those lie beyond the grid (0: to the grid's end points).
    """
    if step < 0:
        raise ValueError(f"morph step {step} must be >= 0")
    alphas = np.asarray(alphas, dtype=float)
    owner, shifts = [], []
    for k, a in enumerate(alphas):
        lo = min(alphas[0], -reach) if k == 0 else 0.5 * (alphas[k - 1] + a)
        hi = max(alphas[-1], reach) if k == alphas.size - 1 else 0.5 * (a + alphas[k + 1])
        if step == 0:
            deltas = np.zeros(1)
        else:
            i = np.arange(np.ceil((lo - a) / step - 1e-9), np.floor((hi - a) / step + 1e-9) + 1)
            deltas = i * step
            keep = (a + deltas >= lo - 1e-9) & ((a + deltas < hi - 1e-9) | (k == alphas.size - 1))
            deltas = deltas[keep]
        owner += [k] * deltas.size
        shifts += deltas.tolist()
    return np.asarray(owner, dtype=int), np.asarray(shifts, dtype=float)


def one_sided_morph(spec: dict, np_name: str, side: int) -> dict:
    """``spec`` with the histosys ``np_name`` made symmetric about nominal on one ``side`` (+1: lo = 2·nom − hi;
    −1: hi = 2·nom − lo), so that any pyhf interpolation code moves the templates along the straight line to that
    side's neighbour: the morph is then exactly linear between simulated grid points and continuous at the cell
    boundaries (pyhf's default code 4p bends an asymmetric pair inside ±1, which made −2lnL jump between cells)."""
    if side not in (1, -1):
        raise ValueError(f"side {side} is not +1 or -1")
    out = copy.deepcopy(spec)
    found = False
    for channel in out["channels"]:
        for sample in channel["samples"]:
            for modifier in sample["modifiers"]:
                if modifier["name"] == np_name and modifier["type"] == "histosys":
                    found = True
                    nominal, data = np.asarray(sample["data"], dtype=float), modifier["data"]
                    if side == 1:
                        data["lo_data"] = (2.0 * nominal - np.asarray(data["hi_data"], dtype=float)).tolist()
                    else:
                        data["hi_data"] = (2.0 * nominal - np.asarray(data["lo_data"], dtype=float)).tolist()
    if not found:
        raise KeyError(f"morph: no histosys modifier {np_name!r} in the grid point's workspace")
    return out


def histosys_yields(nominal: np.ndarray, hi: np.ndarray, lo: np.ndarray, alpha: float) -> np.ndarray:
    """pyhf's piecewise-linear histosys interpolation (code 0) at ``alpha`` (its default, code 4p, is the same for a
    pair symmetric about nominal, as the linear variations this serves)."""
    nominal, hi, lo = (np.asarray(a, dtype=float) for a in (nominal, hi, lo))
    return nominal + alpha * (hi - nominal) if alpha >= 0 else nominal + alpha * (nominal - lo)


def histosys_grid_specs(workspace_spec: dict, np_name: str, alphas: Sequence[float]) -> list[dict]:
    """The workspace at each α_k with histosys ``np_name`` replaced by its interpolated templates.

    Staterror widths scale with each sample's yield so the relative MC uncertainty is unchanged.
    The observed counts are the same at every α_k (a fixed classifier).
    """
    out = []
    found = False
    for alpha in alphas:
        spec = copy.deepcopy(workspace_spec)
        for channel in spec["channels"]:
            for sample in channel["samples"]:
                mods = sample["modifiers"]
                hist_mods = [m for m in mods if m["name"] == np_name and m["type"] == "histosys"]
                if not hist_mods:
                    continue
                found = True
                nominal = np.asarray(sample["data"], dtype=float)
                data = hist_mods[0]["data"]
                shifted = histosys_yields(nominal, data["hi_data"], data["lo_data"], float(alpha))
                ratio = np.divide(shifted, nominal, out=np.ones_like(nominal), where=nominal != 0)
                sample["data"] = shifted.tolist()
                sample["modifiers"] = [m for m in mods if m is not hist_mods[0]]
                for m in sample["modifiers"]:
                    if m["type"] == "staterror":
                        m["data"] = (np.asarray(m["data"], dtype=float) * ratio).tolist()
        for m in spec["measurements"]:
            m["config"]["parameters"] = [p for p in m["config"]["parameters"] if p["name"] != np_name]
        out.append(spec)
    if not found:
        raise KeyError(f"no histosys modifier {np_name!r} in the workspace")
    return out
