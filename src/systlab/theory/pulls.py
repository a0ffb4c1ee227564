"""The numbers of the pull study: K-factors, pulls, the QCD per-particle reference and its scheme.

Pull t = (σ_NLO − σ_LO)/Δσ_LO with the LO band on the side toward NLO. Reference scheme
(arXiv:2210.15167): Δσ_ref/σ0 = n·⟨Δσ/(nσ0)⟩ over QCD-only, non-loop-induced processes, up and down
separately, taken on the side toward NLO. It replaces the LO band of ``ew`` processes that are not
loop-induced; QCD-only and loop-induced processes keep their own band. ``run_study`` computes it all.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from systlab.theory.process import normalise_process, parse_process
from systlab.theory.stats import GaussianFit, PullStats, describe_pulls, fit_gaussian, sample_std
from systlab.theory.table import TableRow, TheoryTableError, read_scale_table

TAIL_THRESHOLD = 2.0  # |t| above which a process counts as a tail


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


def _spread(values: Sequence[float]) -> PerParticle:
    """Mean, sample standard deviation and range of per-particle uncertainties."""
    arr = np.asarray(values, dtype=float)
    return PerParticle(float(arr.mean()), sample_std(arr), float(arr.min()), float(arr.max()), int(arr.size))


def _enters_reference(category: str, loop_induced: bool, has_lo_percentages: bool) -> bool:
    """The per-particle QCD average takes QCD-only, non-loop-induced processes that give LO scale percentages."""
    return category == "qcd" and not loop_induced and has_lo_percentages


def qcd_per_particle(rows: Sequence[TableRow], loop_induced: Sequence[str] = ()) -> QCDReference:
    """⟨Δσ/(nσ0)⟩ up and down over QCD-only, non-loop-induced rows that give both LO percentages."""
    up, down = [], []
    for row in rows:
        info = parse_process(row.process, loop_induced)
        if _enters_reference(info.category, info.loop_induced, row.lo_scale_up_pct is not None):
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
    return _enters_reference(result.category, result.loop_induced, math.isfinite(result.lo_scale_up))


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
