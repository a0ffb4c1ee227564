"""Inputs of the grid-profiled likelihood of a parameterized classifier f(x; α): scores and workspaces per α_k.

At every grid point α_k of the classifier's NP (TES) the samples it needs are scored with f(.; α_k)
into ONE table per point (:func:`score_grid_point`), and a full pyhf workspace is built from them
(:func:`point_workspace`): nominal templates = the sample simulated at α_k, binned with that point's
own signal quantiles, every other shape NP as a histosys (:func:`point_histogram`). The other shape NPs have
samples at nominal TES only, so their shift at α_k is the one of the nominal-TES sample scored with f(.; α_k),
added to the α_k template as the histosys workspace adds it (an approximation that neglects how their effect
changes with TES), and the MC-statistical errors are nominal's relative ones at every point (the same events):
for a fixed classifier every grid point then differs from the histosys workspace only in the classifier's NP.
The classifier's NP is a histosys too, towards the neighbouring grid points' samples scored with
f(.; α_k) (:func:`unit_shifts`), with its auxiliary datum at −α_k: pinned at 0 it is the plain grid point,
moved it morphs the templates at a fixed observable (:class:`systlab.likelihood.morph.Morph`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.config import Config, variation_name
from systlab.likelihood.grid_points import (  # noqa: F401  (re-exported)
    GridPoint,
    grid_neighbours,
    grid_points,
    other_shape_nps,
    parameterized_models,
    parameterized_np,
    point_samples,
)
from systlab.likelihood.morph import Morph
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.methods.onnx_io import OnnxScorer
from systlab.templates.histograms import (
    NOMINAL,
    Templates,
    bin_edges,
    check_background_positive,
    empty_hist,
    histograms,
    is_truth,
)
from systlab.templates.score import ScoreSummary, read_scored_splits, scored_table, write_parquet

#: Bookkeeping columns added to the one score table of a grid point.
KEY_COLUMNS = ("process", "variation")
FORMAT = "systlab.grid_workspaces/1"


def score_grid_point(
    onnx_path: str | os.PathLike,
    sample_paths: Mapping[tuple[str, str], str | os.PathLike],
    parameter: str,
    alpha: float,
    out_path: str | os.PathLike,
    threads: int = 1,
) -> ScoreSummary:
    """Score every (process, variation) sample with ``parameter`` = ``alpha``; ONE table with key columns."""
    start = time.perf_counter()
    scorer = OnnxScorer(onnx_path, threads=threads)
    if parameter not in scorer.parameters:
        raise ValueError(f"{onnx_path}: {parameter!r} is not a parameter input of the model {scorer.parameters}")
    frames = []
    for (process, variation), path in sorted(sample_paths.items()):
        table = read_scored_splits(Path(path), scorer, {parameter: alpha})
        scores = scorer.score_table(table, path) if len(table) else np.empty(0, np.float32)
        frame = scored_table(table, scores)
        frames.append(frame.assign(process=process, variation=variation)[[*KEY_COLUMNS, *frame.columns]])
    merged = pd.concat(frames, ignore_index=True)
    write_parquet(merged, Path(out_path))
    return ScoreSummary(events=len(merged), seconds=time.perf_counter() - start)


def read_grid_scores(path: str | os.PathLike) -> dict[tuple[str, str], pd.DataFrame]:
    """The score table of one grid point split into (process, variation) -> rows (file order kept)."""
    table = pd.read_parquet(path)
    missing = [c for c in (*KEY_COLUMNS, "event_id", "weight", "split", "label", "score") if c not in table]
    if missing:
        raise ValueError(f"{path}: grid score table lacks column(s) {missing}")
    if table["score"].isna().any() or not table["weight"].notna().all():
        raise ValueError(f"{path}: column 'score' or 'weight' has NaN value(s)")
    return {
        (str(p), str(v)): rows.drop(columns=list(KEY_COLUMNS)).reset_index(drop=True)
        for (p, v), rows in table.groupby(list(KEY_COLUMNS), sort=True)
    }


def shifted_about(h, process_axis: int, variation: str, target: str) -> np.ndarray:
    """``target`` + (``variation`` − nominal), bin by bin, floored at 0: another shape NP's shift added to the
    sample at a grid point exactly as pyhf's histosys adds it to the nominal sample (additive, not a ratio)."""
    view = h.view(flow=False)
    j = {v: h.axes["variation"].index(v) for v in (variation, NOMINAL, target)}
    values = view.value[process_axis, j[target]] + view.value[process_axis, j[variation]]
    return np.maximum(values - view.value[process_axis, j[NOMINAL]], 0.0)


def nominal_variances(h, target: str, signal: Sequence[str]) -> np.ndarray:
    """(process, bin) variances of ``target`` that give each bin nominal's relative MC error of the summed
    backgrounds: nominal's variances × (Σ_b target / Σ_b nominal)², b over the backgrounds (target's own variances
    in a bin where nominal has no background).

    The grid point's sample holds the same simulated events as nominal (every variation reuses them), so one
    staterror serves every grid point: pyhf's per-bin width sqrt(Σ_b σ_b²)/Σ_b ν_b is then the histosys
    workspace's at every α (a per-process scaling would change it where the processes move differently)."""
    view = h.view(flow=False)
    j0, jt = h.axes["variation"].index(NOMINAL), h.axes["variation"].index(target)
    backgrounds = [i for i, p in enumerate(h.axes["process"]) if p not in signal]
    nominal, values = view.value[backgrounds, j0].sum(axis=0), view.value[backgrounds, jt].sum(axis=0)
    scale = np.divide(values, nominal, out=np.zeros_like(values), where=nominal > 0) ** 2
    return np.where(nominal > 0, view.variance[:, j0] * scale, view.variance[:, jt])


def point_histogram(raw, point: GridPoint, neighbours: tuple[GridPoint | None, GridPoint | None], np_name: str,
                    shape_nps: Mapping[str, bool], signal: Sequence[str]):  # fmt: skip
    """Template histograms at grid point α_k from ``raw`` (process × variation, one binning): ``nominal`` is
    the α_k sample with nominal's relative MC error per bin (:func:`nominal_variances`), every other shape NP's ±1σ
    template its shift added to it (:func:`shifted_about`), ``np_name``'s ±1 templates lead to the
    ``neighbours`` (:func:`unit_shifts`).

    At the nominal grid point this is the histosys workspace's own input; for a fixed classifier the staterror
    and the other NPs' shifts are the same at every point, so only ``np_name`` moves between points.
    """
    have = list(raw.axes["variation"])
    for p in (point, *(n for n in neighbours if n is not None)):
        if p.sample not in have:
            raise ValueError(f"grid point {point.label}: no templates of the sample {p.sample!r} of {p.label}")
    shifts = [variation_name(n, s) for n, one_sided in sorted(shape_nps.items())
              for s in ((1,) if one_sided else (1, -1))]  # fmt: skip
    missing = [v for v in [NOMINAL, *shifts] if v not in have]
    if missing:
        raise ValueError(f"grid point {point.label}: templates lack the variation(s) {missing}")
    own = [variation_name(np_name, 1), variation_name(np_name, -1)]
    processes = list(raw.axes["process"])
    out = empty_hist(processes, [NOMINAL, *shifts, *own], raw.axes["score"].edges)
    view, source, index = out.view(flow=False), raw.view(flow=False), {v: i for i, v in enumerate(have)}
    all_variances = nominal_variances(raw, point.sample, signal)
    for i, process in enumerate(out.axes["process"]):
        ri = raw.axes["process"].index(process)
        variances = all_variances[ri]
        j = out.axes["variation"].index(NOMINAL)
        view.value[i, j], view.variance[i, j] = source.value[ri, index[point.sample]], variances
        for variation in shifts:
            j = out.axes["variation"].index(variation)
            view.value[i, j], view.variance[i, j] = shifted_about(raw, ri, variation, point.sample), variances
        moved = grid_np_shifts(lambda sample, ri=ri: source.value[ri, index[sample]], point, neighbours)
        for variation, values in zip(own, moved, strict=True):
            j = out.axes["variation"].index(variation)
            view.value[i, j], view.variance[i, j] = values, variances
    # the grid NP's ±1 templates are the line through the point and its neighbour taken to Δα = ±1: where the cell is
    # narrower than 1σ (e.g. 0.5σ of a 10 % TES prior) a steep bin's line crosses zero beyond the neighbour, which the
    # morph never reaches inside the cell (it pins the NP between the two simulated samples, both positive)
    check_background_positive(out, [p for p in processes if p not in signal], skip=own,
                              where=f"grid point {point.label}: ")
    return out


def unit_shifts(at_point: np.ndarray, below: tuple[float, np.ndarray] | None,
                above: tuple[float, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(+1, −1) histosys templates of a grid point: its neighbours' templates, given as (Δα, counts), brought
    to Δα = ±1 along the straight line from the point's own counts; a missing neighbour mirrors the other.

    pyhf's histosys, made symmetric towards one side (:func:`systlab.likelihood.morph.one_sided_morph`), then
    reproduces the neighbour at θ = Δα: the morph is the linear
    interpolation between simulated grid points, never an extrapolation inside a cell.
    """
    if below is None and above is None:
        raise ValueError("a grid point needs at least one neighbour")
    n = np.asarray(at_point, dtype=float)
    slopes = {}
    for side, found in ((-1, below), (1, above)):
        if found is not None:
            delta, counts = found
            if not side * delta > 0:
                raise ValueError(f"neighbour at delta alpha {delta} is on the wrong side ({side:+d})")
            slopes[side] = (np.asarray(counts, dtype=float) - n) / delta
    up = slopes.get(1, slopes.get(-1))
    down = slopes.get(-1, slopes.get(1))
    return n + up, n - down


def grid_np_shifts(counts_of, point: GridPoint,
                   neighbours: tuple[GridPoint | None, GridPoint | None]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`unit_shifts` of ``point`` from ``counts_of(sample)``: one process's template counts by sample name."""
    found = [None if p is None else (p.alpha - point.alpha, counts_of(p.sample)) for p in neighbours]
    return unit_shifts(counts_of(point.sample), *found)


def point_templates(
    tables: Mapping[tuple[str, str], pd.DataFrame],
    point: GridPoint,
    neighbours: tuple[GridPoint | None, GridPoint | None],
    np_name: str,
    shape_nps: Mapping[str, bool],
    bins: int,
    binning: str,
    signal: str,
    signal_efficiency: float = 1.0,
) -> Templates:
    """Template-split histograms at α_k (:func:`point_histogram`) of the scores of f(.; α_k), binned with edges
    from the α_k sample's own signal (``binning`` as for fixed classifiers)."""
    model = {(p, v): t for (p, v), t in tables.items() if not is_truth(v)}
    at_point = {(p, NOMINAL): t for (p, v), t in model.items() if v == point.sample}
    if not at_point:
        raise ValueError(f"grid point {point.label}: no scores of sample {point.sample!r}")
    edges = bin_edges(at_point, bins, binning, [signal], signal_efficiency)
    out = point_histogram(histograms(model, edges, "template"), point, neighbours, np_name, shape_nps, [signal])
    return Templates(edges=np.asarray(edges, dtype=float), splits={"template": out}, signal=(signal,))


def point_workspace(templates: Templates, cfg: Config, np_name: str, alpha: float) -> dict:
    """The full pyhf workspace at grid point ``alpha``: every NP as for a fixed classifier, ``np_name`` as the
    histosys of :func:`point_templates` with its auxiliary datum at −α (prior N(0, 1) on α = α_k + θ)."""
    shape_nps = {**other_shape_nps(cfg, np_name), np_name: False}
    return grid_point_workspace(templates, {**workspace_settings(cfg), "shape_nps": shape_nps}, np_name, alpha)


def grid_point_workspace(templates: Templates, settings: Mapping, np_name: str, alpha: float) -> dict:
    """:func:`point_workspace` from :func:`build_workspace`'s keyword ``settings`` (their ``shape_nps`` holding
    ``np_name``) instead of a config: the same grid point for a problem that is not the configured analysis."""
    spec = build_workspace(templates, **settings)
    for measurement in spec["measurements"]:
        measurement["config"]["parameters"].append({"name": np_name, "auxdata": [-float(alpha)]})
    return spec


def grid_morph(cfg: Config, np_name: str, shared_observable: bool = False) -> Morph:
    """The grid NP's morph setting of the config (step 0: pinned at the grid points only); ``shared_observable``
    for a fixed classifier (:attr:`Morph.shared_observable`)."""
    return Morph(np_name, cfg.grid_morph_step, shared_observable=shared_observable)


class GridWorkspaces(NamedTuple):
    """Everything the grid fit needs besides the pseudo-data events: one workspace and binning per α_k."""

    np_name: str
    alphas: np.ndarray  # σ units
    labels: tuple[str, ...]
    edges: tuple[np.ndarray, ...]
    specs: tuple[dict, ...]


def build_grid_workspaces(cfg: Config, np_name: str, score_paths: Sequence[str | os.PathLike]) -> GridWorkspaces:
    """Workspaces at every grid point from the per-point score tables (``score_paths`` in grid order)."""
    points = grid_points(cfg, np_name)
    if len(score_paths) != len(points):
        raise ValueError(f"{len(score_paths)} grid score files for {len(points)} grid points of {np_name!r}")
    edges, specs = [], []
    for k, (point, path) in enumerate(zip(points, score_paths, strict=True)):
        if Path(path).stem != point.label:
            raise ValueError(f"{path}: expected the scores of grid point {point.label}")
        templates = point_templates(read_grid_scores(path), point, grid_neighbours(points, k), np_name,
                                    other_shape_nps(cfg, np_name), cfg.bins, cfg.binning, cfg.signal,
                                    cfg.signal_efficiency)  # fmt: skip
        edges.append(templates.edges)
        specs.append(point_workspace(templates, cfg, np_name, point.alpha))
    return GridWorkspaces(np_name, np.array([p.alpha for p in points]), tuple(p.label for p in points),
                          tuple(edges), tuple(specs))  # fmt: skip


def grid_workspaces_payload(grid: GridWorkspaces) -> dict:
    return {
        "format": FORMAT,
        "np": grid.np_name,
        "alphas": grid.alphas.tolist(),
        "labels": list(grid.labels),
        "edges": [e.tolist() for e in grid.edges],
        "workspaces": list(grid.specs),
    }


def read_grid_workspaces(path: str | os.PathLike) -> GridWorkspaces:
    """Read what :func:`grid_workspaces_payload` wrote; ValueError naming the file if it is not that."""
    p = json.loads(Path(path).read_text())
    if p.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (format {p.get('format')!r})")
    return GridWorkspaces(p["np"], np.asarray(p["alphas"], float), tuple(p["labels"]),
                          tuple(np.asarray(e, float) for e in p["edges"]), tuple(p["workspaces"]))  # fmt: skip
