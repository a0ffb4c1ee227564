"""Files and tables of the pull study: ``pulls.csv`` and ``summary.json`` (write and read back), tail rows.

Numbers are written deterministically (6 significant digits, NaN as an empty cell / JSON null) so
reruns on the same table give byte-identical outputs; the figure rules read these files, never the table.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

from systlab.atomic import atomic_path, write_json
from systlab.theory.pulls import ProcessPull, TheoryStudy, in_qcd_reference

FULL_TABLE_PROCESSES = 137  # approximate row count of the 13 TeV table of arXiv:1405.0301
PARTIAL_CAVEAT = ("rows are those that could be transcribed, not a random sample of the table: "
                  "pull statistics describe these rows only")


def transcription_note(n_rows: int) -> str:
    """One line for figures and JSON saying how much of the 1405.0301 table the input holds."""
    if n_rows < FULL_TABLE_PROCESSES:
        return f"Partial transcription: {n_rows} of ~{FULL_TABLE_PROCESSES} processes of arXiv:1405.0301"
    return f"Table of {n_rows} processes (arXiv:1405.0301 format)"


PULL_FIELDS = tuple(f.name for f in fields(ProcessPull))


def _format(value) -> str:
    """Deterministic CSV cell: booleans as true/false, floats to 6 significant digits, NaN empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_pulls_csv(study: TheoryStudy, path: str | os.PathLike) -> None:
    """One row per table row, in table order, every per-process number of the study."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PULL_FIELDS)
        for result in study.results:
            writer.writerow([_format(v) for v in asdict(result).values()])


def read_pulls_csv(path: str | os.PathLike) -> list[ProcessPull]:
    """Read back ``pulls.csv`` (for the figure rules)."""
    kinds = {f.name: f.type for f in fields(ProcessPull)}

    def convert(name: str, text: str):
        kind = kinds[name]
        if kind == "int":
            return int(text)
        if kind == "bool":
            return text == "true"
        if kind == "float":
            return float(text) if text else float("nan")
        return text

    with Path(path).open(newline="", encoding="utf-8") as handle:
        return [ProcessPull(**{k: convert(k, v) for k, v in rec.items()}) for rec in csv.DictReader(handle)]


def _clean(value):
    """JSON-safe: NaN → None, NamedTuples → dicts, floats rounded to 6 significant digits."""
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.6g}")
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _clean(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _tail_entry(rank: int, r: ProcessPull) -> dict:
    """Compact tail record for the JSON summary."""
    return {"rank": rank, "label": r.label, "process": r.process, "n": r.n, "category": r.category,
            "loop_induced": r.loop_induced, "k_factor": r.k_factor, "lo_unc_toward_nlo": r.lo_unc_toward_nlo,
            "pull": r.pull, "scheme_unc": r.scheme_unc, "scheme_pull": r.scheme_pull}


def _counts(results: Sequence[ProcessPull]) -> dict:
    """Process counts per category, with/without α_s at LO, loop-induced, and with an NLO value."""
    return {
        "rows": len(results),
        "qcd": sum(r.category == "qcd" for r in results),
        "ew": sum(r.category == "ew" for r in results),
        "ew_with_alpha_s_at_lo": sum(r.category == "ew" and r.lo_has_alpha_s and not r.loop_induced
                                     for r in results),
        "ew_pure_electroweak_lo": sum(r.category == "ew" and not r.lo_has_alpha_s for r in results),
        "loop_induced": sum(r.loop_induced for r in results),
        "with_pull": sum(r.has_pull for r in results),
        "qcd_in_reference": sum(in_qcd_reference(r) for r in results),
        "scheme_applied": sum(r.scheme_applied and r.has_pull for r in results),
    }


def summary_payload(study: TheoryStudy) -> dict:
    """The JSON summary: averages, counts, pull statistics and fits, ranked tails, provenance."""
    ref = study.reference
    return _clean({
        "table": study.table,
        "note": transcription_note(study.n_rows),
        "partial_transcription": study.n_rows < FULL_TABLE_PROCESSES,
        "caveat": PARTIAL_CAVEAT if study.n_rows < FULL_TABLE_PROCESSES else None,
        "counts": _counts(study.results),
        "qcd_per_particle": {"up": ref.up, "down": ref.down,
                             "definition": "Delta sigma/(n sigma0) over QCD-only processes, fraction"},
        "reference_scheme": {
            "definition": "Delta sigma_ref/sigma0 = n * <Delta sigma/(n sigma0)>_QCD on the side toward NLO",
            "applied_to": "category ew, not loop-induced; qcd and loop-induced keep their own LO band",
            "reference_by_n": {str(n): {"up": ref.relative(n, True), "down": ref.relative(n, False)}
                               for n in sorted({r.n for r in study.results})},
        },
        "pulls": {
            "before": {"stats": study.stats_before, "gaussian_fit": study.fit_before},
            "after": {"stats": study.stats_after, "gaussian_fit": study.fit_after},
            "unit_gaussian_expectation": {"frac_within_1": 0.682689, "frac_within_2": 0.9545},
        },
        "tails": {
            "threshold_abs_pull": study.tail_threshold,
            "before": [_tail_entry(i + 1, r) for i, r in enumerate(study.tails_before)],
            "after": [_tail_entry(i + 1, r) for i, r in enumerate(study.tails_after)],
        },
        "loop_induced_unmatched": list(study.loop_induced_unmatched),
    })


def write_summary_json(study: TheoryStudy, path: str | os.PathLike) -> None:
    """Write ``summary.json`` atomically."""
    write_json(path, summary_payload(study))


TAIL_HEADER = ("rank", "process", "n", "K", "LO band [%]", "t (LO band)", "scheme band [%]", "t (scheme)",
               "scheme band from")


def _pull_cell(value: float) -> str:
    """Pulls to two decimals, large ones as integers (no exponent notation in a table)."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"


def tail_table_rows(tails: Sequence[ProcessPull]) -> list[tuple[str, ...]]:
    """Format ranked tails as table cells (columns TAIL_HEADER); bands are on the side toward NLO."""
    rows = []
    for rank, r in enumerate(tails, start=1):
        band = "reference: n × QCD per particle" if r.scheme_applied else (
            "own LO band (loop-induced)" if r.loop_induced else "own LO band (QCD)")
        name = f"{r.label}  {r.process}" if r.label else r.process
        rows.append((str(rank), name, str(r.n), f"{r.k_factor:.2f}", f"{100 * r.lo_unc_toward_nlo:.3g}",
                     _pull_cell(r.pull), f"{100 * r.scheme_unc:.3g}", _pull_cell(r.scheme_pull), band))
    return rows
