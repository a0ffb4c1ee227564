"""The per-method comparison table: every figure of merit as mean ± std across training replicas.

Input per method: one record per replica (:func:`replica_record`), a nested mapping of numbers —
AUC at TES −1/0/+1σ (from ``results/models/<model>/metrics.json``, :func:`auc_from_metrics`),
the Asimov interval width on μ at each true α (stat-only = every NP fixed, and profiled), the μ̂
bias on shifted pseudo-data, coverage, mean width and FAIR score from the toys, the 95% CLs
expected limit and expected Z0 on the Asimov dataset (:mod:`systlab.infer.limits`, :mod:`systlab.infer.significance`),
and the Wilks check of the toys' q_μ(μ_true) against χ²₁ (KS distance and p-value). Every leaf is
aggregated across replicas (:func:`build_summary`, null-safe) and rendered as a markdown table;
:func:`wilks_note` names the replicas whose asymptotic intervals are not to be trusted.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from systlab.atomic import atomic_path, write_json
from systlab.infer.significance import WILKS_P_MIN, scan_interval, toy_critical_value, wilks_check
from systlab.studies.fair_summary import NOTE as FAIR_NOTE
from systlab.studies.fair_summary import fair_protocol_markdown, fair_protocol_table
from systlab.studies.headline import headline_payload, headline_table
from systlab.templates.histograms import read_templates
from systlab.templates.mc_statistics import mc_statistics, worst_by_split

FORMAT = "systlab.summary/1"
#: Coverage further than this many σ68 from 0.6827 fails the asymptotic-interval check.
COVERAGE_PULL_MAX = 3.0
#: Keys kept in summary.json but left out of the default markdown columns (too many to read).
JSON_ONLY = ("cls95_band.",)


def read_input(path: str | os.PathLike, fields: Sequence[str] = ()) -> dict:
    """One workflow JSON file; ValueError naming the file if it is missing or unreadable, or a field it lacks."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ValueError(f"{path}: input file missing") from err
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not readable as JSON ({err})") from err
    for field in fields:
        node = payload
        for part in field.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ValueError(f"{path}: field {field!r} missing")
            node = node[part]
    return payload


def auc_from_metrics(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """replica -> {variation: AUC} from a metrics.json written by :mod:`systlab.studies.metrics`."""
    payload = json.loads(Path(path).read_text())
    return {replica: dict(m["auc"]) for replica, m in payload["replicas"].items()}


def replica_record(
    auc: Mapping[str, float] | None = None,
    asimov_width_stat: Mapping[str, float] | None = None,
    asimov_width_profiled: Mapping[str, float] | None = None,
    bias: Mapping[str, float] | None = None,
    coverage: float | None = None,
    mean_width: float | None = None,
    score: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """One replica's figures of merit as a nested mapping (α keys as strings, e.g. "-2", "+1")."""
    record: dict[str, Any] = {
        "auc": dict(auc or {}),
        "asimov_width": {"stat_only": dict(asimov_width_stat or {}), "profiled": dict(asimov_width_profiled or {})},
        "bias": dict(bias or {}),
        "coverage": coverage,
        "mean_width": mean_width,
        "score": score,
    }
    record.update(extra or {})
    return record


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    """Nested mapping -> {"a.b.c": number}; None/NaN kept as None, non-numbers skipped."""
    out: dict[str, float | None] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif value is None:
            out[name] = None
        elif isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, (int, float, np.floating, np.integer)):
            out[name] = float(value) if math.isfinite(float(value)) else None
    return out


def aggregate(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, sample std (null for one value) and count of the finite values."""
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not x.size:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else None, "n": int(x.size)}


def build_summary(
    per_method: Mapping[str, Mapping[str, Mapping[str, Any]]], notes: Mapping[str, str] | None = None
) -> dict:
    """{method: {replica: record}} -> the summary payload: per method, every leaf as mean/std/n."""
    methods = {}
    for method, replicas in sorted(per_method.items()):
        flat = [flatten(r) for r in replicas.values()]
        keys = sorted({k for f in flat for k in f})
        methods[method] = {
            "n_replicas": len(flat),
            "metrics": {k: aggregate([f.get(k) for f in flat]) for k in keys},
            "replicas": {name: flatten(r) for name, r in sorted(replicas.items())},
        }
    return {"format": FORMAT, "methods": methods, "notes": dict(notes or {})}


def default_columns(summary: Mapping) -> list[str]:
    """Columns in a fixed order: AUC, Asimov widths (stat-only, profiled; by α), bias, coverage, width, score."""
    keys = sorted({k for m in summary["methods"].values() for k in m["metrics"]})
    keys = [k for k in keys if not k.startswith(JSON_ONLY)]

    def rank(key: str) -> tuple:
        order = ("auc.", "asimov_width.stat_only.", "asimov_width.profiled.", "width_toy_calibrated.", "bias.",
                 "coverage", "mean_width")
        order = (*order, "score", "cls95_expected", "z0_expected", "target_", "wilks.", "mc_closure.")
        group = next((i for i, p in enumerate(order) if key.startswith(p)), len(order))
        tail = key.split(".")[-1]
        try:
            number = float(tail.replace("sd", ""))
        except ValueError:
            number = math.inf
        return group, number, key

    return sorted(keys, key=rank)


def format_cell(stat: Mapping[str, Any], digits: int = 3) -> str:
    if stat is None or stat.get("mean") is None:
        return "–"
    mean, std = stat["mean"], stat.get("std")
    return f"{mean:.{digits}g}" if std is None else f"{mean:.{digits}g} ± {std:.2g}"


def markdown_table(summary: Mapping, columns: Sequence[str] | None = None) -> str:
    """The comparison table: one row per method, mean ± std across replicas in every cell."""
    columns = list(columns or default_columns(summary))
    lines = ["| method | replicas | " + " | ".join(columns) + " |", "| --- | --- |" + " --- |" * len(columns)]
    for method, entry in summary["methods"].items():
        cells = [format_cell(entry["metrics"].get(c)) for c in columns]
        lines.append(f"| {method} | {entry['n_replicas']} | " + " | ".join(cells) + " |")
    for key, note in sorted(summary.get("notes", {}).items()):
        lines.append(f"\n*{key}*: {note}")
    return "\n".join(lines) + "\n"


def write_summary(
    summary: Mapping, json_path: str | os.PathLike, markdown_path: str | os.PathLike | None = None
) -> None:
    """Write summary.json (sorted keys, no NaN) and optionally its markdown rendering, atomically: the headline
    (:mod:`systlab.studies.headline`: widths ± SE, paired ratios to oracle and baseline) first, the full table below."""
    write_json(json_path, {**summary, "headline": headline_payload(summary)})
    if markdown_path is not None:
        text = ("## Headline (mean ± standard error over replicas; ratios paired replica by replica)\n\n"
                + headline_table(summary) + "\n## Every figure of merit (mean ± std over replicas)\n\n"
                + markdown_table(summary))  # fmt: skip
        if summary.get("fair_protocol"):
            text += ("\n## FAIR-Universe protocol (mean over replicas ± standard error over pseudo-experiments and "
                     "replicas; *fair_protocol* note above)\n\n" + fair_protocol_markdown(summary["fair_protocol"]))
        with atomic_path(markdown_path) as tmp:
            tmp.write_text(text)


def inference_record(
    limit: Mapping[str, Any] | None, significance: Mapping[str, Any] | None, coverage: Mapping[str, Any]
) -> dict:
    """Expected CLs limit (median; bands under ``cls95_band``), expected Z0, and the Wilks check of the toys.

    The Wilks check needs the toys' per-toy ``q_mu_true``, taken from the model toys (``coverage["model"]``)
    when there are some: held-out toys also carry the templates' MC non-closure, which is not a failure of
    the asymptotic formulae. Without it (or without a limit/significance file) the table shows "–".
    """
    out: dict[str, Any] = {}
    if limit is not None:
        expected = limit["expected"]
        out["cls95_expected"] = expected["0"]
        out["cls95_band"] = {k: expected[k] for k in ("-2", "-1", "+1", "+2")}
    if significance is not None:
        out["z0_expected"] = significance["z0_expected"]
    model = coverage.get("model")  # toys from the model's own expectation: the procedure alone
    if model is not None:
        out["coverage_model"] = model.get("coverage")
        out["coverage_model_pull"] = model.get("coverage_pull")
    q = toy_q_values(coverage)
    if q:
        check = wilks_check(q)
        out["wilks"] = {"ks": check.ks, "ks_p_value": check.ks_p_value, "c68": toy_critical_value(q)}
    return out


def target_record(impacts: Mapping[str, Any] | None, target: str) -> dict[str, float | None]:
    """What the target NP does to μ on the Asimov data (the replica's impacts JSON): its rank among every NP's
    post-fit impact (1 = largest; the fixed classifiers' ranking includes each bin's MC-statistics γ, the grid's
    does not), that impact (the larger |Δμ̂| of its ±1σ post-fit shifts) and its post-fit constraint (σ_post/σ)."""
    if impacts is None:
        return {}
    rank, row = next(((i, r) for i, r in enumerate(impacts["ranking"], 1) if r["name"] == target), (None, None))
    pull = impacts.get("pulls", {}).get(target) or {}
    return {"target_impact_rank": rank,
            "target_impact": max(abs(row["postfit_up"]), abs(row["postfit_down"])) if row else None,
            "target_constraint": pull.get("constraint")}  # fmt: skip


def toy_q_values(coverage: Mapping[str, Any]) -> list[float]:
    """The toys' q_mu(mu_true): from the model toys where there are some, else from the held-out toys."""
    return [v for v in (coverage.get("model") or coverage).get("q_mu_true") or () if v is not None]


def calibrated_widths(
    fits: Mapping[str, Mapping[str, Any]], truths: Mapping[str, tuple[float, float]], critical: float
) -> dict[str, float | None]:
    """Per truth's TES shift, the width of its expected-data scan cut at the toy critical value (None if open)."""
    out = {}
    for name, (_, shift) in sorted(truths.items()):
        scan = (fits.get(f"expected_{name}") or {}).get("scan")
        if scan:
            interval = scan_interval(scan["mu"], scan["twice_dnll"], critical)
            out[f"{shift:+g}"] = None if interval is None else interval[1] - interval[0]
    return out


def coverage_from_bias(bias: float | None, mean_width: float | None) -> float | None:
    """The 68% coverage that an offset ``bias`` of μ̂ alone leaves, for Gaussian μ̂ of width σ = ``mean_width``/2
    and intervals μ̂ ± σ: Φ(1 − b/σ) − Φ(−1 − b/σ) (0.6827 at b = 0). With ``bias`` from the fit to the held-out
    split's expectation (independent of the toys) it predicts what the MC non-closure does to held-out coverage."""
    if bias is None or mean_width is None or not (math.isfinite(bias) and mean_width > 0):
        return None
    shift = bias / (0.5 * mean_width)
    return 0.5 * (math.erf((1.0 - shift) / math.sqrt(2.0)) - math.erf((-1.0 - shift) / math.sqrt(2.0)))


def record_from_results(
    metrics_replica: Mapping[str, Any],
    fits: Mapping[str, Mapping[str, Any]],
    truths: Mapping[str, tuple[float, float]],
    coverage: Mapping[str, Any],
    limit: Mapping[str, Any] | None = None,
    significance: Mapping[str, Any] | None = None,
    toy_truth: str | None = None,
    impacts: Mapping[str, Any] | None = None,
    target: str = "",
) -> dict:
    """One replica's record from its workflow outputs.

    ``metrics_replica``: the replica's entry of metrics.json; ``fits``: dataset name -> fit-result JSON
    (``asimov``, ``expected_<truth>``); ``truths``: truth name -> (true μ, TES shift in σ);
    ``coverage``: the toys' coverage JSON; ``limit``/``significance``: the replica's inference JSONs
    (None where not computed); ``toy_truth``: the truth the toys are drawn at (``Config.toy_truth``), whose
    expectation's fit gives ``coverage_from_bias``; ``impacts``: the replica's impacts JSON, read for the
    ``target`` NP (:func:`target_record`). Widths and biases are keyed by the truth's shift of the target NP.
    """
    widths, bias = {}, {}
    for name, (mu_true, shift) in sorted(truths.items()):
        fit = fits.get(f"expected_{name}")
        if fit is None:
            continue
        lo, hi = fit["interval_68"]
        key = f"{shift:+g}"
        widths[key] = hi - lo
        bias[key] = fit["mu_hat"] - mu_true
    extra = {"js_divergence": metrics_replica.get("js_divergence"), "coverage_pull": coverage.get("coverage_pull"),
             **inference_record(limit, significance, coverage), **target_record(impacts, target)}
    if "wilks" in extra:
        extra["width_toy_calibrated"] = calibrated_widths(fits, truths, extra["wilks"]["c68"])
    if f"expected_{toy_truth}" in fits:  # the held-out coverage the offset of the toys' own expectation predicts
        bias_at_toy_truth = fits[f"expected_{toy_truth}"]["mu_hat"] - 1.0
        extra["coverage_from_bias"] = coverage_from_bias(bias_at_toy_truth, coverage.get("mean_width"))
    return replica_record(
        auc=metrics_replica.get("auc"),
        asimov_width_profiled=widths,
        bias=bias,
        coverage=coverage.get("coverage"),
        mean_width=coverage.get("mean_width"),
        score=coverage.get("score"),
        extra=extra,
    )


def wilks_note(summary: Mapping) -> str | None:
    """Which replicas fail the asymptotic check (KS p < 0.01 of q_μ(μ_true) vs χ²₁, or coverage > 3σ68 off)."""
    failing = []
    for method, entry in summary["methods"].items():
        for replica, rec in entry["replicas"].items():
            reasons = []
            p = rec.get("wilks.ks_p_value")
            pull = rec.get("coverage_model_pull", rec.get("coverage_pull"))  # model toys where there are some
            if p is not None and p < WILKS_P_MIN:
                reasons.append(f"KS p = {p:.2g}")
            if pull is not None and abs(pull) > COVERAGE_PULL_MAX:
                reasons.append(f"coverage {pull:+.1f} sigma68")
            if reasons:
                failing.append(f"{method}/{replica} ({', '.join(reasons)})")
    if not failing:
        return None
    return ("asymptotic (Wilks) intervals not trusted for " + "; ".join(failing) + ". For these, read "
            "width_toy_calibrated: the expected-data scan cut at the toys' 68.27% quantile of q_mu(mu_true) "
            "(wilks.c68) instead of chi2_1's 1 (a Neyman critical value at the true mu, taken as constant in mu).")


def summary_from_files(
    metrics_paths: Sequence[str | os.PathLike],
    fit_paths: Sequence[str | os.PathLike],
    toy_paths: Sequence[str | os.PathLike],
    truths: Mapping[str, tuple[float, float]],
    notes: Mapping[str, str] | None = None,
    limit_paths: Sequence[str | os.PathLike] = (),
    significance_paths: Sequence[str | os.PathLike] = (),
    toy_truth: str | None = None,
    template_paths: Sequence[str | os.PathLike] = (),
    impact_paths: Sequence[str | os.PathLike] = (),
    target: str = "",
    fair_paths: Sequence[str | os.PathLike] = (),
) -> dict:
    """The summary payload from the workflow's files, laid out as results/models/<model>/metrics.json,
    results/fits/<model>/<replica>/<dataset>.json, results/toys/<model>/<replica>.json,
    results/inference/<model>/<replica>/{limit,significance}.json and results/templates/<model>/<replica>.json
    (whose worst N_eff/expected per split becomes ``mc_closure.<split>``, :mod:`systlab.templates.mc_statistics`).
    A missing or incomplete file raises ValueError naming it; the Wilks-check note (:func:`wilks_note`) is added
    to the notes, and with toys the ``score`` note: which code computed coverage, mean width and score
    (:data:`systlab.infer.toys.SCORE_SOURCE`). ``toy_truth``, ``target``: see :func:`record_from_results`;
    ``impact_paths``: the replicas' results/inference/<model>/<replica>/impacts.json; ``fair_paths``: their
    results/fair_protocol/<model>/<replica>.json, tabulated under ``fair_protocol``
    (:mod:`systlab.studies.fair_summary`)."""
    fits: dict[tuple[str, str], dict[str, Any]] = {}
    for path in map(Path, fit_paths):
        fits.setdefault((path.parent.parent.name, path.parent.name), {})[path.stem] = read_input(path)
    toys = {(Path(p).parent.name, Path(p).stem): read_input(p) for p in toy_paths}

    def by_replica(paths: Sequence[str | os.PathLike], fields: Sequence[str]) -> dict[tuple[str, str], dict]:
        return {(Path(p).parent.parent.name, Path(p).parent.name): read_input(p, fields) for p in paths}

    limits = by_replica(limit_paths, ["expected.0", "expected.-2", "expected.-1", "expected.+1", "expected.+2"])
    significances = by_replica(significance_paths, ["z0_expected"])
    impacts = by_replica(impact_paths, ["ranking", "pulls"])
    closure = {(Path(p).parent.name, Path(p).stem): worst_by_split(mc_statistics(read_templates(p)))
               for p in template_paths}  # fmt: skip
    records: dict[str, dict[str, Any]] = {}
    for path in map(Path, metrics_paths):
        model = path.parent.name
        for replica, entry in read_input(path, ["replicas"])["replicas"].items():
            key = (model, replica)
            records.setdefault(model, {})[replica] = record_from_results(
                entry, fits.get(key, {}), truths, toys.get(key, {}), limits.get(key), significances.get(key),
                toy_truth, impacts.get(key), target,
            )
            if key in closure:
                records[model][replica]["mc_closure"] = closure[key]
    summary = build_summary(records, notes)
    if fair_paths:
        summary["fair_protocol"] = fair_protocol_table(fair_paths)
        summary["notes"].setdefault("fair_protocol", FAIR_NOTE)
    if toy_paths:
        # here, not at the top: systlab.infer.toys brings pyhf and scipy.stats (~1 s of start-up) into every figure
        # job that reads results through this module (systlab.visualize.inference_inputs)
        from systlab.infer.toys import SCORE_SOURCE

        summary["notes"].setdefault("score", SCORE_SOURCE)
    note = wilks_note(summary)
    if note:
        summary["notes"]["asymptotics"] = note
    failed = unconverged_fits(fits)
    if failed:
        summary["notes"]["fits"] = "not converged (kept, with their notes in the fit files): " + "; ".join(failed)
    return summary


def unconverged_fits(fits: Mapping[tuple[str, str], Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """``model/replica/dataset`` of every fit whose result says ``converged: false`` (never silently dropped)."""
    return [f"{model}/{replica}/{dataset}" for (model, replica), by_dataset in sorted(fits.items())
            for dataset, fit in sorted(by_dataset.items()) if fit.get("converged") is False]
