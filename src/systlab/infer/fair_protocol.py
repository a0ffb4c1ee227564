"""The FAIR-Universe challenge's evaluation of one trained method: pseudo-experiments as the challenge makes them,
fitted through the method's own likelihood, scored as the challenge scores them.

The protocol (HiggsML 0.1.5: ``ingestion.Ingestion.predict_submission``, ``systematics.generate_pseudo_exp_data``,
``systematics.get_bootstrapped_dataset``): ``sets`` sets, each with μ_true from U(``mu_range``); per set
``pseudo_experiments`` pseudo-experiments (PEs); each PE draws every NP truth from its prior, gives every held-out
event a multiplicity Poisson(scale_p · w_i) (scale_p: μ for the signal, the drawn normalisations for the
backgrounds) and moves the events' features by the drawn shape NPs; the method returns μ̂ and [p16, p84].

Here the held-out events are the toy split of every process's canonical events (the events the nominal sample's
toy split holds, and those a shift brings over the thresholds); the shape NPs move them with systlab's own
variations (:func:`systlab.samples.vary.apply_variation`, thresholds last, as the challenge's ``postprocess``); the
replica's ONNX model scores them (a parameterized f(x; α) at every grid point: one PE's events bin consistently at
every α_k) with the replica's binning; the fit is the method's usual likelihood with the auxiliary data nominal (a
fixed classifier's workspace, :func:`systlab.infer.toys.run_toys`; a parameterized one's grid likelihood,
:func:`systlab.infer.grid_fit.run_grid_toys`), all PEs at once. Two prior settings (:data:`PRIORS`): ``challenge``,
HiggsML 0.1.5's draws and clips (:data:`CHALLENGE_PRIORS`), and ``systlab``, this config's priors. Every method and
replica sees the same PEs (one seed stream for the protocol), so methods compare PE by PE.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from systlab.config import Config
from systlab.infer.fair_settings import PRIORS, Settings
from systlab.infer.toys import ToyChunk, fair_score

log = logging.getLogger(__name__)

FORMAT = "systlab.fair_protocol/1"

#: HiggsML 0.1.5 ``generate_pseudo_exp_data``: (distribution, location, scale, clip low, clip high) of each NP, drawn
#: in this order from one generator per PE. TES and JES are factors on the tau and jet pT (systlab's physical values
#: of ``tes`` and ``jes``), soft MET the width in GeV of the Gaussian MET noise (systlab's ``soft_met``), the three
#: scales factors on the ttbar, diboson and every background's yield (ttbar and diboson take the background scale
#: too, as ``get_bootstrapped_dataset`` multiplies them).
CHALLENGE_PRIORS: dict[str, tuple[str, float, float, float, float]] = {
    "tes": ("normal", 1.0, 0.001, 0.99, 1.01),
    "jes": ("normal", 1.0, 0.001, 0.99, 1.01),
    "soft_met": ("lognormal", 0.0, 1.0, 0.0, 5.0),
    "ttbar_scale": ("normal", 1.0, 0.02, 0.8, 1.2),
    "diboson_scale": ("normal", 1.0, 0.25, 0.0, 2.0),
    "bkg_scale": ("normal", 1.0, 0.001, 0.99, 1.01),
}
#: The challenge's per-process scales by process name (the challenge's own names, systlab's built-in processes).
CHALLENGE_PROCESS_SCALES = {"ttbar": "ttbar_scale", "diboson": "diboson_scale"}


class PseudoExperiment(NamedTuple):
    """One PE: its set and index in the set, μ_true, the physical value of every shape NP it moves the events by,
    the yield factor of every process besides μ (normalisation NPs, luminosity), and its random stream."""

    set_index: int
    index: int
    mu: float
    shape: dict[str, float]
    scale: dict[str, float]
    stream: tuple[int, ...]


def _clipped(rng: np.random.Generator, dist: str, loc: float, scale: float, lo: float, hi: float) -> float:
    value = rng.normal(loc, scale) if dist == "normal" else rng.lognormal(loc, scale)
    return float(np.clip(value, lo, hi))


def challenge_draw(rng: np.random.Generator, processes: Sequence[str], signal: str) -> tuple[dict, dict]:
    """(shape NP values, process scales) from HiggsML 0.1.5's priors (:data:`CHALLENGE_PRIORS`)."""
    drawn = {name: _clipped(rng, *prior) for name, prior in CHALLENGE_PRIORS.items()}
    shape = {name: drawn[name] for name in ("tes", "jes", "soft_met")}
    scale = {p: 1.0 if p == signal else drawn["bkg_scale"] * drawn.get(CHALLENGE_PROCESS_SCALES.get(p, ""), 1.0)
             for p in processes}  # fmt: skip
    return shape, scale


def normsys_factor(sigma: float, alpha: float) -> float:
    """The yield factor of a normalisation NP of relative width ``sigma`` at ``alpha`` (σ units): (1 ± σ)^|α|, the
    exponential form pyhf's normsys code 4 (systlab's workspaces) takes for |α| ≥ 1 (inside, code 4 is a polynomial
    that differs from it by O(σ²α²))."""
    return float((1.0 + sigma) ** alpha if alpha >= 0 else (1.0 - sigma) ** (-alpha))


def systlab_draw(rng: np.random.Generator, cfg: Config) -> tuple[dict, dict]:
    """(shape NP values, process scales) from this config's priors: every shape NP at nominal + σ·N(0, 1) (a
    one-sided NP's sample depends on |value|, as its histosys), every normalisation NP N(0, 1) in σ units
    (:func:`normsys_factor`), the luminosity N(1, lumi_sigma) within the workspace's bounds (1 ± 5 lumi_sigma)."""
    shape = {np_.name: float(np_.at(rng.standard_normal())) for np_ in cfg.shape_nps}
    scale = dict.fromkeys(cfg.processes, 1.0)
    for norm in cfg.norm_nps:
        factor = normsys_factor(norm.sigma, float(rng.standard_normal()))
        for p in norm.processes:
            scale[p] *= factor
    if cfg.lumi_sigma:
        s = cfg.lumi_sigma
        lumi = float(np.clip(rng.normal(1.0, s), max(1e-6, 1.0 - 5.0 * s), 1.0 + 5.0 * s))
        scale = {p: f * lumi for p, f in scale.items()}
    return shape, scale


def protocol_seed(cfg: Config) -> int:
    """The protocol's seed: one stream for every method and replica, so all are evaluated on the same PEs."""
    return cfg.seed_stream("fair_protocol")


def set_mus(settings: Settings, seed: int) -> np.ndarray:
    """μ_true of every set from U(``settings.mu_range``) (the challenge: U(0.1, 3)), stratified: set k uniform in the
    k-th of ``sets`` equal slices of the range, so a set taken at random is U(range) and the few sets span it (4
    independent draws of the default seed all fell in [2.39, 2.75])."""
    lo, hi = settings.mu_range
    width = (hi - lo) / settings.sets
    u = np.random.default_rng([int(seed), 0]).uniform(0.0, 1.0, settings.sets)
    return lo + width * (np.arange(settings.sets) + u)


def pseudo_experiments(cfg: Config, settings: Settings, prior: str, seed: int) -> list[PseudoExperiment]:
    """Every PE of one prior setting, set by set; PE (s, j) draws its NPs from ``default_rng([seed, 1, s, j])``
    (the same in both settings: the draws differ by the prior only) and its events from ``[seed, 2, s, j]``."""
    if prior not in PRIORS:
        raise ValueError(f"unknown prior setting {prior!r}; known: {list(PRIORS)}")
    out = []
    for s, mu in enumerate(set_mus(settings, seed)):
        for j in range(settings.pseudo_experiments):
            rng = np.random.default_rng([int(seed), 1, s, j])
            shape, scale = (challenge_draw(rng, cfg.processes, cfg.signal) if prior == "challenge"
                            else systlab_draw(rng, cfg))  # fmt: skip
            out.append(PseudoExperiment(s, j, float(mu), shape, scale, (int(seed), 2, s, j)))
    return out


def shifts_in_sigma(cfg: Config, shape: Mapping[str, float]) -> dict[str, float]:
    """A PE's shape NP values in σ units of this config, (value − nominal)/σ (soft MET: its width |value|/σ)."""
    out = {}
    for np_ in cfg.shape_nps:
        if np_.name in shape:
            value = abs(shape[np_.name]) if np_.one_sided else shape[np_.name]
            out[np_.name] = (value - np_.nominal) / np_.sigma
    return out


# ---- held-out events and the pseudo-data -----------------------------------------------------------------------
class HeldOut(NamedTuple):
    """The toy-split canonical events of every process, one after another, with their split-scaled weights (the
    expected yield); the events' ``event_id`` replaced by their row (ids repeat across processes), ``event_id`` the
    real ones."""

    process: np.ndarray  # str per event
    signal: np.ndarray  # bool per event
    events: Any  # ak.Array of the canonical tables' rows
    event_id: np.ndarray
    weight: np.ndarray


def held_out_events(cfg: Config, canonical: Mapping[str, str | os.PathLike]) -> HeldOut:
    """The held-out events of every process (``canonical``: process -> results/events/<process>.parquet, processes
    sorted), split and weighted as the samples are (:func:`systlab.samples.vary.event_bookkeeping`, the config's
    seed)."""
    import awkward as ak

    from systlab.events import SPLITS
    from systlab.samples.vary import event_bookkeeping

    parts = []
    for process in sorted(canonical):
        events = ak.from_parquet(canonical[process])
        event_id = ak.to_numpy(events.event_id).astype(np.uint64)
        books = event_bookkeeping(event_id, ak.to_numpy(events.weight), cfg.seed, cfg.splits)
        toy = np.flatnonzero(books.split == SPLITS["toy"])
        if not toy.size:
            raise ValueError(f"{canonical[process]}: no event in the toy split (splits.toy)")
        parts.append((process, events[toy], event_id[toy], books.weight[toy]))
    process = np.concatenate([np.full(len(e), p, dtype=object) for p, e, _, _ in parts])
    events = ak.concatenate([e for _, e, _, _ in parts])
    events = ak.with_field(events, np.arange(len(events), dtype=np.uint64), "event_id")
    return HeldOut(process, process == cfg.signal, events, np.concatenate([i for _, _, i, _ in parts]),
                   np.concatenate([w for _, _, _, w in parts]))  # fmt: skip


def bootstrap_multiplicities(weight: np.ndarray, scale: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The challenge's bootstrap (``get_bootstrapped_dataset``): each event occurs Poisson(scale · w_i) times."""
    return rng.poisson(np.clip(scale * np.asarray(weight, dtype=float), 0.0, None))


def pe_events(held: HeldOut, pe: PseudoExperiment) -> pd.DataFrame:
    """The events of one PE: the bootstrapped events (``multiplicity`` > 0) of every process, their primary objects
    moved by the PE's shape NPs, features recomputed and thresholds applied (:func:`systlab.samples.vary.
    apply_variation`, once for every process: its cost is mostly per call; soft-MET noise drawn afresh per PE, as
    the challenge does), with columns ``process``, ``event_id`` and ``multiplicity``."""
    from systlab.samples.vary import PerEventVariation, apply_variation

    rng = np.random.default_rng(list(pe.stream))
    scale = np.array([pe.scale[p] for p in held.process]) * np.where(held.signal, pe.mu, 1.0)
    n = bootstrap_multiplicities(held.weight, scale, rng)
    chosen = np.flatnonzero(n)
    if not chosen.size:
        raise ValueError(f"pseudo-experiment {pe.set_index}/{pe.index}: no event drawn")
    table = apply_variation(held.events[chosen], PerEventVariation("fair_pe", dict(pe.shape)),
                            rng.standard_normal((chosen.size, 2)))  # fmt: skip
    row = table["event_id"].to_numpy().astype(np.int64)  # the held-out row (see HeldOut)
    return table.assign(event_id=held.event_id[row], process=held.process[row], multiplicity=n[row].astype(float))


# ---- one replica ---------------------------------------------------------------------------------------------
class Binning(NamedTuple):
    """How a replica turns a PE's events into counts: its scorer, and per grid point (one for a fixed classifier)
    the model parameter values and the score bin edges."""

    scorer: Any  # systlab.methods.onnx_io.OnnxScorer
    parameters: tuple[dict[str, float], ...]
    edges: tuple[np.ndarray, ...]

    def observe(self, table: pd.DataFrame) -> list[np.ndarray]:
        return pe_counts(self, table)


class Tabulating(NamedTuple):
    """How an unbinned replica observes a PE: its events' tables (the learned outputs as its event sets were
    tabulated, :class:`systlab.likelihood.unbinned_inputs.Tabulation`) and multiplicities; no binning."""

    tables_of: Any  # raw feature rows -> EventTables (systlab.likelihood.unbinned_inputs.onnx_tables)
    features: tuple[str, ...]
    tabulation: Any

    def observe(self, table: pd.DataFrame) -> tuple[Any, np.ndarray]:
        tables = self.tables_of(table[list(self.features)].to_numpy(np.float32))
        return self.tabulation.tables(tables), table["multiplicity"].to_numpy(dtype=float)


def pe_counts(binning: Binning, table: pd.DataFrame) -> list[np.ndarray]:
    """The PE's counts at every point of ``binning``: the same events (weighted by multiplicity) scored with f(x; α_k)
    and binned with that point's edges (:func:`systlab.infer.event_toys.binned`)."""
    from systlab.infer.event_toys import binned

    out = []
    for parameters, edges in zip(binning.parameters, binning.edges, strict=True):
        scores = binning.scorer.score_table(table.assign(**{k: np.float32(v) for k, v in parameters.items()}))
        out.append(binned(scores, table["multiplicity"].to_numpy(), edges))
    return out


class ProtocolResult(NamedTuple):
    """One prior setting's PEs of one replica: the PEs, their fits and the seconds spent building and fitting (the
    building shared by every replica of the job)."""

    pes: list[PseudoExperiment]
    fits: ToyChunk
    seconds_build: float
    seconds_fit: float


def run_protocol(cfg: Config, settings: Settings, replicas: Sequence[tuple[Any, Any]], held: HeldOut,
                 prior: str, seed: int) -> list[ProtocolResult]:  # fmt: skip
    """Build every PE of ``prior`` once, observe it with each replica's observer (:class:`Binning`: the counts per
    binning point; :class:`Tabulating`: the events' tables) and fit each replica's PEs all at once with its
    ``fit(observed, mus)`` -> one result per replica."""
    pes = pseudo_experiments(cfg, settings, prior, seed)
    t0 = time.perf_counter()
    observed: list[list[Any]] = [[] for _ in replicas]  # per replica, per PE: its observer's observation
    for pe in pes:
        table = pe_events(held, pe)
        for counts, (observer, _) in zip(observed, replicas, strict=True):
            counts.append(observer.observe(table))
    built = time.perf_counter() - t0
    mus = np.array([pe.mu for pe in pes])
    out = []
    for counts, (_, fit) in zip(observed, replicas, strict=True):
        t1 = time.perf_counter()
        fits = fit(counts, mus)
        out.append(ProtocolResult(pes, fits, built, time.perf_counter() - t1))
        log.info("%s prior: %d PEs, %.3f s/PE building (all replicas), %.3f s/PE fitting, %d refitted one by one",
                 prior, len(pes), built / len(pes), out[-1].seconds_fit / len(pes), fits.n_fallback)  # fmt: skip
    return out


def fixed_fitter(spec: dict, mu_range: tuple[float, float], seed: int, warm_mu: float):
    """``fit(observed, mus)`` of a fixed classifier: its workspace, the batched engine on the observed counts
    (:func:`systlab.infer.toys.run_toys` with ``observed``), warm-started from the model's expectation at
    ``warm_mu``."""
    from systlab.infer.toys import model_expectation, run_toys

    expected = model_expectation(spec, warm_mu)

    def fit(observed: Sequence[list[np.ndarray]], mus: np.ndarray) -> ToyChunk:
        counts = np.array([o[0] for o in observed], dtype=float)
        return run_toys(spec, expected, mus, 0, len(mus), seed, mu_range, progress_every=0, observed=counts)

    return fit


def grid_fitter(grid, events, mu_range: tuple[float, float], seed: int, morph):
    """``fit(observed, mus)`` of a parameterized classifier: its grid likelihood (:func:`run_grid_toys` with
    ``observed``), warm-started from ``events`` (its nominal held-out events) at the mean true μ."""
    from systlab.infer.grid_fit import TOY_INTERPOLATION, run_grid_toys

    def fit(observed: Sequence[list[np.ndarray]], mus: np.ndarray) -> ToyChunk:
        return run_grid_toys(grid, events, mus, 0, len(mus), seed, mu_range, TOY_INTERPOLATION, progress_every=0,
                             morph=morph, observed=observed)  # fmt: skip

    return fit


def unbinned_fitter(model, seed: int):
    """``fit(observed, mus)`` of an unbinned model: every PE's (tables, multiplicities) as one batch of datasets
    (:func:`systlab.infer.unbinned.fit_unbinned_datasets`)."""
    from systlab.infer.unbinned import fit_unbinned_datasets
    from systlab.likelihood.unbinned import EventTables, UnbinnedData

    def fit(observed: Sequence[tuple[Any, np.ndarray]], mus: np.ndarray) -> ToyChunk:
        t0 = time.perf_counter()
        tables = EventTables(*(np.concatenate([getattr(t, f) for t, _ in observed]) for f in EventTables._fields))
        weights = np.concatenate([m for _, m in observed])
        offsets = np.concatenate([[0], np.cumsum([len(m) for _, m in observed])])
        aux = np.broadcast_to(model.auxdata, (len(observed), model.npars - 1)).copy()
        return fit_unbinned_datasets(model, UnbinnedData(tables, weights, offsets, aux), mus, 0, seed, t0)

    return fit


def replica_binning_and_fit(cfg: Config, model: str, inputs: Mapping[str, Any], seed: int) -> tuple[Any, Any, str]:
    """(observer, fit, kind) of one replica from its ONNX ``model`` and likelihood inputs (those of
    :mod:`systlab.infer.pipeline`: a fixed classifier's ``workspace`` and ``templates``, a parameterized one's
    ``workspaces`` and per-point ``scores``, an unbinned one's ``tables`` and ``unbinned`` model; the route is the
    pipeline's)."""
    from systlab.infer.pipeline import is_parameterized, is_unbinned, read_grid
    from systlab.methods.onnx_io import OnnxScorer

    scorer = OnnxScorer(inputs["model"])
    if is_unbinned(cfg, model):
        from systlab.infer.pipeline import read_unbinned
        from systlab.infer.unbinned import with_mu_range
        from systlab.likelihood.unbinned_inputs import onnx_tables

        unbinned = read_unbinned(inputs)
        if unbinned.tabulation is None:
            raise ValueError(f"{inputs['unbinned']}: no tabulation (written before 2026-12-07): rerun unbinned_inputs")
        fitted = with_mu_range(unbinned.model, cfg.mu_range)
        observer = Tabulating(onnx_tables(scorer)[0], tuple(scorer.features), unbinned.tabulation)
        return observer, unbinned_fitter(fitted, seed), "unbinned"
    if not is_parameterized(cfg, model):
        from systlab.likelihood.workspace import read_workspace
        from systlab.templates.histograms import read_templates

        spec, edges = read_workspace(inputs["workspace"]), read_templates(inputs["templates"]).edges
        warm_mu = float(np.mean(cfg.fair_protocol.mu_range))
        return Binning(scorer, ({},), (np.asarray(edges, dtype=float),)), fixed_fitter(spec, cfg.mu_range, seed,
                                                                                         warm_mu), "fixed"  # fmt: skip
    from systlab.infer.event_toys import truth_events
    from systlab.likelihood.grid_inputs import grid_morph
    from systlab.templates.histograms import NOMINAL

    grid, per_point = read_grid(inputs)
    parameter = f"alpha_{grid.np_name}"
    binning = Binning(scorer, tuple({parameter: float(a)} for a in grid.alphas), tuple(grid.edges))
    events = truth_events(per_point, NOMINAL, [cfg.signal], split="toy")
    return binning, grid_fitter(grid, events, cfg.mu_range, seed, grid_morph(cfg, grid.np_name)), "grid"


def split_inputs(named: Mapping[str, Any]) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Rule fair_protocol's named inputs -> (``events``, {replica: its inputs}): every key but ``events`` is
    ``<replica>_<input>`` (``r0_model``, ``r0_workspace``, ``r1_scores`` …; replica names hold no underscore)."""
    replicas: dict[str, dict[str, Any]] = {}
    for key, value in named.items():
        if key != "events":
            replica, _, name = key.partition("_")
            replicas.setdefault(replica, {})[name] = value
    return named["events"], replicas


def evaluate_method(cfg: Config, model: str, events: Sequence[str | os.PathLike],
                    replicas: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:  # fmt: skip
    """Every replica of one model on the same PEs, each built once -> {replica: the payload of
    results/fair_protocol/<model>/<replica>.json}.

    ``events``: every process's canonical events (results/events/<process>.parquet); ``replicas``: per replica its
    ONNX ``model`` and likelihood inputs (:func:`replica_binning_and_fit`)."""
    from pathlib import Path

    settings, seed = cfg.fair_protocol, protocol_seed(cfg)
    held = held_out_events(cfg, {Path(p).stem: p for p in events})
    names = list(replicas)
    prepared = [replica_binning_and_fit(cfg, model, replicas[r], seed) for r in names]
    results = {prior: run_protocol(cfg, settings, [(b, f) for b, f, _ in prepared], held, prior, seed)
               for prior in settings.priors}  # fmt: skip
    return {r: {"format": FORMAT, "kind": kind, "seed": seed, "settings": settings._asdict(),
                "priors": {prior: prior_payload(cfg, results[prior][i]) for prior in settings.priors}}
            for i, (r, (_, _, kind)) in enumerate(zip(names, prepared, strict=True))}  # fmt: skip


def _number(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def prior_payload(cfg: Config, result: ProtocolResult) -> dict:
    """One prior setting's JSON: coverage, mean width and score of the converged PEs (``fair_score``), and every PE
    (set, μ_true, μ̂, p16, p84, converged, open: an end at the edge of ``fit.mu_range``, the shape NPs' values and
    shifts in σ units, process scales). No wall time (the log has it): results are byte-reproducible."""
    pes, fits = result.pes, result.fits
    ok = fits.converged & np.isfinite(fits.lo) & np.isfinite(fits.hi)
    width, coverage, score = fair_score(fits.mu_true[ok], fits.lo[ok], fits.hi[ok]) if ok.any() else (None,) * 3
    shifts = [shifts_in_sigma(cfg, pe.shape) for pe in pes]
    n = len(pes)
    return {
        "n": n, "n_used": int(ok.sum()), "n_failed": int((~ok).sum()), "n_fallback": int(fits.n_fallback),
        "n_open": int((ok & (fits.open_lo | fits.open_hi)).sum()),
        "coverage": coverage, "mean_width": width, "score": score,
        "pseudo_experiments": {
            "set": [pe.set_index for pe in pes], "index": [pe.index for pe in pes],
            "mu_true": [pe.mu for pe in pes], "mu_hat": [_number(x) for x in fits.mu_hat],
            "p16": [_number(x) for x in fits.lo], "p84": [_number(x) for x in fits.hi],
            "converged": [bool(x) for x in ok],
            "open": [bool(a or b) for a, b in zip(fits.open_lo, fits.open_hi, strict=True)],
            "shape_values": {k: [pe.shape.get(k) for pe in pes] for k in pes[0].shape},
            "shifts_sigma": {k: [s.get(k) for s in shifts] for k in shifts[0]},
            "scale": {p: [pe.scale[p] for pe in pes] for p in pes[0].scale},
        },
    }  # fmt: skip
