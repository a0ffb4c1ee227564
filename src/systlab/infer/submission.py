"""A trained systlab method replica as a FAIR-Universe challenge submission (HiggsML 0.1.5's ``Model`` interface).

The challenge's ingestion (``HiggsML.ingestion.Ingestion``) builds ``Model(get_train_set=..., systematics=...,
model_type=...)``, calls ``fit()`` once, then ``predict(test_set)`` on every pseudo-experiment: unweighted events in
the challenge's columns, its systematics already applied (HiggsML 0.1.5 passes ``{"data": DataFrame, "weights":
ones}``; a DataFrame is taken too); ``predict`` returns ``mu_hat``, ``delta_mu_hat``, ``p16``, ``p84``.
:func:`submission_model` binds a finished run's replica to such a class::

    from systlab.infer.submission import submission_model
    Model = submission_model("results", "baseline", "r0", config=["config/config.yaml", "config/tiny.yaml"])

``fit()`` loads what the run made (the ONNX model, the binning, the likelihood: the workspace of a fixed classifier,
the grid workspaces of a parameterized one); it does not retrain (``get_train_set`` is never called).
``predict`` maps the columns to systlab's features (:func:`event_features`), applies systlab's τ and lepton
thresholds, scores with the ONNX model (at every grid point α_k for a parameterized one), bins with the replica's
edges (each event weight 1) and fits through the code of the method's other results: ``fit_dataset`` on the
workspace, ``grid_fit`` on the grid; p16/p84 are the 68 % profile interval's ends, ``delta_mu_hat`` half its width.

Units: the workspace predicts counts at the run's luminosity. A dataset that systlab wrote in the challenge layout
(rule ``fair_dataset``) carries the run's weights, so the challenge's pseudo-experiments have the counts the
workspace expects; data of another luminosity (e.g. the challenge's own) would bias μ̂ by the ratio, so ``predict``
warns (:class:`LuminosityWarning`) when a test set's count is outside what any μ in ``fit.mu_range`` explains.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from systlab.config import Config, load_config_files
from systlab.events import FEATURES, SENTINEL
from systlab.infer.fair_protocol import Binning, pe_counts
from systlab.infer.fit import FitResult, fit_dataset
from systlab.infer.toys import model_expectation
from systlab.likelihood.grid_points import parameterized_np
from systlab.methods.onnx_io import MissingFeatureError, OnnxScorer
from systlab.samples.fair import CHALLENGE_NAMES, JET_LISTS, UNDEFINED
from systlab.samples.features import compute_features
from systlab.samples.simulate import LEP_PT_CUT, TAU_PT_CUT

log = logging.getLogger(__name__)

#: The dataset name of a submission's fits (FitResult.dataset).
DATASET = "fair_submission"
#: The challenge's columns of the objects, by the argument of :func:`systlab.samples.features.compute_features`.
OBJECTS = {
    "tau_pt": "PRI_tau_pt", "tau_eta": "PRI_tau_eta", "tau_phi": "PRI_tau_phi",
    "lep_pt": "PRI_lep_pt", "lep_eta": "PRI_lep_eta", "lep_phi": "PRI_lep_phi",
}  # fmt: skip
#: A count further than this many Poisson standard deviations outside the fit range's expectation is warned about.
COUNT_SIGMAS = 5.0
#: Environment variables read by :class:`Model` (the class a ``model.py`` can import as it is).
ENVIRONMENT = ("SYSTLAB_RESULTS", "SYSTLAB_METHOD", "SYSTLAB_REPLICA", "SYSTLAB_CONFIG")


class LuminosityWarning(UserWarning):
    """A test set's event count is far from what the workspace (the run's luminosity) expects at any fitted μ."""


def _column(test_set, name: str, source: str) -> np.ndarray:
    if name not in test_set:
        raise MissingFeatureError(f"{source}: column '{name}' missing (a FAIR-Universe test set has the challenge's "
                                  "PRI_*/DER_* columns, as HiggsML.systematics writes them)")  # fmt: skip
    return np.asarray(test_set[name], dtype=np.float64)


def event_features(test_set, features: Sequence[str], source: str = "test set") -> dict[str, np.ndarray]:
    """systlab's ``features`` of a challenge table's events: each from its challenge column
    (:data:`systlab.samples.fair.CHALLENGE_NAMES`; the challenge's undefined −25 as systlab's −999, ``PRI_n_jets``
    capped at 3 as ``PRI_jet_num``), a feature the challenge lacks (``DER_mass_MMC``) recomputed from the objects by
    :func:`systlab.samples.features.compute_features`. The challenge's ``PRI_jet_all_pt`` and what uses it count
    every jet, as systlab's do, so they are taken as given. MissingFeatureError names a missing column."""
    out: dict[str, np.ndarray] = {}
    for feature in features:
        if feature not in CHALLENGE_NAMES:
            continue
        values = _column(test_set, CHALLENGE_NAMES[feature], source)
        if feature == "PRI_jet_num":
            out[feature] = np.minimum(values, 3.0)
        else:
            out[feature] = np.where(values == UNDEFINED, SENTINEL, values)
    missing = [f for f in features if f not in out]
    if missing:
        unknown = [f for f in missing if f not in FEATURES]
        if unknown:
            raise MissingFeatureError(f"{source}: feature(s) {unknown} are not systlab features")
        recomputed = object_features(test_set, source)
        out.update({f: recomputed[f] for f in missing})
    return {f: out[f] for f in features}


def object_features(test_set, source: str = "test set") -> dict[str, np.ndarray]:
    """Every systlab feature recomputed from a challenge table's objects (τ, lepton, MET, the leading and
    subleading jet: all the challenge keeps), as the ``format: fair`` reader's events get them."""
    from systlab.samples.ingest.fair import VIRTUAL, jet_list

    objects = {arg: _column(test_set, CHALLENGE_NAMES[f], source) for arg, f in OBJECTS.items()}
    met = _column(test_set, CHALLENGE_NAMES["PRI_met"], source)
    met_phi = _column(test_set, CHALLENGE_NAMES["PRI_met_phi"], source)
    jet_columns = dict.fromkeys(name for names in VIRTUAL.values() for name in names)
    columns = {name: _column(test_set, name, source) for name in jet_columns}
    jets = {name: jet_list(columns, source_name, source) for name, source_name in JET_LISTS.items()}
    return compute_features(**objects, met_x=met * np.cos(met_phi), met_y=met * np.sin(met_phi), **jets)


def passes_thresholds(test_set, source: str = "test set") -> np.ndarray:
    """systlab's τ and lepton thresholds (pT > 26, > 20 GeV; the challenge keeps pT ≥ 26, ≥ 20)."""
    tau = _column(test_set, CHALLENGE_NAMES["PRI_tau_pt"], source)
    lep = _column(test_set, CHALLENGE_NAMES["PRI_lep_pt"], source)
    return (tau > TAU_PT_CUT) & (lep > LEP_PT_CUT)


def challenge_events(test_set, source: str = "test set") -> tuple[Any, np.ndarray]:
    """(the events' table, their weights) of a test set as the challenge passes it: HiggsML 0.1.5's ingestion gives
    ``{"data": DataFrame, "weights": ones}`` (what ``systematics`` returns for a dict); a DataFrame is taken too. A
    ``weights`` entry or column weights the events (1 in the challenge's pseudo-experiments; e.g. an Asimov set)."""
    if isinstance(test_set, Mapping) and "data" in test_set:
        table, weights = test_set["data"], test_set.get("weights")
    else:
        table = test_set
        weights = test_set["weights"] if "weights" in test_set else None
    n = len(table)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all():
        raise ValueError(f"{source}: 'weights' must be {n} finite numbers, one per event")
    return table, weights


class ReplicaFiles(NamedTuple):
    """What a run made for one method replica that a submission reads (``likelihood``: the workspace of a fixed
    classifier or the grid workspaces of a parameterized one; ``templates`` holds a fixed classifier's edges)."""

    onnx: Path
    likelihood: Path
    templates: Path | None


def replica_files(results: str | os.PathLike, method: str, replica: str, parameterized: bool) -> ReplicaFiles:
    """The run's files of ``method``/``replica`` under ``results`` (the workflow's layout); FileNotFoundError naming
    every missing one."""
    results = Path(results)
    onnx = results / "models" / method / replica / "model.onnx"
    if parameterized:
        files = ReplicaFiles(onnx, results / "grid" / method / replica / "workspaces.json", None)
    else:
        files = ReplicaFiles(onnx, results / "workspaces" / method / f"{replica}.json",
                             results / "templates" / method / f"{replica}.json")  # fmt: skip
    missing = [str(p) for p in files if p is not None and not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{results}: {method}/{replica} not finished there: missing {', '.join(missing)} "
                                "(the workflow makes them: snakemake <that file>)")  # fmt: skip
    return files


def count_check(n: float, background: float, signal: float, mu_range: tuple[float, float]) -> str | None:
    """None if ``n`` events are within :data:`COUNT_SIGMAS` Poisson standard deviations of the expectation
    B + μS for some μ in ``mu_range``; else what is wrong (the ratio to B + S: the luminosity the data look like
    in units of the run's, if μ is near 1)."""
    low, high = (background + mu * signal for mu in mu_range)
    slack = COUNT_SIGMAS * np.sqrt(max(n, 1.0))
    if low - slack <= n <= high + slack:
        return None
    ratio = n / (background + signal)
    return (f"{n:.0f} events after systlab's selection, but the workspace expects {low:.0f} to {high:.0f} for mu in "
            f"{list(mu_range)} (B = {background:.1f}, S = {signal:.1f}): the data look like {ratio:.3g}"
            " times the run's luminosity; mu_hat scales with that ratio (write the data with systlab's weights, "
            "rule fair_dataset, or build the workspace at the data's luminosity)")  # fmt: skip


def as_config(config: Config | str | os.PathLike | Sequence[str | os.PathLike]) -> Config:
    """A Config as given, or loaded from one YAML file or several (base first, overlays after: as Snakemake
    reads ``config/config.yaml`` then each ``--configfile``)."""
    if isinstance(config, Config):
        return config
    paths = [config] if isinstance(config, (str, os.PathLike)) else list(config)
    return load_config_files(*paths)


class Submission:
    """A systlab method replica with the challenge's ``Model`` interface: ``fit()`` loads it, ``predict(test_set)``
    fits μ on one pseudo-experiment. Where the run is comes from the keywords, or from the class attributes that
    :func:`submission_model` binds (the challenge constructs the class with its own arguments only)."""

    results: str | os.PathLike | None = None
    method: str | None = None
    replica: str | None = None
    config: Any = None

    def __init__(self, get_train_set=None, systematics=None, model_type: str = "sample_model", *, results=None,
                 method: str | None = None, replica: str | None = None, config=None) -> None:  # fmt: skip
        self.get_train_set, self.systematics, self.model_type = get_train_set, systematics, model_type
        for name, value in (("results", results), ("method", method), ("replica", replica), ("config", config)):
            if value is not None:
                setattr(self, name, value)
        unset = [n for n in ("results", "method", "replica", "config") if getattr(self, n) is None]
        if unset:
            raise ValueError(f"systlab submission: {', '.join(unset)} not set (use submission_model(results, "
                             f"method, replica, config) or the environment variables {', '.join(ENVIRONMENT)})")
        self.cfg: Config | None = None

    # ---- loading -------------------------------------------------------------------------------------------------
    def fit(self) -> None:
        """Load the replica (ONNX model, binning, likelihood) and the run's config; no training."""
        from systlab.likelihood.grid_inputs import read_grid_workspaces
        from systlab.likelihood.workspace import read_workspace
        from systlab.templates.histograms import read_templates

        self.cfg = as_config(self.config)
        self.np_name = parameterized_np(self.cfg, self.method)
        files = replica_files(self.results, self.method, self.replica, self.np_name is not None)
        self.scorer = OnnxScorer(files.onnx)
        self.event_inputs = [f for f in self.scorer.features if f not in self.scorer.parameters]
        if self.np_name is None:
            self.grid = None
            self.spec = read_workspace(files.likelihood)
            self.binning = Binning(self.scorer, ({},), (np.asarray(read_templates(files.templates).edges, float),))
            self.nominal_index, nominal = 0, self.spec
        else:
            self.grid = read_grid_workspaces(files.likelihood)
            parameter = f"alpha_{self.grid.np_name}"
            if self.scorer.parameters != (parameter,):
                raise ValueError(f"{files.onnx}: parameter inputs {self.scorer.parameters}, the grid of "
                                 f"{files.likelihood} needs ({parameter!r},)")  # fmt: skip
            self.binning = Binning(self.scorer, tuple({parameter: float(a)} for a in self.grid.alphas),
                                   tuple(self.grid.edges))  # fmt: skip
            self.nominal_index = int(np.argmin(np.abs(self.grid.alphas)))  # the count check's binning and workspace
            nominal = self.grid.specs[self.nominal_index]
        background = float(model_expectation(nominal, mu=0.0).sum())
        self.expected = (background, float(model_expectation(nominal, mu=1.0).sum()) - background)
        log.info("systlab submission %s/%s from %s: %s, expected B = %.1f, S = %.1f events", self.method,
                 self.replica, self.results, "grid over " + self.np_name if self.grid else "workspace",
                 *self.expected)  # fmt: skip

    # ---- one pseudo-experiment -----------------------------------------------------------------------------------
    def observed(self, test_set, source: str = "test set") -> list[np.ndarray]:
        """The binned counts of a test set's events passing systlab's thresholds: one array (a fixed classifier)
        or one per grid point α_k (scored with f(x; α_k), binned with that point's edges). Each event
        weighs its ``weights`` (:func:`challenge_events`: 1 in the challenge's pseudo-experiments)."""
        if self.cfg is None:
            raise RuntimeError("systlab submission: call fit() before predict()")
        test_set, weights = challenge_events(test_set, source)
        keep = passes_thresholds(test_set, source)
        features = event_features(test_set, self.event_inputs, source)
        events = pd.DataFrame({f: v[keep] for f, v in features.items()}).assign(multiplicity=weights[keep])
        return pe_counts(self.binning, events)  # scored at every grid point and binned as the FAIR protocol's

    def fit_counts(self, observed: Sequence[np.ndarray]) -> FitResult:
        """μ̂ and the 68 % interval of binned counts (:meth:`observed`): ``fit_dataset`` on the workspace, or
        ``grid_fit`` on the grid, with the run's ``fit`` settings, as the method's other fits."""
        cfg = self.cfg
        if self.grid is None:
            (counts,) = observed
            return fit_dataset(self.spec, counts, cfg.mu_range, cfg.scan_points, DATASET)
        from systlab.infer.grid_fit import grid_fit

        result, _ = grid_fit(cfg, self.grid, observed, DATASET, cfg.grid_interpolation, surface=False)
        return result

    def predict(self, test_set) -> dict[str, float]:
        """One pseudo-experiment -> the challenge's ``mu_hat``, ``delta_mu_hat``, ``p16``, ``p84``."""
        observed = self.observed(test_set)
        problem = count_check(float(observed[self.nominal_index].sum()), *self.expected, self.cfg.mu_range)
        if problem is not None:
            warnings.warn(f"systlab submission {self.method}/{self.replica}: {problem}", LuminosityWarning,
                          stacklevel=2)  # fmt: skip
        result = self.fit_counts(observed)
        p16, p84 = result.interval_68
        if not result.converged or any(result.interval_open):
            log.warning("systlab submission %s/%s: fit %s%s", self.method, self.replica,
                        "" if result.converged else "not converged; ", "; ".join(result.notes))  # fmt: skip
        return {"mu_hat": float(result.mu_hat), "delta_mu_hat": 0.5 * (p84 - p16), "p16": float(p16),
                "p84": float(p84)}  # fmt: skip


def submission_model(results: str | os.PathLike, method: str, replica: str,
                     config: Config | str | os.PathLike | Sequence[str | os.PathLike]) -> type[Submission]:  # fmt: skip
    """The class the challenge's ingestion instantiates, bound to ``method``/``replica`` of the run whose outputs
    are in ``results`` and whose ``config`` (a Config, or its YAML files, base first) made them."""
    bound: Mapping[str, Any] = {"results": results, "method": method, "replica": replica, "config": config}
    return type("Model", (Submission,), {**bound, "__doc__": f"systlab {method}/{replica} of {results}"})


class Model(Submission):
    """:class:`Submission` located by the environment (``SYSTLAB_RESULTS``, ``SYSTLAB_METHOD``, ``SYSTLAB_REPLICA``,
    ``SYSTLAB_CONFIG``: YAML files joined by ``os.pathsep``), for a ``model.py`` that only imports it."""

    def __init__(self, get_train_set=None, systematics=None, model_type: str = "sample_model", **where) -> None:
        env = {key.removeprefix("SYSTLAB_").lower(): os.environ.get(key) for key in ENVIRONMENT}
        if env["config"]:
            env["config"] = env["config"].split(os.pathsep)
        super().__init__(get_train_set, systematics, model_type, **{**env, **where})
