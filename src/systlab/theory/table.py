"""Read and validate the LO/NLO scale table (the format of the 13 TeV table of arXiv:1405.0301).

Every cell is checked (numbers, signs, ranges, paired columns, duplicate labels, parsable process
string) and the first problem raises ONE ``TheoryTableError`` naming the file, line, row and column.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from systlab.theory.process import ProcessSyntaxError, normalise_process, parse_process

COLUMNS = (
    "label", "process",
    "lo_xsec_pb", "lo_mc_err_pb", "lo_scale_up_pct", "lo_scale_down_pct", "lo_pdf_up_pct", "lo_pdf_down_pct",
    "nlo_xsec_pb", "nlo_mc_err_pb", "nlo_scale_up_pct", "nlo_scale_down_pct", "nlo_pdf_up_pct",
    "nlo_pdf_down_pct", "lo_rel_scale_unc", "nlo_over_lo_minus_1", "source",
)
XSEC_COLUMNS = ("lo_xsec_pb", "nlo_xsec_pb")
ERROR_COLUMNS = ("lo_mc_err_pb", "nlo_mc_err_pb")
PERCENT_COLUMNS = tuple(c for c in COLUMNS if c.endswith("_pct"))
NUMERIC_COLUMNS = XSEC_COLUMNS + ERROR_COLUMNS + PERCENT_COLUMNS + ("lo_rel_scale_unc", "nlo_over_lo_minus_1")


class TheoryTableError(ValueError):
    """Bad input in the scale table; the message names the file, line, row and column."""


@dataclass(frozen=True)
class TableRow:
    """One validated row of the scale table; cross sections in pb, percentages as printed."""

    line: int
    label: str
    process: str
    lo_xsec_pb: float | None = None
    lo_mc_err_pb: float | None = None
    lo_scale_up_pct: float | None = None
    lo_scale_down_pct: float | None = None
    lo_pdf_up_pct: float | None = None
    lo_pdf_down_pct: float | None = None
    nlo_xsec_pb: float | None = None
    nlo_mc_err_pb: float | None = None
    nlo_scale_up_pct: float | None = None
    nlo_scale_down_pct: float | None = None
    nlo_pdf_up_pct: float | None = None
    nlo_pdf_down_pct: float | None = None
    lo_rel_scale_unc: float | None = None
    nlo_over_lo_minus_1: float | None = None
    source: str = ""


def _cell_error(path: Path, line: int, row_name: str, column: str, message: str) -> TheoryTableError:
    """Build the one error message format: file, line, row (label/process), column, what was expected."""
    return TheoryTableError(f"{path}: line {line} (row {row_name}), column '{column}': {message}")


def _parse_number(text: str, path: Path, line: int, row_name: str, column: str) -> float | None:
    """Empty cell → None; otherwise a finite float or TheoryTableError."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _cell_error(path, line, row_name, column, f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _cell_error(path, line, row_name, column, f"expected a finite number, got {text!r}")
    return value


def _check_ranges(values: dict, err) -> None:
    """Signs and ranges: σ > 0, errors ≥ 0, percentages in [0, 100], d in (0, 1], K − 1 > −1."""
    for col in XSEC_COLUMNS:
        if values[col] is not None and values[col] <= 0:
            raise err(col, f"cross section must be positive (pb), got {values[col]}")
    for col in ERROR_COLUMNS:
        if values[col] is not None and values[col] < 0:
            raise err(col, f"Monte Carlo error must be non-negative, got {values[col]}")
    for col in PERCENT_COLUMNS:
        if values[col] is not None and not 0 <= values[col] <= 100:
            raise err(col, f"percentage must be in [0, 100] (down stored positive), got {values[col]}")
    d = values["lo_rel_scale_unc"]
    if d is not None and not 0 < d <= 1:
        raise err("lo_rel_scale_unc", f"relative uncertainty is a fraction in (0, 1], got {d}")
    r = values["nlo_over_lo_minus_1"]
    if r is not None and r <= -1:
        raise err("nlo_over_lo_minus_1", f"(σ_NLO − σ_LO)/σ_LO must exceed −1, got {r}")


def _check_completeness(values: dict, err) -> None:
    """Paired cells come together, and each row carries at least one usable kind of information."""
    pairs = [("lo_scale_up_pct", "lo_scale_down_pct"), ("lo_xsec_pb", "nlo_xsec_pb"),
             ("lo_rel_scale_unc", "nlo_over_lo_minus_1")]
    for a, b in pairs:
        if (values[a] is None) != (values[b] is None):
            missing = a if values[a] is None else b
            raise err(missing, f"empty, but '{a}' and '{b}' must be given together")
    if values["lo_xsec_pb"] is not None and values["lo_scale_up_pct"] is None:
        raise err("lo_scale_up_pct", "LO scale uncertainty needed for the pull from the cross sections")
    if values["lo_xsec_pb"] is not None and values["lo_rel_scale_unc"] is not None:
        raise err("lo_rel_scale_unc", "give either cross sections or the relative columns, not both")
    if values["lo_scale_up_pct"] is None and values["lo_rel_scale_unc"] is None:
        raise err("lo_scale_up_pct", "row has neither LO scale percentages nor relative uncertainty")


def _validate_row(path: Path, line: int, cells: dict[str, str], loop_induced: Sequence[str]) -> TableRow:
    """Turn one CSV record into a TableRow, raising TheoryTableError at the first bad cell."""
    label, process = cells["label"].strip(), normalise_process(cells["process"])
    row_name = f"{label} '{process}'" if label else f"'{process}'"

    def err(column: str, message: str) -> TheoryTableError:
        return _cell_error(path, line, row_name, column, message)

    if not process:
        raise err("process", "empty process string")
    try:
        parse_process(process, loop_induced)
    except ProcessSyntaxError as exc:
        raise err("process", str(exc)) from None
    values = {col: _parse_number(cells[col], path, line, row_name, col) for col in NUMERIC_COLUMNS}
    _check_ranges(values, err)
    _check_completeness(values, err)
    return TableRow(line=line, label=label, process=process, source=cells["source"].strip(), **values)


def check_scale_table(path: str | os.PathLike, loop_induced: Sequence[str] = ()) -> None:
    """:func:`read_scale_table` for the DAG build: every problem as one TheoryTableError line naming the config field
    and the file (a missing or unreadable file too), so a bad table stops the run before any job deletes results."""
    try:
        read_scale_table(path, loop_induced)
    except TheoryTableError as err:
        raise TheoryTableError(f"theory.table: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        problem = "file missing" if isinstance(err, FileNotFoundError) else f"cannot read it ({err})"
        raise TheoryTableError(f"theory.table: {path}: {problem}") from None


def read_scale_table(path: str | os.PathLike, loop_induced: Sequence[str] = ()) -> list[TableRow]:
    """Read and validate every row of a scale table (the shipped partial one or the full 1405.0301 table)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise TheoryTableError(f"{path}: line 1 (header): missing column(s) {missing}; "
                                   f"expected {list(COLUMNS)}")
        rows, labels = [], {}
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise TheoryTableError(f"{path}: line {line}: {len(record)} cells, header has {len(header)}")
            row = _validate_row(path, line, dict(zip(header, record, strict=True)), loop_induced)
            if row.label and row.label in labels:
                first = labels[row.label]
                raise _cell_error(path, line, row.label, "label", f"duplicate label (first on line {first})")
            labels[row.label] = line
            rows.append(row)
    if not rows:
        raise TheoryTableError(f"{path}: no data rows")
    return rows
