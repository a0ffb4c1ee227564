"""Modelling alternatives that are not nuisance parameters with a prior: generator variants and a scale family.

These are the inputs of the decorrelation cross-check of Ghosh & Nachman, "A cautionary tale of decorrelating
theory uncertainties" (arXiv:2109.08159), on the built-in H->tautau problem:

* **Generators A / B / C** (two-point uncertainty plus a held-back third). The simulation as it is is
  generator A. B has another hadronic-tau visible-energy fraction: the visible tau momentum moves per event
  by a pT-dependent factor r and the neutrinos take the rest, so MET changes by (1 - r) pT(tau), the TES
  arithmetic with a per-event factor. C has half of B's tau difference and a different parton shower: jets
  of busy events come out harder (the JES arithmetic, per event), a difference A vs B does not span.
* **Scale-like family** (a knob varied x1/2, x1, x2, as renormalisation-scale weights in a generator) and a
  held-back **higher-order** prediction. They are event weights. The scale weight tilts the jet activity
  (scalar jet pT sum). The higher-order weight tilts the pT of the tau-tau system, which is correlated with
  the jet activity but not a member of the family.

A variant is built from the canonical events with the vary stage's own code, so it has the same events, the
same random draws and the same splits as the nominal sample table.
"""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config.catalogue import GENERATORS, SCALES, TRAINING_VARIANTS, VARIANTS  # noqa: F401  (re-exported)
from systlab.samples.vary import PerEventVariation, apply_variation, finish_sample


def tau_response(generator: str, tau_pt: np.ndarray) -> np.ndarray:
    """Per-event factor on the visible tau momentum of ``generator`` relative to A (1 for A)."""
    pt = np.asarray(tau_pt, dtype=np.float64)
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; known: {list(GENERATORS)}")
    slope = {"A": 0.0, "B": 0.08, "C": 0.04}[generator]  # B: harder visible fraction above 40 GeV, softer below
    return 1.0 + slope * np.tanh((pt - 40.0) / 15.0)


def jet_response(generator: str, jet_ht: np.ndarray) -> np.ndarray:
    """Per-event factor on every jet pT of ``generator`` relative to A: C's shower makes busy events harder."""
    ht = np.asarray(jet_ht, dtype=np.float64)
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; known: {list(GENERATORS)}")
    return 1.0 + 0.05 * np.tanh((ht - 50.0) / 40.0) if generator == "C" else np.ones_like(ht)


def scale_weight(xi: float | np.ndarray, jet_ht: np.ndarray) -> np.ndarray:
    """Event weight of the scale-family member ``xi`` (1 at xi = 1): +-10% per factor 2 tilting the jet activity.

    ``xi`` may be one value or one per event. ``jet_ht`` is the scalar jet pT sum (``PRI_jet_all_pt``, 0 GeV
    without jets).
    """
    xi = np.asarray(xi, dtype=np.float64)
    if np.any(xi <= 0):
        raise ValueError("scale_weight: the scale factor xi must be positive")
    return 1.0 + 0.10 * np.log2(xi) * np.tanh((np.asarray(jet_ht, dtype=np.float64) - 60.0) / 40.0)


def higher_order_weight(pt_h: np.ndarray) -> np.ndarray:
    """Event weight of the held-back higher-order prediction: a 5% rate increase and a tilt in pT(tautau)."""
    return 1.05 + 0.08 * np.tanh((np.asarray(pt_h, dtype=np.float64) - 40.0) / 30.0)


def generator_events_variation(events: ak.Array, generator: str | np.ndarray) -> PerEventVariation:
    """The variation that turns canonical ``events`` (generator A) into ``generator``, one name or one per event."""
    tau_pt = ak.to_numpy(events.tau_pt)
    jet_ht = ak.to_numpy(ak.sum(events.jet_pt, axis=1))
    names = np.full(len(events), generator) if isinstance(generator, str) else np.asarray(generator)
    tes, jes = np.ones(len(events)), np.ones(len(events))
    for name in np.unique(names):
        chosen = names == name
        tes[chosen], jes[chosen] = tau_response(str(name), tau_pt[chosen]), jet_response(str(name), jet_ht[chosen])
    label = generator if isinstance(generator, str) else "mixed"
    return PerEventVariation(f"generator_{label}", {"tes": tes, "jes": jes})


def variant_samples(
    events: ak.Array, soft_draws: np.ndarray, label: int, split_seed: int, fractions: Mapping[str, float]
) -> dict[str, pd.DataFrame]:
    """Sample tables (as ``vary`` writes them) of every variant in ``VARIANTS`` for one process."""
    tables = {
        f"generator_{g}": finish_sample(apply_variation(events, generator_events_variation(events, g), soft_draws),
                                        label, split_seed, fractions)
        for g in GENERATORS
    }  # fmt: skip
    nominal = tables["generator_A"]
    for xi in SCALES:
        weight = nominal["weight"].to_numpy() * scale_weight(xi, nominal["PRI_jet_all_pt"].to_numpy())
        tables[f"scale_{xi:g}"] = nominal.assign(weight=weight)
    tables["higher_order"] = nominal.assign(
        weight=nominal["weight"].to_numpy() * higher_order_weight(nominal["DER_pt_h"].to_numpy())
    )
    return tables
