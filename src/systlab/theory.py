"""Scale-uncertainty pull study: LO scale bands against NLO (arXiv:1405.0301 table, arXiv:2210.15167 scheme).

Reads the LO/NLO table, parses MadGraph process strings, computes K-factors, pulls
t = (σ_NLO − σ_LO)/Δσ_LO, the per-final-state-particle QCD scale uncertainty and the
reference-process scheme, and writes ``pulls.csv`` and ``summary.json``.

Category rule (from the final state of the process string):

* ``qcd``: every final-state particle is a coloured parton (g, j, quarks incl. b, t) and the
  string sets no ``QCD=0``; the Born is pure QCD (a power of α_s per coloured leg).
* ``ew``: at least one electroweak final-state particle (w+, w-, wpm, z, a, h, leptons) or an
  explicit ``QCD=0``. ``lo_has_alpha_s`` tells the two kinds apart: ``p p > wpm j`` has α_s at LO
  (a coloured parton in the final state), ``p p > wpm`` and the tribosons do not.
* ``loop_induced`` is a flag (config list, or ``[noborn=...]`` in the string): the Born is a loop
  (gg → h through a top loop, α_s² at LO), so its own scale band is a genuine α_s band.

Reference scheme: Δσ_ref/σ0 = n·⟨Δσ/(nσ0)⟩ over QCD-only, non-loop-induced processes, up and down
separately, taken on the side toward NLO. It replaces the LO band of ``ew`` processes that are not
loop-induced; QCD-only and loop-induced processes keep their own band. Single-top-like strings
(``p p > t j``) are categorised ``qcd`` by this rule unless they carry ``QCD=0``.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

from systlab.atomic import atomic_path, write_json

FULL_TABLE_PROCESSES = 137  # approximate row count of the 13 TeV table of arXiv:1405.0301
TAIL_THRESHOLD = 2.0  # |t| above which a process counts as a tail
MIN_PULLS_FOR_FIT = 20  # fewer pulls than this: a Gaussian width is not worth quoting
PARTIAL_CAVEAT = ("rows are those that could be transcribed, not a random sample of the table: "
                  "pull statistics describe these rows only")

COLOURED = frozenset("g j u u~ d d~ c c~ s s~ b b~ t t~".split())
ELECTROWEAK = frozenset(
    "w+ w- wpm z a h e+ e- mu+ mu- ta+ ta- l+ l- ve ve~ vm vm~ vt vt~ vl vl~".split()
)
INITIAL = COLOURED | frozenset({"p", "a", "e+", "e-"})
KNOWN_PARTICLES = COLOURED | ELECTROWEAK | frozenset({"p"})

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

_ORDER = re.compile(r"^[A-Z]+(\^2)?(==|<=|>=|=|<|>)\d+$")
_FLAVOUR_SCHEME = re.compile(r"^\([45]f\)$")


class TheoryTableError(ValueError):
    """Bad input in the scale table; the message names the file, line, row and column."""


class ProcessSyntaxError(ValueError):
    """A MadGraph process string that cannot be parsed (unknown token, unsupported syntax)."""


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


class ProcessInfo(NamedTuple):
    """What the pull study needs from a process string."""

    initial_state: tuple[str, ...]
    final_state: tuple[str, ...]
    n: int
    n_coloured: int
    category: str  # "qcd" or "ew"
    lo_has_alpha_s: bool
    loop_induced: bool


class PerParticle(NamedTuple):
    """Mean and spread of Δσ/(nσ0) (fraction) over the QCD-only processes, one direction."""

    mean: float
    std: float
    minimum: float
    maximum: float
    n_processes: int


class QCDReference(NamedTuple):
    """Per-particle QCD scale uncertainty, up and down separately."""

    up: PerParticle
    down: PerParticle

    def relative(self, n: int, toward_up: bool) -> float:
        """Reference Δσ_ref/σ0 = n·⟨Δσ/(nσ0)⟩ on the requested side."""
        return n * (self.up.mean if toward_up else self.down.mean)


@dataclass(frozen=True)
class ProcessPull:
    """Per-process result; relative uncertainties as fractions, NaN where the table gives nothing."""

    line: int
    label: str
    process: str
    n: int
    category: str
    lo_has_alpha_s: bool
    loop_induced: bool
    lo_scale_up: float
    lo_scale_down: float
    k_factor: float
    lo_unc_toward_nlo: float
    pull: float
    ref_unc: float
    ref_pull: float
    scheme_applied: bool
    scheme_unc: float
    scheme_pull: float

    @property
    def has_pull(self) -> bool:
        """True when the table gives an NLO value for this process."""
        return math.isfinite(self.pull)


class PullStats(NamedTuple):
    """Descriptive statistics of a pull sample (robust ones too: tails dominate mean and std)."""

    n: int
    mean: float
    std: float
    median: float
    mad_width: float
    frac_within_1: float
    frac_within_2: float
    max_abs: float


class GaussianFit(NamedTuple):
    """Unbinned maximum-likelihood Gaussian fit of the pulls, or why it was not done."""

    meaningful: bool
    reason: str
    n: int
    mean: float
    mean_err: float
    width: float
    width_err: float


@dataclass(frozen=True)
class TheoryStudy:
    """Everything the study computes from one table."""

    table: str
    n_rows: int
    reference: QCDReference
    results: tuple[ProcessPull, ...]
    stats_before: PullStats
    stats_after: PullStats
    fit_before: GaussianFit
    fit_after: GaussianFit
    tails_before: tuple[ProcessPull, ...]
    tails_after: tuple[ProcessPull, ...]
    loop_induced_unmatched: tuple[str, ...]
    tail_threshold: float = TAIL_THRESHOLD


# --------------------------------------------------------------------------- process syntax


def normalise_process(process: str) -> str:
    """Collapse whitespace so config entries match table strings."""
    return " ".join(process.split())


def _check_particle(token: str, allowed: frozenset[str], where: str) -> None:
    """Raise ProcessSyntaxError when ``token`` is not a known particle."""
    if token not in allowed:
        raise ProcessSyntaxError(f"unknown particle token {token!r} in the {where}; known: {sorted(allowed)}")


def parse_process(process: str, loop_induced: Iterable[str] = ()) -> ProcessInfo:
    """Parse MadGraph syntax (``p p > w+ w- j $$ t QCD=0 [QCD]``) into final state, n and category."""
    text = normalise_process(process)
    if "," in text:
        raise ProcessSyntaxError(f"decay chains are not supported in {process!r}")
    brackets = re.findall(r"\[([^\]]*)\]", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    flagged_names = {normalise_process(p) for p in loop_induced}
    flagged = normalise_process(process) in flagged_names or normalise_process(text) in flagged_names
    flagged = flagged or any(b.replace(" ", "").startswith(("noborn", "sqrvirt")) for b in brackets)
    parts = text.split(">")
    if len(parts) < 2:
        raise ProcessSyntaxError(f"no '>' in process {process!r}")
    initial = tuple(parts[0].split())
    if len(initial) != 2:
        raise ProcessSyntaxError(f"expected two initial-state particles in {process!r}, got {list(initial)}")
    for tok in initial:
        _check_particle(tok, INITIAL, "initial state")
    for middle in parts[1:-1]:  # required s-channel particles: p p > z > e+ e-
        for tok in middle.split():
            _check_particle(tok, KNOWN_PARTICLES, "s-channel requirement")
    final, orders, excluding = [], [], False
    for tok in parts[-1].split():
        if tok in {"$", "$$", "/"}:
            excluding = True
        elif _ORDER.match(tok):
            orders.append(tok)
            excluding = False
        elif _FLAVOUR_SCHEME.match(tok):
            continue
        elif excluding:
            _check_particle(tok, KNOWN_PARTICLES - {"p", "j"}, "excluded particles")
        else:
            _check_particle(tok, KNOWN_PARTICLES - {"p"}, "final state")
            final.append(tok)
    if not final:
        raise ProcessSyntaxError(f"no final-state particles in {process!r}")
    n_coloured = sum(tok in COLOURED for tok in final)
    no_qcd = any(o.replace("^2", "").startswith("QCD") and o.endswith("=0") for o in orders)
    category = "qcd" if n_coloured == len(final) and not no_qcd else "ew"
    lo_has_alpha_s = flagged or (n_coloured > 0 and not no_qcd)
    return ProcessInfo(initial, tuple(final), len(final), n_coloured, category, lo_has_alpha_s, flagged)


# --------------------------------------------------------------------------- reading


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


# --------------------------------------------------------------------------- computations


def _spread(values: Sequence[float]) -> PerParticle:
    """Mean, sample standard deviation and range of per-particle uncertainties."""
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
    return PerParticle(float(arr.mean()), std, float(arr.min()), float(arr.max()), int(arr.size))


def qcd_per_particle(rows: Sequence[TableRow], loop_induced: Sequence[str] = ()) -> QCDReference:
    """⟨Δσ/(nσ0)⟩ up and down over QCD-only, non-loop-induced rows that give both LO percentages."""
    up, down = [], []
    for row in rows:
        info = parse_process(row.process, loop_induced)
        if info.category == "qcd" and not info.loop_induced and row.lo_scale_up_pct is not None:
            up.append(row.lo_scale_up_pct / 100 / info.n)
            down.append(row.lo_scale_down_pct / 100 / info.n)
    if not up:
        raise TheoryTableError("no QCD-only process with LO scale percentages: the reference needs one")
    return QCDReference(_spread(up), _spread(down))


def k_factor_and_band(row: TableRow) -> tuple[float, float]:
    """K = σ_NLO/σ_LO and the relative LO band on the side toward NLO; NaNs when no NLO is given."""
    if row.nlo_xsec_pb is not None:
        k = row.nlo_xsec_pb / row.lo_xsec_pb
        pct = row.lo_scale_up_pct if k >= 1 else row.lo_scale_down_pct
        return k, pct / 100
    if row.nlo_over_lo_minus_1 is not None:
        return 1 + row.nlo_over_lo_minus_1, row.lo_rel_scale_unc
    return float("nan"), float("nan")


def pull(k: float, rel_unc: float) -> float:
    """t = (σ_NLO − σ_LO)/Δσ_LO = (K − 1)/(Δσ_LO/σ_LO)."""
    return (k - 1) / rel_unc


def process_pull(row: TableRow, reference: QCDReference, loop_induced: Sequence[str] = ()) -> ProcessPull:
    """Pull with the own LO band, with the reference band, and under the scheme for one row."""
    info = parse_process(row.process, loop_induced)
    k, band = k_factor_and_band(row)
    ref = reference.relative(info.n, toward_up=not k < 1) if math.isfinite(k) else float("nan")
    applied = info.category == "ew" and not info.loop_induced
    scheme = ref if applied else band
    up = row.lo_scale_up_pct / 100 if row.lo_scale_up_pct is not None else float("nan")
    down = row.lo_scale_down_pct / 100 if row.lo_scale_down_pct is not None else float("nan")
    return ProcessPull(
        line=row.line, label=row.label, process=row.process, n=info.n, category=info.category,
        lo_has_alpha_s=info.lo_has_alpha_s, loop_induced=info.loop_induced,
        lo_scale_up=up, lo_scale_down=down,
        k_factor=k, lo_unc_toward_nlo=band, pull=pull(k, band), ref_unc=ref, ref_pull=pull(k, ref),
        scheme_applied=applied, scheme_unc=scheme, scheme_pull=pull(k, scheme),
    )


def in_qcd_reference(result: ProcessPull) -> bool:
    """True for the processes that enter the per-particle QCD average."""
    return result.category == "qcd" and not result.loop_induced and math.isfinite(result.lo_scale_up)


def describe_pulls(pulls: Sequence[float]) -> PullStats:
    """Mean, std, median, MAD width (1.4826·MAD) and coverage fractions of a pull sample."""
    t = np.asarray(pulls, dtype=float)
    if t.size == 0:
        nan = float("nan")
        return PullStats(0, nan, nan, nan, nan, nan, nan, nan)
    med = float(np.median(t))
    std = float(t.std(ddof=1)) if t.size > 1 else float("nan")
    return PullStats(int(t.size), float(t.mean()), std, med, float(1.4826 * np.median(np.abs(t - med))),
                     float(np.mean(np.abs(t) < 1)), float(np.mean(np.abs(t) < 2)), float(np.abs(t).max()))


def fit_gaussian(pulls: Sequence[float], min_pulls: int = MIN_PULLS_FOR_FIT) -> GaussianFit:
    """Unbinned ML Gaussian fit (closed form: mean and ddof=0 width); refused for too few pulls."""
    t = np.asarray(pulls, dtype=float)
    nan = float("nan")
    if t.size < min_pulls:
        reason = (f"not meaningful: only {t.size} pulls (< {min_pulls}); the width would be uncertain by "
                  f"more than 1/sqrt(2n) ~ {1 / math.sqrt(2 * max(t.size, 1)):.0%}; one outlier decides it")
        return GaussianFit(False, reason, int(t.size), nan, nan, nan, nan)
    width = float(t.std(ddof=0))
    return GaussianFit(True, "unbinned maximum-likelihood fit", int(t.size), float(t.mean()),
                       width / math.sqrt(t.size), width, width / math.sqrt(2 * t.size))


def rank_tails(results: Sequence[ProcessPull], after_scheme: bool,
               threshold: float = TAIL_THRESHOLD) -> tuple[ProcessPull, ...]:
    """Processes with |t| > threshold, largest |t| first (before or after the reference scheme)."""
    def value(r: ProcessPull) -> float:
        return r.scheme_pull if after_scheme else r.pull

    tails = [r for r in results if r.has_pull and abs(value(r)) > threshold]
    return tuple(sorted(tails, key=lambda r: (-abs(value(r)), r.line)))


def run_study(table: str | os.PathLike, loop_induced: Sequence[str] = (),
              tail_threshold: float = TAIL_THRESHOLD) -> TheoryStudy:
    """Read the table and compute every number of the pull study."""
    rows = read_scale_table(table, loop_induced)
    reference = qcd_per_particle(rows, loop_induced)
    results = tuple(process_pull(row, reference, loop_induced) for row in rows)
    with_pull = [r for r in results if r.has_pull]
    before = [r.pull for r in with_pull]
    after = [r.scheme_pull for r in with_pull]
    processes = {normalise_process(r.process) for r in rows}
    unmatched = tuple(p for p in loop_induced if normalise_process(p) not in processes)
    return TheoryStudy(
        table=str(table), n_rows=len(rows), reference=reference, results=results,
        stats_before=describe_pulls(before), stats_after=describe_pulls(after),
        fit_before=fit_gaussian(before), fit_after=fit_gaussian(after),
        tails_before=rank_tails(results, False, tail_threshold),
        tails_after=rank_tails(results, True, tail_threshold),
        loop_induced_unmatched=unmatched, tail_threshold=tail_threshold,
    )


def transcription_note(n_rows: int) -> str:
    """One line for figures and JSON saying how much of the 1405.0301 table the input holds."""
    if n_rows < FULL_TABLE_PROCESSES:
        return f"Partial transcription: {n_rows} of ~{FULL_TABLE_PROCESSES} processes of arXiv:1405.0301"
    return f"Table of {n_rows} processes (arXiv:1405.0301 format)"


# --------------------------------------------------------------------------- writers and readers

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
