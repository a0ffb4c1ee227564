"""The grid construction for a fixed classifier: a cross-check of pyhf's histosys interpolation in an NP.

A fixed classifier's workspace knows the parameterized NP (TES) only through its ±1σ templates,
interpolated in between (pyhf's code 4p in systlab's fits) and extrapolated linearly beyond. Its templates also hold
the samples simulated at every point α_k of the NP's grid. Here each α_k gets a full workspace built
from those samples (the other shape NPs' shifts added to it and nominal's MC errors, exactly as for the
parameterized classifier, :func:`systlab.likelihood.grid_inputs.point_histogram`), the observed counts are the same
at every point (the observable does not move), and α is profiled across the grid with its prior
(:func:`systlab.infer.grid_profile.grid_profile`).

Both constructions are fitted here with the same histosys interpolation, :data:`CHECK_CODE` (code 0: piecewise linear,
as the grid is between its points; pyhf has one code per modifier type, so JES and soft MET take it too). With the
grid's points at −1, 0, +1σ the two are then the same model and must agree; with more points, a difference is the
simulated shape between or beyond ±1σ that the ±1σ templates miss. The fits rule's own result (code 4p: a polynomial
inside ±1σ) is reported beside them as ``default_*``: its ratio to the code-0 fit is the interpolation's effect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from systlab.atomic import write_json
from systlab.config import Config
from systlab.infer.fit import asimov_counts, fit_dataset, json_float
from systlab.infer.grid_profile import GridProfile, grid_profile
from systlab.infer.toys import toy_expectation
from systlab.likelihood.grid_inputs import (
    GridPoint,
    grid_morph,
    grid_neighbours,
    grid_points,
    other_shape_nps,
    point_histogram,
    point_workspace,
)
from systlab.likelihood.workspace import MODIFIER_SETTINGS
from systlab.templates.histograms import Templates

FORMAT = "systlab.histosys_check/2"
#: The histosys interpolation of both constructions in the check: piecewise linear, as the grid between its points.
CHECK_CODE = "code0"


class DatasetCheck(NamedTuple):
    """One dataset fitted both ways with :data:`CHECK_CODE`: μ̂ and 68% interval of the histosys workspace and of the
    grid; and the fits rule's result for the same dataset (``default_*``: systlab's histosys code 4p)."""

    dataset: str
    histosys_mu_hat: float
    histosys_interval: tuple[float, float]
    histosys_alpha: float  # the NP's post-fit value in the histosys fit (σ units)
    grid_mu_hat: float
    grid_interval: tuple[float, float]
    grid_alpha: float
    half_grid_width: float  # the grid profile from every second point: the spacing effect
    converged: bool
    default_mu_hat: float
    default_interval: tuple[float, float]


def fixed_point_templates(templates: Templates, point: GridPoint, shape_nps: Mapping[str, bool], np_name: str,
                          neighbours: tuple[GridPoint | None, GridPoint | None]) -> Templates:  # fmt: skip
    """Template-split histograms of a fixed classifier at α_k (the classifier's own edges): the grid point's
    workspace input as for the parameterized classifier (:func:`systlab.likelihood.grid_inputs.point_histogram`)."""
    out = point_histogram(templates.splits["template"], point, neighbours, np_name, shape_nps, templates.signal)
    return Templates(edges=np.asarray(templates.edges, dtype=float), splits={"template": out}, signal=templates.signal)


def grid_specs(cfg: Config, templates: Templates, np_name: str) -> tuple[np.ndarray, list[dict]]:
    """(α_k, workspace at each α_k) of a fixed classifier: the histosys of ``np_name`` replaced by the grid."""
    points = grid_points(cfg, np_name)
    shape_nps = other_shape_nps(cfg, np_name)
    specs = [point_workspace(fixed_point_templates(templates, p, shape_nps, np_name, grid_neighbours(points, k)), cfg,
                             np_name, p.alpha) for k, p in enumerate(points)]  # fmt: skip
    return np.array([p.alpha for p in points]), specs


def dataset_counts(cfg: Config, templates: Templates, workspace_spec: dict, dataset: str) -> np.ndarray:
    """The counts of ``asimov`` (the histosys workspace's) or ``expected_<truth>`` (toy-split expectation)."""
    if dataset == "asimov":
        return asimov_counts(workspace_spec)
    kind, _, name = dataset.partition("_")
    truth = next((t for t in cfg.truths if t.name == name), None)
    if kind != "expected" or truth is None:
        raise ValueError(f"histosys check: dataset {dataset!r} is not asimov or expected_<truth>")
    return toy_expectation(templates, f"truth_{name}", mu=truth.mu, signal=cfg.signal)


def check_dataset(
    cfg: Config, alphas: np.ndarray, specs: Sequence[dict], observed: np.ndarray, workspace_spec: dict,
    default_fit: Mapping, np_name: str, interpolation: str,
) -> tuple[DatasetCheck, GridProfile]:  # fmt: skip
    """Fit ``observed`` through the histosys workspace and profile it through the grid (the NP morphed between grid
    points as configured, ``fit.grid_morph_step``), both with :data:`CHECK_CODE`; ``default_fit`` is the fits rule's
    payload of the same dataset (code 4p), reported beside them."""
    dataset = str(default_fit["dataset"])
    histosys = fit_dataset(workspace_spec, observed, cfg.mu_range, cfg.scan_points, dataset, CHECK_CODE)
    morph = grid_morph(cfg, np_name, shared_observable=True)  # one classifier: the same observable at every point
    profile = grid_profile(specs, [observed] * len(specs), alphas, 0.0, 1.0, cfg.mu_range, cfg.scan_points,
                           interpolation, half_grid=True, morph=morph, histosys_code=CHECK_CODE)  # fmt: skip
    half = profile.half_grid
    pull = histosys.pulls.get(np_name)
    check = DatasetCheck(
        dataset=dataset,
        histosys_mu_hat=histosys.mu_hat,
        histosys_interval=histosys.interval_68,
        histosys_alpha=float("nan") if pull is None else float(pull[0]),
        grid_mu_hat=profile.mu_hat,
        grid_interval=profile.interval_68,
        grid_alpha=profile.alpha_hat,
        half_grid_width=float("nan") if half is None else half.interval_68[1] - half.interval_68[0],
        converged=bool(profile.converged and histosys.converged),
        default_mu_hat=float(default_fit["mu_hat"]),
        default_interval=tuple(float(v) for v in default_fit["interval_68"]),  # type: ignore[arg-type]
    )
    return check, profile


def check_payload(checks: Sequence[DatasetCheck], np_name: str, alphas: np.ndarray, interpolation: str) -> dict:
    """JSON-ready comparison: per dataset both fits, Δμ̂ (grid − histosys), the width ratio grid/histosys, and
    ``default_width_ratio``: the fits rule's width (code 4p) over the code-0 histosys fit's."""
    rows = {}
    for c in checks:
        width_h = c.histosys_interval[1] - c.histosys_interval[0]
        width_g = c.grid_interval[1] - c.grid_interval[0]
        width_d = c.default_interval[1] - c.default_interval[0]
        row = {k: (json_float(v) if isinstance(v, float) else v) for k, v in c._asdict().items()}
        for key in ("histosys_interval", "grid_interval", "default_interval"):
            row[key] = [json_float(v) for v in getattr(c, key)]
        row["delta_mu_hat"] = json_float(c.grid_mu_hat - c.histosys_mu_hat)
        row["width_ratio"] = json_float(width_g / width_h if width_h > 0 else float("nan"))
        row["default_width_ratio"] = json_float(width_d / width_h if width_h > 0 else float("nan"))
        rows[c.dataset] = row
    return {"format": FORMAT, "np": np_name, "alphas": [float(a) for a in alphas], "interpolation": interpolation,
            "histosys_code": CHECK_CODE, "default_histosys_code": MODIFIER_SETTINGS["histosys"]["interpcode"],
            "datasets": rows}  # fmt: skip


def write_check(payload: dict, path: str | os.PathLike) -> None:
    write_json(path, payload)
