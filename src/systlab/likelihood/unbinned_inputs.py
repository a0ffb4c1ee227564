"""The unbinned likelihood's inputs for one model replica: per-event tables of every event set it fits, and its model.

The learned model (an ONNX export of :mod:`systlab.methods.density_ratio`: outputs signal fraction, process
fractions, log-ratio polynomials) is evaluated on the events of

- ``template``: the template split at nominal, every process — the model's expectation (its nominal yields ν_pb⁰
  per MC-statistics region b, a signal-quantile bin of the learned signal fraction as the binned templates' bins,
  with each region's relative MC error; its yield polynomials; the Asimov data and the model toys);
- ``toy``: the toy split at nominal — the held-out toys;
- ``truth_<t>``: the toy split of every pseudo-data truth — the ``expected_<t>`` and ``truth_<t>`` datasets.

The model's yields follow the simulated variation samples of the template split where they exist (a per-process
shift of each log R, :func:`simulated_yield_correction`), as the binned templates' do.

Each set is stored as flat arrays (fractions, coefficients, weight, process index, label) in one ``.npz`` beside a
JSON of the :class:`systlab.likelihood.unbinned.UnbinnedModel` (written by the rule ``unbinned_inputs``). The
inputs hold no score binning: what the binned methods do with templates, this route does per event.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from systlab.atomic import atomic_path, write_json
from systlab.events import SPLITS
from systlab.likelihood.unbinned import (
    EventTables,
    UnbinnedBatch,
    UnbinnedData,
    UnbinnedModel,
    polynomial_terms,
    prior_shift,
    yield_polynomials,
)

FORMAT = "systlab.unbinned_inputs/1"
#: Degree of the per-axis yield polynomials and the points of a they are fitted on. The yield is a sum of exponentials
#: of the events' polynomials, far from a low-degree polynomial in log: degree 4 on 49 points missed the default r0's
#: Z yield at soft_met = +1 sigma by 1 % (30 events), which gave its own Asimov data a minimum 36 below the true one in
#: -2lnL; degree 12 on 241 points is within 0.01 % of the exact per-axis yield at +-1 sigma.
YIELD_DEGREE, YIELD_POINTS = 12, 241

#: Raw feature rows (n, features) -> the event tables of those rows.
TablesOf = Callable[[np.ndarray], EventTables]


class EventSet(NamedTuple):
    """One set of events with their tables: weight (expected events each), process index, label (1 = signal)."""

    tables: EventTables
    weight: np.ndarray
    process: np.ndarray
    label: np.ndarray

    def expected_weights(self, mu: float = 1.0) -> np.ndarray:
        """Each event's expected count at signal strength ``mu``."""
        return np.where(self.label == 1, mu * self.weight, self.weight)


def event_sets_wanted(truths: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Event set -> (sample variation, split): template and toy at nominal, every truth's toy split."""
    return {"template": ("nominal", SPLITS["template"]), "toy": ("nominal", SPLITS["toy"]),
            **{f"truth_{t}": (f"truth_{t}", SPLITS["toy"]) for t in truths}}  # fmt: skip


def event_set(tables_of: TablesOf, samples: Mapping[str, pd.DataFrame], processes: Sequence[str],
              features: Sequence[str], split: int) -> EventSet:  # fmt: skip
    """The events of ``split`` of every process's sample table (``samples``: process -> table), in process order."""
    parts = []
    for p, process in enumerate(processes):
        table = samples[process]
        rows = table[table["split"] == split]
        x = rows[list(features)].to_numpy(dtype=np.float32)
        tables = tables_of(x) if len(x) else None
        parts.append((tables, rows["weight"].to_numpy(float), np.full(len(rows), p), rows["label"].to_numpy(int)))
    kept = [part for part in parts if part[0] is not None]
    tables = EventTables(np.concatenate([t.fractions for t, *_ in kept]), np.concatenate([t.coef for t, *_ in kept]))
    return EventSet(tables, *(np.concatenate([part[i] for part in parts]) for i in (1, 2, 3)))


def template_prior_shift(template: EventSet, n_processes: int) -> np.ndarray:
    """The fractions' prior shift (:func:`systlab.likelihood.unbinned.prior_shift`) that makes Σ_template w c_p the
    template yield of every process: the learned fractions calibrated on the sample that sets the model's yields, as
    the binned templates are built on it."""
    totals = np.bincount(template.process, weights=template.weight, minlength=n_processes)
    return prior_shift(np.log(np.clip(template.tables.fractions, 1e-300, None)), template.weight, totals)


def shifted(events: EventSet, delta: np.ndarray) -> EventSet:
    """``events`` with fractions c_p ∝ c_p e^{δ_p}."""
    c = events.tables.fractions * np.exp(delta)[None]
    return events._replace(tables=events.tables._replace(fractions=c / c.sum(axis=1, keepdims=True)))


def simulated_yield_correction(template: EventSet, simulated: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]],
                               degree: int) -> np.ndarray:  # fmt: skip
    """(P, B, K, degree) per-process, per-region polynomials in a (no constant term) to add to the log R_pk of every
    event in region b so that the model's own yield ratio of process p in region b, Σ_{j∈b} w_j c_jp R_jp(a) over its
    value at a = 0, is the simulated one at the simulated points of NP k: what a histosys does for a binned template,
    on the MC-statistics regions.

    ``simulated[(p, k)]`` = (points a (n,), simulated yields Y_pb(a) (n, B)) of the template split of NP k's varied
    samples, their events put in regions by the model itself (:func:`simulated_yields`); Y_pb(0) is the template
    events' own (labelled) yield in region b. A region without events of p at nominal or at some point takes the
    process total's ratio. A shift of log R constant within a region keeps the model the integral of its own density
    (it still closes on its own Asimov data); within a region the learned shape stays. With n points a polynomial of
    degree min(n, ``degree``) is fitted."""
    n_p, n_k = template.tables.coef.shape[1:3]
    region = template.tables.region if template.tables.region is not None else np.zeros(len(template.weight), int)
    n_b = int(region.max()) + 1
    out = np.zeros((n_p, n_b, n_k, degree))
    mixture = template.weight[:, None] * template.tables.fractions
    for (p, k), (points, varied) in simulated.items():
        points, varied = np.asarray(points, float), np.asarray(varied, float).reshape(len(points), -1)
        if varied.shape[1] != n_b:
            raise ValueError(f"simulated yields of (process {p}, NP {k}) have {varied.shape[1]} regions, not {n_b}")
        nominal = np.bincount(region, template.weight * (template.process == p), minlength=n_b)
        log_r = polynomial_terms(template.tables.coef[:, p, k][:, None, :], points[None, :])[0]  # (E, points)
        shift = log_r.max(axis=0)
        terms = mixture[:, p, None] * np.exp(log_r - shift)
        learned = np.stack([np.bincount(region, terms[:, i], minlength=n_b) for i in range(len(points))])
        with np.errstate(divide="ignore", invalid="ignore"):
            log_learned = np.log(learned / np.bincount(region, mixture[:, p], minlength=n_b)) + shift[:, None]
            log_wanted = np.log(varied / nominal)
        whole_learned = np.log(terms.sum(axis=0) / mixture[:, p].sum()) + shift
        whole_wanted = np.log(varied.sum(axis=1) / nominal.sum())
        for b in range(n_b):
            wanted, have = log_wanted[:, b], log_learned[:, b]
            if not (np.isfinite(wanted).all() and np.isfinite(have).all()):
                wanted, have = whole_wanted, whole_learned
            keep = np.isfinite(wanted)
            used = min(int(keep.sum()), degree)
            if used:
                design = np.stack([points[keep] ** (d + 1) for d in range(used)], axis=1)
                out[p, b, k, :used] = np.linalg.lstsq(design, wanted[keep] - have[keep], rcond=None)[0]
    return out


def with_correction(events: EventSet, correction: np.ndarray) -> EventSet:
    """``events`` with ``correction`` (P, B, K, D) of each event's region added to its log-ratio coefficients
    ((P, K, D): the same for every event)."""
    correction = np.asarray(correction, float)
    if correction.ndim == 3:
        return events._replace(tables=events.tables._replace(coef=events.tables.coef + correction[None]))
    region = events.tables.region if events.tables.region is not None else np.zeros(len(events.weight), int)
    return events._replace(tables=events.tables._replace(
        coef=events.tables.coef + np.moveaxis(correction, 1, 0)[region]))


def spread_centres(template: EventSet) -> np.ndarray:
    """(P, B, K, D): each process's mean log-ratio coefficients in each MC-statistics region over the template events,
    weighted as the model's yields are (w_j c_p(x_j)): the centre about which :func:`with_spread` scales."""
    region = template.tables.region if template.tables.region is not None else np.zeros(len(template.weight), int)
    coef = template.tables.coef
    n_b = int(region.max()) + 1 if region.size else 1
    mixture = template.weight[:, None] * template.tables.fractions
    out = np.zeros((coef.shape[1], n_b, *coef.shape[2:]))
    for b in range(n_b):
        rows = region == b
        total = mixture[rows].sum(axis=0)
        summed = np.einsum("ep,epkd->pkd", mixture[rows], coef[rows])
        out[:, b] = summed / np.where(total > 0, total, 1.0)[:, None, None]
    return out


def with_spread(events: EventSet, factors: np.ndarray, centres: np.ndarray) -> EventSet:
    """``events`` with the log-ratio coefficients of process p and NP k scaled by ``factors[p, k]`` about their
    region's centre (``centres``, :func:`spread_centres`): a learned shape within a region made stronger (> 1) or
    weaker (< 1), the region's mean log-ratio kept."""
    factors = np.asarray(factors, float)
    if np.all(factors == 1.0):
        return events
    region = events.tables.region if events.tables.region is not None else np.zeros(len(events.weight), int)
    centre = np.moveaxis(np.asarray(centres, float), 1, 0)[region]  # (E, P, K, D)
    scaled = centre + factors[None, :, :, None] * (events.tables.coef - centre)
    coef = np.where((factors == 1.0)[None, :, :, None], events.tables.coef, scaled)  # a factor of 1: untouched
    return events._replace(tables=events.tables._replace(coef=coef))


def region_edges(template: EventSet, regions: int) -> np.ndarray:
    """Inner edges (regions − 1) of the learned signal fraction c_s that split the template signal into equal
    parts: the MC-statistics regions (as the binned templates' signal quantiles)."""
    c, w = template.tables.fractions[:, 0], template.weight
    signal = template.label == 1
    order = np.argsort(c[signal])
    cumulative = np.cumsum(w[signal][order])
    return np.interp(np.arange(1, regions) / regions * cumulative[-1], cumulative, c[signal][order])


def with_regions(events: EventSet, edges: np.ndarray) -> EventSet:
    """``events`` with each event's MC-statistics region (its signal fraction against ``edges``)."""
    region = np.searchsorted(edges, events.tables.fractions[:, 0], side="right").astype(np.int64)
    return events._replace(tables=events.tables._replace(region=region))


class Tabulation(NamedTuple):
    """How a replica turns the learned model's outputs on any events into the tables its likelihood reads: the
    fractions' prior shift (P,), the MC-statistics region edges (B − 1,), the within-region spread factors (P, K) of
    the log-ratios about their region centres (P, B, K, D; :func:`calibrate_spread`; none before 2026-12-08) and the
    per-region log-ratio yield correction (P, B, K, D; (P, K, D) from before 2026-12-07 acts on every region alike),
    all fixed on the template events. Stored with the model, so pseudo-experiments built later (the FAIR protocol)
    are tabulated exactly as the event sets were."""

    prior_shift: np.ndarray
    yield_correction: np.ndarray
    region_edges: np.ndarray
    spread: np.ndarray | None = None
    spread_centres: np.ndarray | None = None

    def apply(self, events: EventSet) -> EventSet:
        events = with_regions(shifted(events, self.prior_shift), self.region_edges)
        if self.spread is not None:
            events = with_spread(events, self.spread, self.spread_centres)
        return with_correction(events, self.yield_correction)

    def tables(self, tables: EventTables) -> EventTables:
        """The same on bare tables (no weights or labels)."""
        n = len(tables.fractions)
        return self.apply(EventSet(tables, np.zeros(n), np.zeros(n, int), np.zeros(n, int))).tables

    def payload(self) -> dict:
        return {name: np.asarray(value).tolist() for name, value in self._asdict().items() if value is not None}

    @classmethod
    def from_payload(cls, payload: Mapping) -> Tabulation:
        return cls(*(np.asarray(payload[name], dtype=float) if name in payload else None for name in cls._fields))


def unbinned_model(template: EventSet, processes: Sequence[str], shape_nps: Sequence[str],
                   shape_bounds: Sequence[tuple[float, float]], norm_nps: Mapping[str, tuple[float, Sequence[str]]],
                   lumi_sigma: float | None, mu_range: tuple[float, float],
                   mc_statistics: bool = False) -> UnbinnedModel:  # fmt: skip
    """The model of a replica from its template events. Its yields are the integral of its own density over them:
    ν_pb⁰ = Σ_{j∈b} w_j c_p(x_j) and the yield polynomials from the same weights w_j c_p(x_j) (every event, whatever
    its label), so on its own Asimov data (the template events at μ = 1) every nuisance's score vanishes at nominal
    and μ̂ = 1 whatever the learning errors. (Yields from the labels instead left the default r0's Asimov μ̂ at 0.887:
    the learned ratios' slope at nominal, summed over events, did not match the labelled yields' slope.) With
    ``mc_statistics`` each region's relative MC error √Σw²/Σw over every template event."""
    n = len(processes)
    region = template.tables.region if template.tables.region is not None else np.zeros(len(template.weight), int)
    regions = int(region.max()) + 1
    mixture = template.weight[:, None] * template.tables.fractions  # (E, P)
    yields = np.zeros((n, regions))
    for p in range(n):
        yields[p] = np.bincount(region, mixture[:, p], minlength=regions)
    if not np.all(yields.sum(axis=1) > 0):
        empty = [processes[p] for p in range(n) if not yields[p].sum() > 0]
        raise ValueError(f"no template events of process(es) {empty}")
    coef = yield_polynomials(template.tables, mixture, shape_bounds, YIELD_DEGREE, YIELD_POINTS)
    stat = None
    if mc_statistics:
        sumw = np.bincount(region, template.weight, minlength=regions)
        sumw2 = np.bincount(region, template.weight**2, minlength=regions)
        stat = np.sqrt(sumw2) / sumw
    return UnbinnedModel(tuple(processes), yields, tuple(shape_nps), coef, tuple(map(tuple, shape_bounds)),
                         {name: (float(s), tuple(p)) for name, (s, p) in norm_nps.items()}, lumi_sigma,
                         tuple(mu_range), stat)  # fmt: skip


def with_yields_of(model: UnbinnedModel, template: EventSet, pairs: Sequence[tuple[int, int]]) -> UnbinnedModel:
    """``model`` with the yield polynomials of the (process, NP) ``pairs`` refitted on the (tabulated) ``template``
    as :func:`unbinned_model` fits them: what changes when only those pairs' log-ratios do."""
    mixture = template.weight[:, None] * template.tables.fractions
    coef = model.yield_coef.copy()
    for p, k in pairs:
        weights = np.zeros_like(mixture)
        weights[:, p] = mixture[:, p]
        tables = template.tables._replace(coef=template.tables.coef[:, :, [k]])
        coef[p, :, k] = yield_polynomials(tables, weights, [model.shape_bounds[k]], YIELD_DEGREE, YIELD_POINTS)[p, :, 0]
    return dataclasses.replace(model, yield_coef=coef)


def model_payload(model: UnbinnedModel) -> dict:
    """JSON-ready form of an :class:`UnbinnedModel`."""
    return {"format": FORMAT, "processes": list(model.processes), "yields": model.yields.tolist(),
            "shape_nps": list(model.shape_nps), "yield_coef": model.yield_coef.tolist(),
            "shape_bounds": [list(b) for b in model.shape_bounds],
            "norm_nps": {k: [s, list(p)] for k, (s, p) in model.norm_nps.items()}, "lumi_sigma": model.lumi_sigma,
            "mu_range": list(model.mu_range),
            "stat_sigma": None if model.stat_sigma is None else model.stat_sigma.tolist()}  # fmt: skip


def model_from_payload(payload: Mapping) -> UnbinnedModel:
    if payload.get("format") != FORMAT:
        raise ValueError(f"not an unbinned model ({payload.get('format')!r}, expected {FORMAT!r})")
    return UnbinnedModel(tuple(payload["processes"]), np.asarray(payload["yields"], float), tuple(payload["shape_nps"]),
                         np.asarray(payload["yield_coef"], float), tuple(tuple(b) for b in payload["shape_bounds"]),
                         {k: (float(s), tuple(p)) for k, (s, p) in payload["norm_nps"].items()},
                         payload["lumi_sigma"], tuple(payload["mu_range"]),
                         None if payload.get("stat_sigma") is None else np.asarray(payload["stat_sigma"]))  # fmt: skip


def write_inputs(model: UnbinnedModel, sets: Mapping[str, EventSet], events_path: str | os.PathLike,
                 model_path: str | os.PathLike, tabulation: Tabulation | None = None,
                 calibration: SpreadCalibration | None = None) -> None:  # fmt: skip
    """The event sets to one ``.npz`` (``<set>/<array>``) and the model (with its tabulation and spread calibration)
    to JSON, atomically."""
    arrays = {}
    for name, s in sets.items():
        arrays.update({f"{name}/fractions": s.tables.fractions.astype(np.float32),
                       f"{name}/coef": s.tables.coef.astype(np.float32), f"{name}/weight": s.weight,
                       f"{name}/process": s.process.astype(np.int8),
                       f"{name}/label": s.label.astype(np.int8)})  # fmt: skip
        if s.tables.region is not None:
            arrays[f"{name}/region"] = s.tables.region.astype(np.int16)
    with atomic_path(Path(events_path)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    write_json(model_path, {**model_payload(model),
                            **({"tabulation": tabulation.payload()} if tabulation is not None else {}),
                            **({"spread_calibration": calibration.payload()} if calibration is not None else {})})


class UnbinnedInputs(NamedTuple):
    """A replica's unbinned model, its event sets by name and how their tables were made from the learned model's
    outputs (:class:`Tabulation`; the stored tables have it applied), and when built here, its spread calibration."""

    model: UnbinnedModel
    sets: dict[str, EventSet]
    tabulation: Tabulation | None = None
    calibration: SpreadCalibration | None = None


def read_inputs(events_path: str | os.PathLike, model_path: str | os.PathLike) -> UnbinnedInputs:
    """What :func:`write_inputs` wrote (tables back in float64)."""
    payload = json.loads(Path(model_path).read_text())
    model = model_from_payload(payload)
    tabulation = Tabulation.from_payload(payload["tabulation"]) if "tabulation" in payload else None
    calibration = (SpreadCalibration.from_payload(payload["spread_calibration"]) if "spread_calibration" in payload
                   else None)  # fmt: skip
    with np.load(events_path) as data:
        names = sorted({key.partition("/")[0] for key in data.files})
        sets = {name: EventSet(EventTables(data[f"{name}/fractions"].astype(float), data[f"{name}/coef"].astype(float),
                                           data[f"{name}/region"].astype(int) if f"{name}/region" in data.files
                                           else None),
                               data[f"{name}/weight"], data[f"{name}/process"].astype(int),
                               data[f"{name}/label"].astype(int)) for name in names}  # fmt: skip
    return UnbinnedInputs(model, sets, tabulation, calibration)


#: ONNX metadata keys of an unbinned model (JSON lists): its processes (signal first), shape NPs and their ranges.
PROCESSES_KEY, SHAPE_NPS_KEY, SHAPE_BOUNDS_KEY = "systlab.unbinned.processes", "systlab.unbinned.shape_nps", \
    "systlab.unbinned.shape_bounds"


def onnx_tables(scorer) -> tuple[TablesOf, tuple[str, ...], tuple[str, ...], tuple[tuple[float, float], ...]]:
    """An unbinned model's ONNX (:class:`systlab.methods.onnx_io.OnnxScorer`) as ``tables_of`` (outputs: signal
    fraction, fractions, coefficients) and its processes, shape NPs and their ranges from its metadata."""
    meta = scorer.metadata
    missing = [k for k in (PROCESSES_KEY, SHAPE_NPS_KEY, SHAPE_BOUNDS_KEY) if k not in meta]
    if missing:
        raise ValueError(f"{scorer.path}: no {missing} metadata (not an unbinned model?)")

    def tables_of(x: np.ndarray) -> EventTables:
        _, fractions, coef = scorer.outputs(x)
        return EventTables(fractions.astype(np.float64), coef.astype(np.float64))

    bounds = tuple((float(lo), float(hi)) for lo, hi in json.loads(meta[SHAPE_BOUNDS_KEY]))
    return tables_of, tuple(json.loads(meta[PROCESSES_KEY])), tuple(json.loads(meta[SHAPE_NPS_KEY])), bounds


def simulated_yields(cfg, processes: Sequence[str], shape_nps: Sequence[str],
                     varied: Callable[[str, str], EventSet | None]) -> dict[tuple[int, int], tuple[np.ndarray, ...]]:
    """(process index, NP index) -> (points (n,), yields per MC-statistics region (n, B)) of the template split of
    every simulated one-NP variation of the config (:meth:`systlab.config.model.Config.shape_variations`);
    ``varied(process, sample)``: that sample's template-split events tabulated like the template (their regions by
    the model), None where the sample is not given."""
    out = {}
    for p, process in enumerate(processes):
        for k, name in enumerate(shape_nps):
            points, yields = [], []
            for np_name, a, sample in cfg.shape_variations():
                events = varied(process, sample) if np_name == name else None
                if events is not None:
                    points.append(a)
                    yields.append(np.bincount(events.tables.region, events.weight, minlength=cfg.bins))
            if points:
                out[(p, k)] = (np.array(points), np.array(yields))
    return out


#: Search range of the spread factors (:func:`calibrate_spread`; 0: no shape within a region, the region's yield
#: alone) and the largest simulated shift (σ) they close on: every simulated point 0 < |a| ≤ CLOSURE_RANGE.
SPREAD_RANGE, CLOSURE_RANGE = (0.0, 2.0), 2.0


class SpreadCalibration(NamedTuple):
    """The spread factors (P, K) chosen by :func:`calibrate_spread`, the (process, NP) pairs it searched, and μ̂ on
    each closure sample (name -> value) with every factor 1 and with the chosen ones."""

    factors: np.ndarray
    tuned: tuple[tuple[int, int], ...]
    before: dict[str, float]
    after: dict[str, float]

    def payload(self) -> dict:
        """JSON-ready; a closure fit that did not converge (NaN) as null."""
        def finite(mu_hat: Mapping[str, float]) -> dict:
            return {name: float(mu) if np.isfinite(mu) else None for name, mu in mu_hat.items()}

        return {"factors": self.factors.tolist(), "tuned": [list(pair) for pair in self.tuned],
                "before": finite(self.before), "after": finite(self.after)}  # fmt: skip

    @classmethod
    def from_payload(cls, payload: Mapping) -> SpreadCalibration:
        def floats(mu_hat: Mapping) -> dict[str, float]:
            return {name: math.nan if mu is None else float(mu) for name, mu in mu_hat.items()}

        return cls(np.asarray(payload["factors"], float), tuple(tuple(pair) for pair in payload["tuned"]),
                   floats(payload["before"]), floats(payload["after"]))  # fmt: skip


def calibrate_spread(closure: Callable[[np.ndarray], dict[str, float]], shifts: Mapping[str, float],
                     tuned: Sequence[tuple[int, int]], shape: tuple[int, int]) -> SpreadCalibration:  # fmt: skip
    """The spread factors of the ``tuned`` (process, NP) pairs (the others 1) that minimise Σ ((μ̂ − 1)/a)² over the
    closure samples, ``closure(factors)`` -> {sample: μ̂} (the model rebuilt with those factors, fitted on the
    template split's simulated variations), ``shifts``: sample -> its NP's shift a (σ). A learned within-region shape
    that is too weak or too strong biases μ̂ where the NP is shifted, and this is the statistic that sees it
    (Nelder–Mead in :data:`SPREAD_RANGE`)."""
    from scipy.optimize import minimize

    def factors_of(x: np.ndarray) -> np.ndarray:
        factors = np.ones(shape)
        for (p, k), value in zip(tuned, x, strict=True):
            factors[p, k] = value
        return factors

    def loss(mu_hat: Mapping[str, float]) -> float:
        value = float(sum(((mu - 1.0) / shifts[name]) ** 2 for name, mu in mu_hat.items()))
        return value if np.isfinite(value) else np.inf  # a closure fit that did not converge: not a candidate

    before = closure(np.ones(shape))
    if not tuned:
        return SpreadCalibration(np.ones(shape), (), before, before)
    start = np.ones(len(tuned))
    simplex = np.vstack([start, start + 0.1 * np.eye(len(tuned))])
    best = minimize(lambda x: loss(closure(factors_of(x))), start, method="Nelder-Mead",
                    bounds=[SPREAD_RANGE] * len(tuned),
                    options={"initial_simplex": simplex, "xatol": 0.01, "fatol": 1e-7})  # fmt: skip
    factors = factors_of(best.x) if best.fun < loss(before) else np.ones(shape)
    return SpreadCalibration(factors, tuple(tuned), before, closure(factors))


def build_inputs(cfg, onnx_path: str | os.PathLike, sample_paths: Mapping[tuple[str, str], str | os.PathLike],
                 calibrate: Sequence[str] = ()) -> UnbinnedInputs:  # fmt: skip
    """A replica's unbinned model and event sets from its ONNX model and the sample tables ((process, variation) ->
    parquet): every event set of :func:`event_sets_wanted` of the config's truths. For each shape NP in
    ``calibrate`` the spread of the signal's and the largest background's learned log-ratios within their regions
    is calibrated (:func:`calibrate_spread`) on the template split's simulated samples of that NP with
    0 < |a| ≤ :data:`CLOSURE_RANGE`."""
    from systlab.methods.onnx_io import OnnxScorer

    scorer = OnnxScorer(onnx_path)
    tables_of, processes, shape_nps, bounds = onnx_tables(scorer)
    expected = (cfg.signal, *cfg.backgrounds)
    if processes != expected:
        raise ValueError(f"{onnx_path}: processes {list(processes)} differ from the config's {list(expected)}")
    columns = ["event_id", "weight", "split", "label", *scorer.features]
    read: dict[tuple[str, str], pd.DataFrame] = {}  # each sample of the event sets read once (nominal serves two)

    def table_of(process: str, variation: str) -> pd.DataFrame:
        path = sample_paths[(process, variation)]
        scorer.check_columns(pq.read_schema(path).names, path)
        return pd.read_parquet(path, columns=columns)

    def sample(process: str, variation: str) -> pd.DataFrame:
        if (process, variation) not in read:
            read[(process, variation)] = table_of(process, variation)
        return read[(process, variation)]

    sets = {name: event_set(tables_of, {p: sample(p, variation) for p in processes}, processes, scorer.features, split)
            for name, (variation, split) in event_sets_wanted([t.name for t in cfg.truths]).items()}  # fmt: skip
    delta = template_prior_shift(sets["template"], len(processes))
    edges = region_edges(shifted(sets["template"], delta), cfg.bins)
    closure_samples = {sample for name, a, sample in cfg.shape_variations()
                       if name in calibrate and 0 < abs(a) <= CLOSURE_RANGE}  # fmt: skip
    varied_events: dict[tuple[str, str], EventSet] = {}  # the raw template-split events of those samples

    def varied(process: str, variation: str) -> EventSet | None:
        """A varied sample's template split in the model's regions (its yields per region are all that is read)."""
        if (process, variation) not in sample_paths:
            return None
        events = event_set(tables_of, {process: table_of(process, variation)}, [process], scorer.features,
                           SPLITS["template"])  # fmt: skip
        if variation in closure_samples:
            varied_events[(process, variation)] = events._replace(process=np.full(len(events.weight),
                                                                                  processes.index(process)))
        return with_regions(shifted(events, delta), edges)

    simulated = simulated_yields(cfg, processes, shape_nps, varied)
    closure_sets = {}  # name -> (NP index, shift, that variation's template-split events of every process)
    for k, name in enumerate(shape_nps):
        for np_name, a, sample in cfg.shape_variations():
            if np_name == name and sample in closure_samples and all((p, sample) in varied_events
                                                                     for p in processes):
                closure_sets[sample] = (k, a, concatenated([varied_events[(p, sample)] for p in processes]))
    yields = np.bincount(sets["template"].process, sets["template"].weight, minlength=len(processes))
    largest = 1 + int(np.argmax(yields[1:])) if len(processes) > 1 else 0
    tuned = [(p, k) for k, name in enumerate(shape_nps) if name in calibrate for p in sorted({0, largest})
             if any(sk == k for sk, _, _ in closure_sets.values())]  # fmt: skip
    norm = {n.name: (n.sigma, n.processes) for n in cfg.norm_nps}

    def model_of(template: EventSet) -> UnbinnedModel:
        return unbinned_model(template, processes, shape_nps, bounds, norm, cfg.lumi_sigma, cfg.mu_range,
                              mc_statistics=True)  # fmt: skip

    tabulation, calibration = calibrated_tabulation(sets["template"], delta, edges, simulated, closure_sets, tuned,
                                                    model_of)  # fmt: skip
    sets = {name: tabulation.apply(s) for name, s in sets.items()}
    return UnbinnedInputs(model_of(sets["template"]), sets, tabulation, calibration)


def concatenated(parts: Sequence[EventSet]) -> EventSet:
    """One event set of ``parts`` in order (their tables without regions)."""
    tables = EventTables(*(np.concatenate([getattr(e.tables, f) for e in parts]) for f in ("fractions", "coef")))
    return EventSet(tables, *(np.concatenate([getattr(e, f) for e in parts]) for f in ("weight", "process", "label")))


def calibrated_tabulation(template: EventSet, prior_shift: np.ndarray, edges: np.ndarray,
                          simulated: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]],
                          closure_sets: Mapping[str, tuple[int, float, EventSet]], tuned: Sequence[tuple[int, int]],
                          model_of: Callable[[EventSet], UnbinnedModel]) -> tuple[Tabulation, SpreadCalibration]:
    """The tabulation of a replica from its raw template events (the learned model's outputs), the fractions'
    ``prior_shift``, the region ``edges`` and the ``simulated`` yields per region (:func:`simulated_yields`): with
    the spread factors of the ``tuned`` (process, NP) pairs calibrated (:func:`calibrate_spread`) on the raw
    ``closure_sets`` (name -> (NP index, shift in σ, events)); ``model_of`` builds the model from tabulated template
    events. For any factors the yield correction is refitted on the scaled template, so every region's yields follow
    the simulated variations and the factors change only the shape within a region."""
    regioned = with_regions(shifted(template, prior_shift), edges)
    centres = spread_centres(regioned)
    shape = template.tables.coef.shape[1:3]

    def tabulation_for(spread: np.ndarray) -> Tabulation:
        correction = simulated_yield_correction(with_spread(regioned, spread, centres), simulated,
                                                template.tables.coef.shape[-1])  # fmt: skip
        return Tabulation(prior_shift, correction, edges, spread, centres)

    if not tuned:
        return tabulation_for(np.ones(shape)), SpreadCalibration(np.ones(shape), (), {}, {})
    unscaled = model_of(tabulation_for(np.ones(shape)).apply(template))

    def closure(spread: np.ndarray) -> dict[str, float]:
        """μ̂ of the model with these factors on each closure sample's expectation at μ = 1 (only the tuned pairs'
        yield polynomials change with them: the others are the unscaled model's)."""
        tabulation = tabulation_for(spread)
        return closure_fits(with_yields_of(unscaled, tabulation.apply(template), tuned), tabulation, closure_sets)

    shifts = {name: a for name, (_, a, _) in closure_sets.items()}
    calibration = calibrate_spread(closure, shifts, tuned, shape)
    return tabulation_for(calibration.factors), calibration


def closure_fits(model: UnbinnedModel, tabulation: Tabulation,
                 samples: Mapping[str, tuple[int, float, EventSet]]) -> dict[str, float]:  # fmt: skip
    """μ̂ of ``model`` on each sample's expectation at μ = 1 (``samples``: name -> (shape NP index, its shift in σ,
    raw events)), tabulated by ``tabulation``, the NP's auxiliary datum at the shift, all in one batch."""
    if not samples:
        return {}
    tabulated = [tabulation.apply(events) for _, _, events in samples.values()]
    aux = np.tile(model.auxdata, (len(samples), 1))
    for i, (k, a, _) in enumerate(samples.values()):
        aux[i, k] = a
    offsets = np.concatenate([[0], np.cumsum([len(e.weight) for e in tabulated])])
    tables = EventTables(*(np.concatenate([getattr(e.tables, f) for e in tabulated]) for f in EventTables._fields))
    data = UnbinnedData(tables, np.concatenate([e.expected_weights(1.0) for e in tabulated]), offsets, aux)
    rows = np.arange(len(samples))
    start = np.tile(model.init, (len(samples), 1))
    start[rows, 1 + np.array([k for k, _, _ in samples.values()])] = [a for _, a, _ in samples.values()]  # at the shift
    fit = UnbinnedBatch(model, data).minimise(start, rows)
    mu_hat = np.where(fit.converged, fit.pars[:, model.poi], np.nan)  # NaN: that fit did not converge
    return {name: float(mu) for name, mu in zip(samples, mu_hat, strict=True)}
