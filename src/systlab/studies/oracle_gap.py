"""Why the oracle need not bound the baseline once its NP is profiled (issue 20): each fixed classifier's width at
a truth decomposed into the width with the target NP fixed at its true value and the NP's share in quadrature, and
the templates' Fisher information on the NP (how steeply the expected counts move with it).

The oracle at α_t is trained to separate signal from background at α_t, not to be insensitive to α: where its
score moves more with α than the baseline's, profiling α costs it more, and its profiled width can exceed the
baseline's although its width with α known is smaller. The rows measure exactly that, on the toy-split expectation
of each truth (the datasets ``expected_<truth>`` of rule fit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from systlab.infer.fit import profile_interval
from systlab.infer.toys import model_expectation
from systlab.likelihood.binned import Likelihood
from systlab.studies.headline import estimate

#: The step (σ) of the central difference of the expected counts in the NP.
FISHER_STEP = 0.05


class Decomposition(NamedTuple):
    """One model replica at one truth: 68 % widths with the target NP profiled and fixed at its true value, the NP's
    share √(profiled² − fixed²), and the templates' Fisher information Σ_b (∂ν_b/∂α)² / ν_b at μ = 1, α = truth."""

    model: str
    replica: str
    truth: str
    alpha: float
    profiled: float
    fixed: float
    np_share: float
    fisher: float


def _width(lik: Likelihood) -> float:
    lo, hi = profile_interval(lik).interval_68
    return float(hi - lo)


def template_fisher(spec: dict, np_name: str, alpha: float, step: float = FISHER_STEP) -> float:
    """Σ_b (∂ν_b/∂α)² / ν_b of the workspace's expectation at μ = 1 and α (other NPs nominal): the information on
    α the templates carry per unit of data."""
    up, down = (model_expectation(spec, 1.0, {np_name: alpha + s}) for s in (step, -step))
    centre = model_expectation(spec, 1.0, {np_name: alpha})
    slope = (up - down) / (2.0 * step)
    return float(np.sum(np.where(centre > 0, slope**2 / np.where(centre > 0, centre, 1.0), 0.0)))


def decompose(spec: dict, observed: Sequence[float], np_name: str, alpha: float, mu_range: tuple[float, float],
              model: str = "", replica: str = "", truth: str = "") -> Decomposition:  # fmt: skip
    """The widths of ``observed`` through the workspace with ``np_name`` profiled and pinned at ``alpha``."""
    lik = Likelihood(spec, observed, mu_range)
    profiled, fixed = _width(lik), _width(lik.pinned(np_name, float(alpha)))
    share = math.sqrt(max(profiled**2 - fixed**2, 0.0))
    return Decomposition(model, replica, truth, float(alpha), profiled, fixed, share,
                         template_fisher(spec, np_name, float(alpha)))  # fmt: skip


def gap_rows(cfg, replicas: Mapping[str, tuple[str, str]], oracles: Mapping[str, str],
             baseline: str = "baseline") -> list[Decomposition]:  # fmt: skip
    """:func:`decompose` of the baseline and of each truth's oracle (``oracles``: truth -> oracle model) on that
    truth's toy-split expectation; ``replicas``: (model, replica) -> (templates path, workspace path)."""
    from systlab.infer.toys import toy_expectation
    from systlab.likelihood.workspace import read_workspace
    from systlab.templates.histograms import read_templates

    truths = {t.name: t for t in cfg.truths if t.name in oracles}
    rows = []
    for (model, replica), (templates_path, spec_path) in replicas.items():
        templates, spec = read_templates(templates_path), read_workspace(spec_path)
        for name, truth in truths.items():
            if model in (baseline, oracles[name]):
                observed = toy_expectation(templates, f"truth_{name}", mu=truth.mu, signal=cfg.signal)
                rows.append(decompose(spec, observed, cfg.target, truth.shifts[cfg.target], cfg.mu_range, model,
                                      replica, name))  # fmt: skip
    return rows


def gap_payload(rows: Sequence[Decomposition], np_name: str, baseline: str,
                oracles: Mapping[str, str]) -> dict:  # fmt: skip
    """Rows, and per truth (``oracles``: truth -> its oracle model) the mean ± standard error over replicas of each
    quantity for the baseline and the oracle, and the replica-paired oracle − baseline differences."""
    by = {(r.model, r.truth, r.replica): r for r in rows}
    truths = {}
    for truth, oracle in oracles.items():
        replicas = sorted({r.replica for r in rows if r.truth == truth and r.model in (baseline, oracle)})
        paired = [rep for rep in replicas if (baseline, truth, rep) in by and (oracle, truth, rep) in by]
        entry: dict = {"oracle": oracle, "alpha": next(r.alpha for r in rows if r.truth == truth)}
        for field in ("profiled", "fixed", "np_share", "fisher"):
            values = {name: [getattr(by[model, truth, rep], field) for rep in paired]
                      for name, model in (("baseline", baseline), ("oracle", oracle))}  # fmt: skip
            for name, v in values.items():
                entry[f"{name}_{field}"] = estimate(v)._asdict()
            gaps = [o - b for o, b in zip(values["oracle"], values["baseline"], strict=True)]
            entry[f"gap_{field}"] = estimate(gaps)._asdict()
        truths[truth] = entry
    return {"np": np_name, "baseline": baseline, "rows": [r._asdict() for r in rows], "truths": truths,
            "meaning": "68% widths on the toy-split expectation of each truth (datasets expected_<truth>) with the "
                       f"target NP {np_name} profiled and fixed at its true value; np_share = sqrt(profiled^2 - "
                       "fixed^2); fisher = sum_b (d nu_b / d alpha)^2 / nu_b of the template expectation at mu = 1, "
                       "alpha = truth; gap_* = oracle - baseline, paired by replica (mean +- standard error)"}


def gap_markdown(payload: Mapping) -> str:
    """The per-truth table of :func:`gap_payload`."""
    def cell(e: Mapping) -> str:
        if e["mean"] is None:
            return "–"
        return f"{e['mean']:.4g}" + (f" ± {e['se']:.2g}" if e["se"] is not None else "")

    lines = [f"# Oracle vs baseline with {payload['np']} profiled and fixed (issue 20)", "",
             "| truth | α | model | width, profiled | width, NP fixed | NP share | Fisher info on α |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for truth, e in payload["truths"].items():
        for name in ("baseline", "oracle", "gap"):
            label = {"baseline": payload["baseline"], "oracle": e["oracle"], "gap": "oracle − baseline"}[name]
            lines.append(f"| {truth} | {e['alpha']:+g} | {label} | " + " | ".join(
                cell(e[f"{name}_{f}"]) for f in ("profiled", "fixed", "np_share", "fisher")) + " |")  # fmt: skip
    return "\n".join(lines + ["", payload["meaning"], ""])
