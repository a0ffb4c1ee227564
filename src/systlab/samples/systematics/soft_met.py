"""Soft MET: Gaussian noise of width |alpha| GeV on each MET component, from draws shared by every value.

The sample depends on the width only, so +alpha and -alpha give the same bytes (``key`` = abs).
"""

from __future__ import annotations

from systlab.samples.systematics.base import Objects, Systematic


def apply(objects: Objects, value) -> Objects:
    """MET (x, y) += |value| x the event's standard-normal draws."""
    return objects._replace(
        met_x=objects.met_x + abs(value) * objects.soft_draws[:, 0],
        met_y=objects.met_y + abs(value) * objects.soft_draws[:, 1],
    )


SYSTEMATIC = Systematic("soft_met", nominal=0.0, apply=apply, moves={"met"}, key=abs)
