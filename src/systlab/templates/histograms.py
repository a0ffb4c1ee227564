"""Score histograms (templates and pseudo-data expectations) from score tables, and their JSON form.

Every score table is one Parquet file per (process, variation) with the columns of
``SCORE_COLUMNS``. Templates use the template split only; pseudo-data expectations use the toy
split only, so the events that build the model never build the data it is fitted to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import hist
import numpy as np
import pandas as pd

from systlab.atomic import write_json
from systlab.config import variation_name as shape_variation  # noqa: F401  (one naming rule, re-exported)
from systlab.config.catalogue import NOMINAL, TRUTH_PREFIX, is_truth  # noqa: F401  (re-exported)
from systlab.events import SPLITS

#: Columns every score table must have.
SCORE_COLUMNS = ("event_id", "weight", "split", "label", "score")
FORMAT = "systlab.templates/1"
#: Binning schemes: equal-width bins in [0, 1], or edges at quantiles of the weighted nominal signal
#: (flat-signal binning), merged from the top until every bin holds enough background MC events.
BINNINGS = ("equal_width", "signal_quantiles")
MIN_BACKGROUND_EVENTS = 20

ScorePaths = Mapping[tuple[str, str], str | os.PathLike]


class Templates(NamedTuple):
    """Histograms per split ("template", "toy"), each Hist(process, variation, score), Weight storage."""

    edges: np.ndarray
    splits: dict[str, hist.Hist]
    signal: tuple[str, ...] = ()  # processes whose events all carry label 1


def empty_hist(processes: Iterable[str], variations: Iterable[str], edges: np.ndarray) -> hist.Hist:
    """An empty Hist(process, variation, score binned by ``edges`` in [0, 1]) with sorted categories."""
    return hist.Hist(
        hist.axis.StrCategory(sorted(set(processes)), name="process"),
        hist.axis.StrCategory(sorted(set(variations)), name="variation"),
        hist.axis.Variable(np.asarray(edges, dtype=float), name="score"),
        storage=hist.storage.Weight(),
    )


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read one score table, raising ValueError naming the file and field on missing columns, NaN or range."""
    table = pd.read_parquet(path)
    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: score table lacks column(s) {missing}")
    table = table[list(SCORE_COLUMNS)]
    for column in SCORE_COLUMNS:
        n_nan = int(table[column].isna().sum())
        if n_nan:
            raise ValueError(f"{path}: column {column!r} has {n_nan} NaN value(s)")
    score = table["score"].to_numpy(dtype=np.float64)
    if score.size and (score.min() < 0.0 or score.max() > 1.0):
        raise ValueError(f"{path}: column 'score' outside [0, 1] (min {score.min()}, max {score.max()})")
    if not np.isfinite(table["weight"].to_numpy(dtype=np.float64)).all():
        raise ValueError(f"{path}: column 'weight' has non-finite value(s)")
    bad_labels = sorted(set(np.unique(table["label"].to_numpy()).tolist()) - {0, 1})
    if bad_labels:
        raise ValueError(f"{path}: column 'label' has value(s) {bad_labels}; expected 0 (background) or 1 (signal)")
    return table


def fill_split(h: hist.Hist, table: pd.DataFrame, process: str, variation: str, split: str) -> None:
    """Fill ``h`` with the events of one split; score 1.0 goes to the last bin (as in np.histogram)."""
    rows = _split_rows(table, split)
    score = np.minimum(rows["score"].to_numpy(dtype=np.float64), np.nextafter(1.0, 0.0))
    h.fill(process=process, variation=variation, score=score, weight=rows["weight"].to_numpy(np.float64))


def signal_processes(tables: Mapping[tuple[str, str], pd.DataFrame]) -> tuple[str, ...]:
    """Processes whose every event, in every variation, has label 1."""
    processes = sorted({p for p, _ in tables})
    return tuple(
        p
        for p in processes
        if all((t["label"].to_numpy() == 1).all() and len(t) for (q, _), t in tables.items() if q == p)
    )


def check_complete(keys: Iterable[tuple[str, str]]) -> None:
    """Raise ValueError unless every process has every variation (a missing file is not a zero template)."""
    keys = set(keys)
    processes = sorted({p for p, _ in keys})
    variations = sorted({v for _, v in keys})
    missing = [(p, v) for p in processes for v in variations if (p, v) not in keys]
    if missing:
        raise ValueError(f"score files missing for (process, variation): {missing}")
    if NOMINAL not in variations:
        raise ValueError(f"no {NOMINAL!r} score files among variations {variations}")


def _split_rows(table: pd.DataFrame, split: str) -> pd.DataFrame:
    return table[table["split"].to_numpy() == SPLITS[split]]


def signal_cut(scores: np.ndarray, weights: np.ndarray, efficiency: float) -> float:
    """The score above which ``efficiency`` of the weighted events lie (the highest scores kept first)."""
    scores, weights = np.asarray(scores, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    order = np.argsort(scores)[::-1]
    kept = np.cumsum(weights[order]) / weights.sum()
    return float(scores[order][min(int(np.searchsorted(kept, efficiency)), len(order) - 1)])


def bin_edges(
    tables: Mapping[tuple[str, str], pd.DataFrame],
    bins: int,
    binning: str,
    signal: Iterable[str],
    signal_efficiency: float = 1.0,
) -> np.ndarray:
    """Score bin edges in [0, 1] for ``binning`` (see BINNINGS), from the nominal template split only.

    ``signal_efficiency`` < 1 is a signal region: the lowest edge is the score above which that fraction of the
    weighted nominal signal lies, so the events below it (the Z peak, which calibrates TES in situ) enter no bin.
    """
    if binning not in BINNINGS:
        raise ValueError(f"templates: field 'binning': {binning!r} is not one of {BINNINGS}")
    if not 0.0 < signal_efficiency <= 1.0:
        raise ValueError(f"templates: field 'signal_efficiency': {signal_efficiency} is not in (0, 1]")
    full = signal_efficiency == 1.0
    if (binning == "equal_width" or bins == 1) and full:
        return np.linspace(0.0, 1.0, bins + 1)
    signal = set(signal)
    nominal = {p: _split_rows(t, "template") for (p, v), t in tables.items() if v == NOMINAL}
    sig = pd.concat([t for p, t in nominal.items() if p in signal])
    order = np.argsort(sig["score"].to_numpy(), kind="stable")
    score = sig["score"].to_numpy(dtype=np.float64)[order]
    cdf = np.cumsum(sig["weight"].to_numpy(dtype=np.float64)[order])
    lowest = 0.0 if full else round(signal_cut(score, sig["weight"].to_numpy()[order], signal_efficiency), 6)
    if binning == "equal_width" or bins == 1:
        return np.linspace(lowest, 1.0, bins + 1)
    quantiles = 1.0 - signal_efficiency + signal_efficiency * np.arange(1, bins) / bins
    inner = np.interp(quantiles, cdf / cdf[-1], score)
    edges = np.unique(np.concatenate([[lowest], np.round(inner, 6), [1.0]]))
    bkg_scores = np.concatenate([t["score"].to_numpy() for p, t in nominal.items() if p not in signal])
    return merge_sparse_bins(edges, bkg_scores[bkg_scores >= lowest], MIN_BACKGROUND_EVENTS)


def merge_sparse_bins(edges: np.ndarray, scores: np.ndarray, min_events: int) -> np.ndarray:
    """Drop inner edges, from the top bin down, until every bin holds ``min_events`` MC events of ``scores``."""
    edges = list(edges)
    i = len(edges) - 2  # index of the highest bin
    while i >= 0 and len(edges) > 2:
        n = np.count_nonzero((scores >= edges[i]) & (scores < edges[i + 1] if i < len(edges) - 2 else True))
        if n >= min_events:
            i -= 1
        elif i > 0:
            del edges[i]  # merge bin i into the bin below it
            i -= 1
        else:
            del edges[1]  # the lowest bin absorbs the one above it
    return np.asarray(edges)


def histograms(tables: Mapping[tuple[str, str], pd.DataFrame], edges: np.ndarray, split: str) -> hist.Hist:
    """One Hist(process, variation, score) of ``split`` filled from ``tables``."""
    h = empty_hist({p for p, _ in tables}, {v for _, v in tables}, edges)
    for (process, variation), table in sorted(tables.items()):
        fill_split(h, table, process, variation, split)
    return h


def pseudo_data_histograms(tables: Mapping[tuple[str, str], pd.DataFrame], edges: np.ndarray) -> hist.Hist:
    """Toy-split histograms of the ``truth_*`` and nominal variations: the pseudo-data expectations."""
    chosen = {k: t for k, t in tables.items() if k[1] == NOMINAL or is_truth(k[1])}
    return histograms(chosen, edges, "toy")


def check_background_positive(
    h: hist.Hist, backgrounds: Iterable[str], skip: Iterable[str] = (), where: str = ""
) -> None:
    """Raise ValueError naming the bin (after ``where``) if the summed background of a model variation other than
    ``skip`` is <= 0 in any bin."""
    edges = h.axes["score"].edges
    values = h.view(flow=False).value  # (process, variation, bin)
    idx = [h.axes["process"].index(p) for p in backgrounds]
    total = values[idx].sum(axis=0)
    for j, variation in enumerate(h.axes["variation"]):
        if is_truth(variation) or variation in skip:
            continue
        bad = np.flatnonzero(~(total[j] > 0.0))
        if bad.size:
            b = int(bad[0])
            raise ValueError(
                f"{where}background total is {total[j, b]:g} (<= 0) in score bin {b} "
                f"[{edges[b]:g}, {edges[b + 1]:g}) of variation {variation!r}; use fewer bins"
            )


def build_templates(
    score_paths: ScorePaths, bins: int, binning: str = "equal_width", signal_efficiency: float = 1.0
) -> Templates:
    """Templates (template split, every variation) and pseudo-data expectations (toy split) from scores, in the
    score range that keeps ``signal_efficiency`` of the nominal signal (:func:`bin_edges`)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    check_complete(score_paths)
    tables = {key: read_scores(path) for key, path in score_paths.items()}
    signal = signal_processes(tables)
    edges = bin_edges(tables, bins, binning, signal, signal_efficiency)
    template = histograms(tables, edges, "template")
    check_background_positive(template, sorted({p for p, _ in tables} - set(signal)))
    splits = {"template": template, "toy": pseudo_data_histograms(tables, edges)}
    return Templates(edges=template.axes["score"].edges.copy(), splits=splits, signal=signal)


def counts(templates: Templates, process: str, variation: str, split: str = "template") -> np.ndarray:
    """Weighted counts per bin of one (process, variation) in ``split``."""
    return lookup(templates, process, variation, split).value.copy()


def sumw2(templates: Templates, process: str, variation: str, split: str = "template") -> np.ndarray:
    """Sum of squared weights per bin (MC statistical variance) of one (process, variation) in ``split``."""
    return lookup(templates, process, variation, split).variance.copy()


def lookup(templates: Templates, process: str, variation: str, split: str) -> np.ndarray:
    """The Weight view of one (process, variation) in ``split``; KeyError naming what is missing."""
    if split not in templates.splits:
        raise KeyError(f"no split {split!r} in templates (have {sorted(templates.splits)})")
    h = templates.splits[split]
    for axis, name in (("process", process), ("variation", variation)):
        if name not in list(h.axes[axis]):
            raise KeyError(f"no {axis} {name!r} in {split} templates (have {list(h.axes[axis])})")
    i, j = h.axes["process"].index(process), h.axes["variation"].index(variation)
    return h.view(flow=False)[i, j]


def templates_payload(templates: Templates) -> dict:
    """The JSON-ready form: edges, signal processes, and per split/process/variation counts and sumw2."""
    splits = {}
    for split, h in templates.splits.items():
        view = h.view(flow=False)
        splits[split] = {
            p: {
                v: {"counts": view.value[i, j].tolist(), "sumw2": view.variance[i, j].tolist()}
                for j, v in enumerate(h.axes["variation"])
            }
            for i, p in enumerate(h.axes["process"])
        }
    return {
        "format": FORMAT,
        "edges": np.asarray(templates.edges, dtype=float).tolist(),
        "signal": list(templates.signal),
        "splits": splits,
    }


def write_templates(templates: Templates, path: str | os.PathLike) -> None:
    """Write ``templates`` as deterministic JSON (sorted keys), atomically."""
    write_json(path, templates_payload(templates))


def hist_from_payload(edges: np.ndarray, split: Mapping[str, Mapping[str, Mapping]]) -> hist.Hist:
    """Rebuild one split's Hist from its JSON mapping process -> variation -> {counts, sumw2}."""
    h = empty_hist(split, {v for per in split.values() for v in per}, edges)
    view = h.view(flow=False)
    for i, p in enumerate(h.axes["process"]):
        for j, v in enumerate(h.axes["variation"]):
            view.value[i, j] = split[p][v]["counts"]
            view.variance[i, j] = split[p][v]["sumw2"]
    return h


def read_templates(path: str | os.PathLike) -> Templates:
    """Read templates written by :func:`write_templates`."""
    payload = json.loads(Path(path).read_text())
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (format {payload.get('format')!r})")
    edges = np.asarray(payload["edges"], dtype=float)
    splits = {name: hist_from_payload(edges, split) for name, split in payload["splits"].items()}
    return Templates(edges=edges, splits=splits, signal=tuple(payload["signal"]))
