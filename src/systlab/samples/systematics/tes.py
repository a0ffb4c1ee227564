"""Tau energy scale: every hadronic tau's momentum x alpha; MET absorbs the opposite of its pT change.

It moves the tau across its pT threshold, so events enter and leave the sample with it.
"""

from __future__ import annotations

from systlab.samples.systematics.base import Objects, Systematic


def apply(objects: Objects, value) -> Objects:
    """Tau pT x ``value``; MET += (1 - value) pT(tau) as a vector (the order of operations is fixed: byte identity)."""
    tau_pt = objects.tau_pt
    return objects._replace(
        met_x=objects.met_x + (1.0 - value) * tau_pt * objects.tau_direction[0],
        met_y=objects.met_y + (1.0 - value) * tau_pt * objects.tau_direction[1],
        tau_pt=tau_pt * value,
    )


SYSTEMATIC = Systematic("tes", nominal=1.0, apply=apply, moves={"tau", "met"})
