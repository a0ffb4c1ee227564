"""Scale-uncertainty pull study: LO scale bands against NLO (arXiv:1405.0301 table, arXiv:2210.15167 scheme).

Reads the LO/NLO table, parses MadGraph process strings, computes K-factors, pulls
t = (σ_NLO − σ_LO)/Δσ_LO, the per-final-state-particle QCD scale uncertainty and the
reference-process scheme, and writes ``pulls.csv`` and ``summary.json``.

Modules: ``process`` (process-string syntax and the qcd/ew category rule), ``table`` (reading and
validating the scale table), ``pulls`` (K, pulls, QCD reference, scheme, tails, ``run_study``),
``stats`` (pull-sample statistics and the Gaussian fit), ``report`` (the output files and tail table).
"""

from __future__ import annotations

from systlab.theory.process import (
    COLOURED,
    ELECTROWEAK,
    KNOWN_PARTICLES,
    ProcessInfo,
    ProcessSyntaxError,
    normalise_process,
    parse_process,
)
from systlab.theory.pulls import (
    TAIL_THRESHOLD,
    PerParticle,
    ProcessPull,
    QCDReference,
    TheoryStudy,
    in_qcd_reference,
    k_factor_and_band,
    process_pull,
    pull,
    qcd_per_particle,
    rank_tails,
    run_study,
)
from systlab.theory.report import (
    FULL_TABLE_PROCESSES,
    PARTIAL_CAVEAT,
    PULL_FIELDS,
    TAIL_HEADER,
    read_pulls_csv,
    summary_payload,
    tail_table_rows,
    transcription_note,
    write_pulls_csv,
    write_summary_json,
)
from systlab.theory.stats import MIN_PULLS_FOR_FIT, GaussianFit, PullStats, describe_pulls, fit_gaussian
from systlab.theory.table import COLUMNS, TableRow, TheoryTableError, read_scale_table

__all__ = [
    "COLOURED",
    "COLUMNS",
    "ELECTROWEAK",
    "FULL_TABLE_PROCESSES",
    "KNOWN_PARTICLES",
    "MIN_PULLS_FOR_FIT",
    "PARTIAL_CAVEAT",
    "PULL_FIELDS",
    "TAIL_HEADER",
    "TAIL_THRESHOLD",
    "GaussianFit",
    "PerParticle",
    "ProcessInfo",
    "ProcessPull",
    "ProcessSyntaxError",
    "PullStats",
    "QCDReference",
    "TableRow",
    "TheoryStudy",
    "TheoryTableError",
    "describe_pulls",
    "fit_gaussian",
    "in_qcd_reference",
    "k_factor_and_band",
    "normalise_process",
    "parse_process",
    "process_pull",
    "pull",
    "qcd_per_particle",
    "rank_tails",
    "read_pulls_csv",
    "read_scale_table",
    "run_study",
    "summary_payload",
    "tail_table_rows",
    "transcription_note",
    "write_pulls_csv",
    "write_summary_json",
]
