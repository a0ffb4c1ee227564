"""Read the workflow's fit, toy and impact JSON files into the per-model, per-replica arrays the inference
figures draw (profile curves, widths vs true α, coverage, impacts, asymptotics).

Files are read generically by their place in ``results/`` (``fits/<model>/<replica>/<dataset>.json``,
``toys/<model>/<replica>.json``, ``inference/<model>/<replica>/impacts.json``), never by method; a file
without a field a figure needs raises ValueError naming the file and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from systlab.config import oracle_point
from systlab.studies.summary import coverage_from_bias


class ReplicaCurves(NamedTuple):
    """−2ΔlnL(μ) of one model on one dataset, one row per replica (NaN where a scan point is undefined)."""

    replicas: tuple[str, ...]
    mu: np.ndarray  # (points,)
    q: np.ndarray  # (replicas, points)
    intervals: np.ndarray  # (replicas, 2): the 68% interval ends
    mu_hat: np.ndarray | None = None  # (replicas,)


class ReplicaValues(NamedTuple):
    """One number per replica (e.g. a width, a coverage) of one model."""

    replicas: tuple[str, ...]
    values: np.ndarray


class ToyFigures(NamedTuple):
    """Per replica of one model: coverage, its σ68, mean width, FAIR score and the toys' q_μ(μ_true)."""

    replicas: tuple[str, ...]
    coverage: np.ndarray
    sigma68: np.ndarray
    mean_width: np.ndarray
    score: np.ndarray
    q_mu_true: tuple[np.ndarray | None, ...]  # None where the toys did not store it
    coverage_model: np.ndarray | None = None  # coverage of the model toys (NaN where there are none)
    q_source: tuple[str, ...] = ()  # per replica: "model" or "held-out", the toys q_mu_true comes from
    coverage_from_bias: np.ndarray | None = None  # held-out coverage the fit to their expectation predicts


def _load(path: Path, fields: Sequence[str]) -> dict:
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ValueError(f"{path}: input file missing") from err
    for field in fields:
        if field not in payload:
            raise ValueError(f"{path}: field {field!r} missing")
    return payload


def _floats(values: Iterable[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def profile_curves(fit_paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, ReplicaCurves]]:
    """dataset -> model -> the replicas' −2ΔlnL scans, from ``fits/<model>/<replica>/<dataset>.json``."""
    rows: dict[tuple[str, str], list[tuple[str, np.ndarray, np.ndarray, list[float]]]] = {}
    for path in sorted(map(Path, fit_paths)):
        p = _load(path, ("scan", "interval_68"))
        mu, q = np.asarray(p["scan"]["mu"], float), _floats(p["scan"]["twice_dnll"])
        rows.setdefault((path.stem, path.parent.parent.name), []).append(
            (path.parent.name, mu, q, p["interval_68"], p.get("mu_hat", np.nan)))
    out: dict[str, dict[str, ReplicaCurves]] = {}
    for (dataset, model), reps in sorted(rows.items()):
        mu = reps[0][1]
        for name, other, *_ in reps:
            if other.shape != mu.shape or not np.allclose(other, mu):
                raise ValueError(f"fits/{model}/{name}/{dataset}.json: field 'scan.mu' differs between replicas")
        out.setdefault(dataset, {})[model] = ReplicaCurves(
            tuple(r[0] for r in reps), mu, np.vstack([r[2] for r in reps]), np.array([r[3] for r in reps], float),
            np.array([r[4] for r in reps], float),
        )
    return out


def dense_curves(curves: ReplicaCurves, points: int = 401) -> ReplicaCurves:
    """The replicas' curves on a fine common μ grid: each scan with its exact points (μ̂, 0) and the two
    68% crossings (q = 1) added, joined by a monotone cubic (PCHIP) so minima and crossings are not cut by
    the scan spacing; NaN outside each scan's defined range."""
    import scipy.interpolate  # only the profile-curve figure draws dense curves

    fine = np.linspace(curves.mu[0], curves.mu[-1], points)
    rows = []
    for k in range(curves.q.shape[0]):
        mu, q = list(curves.mu), list(curves.q[k])
        extra = [(curves.intervals[k, 0], 1.0), (curves.intervals[k, 1], 1.0)]
        if curves.mu_hat is not None and np.isfinite(curves.mu_hat[k]):
            extra.append((curves.mu_hat[k], 0.0))
        for m, v in extra:
            if curves.mu[0] < m < curves.mu[-1]:
                keep = [i for i, x in enumerate(mu) if abs(x - m) > 1e-6 * (curves.mu[-1] - curves.mu[0])]
                mu, q = [mu[i] for i in keep] + [m], [q[i] for i in keep] + [v]
        order = np.argsort(mu)
        x, y = np.asarray(mu)[order], np.asarray(q)[order]
        ok = np.isfinite(y)
        row = np.full(points, np.nan)
        if ok.sum() >= 2:
            inside = (fine >= x[ok][0]) & (fine <= x[ok][-1])
            row[inside] = scipy.interpolate.PchipInterpolator(x[ok], y[ok])(fine[inside])
        rows.append(row)
    return curves._replace(mu=fine, q=np.vstack(rows))


def interval_widths(fit_paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, ReplicaValues]]:
    """dataset -> model -> 68% interval width per replica."""
    return {
        dataset: {
            model: ReplicaValues(c.replicas, c.intervals[:, 1] - c.intervals[:, 0]) for model, c in models.items()
        }
        for dataset, models in profile_curves(fit_paths).items()
    }


def toy_figures(toy_paths: Sequence[str | os.PathLike],
                held_out_fits: Sequence[str | os.PathLike] = ()) -> dict[str, ToyFigures]:  # fmt: skip
    """model -> coverage, σ68, mean width, score and q_μ(μ_true) per replica, from ``toys/<model>/<replica>.json``.

    ``held_out_fits``: ``fits/<model>/<replica>/<dataset>.json`` of the toys' own truth (μ = 1, nominal NPs)
    fitted to the held-out expectation; its μ̂ − 1 gives :func:`systlab.studies.summary.coverage_from_bias`.
    """
    rows: dict[str, list[tuple[str, dict]]] = {}
    for path in sorted(map(Path, toy_paths)):
        p = _load(path, ("coverage", "sigma68", "mean_width", "score"))
        rows.setdefault(path.parent.name, []).append((path.stem, p))
    bias = {(Path(f).parent.parent.name, Path(f).parent.name): _load(Path(f), ("mu_hat",))["mu_hat"] - 1.0
            for f in held_out_fits}  # fmt: skip
    out = {}
    for model, reps in sorted(rows.items()):
        # the Wilks check reads the model toys where there are some (held-out toys add the MC non-closure)
        q_payloads = [p.get("model") or p for _, p in reps]
        q = tuple(None if p.get("q_mu_true") is None else _floats(p["q_mu_true"]) for p in q_payloads)
        out[model] = ToyFigures(
            tuple(r for r, _ in reps),
            *(_floats(p[k] for _, p in reps) for k in ("coverage", "sigma68", "mean_width", "score")),
            q_mu_true=q,
            coverage_model=_floats((p.get("model") or {}).get("coverage") for _, p in reps),
            q_source=tuple("model" if p.get("model") else "held-out" for _, p in reps),
            coverage_from_bias=_floats(coverage_from_bias(bias.get((model, r)), p["mean_width"]) for r, p in reps)
            if held_out_fits else None,
        )
    return out


class ImpactRow(NamedTuple):
    """One NP across replicas: pull, constraint and the four Δμ̂ (arrays over replicas)."""

    name: str
    pull: np.ndarray
    constraint: np.ndarray
    postfit_up: np.ndarray
    postfit_down: np.ndarray
    prefit_up: np.ndarray
    prefit_down: np.ndarray

    @property
    def size(self) -> float:
        """Mean over replicas of the larger post-fit |Δμ̂|: the ranking key."""
        return float(np.nanmean(np.maximum(np.abs(self.postfit_up), np.abs(self.postfit_down))))


def impact_rows(impact_paths: Sequence[str | os.PathLike]) -> tuple[tuple[str, ...], list[ImpactRow]]:
    """(replicas, rows ranked by mean post-fit impact) from ``inference/<model>/<replica>/impacts.json``."""
    payloads = []
    for path in sorted(map(Path, impact_paths)):
        payloads.append((path.parent.name, _load(path, ("pulls", "ranking"))))
    if not payloads:
        raise ValueError("no impacts file given")
    names = sorted({r["name"] for _, p in payloads for r in p["ranking"]})
    rows = []
    for name in names:
        per = []
        for _, p in payloads:
            rank = next((r for r in p["ranking"] if r["name"] == name), {})
            pull = p["pulls"].get(name, {})
            per.append([pull.get("pull"), pull.get("constraint"), *(rank.get(k) for k in (
                "postfit_up", "postfit_down", "prefit_up", "prefit_down"))])  # fmt: skip
        columns = _floats(np.array(per, dtype=object).T.ravel()).reshape(6, len(payloads))
        rows.append(ImpactRow(name, *columns))
    rows.sort(key=lambda r: (-r.size, r.name))
    return tuple(r for r, _ in payloads), rows


def by_model(values: Mapping[str, object], models: Sequence[str]) -> dict[str, object]:
    """The entries of ``values`` for ``models``, in that order (models without an entry left out)."""
    return {m: values[m] for m in models if m in values}


def models_for_truth(models: Sequence[str], shift: float) -> list[str]:
    """The models drawn for pseudo-data at a target-NP shift: every non-oracle model, plus the oracle trained there."""
    return [m for m in models if oracle_point(m) in (None, shift)]
