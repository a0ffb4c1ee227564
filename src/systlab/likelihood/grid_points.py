"""Which models are parameterized, in which NP, and the grid points of that NP: config-level facts only.

Snakemake reads these when it builds the DAG, so this module imports nothing numerical; the scores and
workspaces of the grid live in :mod:`systlab.likelihood.grid_inputs`.
"""

from __future__ import annotations

from typing import NamedTuple

from systlab.config import Config, variation_name
from systlab.config.catalogue import NOMINAL, is_truth
from systlab.methods.registry import get as get_method


class GridPoint(NamedTuple):
    """One grid point: α_k in σ units, its file label and the sample variation simulated at α_k."""

    alpha: float
    label: str
    sample: str


def parameterized_np(cfg: Config, model_name: str) -> str | None:
    """The shape NP the model's classifier is parameterized in (its target), or None for a fixed classifier."""
    spec = cfg.model(model_name)
    return spec.nuisance if get_method(spec.method).parameterized else None


def parameterized_models(cfg: Config) -> tuple[str, ...]:
    """Model names whose likelihood is the grid profile."""
    return tuple(m for m in cfg.model_names() if parameterized_np(cfg, m) is not None)


def grid_points(cfg: Config, np_name: str) -> tuple[GridPoint, ...]:
    """The sorted grid of ``np_name`` (config ``systematics.shape.<np>.grid``); ValueError if unusable."""
    grid = sorted(cfg.shape_np(np_name).grid)
    field = f"systematics.shape.{np_name}.grid"
    if len(grid) < 3 or 0.0 not in grid:
        raise ValueError(f"config field '{field}': the grid profile needs >= 3 points including 0, got {grid}")
    have = set(cfg.variation_names())
    points = []
    for k in grid:
        sample = NOMINAL if k == 0 else variation_name(np_name, k)
        if sample not in have:
            raise ValueError(f"config field '{field}': no sample variation {sample!r} for grid point {k:g}")
        points.append(GridPoint(float(k), variation_name(np_name, k), sample))
    return tuple(points)


def grid_neighbours(points: tuple[GridPoint, ...], k: int) -> tuple[GridPoint | None, GridPoint | None]:
    """The grid points below and above point ``k`` (None at the ends)."""
    return (points[k - 1] if k > 0 else None, points[k + 1] if k + 1 < len(points) else None)


def other_shape_nps(cfg: Config, np_name: str) -> dict[str, bool]:
    """Shape NPs other than the classifier's, name -> one-sided: histosys inside every grid workspace."""
    return {s.name: s.one_sided for s in cfg.shape_nps if s.name != np_name}


def point_samples(cfg: Config, np_name: str, point: GridPoint) -> tuple[str, ...]:
    """Sample variations scored at ``point``: its α_k sample and its grid neighbours' (the morph), nominal, the
    other NPs' shifts, every truth."""
    points = grid_points(cfg, np_name)
    k = points.index(point)
    out = [point.sample, *(p.sample for p in grid_neighbours(points, k) if p is not None), NOMINAL]
    for name, one_sided in other_shape_nps(cfg, np_name).items():
        out += [variation_name(name, 1)] + ([] if one_sided else [variation_name(name, -1)])
    out += [v for v in cfg.variation_names() if is_truth(v)]
    return tuple(dict.fromkeys(out))
