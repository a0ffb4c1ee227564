"""Jet energy scale: every jet's pT x alpha (one factor, one per event, or one per jet); MET absorbs the change.

Only it moves jets, so the jet features are built once per JES value and shared by the other NPs' points.
"""

from __future__ import annotations

from systlab.samples.systematics.base import Objects, Systematic


def met_shift(objects: Objects, value):
    """MET change (x, y) when the jets scale by ``value``: a scalar or per-event factor, or one per jet (jagged)."""
    import awkward as ak  # only here: the registry itself stays free of numerical imports
    import numpy as np

    if isinstance(value, ak.Array):
        loss = (1.0 - value) * objects.jet_pt
        return (ak.to_numpy(ak.sum(loss * np.cos(objects.jet_phi), axis=1)),
                ak.to_numpy(ak.sum(loss * np.sin(objects.jet_phi), axis=1)))  # fmt: skip
    return (1.0 - value) * objects.jet_px, (1.0 - value) * objects.jet_py


def apply(objects: Objects, value) -> Objects:
    """Jet pT scale x ``value``; MET += the jets' lost vector pT."""
    dx, dy = met_shift(objects, value)
    return objects._replace(met_x=objects.met_x + dx, met_y=objects.met_y + dy, jet_scale=objects.jet_scale * value)


SYSTEMATIC = Systematic("jes", nominal=1.0, apply=apply, moves={"jets", "met"})
