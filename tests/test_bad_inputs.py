"""Issue #21's matrix of bad inputs: one mistake per case (config, ``inputs:`` overlay, file, theory table, CLI), each a
real ``snakemake`` (or ``systlab``) start in one finished tiny run.

A module fixture builds a few cheap outputs once (two event tables, one read from the NanoAOD test file, and the theory
pull study) and records the bytes of every file under results/. Each case then asserts: a non-zero exit code; one
line of output holding the case's needles (file or key, and the problem), no traceback; for a mistake the DAG build
can see, no job started; for one only a job can see, the rule's log holding the error; every recorded file present
and byte-identical; no temporary file under results/. The case list is also the table of docs/bad_inputs.md
(``test_the_doc_lists_every_case``; regenerate it with ``python tests/test_bad_inputs.py > docs/bad_inputs.md``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SYSTLAB = [sys.executable, "-m", "systlab.cli"]
CONFIGS = ["--configfile", "config/tiny.yaml", "config/nanoaod_example.yaml"]
#: What the finished run holds: the NanoAOD ttbar table, a simulated process's table, the theory pull study.
TARGETS = ["results/events/ttbar.parquet", "results/events/diboson.parquet", "results/theory/summary.json"]
#: The table a job-time case asks for in addition (its process is mapped to a bad file by the case's overlay).
ZTAUTAU = "results/events/ztautau.parquet"
OVERLAY = "bad.yaml"
NANOAOD = "tests/data/nanoAOD_2015_CMS_Open_Data_ttbar.root"
CANONICAL = ("event_id", "weight", "tau_pt", "tau_eta", "tau_phi", "lep_pt", "lep_eta", "lep_phi", "met_pt",
             "met_phi", "jet_pt", "jet_eta", "jet_phi")  # fmt: skip
JETS = ("jet_pt", "jet_eta", "jet_phi")


class NoOneLine(AssertionError):
    """No line of the output names the file or key and the problem."""


class OutputsTouched(AssertionError):
    """A result of the finished run was deleted or changed."""


@dataclass(frozen=True)
class Case:
    """One mistake: the overlay (YAML text, or a mapping dumped as YAML; None: no overlay), the needles one output
    line must hold, when it can be found (``dag``: at DAG build; ``job``: only by a job, whose ``log`` must hold the
    needles; ``cli``: a ``systlab`` command), and the command's arguments when not the default snakemake run."""

    id: str
    what: str
    overlay: str | dict | None
    needles: tuple[str, ...]
    when: str = "dag"
    argv: tuple[str, ...] | None = None
    log: str | None = None
    xfail: str | None = None  # why the project cannot pass it yet (xfail(strict=True) on OutputsTouched/NoOneLine)
    xfail_raises: type[AssertionError] = OutputsTouched
    shown: str | None = None  # the mistake as docs/bad_inputs.md shows it (default: the overlay or the command)


def nanoaod(**columns: Any) -> dict:
    """The example's ttbar mapping with ``columns`` replaced (a full mapping: for a process other than ttbar)."""
    mapping = yaml.safe_load((ROOT / "config" / "nanoaod_example.yaml").read_text())["inputs"]["ttbar"]
    mapping["columns"].update(columns)
    return mapping


def identity(fmt: str, files: list[str], **columns: Any) -> dict:
    """The simulator's own layout (canonical branch names; HDF5 jets through ``njet``), ``columns`` replaced."""
    if fmt == "root":
        mapped = {name: {"branch": name} for name in CANONICAL}
        mapping = {"format": "root", "files": files, "tree": "events"}
    else:
        mapped = {name: {"branch": name, **({"counts": "njet"} if name in JETS else {})} for name in CANONICAL}
        mapping = {"format": "hdf5", "files": files, "group": "events"}
    return {**mapping, "columns": {**mapped, **columns}}


def fair(files: list[str]) -> dict:
    """A FAIR-Universe dataset directory mapped as the challenge names its columns."""
    from systlab.samples.fair import input_columns

    return {"format": "fair", "files": files, "columns": input_columns()}


def ttbar(**change: Any) -> dict:
    return {"inputs": {"ttbar": change}}


def ztautau(mapping: dict) -> dict:
    return {"inputs": {"ztautau": mapping}}


def column(name: str, **source: Any) -> dict:
    return ttbar(columns={name: source})


def check_config(*files: str) -> tuple[str, ...]:
    return (*SYSTLAB, "check-config", *files)


ZTAU_LOG = "results/logs/ingest/ztautau.log"

CASES = [
    # ---- config ---------------------------------------------------------------------------------------------------
    Case("config-unknown-key", "a misspelt top-level key", "trainnig: {epochs: 3}\n",
         (OVERLAY, "'trainnig'", "did you mean 'training'")),
    Case("config-unknown-nested-key", "a misspelt key inside a section", "fit: {scan_pionts: 5}\n",
         ("field 'fit'", "'scan_pionts'", "did you mean 'scan_points'")),
    Case("config-wrong-type", "text where a number is expected", "training: {epochs: many}\n",
         ("field 'training.epochs'", "'many' is not of type 'integer'")),
    Case("config-unsigned-exponent", "1.0e9, which YAML 1.1 reads as text", "simulate: {luminosity_fb: 1.0e9}\n",
         ("field 'simulate.luminosity_fb'", "write 1.0e+9")),
    Case("config-out-of-range", "a value below the schema's minimum", "training: {replicas: 0}\n",
         ("field 'training.replicas'", "less than the minimum")),
    Case("config-yaml-syntax", "a YAML syntax error (unclosed brace)", "training: {epochs: 3\n",
         (OVERLAY, "YAML"), xfail="Snakemake parses --configfile itself, before the Snakefile, and says only "
         "'Config file is not valid JSON or YAML' without the file (systlab check-config names file, line, column)",
         xfail_raises=NoOneLine),
    Case("config-unknown-method", "a method that is not registered", "methods: [baseline, magic]\n",
         ("field 'methods'", "unknown method(s) ['magic']")),
    Case("config-unknown-target-np", "systematics.target not among the shape NPs", "systematics: {target: xes}\n",
         ("field 'systematics.target'", "target NP 'xes'")),
    Case("config-unknown-shape-np", "a shape NP the simulator does not know",
         "systematics: {shape: {xes: {nominal: 1.0, sigma: 0.1}}}\n",
         ("field 'systematics.shape.xes'", "unknown shape NP 'xes'")),
    Case("config-grid-without-nominal", "a TES grid without 0", "systematics: {shape: {tes: {grid: [-1, 1]}}}\n",
         ("field 'systematics.shape.tes.grid'", "does not contain")),
    Case("config-leave-out-not-interior", "an aware leave-out point at the grid's edge",
         "method_settings: {aware: {leave_out: [1.0]}}\n",
         ("field 'method_settings.aware.leave_out'", "not an interior point")),
    Case("config-mu-range-reversed", "fit.mu_range with low > high", "fit: {mu_range: [4.0, -2.0]}\n",
         ("field 'fit.mu_range'", "needs low < high")),
    Case("config-toy-chunks", "more toy chunks than toys", "toys: {chunks: 50}\n",
         ("field 'toys.chunks'", "needs chunks <= n")),
    Case("config-unknown-feature", "a feature name that does not exist", "features: [PRI_tau_pt, DER_tau_mass]\n",
         ("field 'features'", "unknown feature(s) ['DER_tau_mass']")),
    Case("config-norm-unknown-process", "a normalisation NP on a process that is not in the analysis",
         "systematics: {norm: {ttbar_xsec: {processes: [tt]}}}\n",
         ("field 'systematics.norm.ttbar_xsec.processes'", "unknown process(es) ['tt']")),
    Case("config-pseudo-data-unknown-np", "pseudo-data shifting an NP that is not a shape NP",
         "pseudo_data: {nominal: {mu: 1.0, xes: 0.5}}\n",
         ("field 'pseudo_data.nominal'", "not in systematics.shape")),
    Case("config-closure-unknown-model", "a generator-closure model that is not a fixed classifier",
         "generator_check: {closure_models: [nope]}\n",
         ("field 'generator_check.closure_models'", "['nope'] are not fixed classifiers")),
    Case("config-inputs-unknown-process", "an inputs: entry for a process the analysis lacks",
         {"inputs": {"wjets": identity("root", [NANOAOD])}},
         ("field 'inputs.wjets'", "not a process of the analysis")),
    # ---- inputs: overlays ---------------------------------------------------------------------------------------
    Case("inputs-file-missing", "a file that does not exist", ttbar(files=["tests/data/no_such.root"]),
         ("inputs.ttbar", "tests/data/no_such.root: file missing")),
    Case("inputs-directory-without-files", "a directory without a ROOT/HDF5 file", ttbar(files=["config"]),
         ("inputs.ttbar", "config: directory without a .root/.h5/.hdf5/.he5 file")),
    Case("inputs-glob-matches-nothing", "a glob that matches nothing", ttbar(files=["tests/data/none_*.root"]),
         ("inputs.ttbar", "tests/data/none_*.root: no file matches")),
    Case("inputs-unknown-format", "format: csv", ttbar(format="csv"),
         ("inputs.ttbar.format", "must be one of ['root', 'hdf5', 'fair']")),
    Case("inputs-group-on-root", "group: on a ROOT input", ttbar(group="events"),
         ("inputs.ttbar.group", "only for format hdf5")),
    Case("inputs-unknown-field", "a misspelt field of the entry", ttbar(colums={}),
         ("inputs.ttbar", "unknown field(s) ['colums']")),
    Case("inputs-unknown-column", "a canonical column that does not exist", column("tau_mass", branch="Tau_mass"),
         ("inputs.ttbar.columns", "unknown canonical column(s) ['tau_mass']")),
    Case("inputs-bad-object-index", "object: -1", column("tau_pt", object=-1),
         ("inputs.ttbar.columns.tau_pt.object", "must be an integer >= 0")),
    Case("inputs-two-sources", "branch: and value: on one column", column("met_pt", value=1.0),
         ("inputs.ttbar.columns.met_pt", "give exactly one of branch / expr / value")),
    Case("inputs-zero-scale", "scale: 0", column("met_pt", scale=0),
         ("inputs.ttbar.columns.met_pt.scale", "must be non-zero")),
    Case("inputs-unknown-selection", "a misspelt jet cut", ttbar(selection={"jet_min_eta": 1.0}),
         ("inputs.ttbar.selection", "unknown field(s) ['jet_min_eta']")),
    Case("inputs-negative-yield", "yield: -5", ttbar(**{"yield": -5}),
         ("field 'inputs.ttbar.yield'", "-5 is less than or equal to the minimum of 0")),
    Case("inputs-tree-missing", "a tree the file does not hold", ttbar(tree="Evnts"),
         ("inputs.ttbar", NANOAOD, "tree 'Evnts' missing")),
    Case("inputs-unknown-branch", "a branch the tree does not hold", column("tau_pt", branch="Tau_ptx"),
         ("inputs.ttbar", NANOAOD, "column 'tau_pt': branch 'Tau_ptx' missing")),
    Case("inputs-bool-branch", "a branch of booleans", column("met_pt", branch="HLT_IsoMu20"),
         ("inputs.ttbar", "column 'met_pt': branch 'HLT_IsoMu20'", "is not numeric")),
    Case("inputs-string-branch", "a branch of strings",
         ztautau({"format": "root", "files": ["tests/data/uproot-Zmumu.root"], "tree": "events",
                  "columns": {**{n: {"branch": "eta1"} for n in CANONICAL[2:] if n not in JETS},
                              "tau_pt": {"branch": "Type"}}}),
         ("inputs.ztautau", "uproot-Zmumu.root", "column 'tau_pt': branch 'Type'", "is not numeric"),
         shown='ztautau from tests/data/uproot-Zmumu.root, tau_pt: {branch: Type}'),
    Case("inputs-jagged-weight", "a per-jet branch as the event weight", column("weight", branch="Jet_pt"),
         ("inputs.ttbar", "column 'weight' (branch 'Jet_pt'): jagged source where flat is expected",
          "weight needs one number per event")),
    Case("inputs-jagged-for-flat", "a per-object branch without object:", column("met_pt", branch="Jet_pt"),
         ("inputs.ttbar", "column 'met_pt'", "jagged source where flat is expected", "add `object: 0`")),
    Case("inputs-object-on-flat", "object: on a per-event branch", column("tau_pt", branch="MET_pt"),
         ("inputs.ttbar", "column 'tau_pt' (branch 'MET_pt'): flat source where jagged is expected")),
    Case("inputs-expr-syntax", "an expr: that does not parse", ztautau(nanoaod(met_phi={"expr": "arctan2(MET_phi,"})),
         ("inputs.ztautau", "column 'met_phi': cannot evaluate expr 'arctan2(MET_phi,'"),
         shown='ztautau: the example mapping, met_phi: {expr: "arctan2(MET_phi,"}'),
    Case("inputs-expr-unknown-branch", "an expr: naming a branch the tree lacks",
         ztautau(nanoaod(met_phi={"expr": "arctan2(MET_py, MET_px)"})),
         ("inputs.ztautau", "column 'met_phi': cannot evaluate expr 'arctan2(MET_py, MET_px)'", "MET_py"),
         shown='ztautau: the example mapping, met_phi: {expr: "arctan2(MET_py, MET_px)"}'),
    Case("inputs-hdf5-expr-syntax", "an HDF5 expr: that does not parse",
         ztautau(identity("hdf5", ["results/raw/diboson.h5"], met_phi={"expr": "met_phi +* 2"})),
         ("inputs.ztautau.columns.met_phi.expr", "cannot parse expr 'met_phi +* 2'"),
         shown='ztautau: HDF5 results/raw/diboson.h5, met_phi: {expr: "met_phi +* 2"}'),
    Case("inputs-hdf5-expr-unknown-dataset", "an HDF5 expr: naming a dataset the group lacks",
         ztautau(identity("hdf5", ["results/raw/diboson.h5"], met_phi={"expr": "arctan2(met_py, met_px)"})),
         ("inputs.ztautau", "results/raw/diboson.h5: column 'met_phi': dataset 'met_py' missing"),
         shown='ztautau: HDF5 results/raw/diboson.h5, met_phi: {expr: "arctan2(met_py, met_px)"}'),
    Case("inputs-hdf5-group-missing", "an HDF5 group the file does not hold",
         ztautau({**identity("hdf5", ["results/raw/diboson.h5"]), "group": "evts"}),
         ("inputs.ztautau", "results/raw/diboson.h5: group 'evts' missing"),
         shown='ztautau: HDF5 results/raw/diboson.h5, group: evts'),
    Case("inputs-hdf5-jagged-without-counts", "a jagged HDF5 column without counts:",
         ztautau(identity("hdf5", ["results/raw/diboson.h5"], jet_eta={"branch": "jet_eta"})),
         ("inputs.ztautau.columns.jet_eta.counts", "required for a jagged HDF5 source"),
         shown='ztautau: HDF5 results/raw/diboson.h5, jet_eta: {branch: jet_eta}'),
    # ---- files ----------------------------------------------------------------------------------------------------
    Case("file-not-root", "a text file named .root", ttbar(files=["bad/fake.root"]),
         ("inputs.ttbar", "bad/fake.root: not a readable ROOT file")),
    Case("file-truncated-root", "a ROOT file cut in half", ttbar(files=["bad/truncated.root"]),
         ("inputs.ttbar", "bad/truncated.root: not a readable ROOT file")),
    Case("file-empty-tree", "a ROOT tree with zero entries", ztautau(identity("root", ["bad/empty.root"])),
         ("inputs.ztautau", "bad/empty.root: tree 'events' has zero entries"),
         shown='ztautau: ROOT bad/empty.root (tree events, 0 entries)'),
    Case("file-not-hdf5", "a text file named .h5", ztautau(identity("hdf5", ["bad/fake.h5"])),
         ("inputs.ztautau", "bad/fake.h5: not a readable HDF5 file"),
         shown='ztautau: HDF5 bad/fake.h5 (a text file)'),
    Case("file-hdf5-dataset-missing", "an HDF5 file without a mapped dataset",
         ztautau(identity("hdf5", ["bad/no_tau_eta.h5"])),
         ("inputs.ztautau", "bad/no_tau_eta.h5: column 'tau_eta': dataset 'tau_eta' missing"),
         shown='ztautau: HDF5 bad/no_tau_eta.h5 (diboson.h5 without tau_eta)'),
    Case("file-hdf5-2d-dataset", "a 2-D dataset for a flat column", ztautau(identity("hdf5", ["bad/two_d.h5"])),
         ("inputs.ztautau", "bad/two_d.h5: column 'lep_phi': dataset 'lep_phi' has shape", "expected 1-D"),
         shown='ztautau: HDF5 bad/two_d.h5 (lep_phi of shape (n, 2))'),
    Case("file-hdf5-short-dataset", "an HDF5 dataset shorter than the others",
         ztautau(identity("hdf5", ["bad/short.h5"])),
         ("inputs.ztautau", "bad/short.h5: column 'met_pt': dataset 'met_pt'", "mismatched lengths"),
         shown='ztautau: HDF5 bad/short.h5 (met_pt cut to 10 entries)'),
    Case("file-nan-in-column", "NaN in a column (seen only when the events are read)",
         ztautau(identity("root", ["bad/nan.root"])), ("bad/nan.root: column 'met_pt'", "1 NaN/inf value(s)"),
         when="job", log=ZTAU_LOG,
         shown='ztautau: ROOT bad/nan.root (one NaN in met_pt); target ztautau.parquet'),
    Case("file-weights-sum-negative", "weights summing to <= 0 with a yield to rescale to (seen when read)",
         ztautau({**identity("root", ["results/raw/diboson.root"], weight={"branch": "weight", "scale": -1.0}),
                  "yield": 100.0}),
         ("results/raw/diboson.root: sum of weights", "cannot rescale to the expected yield 100.0"),
         when="job", log=ZTAU_LOG,
         shown='ztautau: ROOT results/raw/diboson.root, weight scale -1, yield: 100; target ztautau.parquet'),
    Case("file-object-beyond-every-event", "object: 5 of a collection no event has 6 of (seen when read)",
         ztautau(nanoaod(tau_pt={"branch": "Tau_pt", "object": 5})),
         (NANOAOD, "no event left", "tau_pt (object 5)", "lower an index"), when="job", log=ZTAU_LOG,
         shown='ztautau: the example mapping, tau_pt: {branch: Tau_pt, object: 5}; target ztautau.parquet'),
    Case("file-jet-multiplicity", "jet columns from different collections (seen when read)",
         ztautau(nanoaod(jet_eta={"branch": "Tau_eta"})),
         (NANOAOD, "column 'jet_eta': jet multiplicity differs from 'jet_pt'"), when="job", log=ZTAU_LOG,
         shown='ztautau: the example mapping, jet_eta: {branch: Tau_eta}; target ztautau.parquet'),
    # ---- FAIR-Universe dataset directories (format: fair), made from diboson's events in the challenge's layout -----
    Case("fair-directory-without-parquet", "a FAIR-Universe dataset directory without its Parquet file",
         ztautau(fair(["bad/fair_no_parquet"])),
         ("inputs.ztautau", "bad/fair_no_parquet: no Parquet file", "one .parquet file and one *_metadata.json"),
         shown="ztautau: FAIR bad/fair_no_parquet (only data_metadata.json)"),
    Case("fair-directory-without-metadata", "a FAIR-Universe dataset directory without its *_metadata.json",
         ztautau(fair(["bad/fair_no_metadata"])),
         ("inputs.ztautau", "bad/fair_no_metadata: no metadata file", "one .parquet file and one *_metadata.json"),
         shown="ztautau: FAIR bad/fair_no_metadata (only data.parquet)"),
    Case("fair-missing-pri-column", "a challenge Parquet file without a mapped PRI_* column",
         ztautau(fair(["bad/fair_no_had_eta"])),
         ("inputs.ztautau", "bad/fair_no_had_eta/data.parquet: column 'tau_eta' (branch 'PRI_had_eta'): Parquet "
          "column 'PRI_had_eta' missing"),
         shown="ztautau: FAIR bad/fair_no_had_eta (data.parquet without PRI_had_eta)"),
    Case("fair-labels-not-0-1", "labels other than 0/1 in a challenge dataset (seen when read)",
         ztautau(fair(["bad/fair_labels"])),
         ("bad/fair_labels/data.parquet: column 'labels': 1 value(s) other than 0/1",), when="job", log=ZTAU_LOG,
         shown="ztautau: FAIR bad/fair_labels (one label 2); target ztautau.parquet"),
    Case("fair-weights-not-finite", "non-finite weights in a challenge dataset (seen when read)",
         ztautau(fair(["bad/fair_weights"])),
         ("bad/fair_weights/data.parquet: column 'weight' (branch 'weights')", "2 NaN/inf value(s)"), when="job",
         log=ZTAU_LOG, shown="ztautau: FAIR bad/fair_weights (weights NaN and inf); target ztautau.parquet"),
    # ---- theory tables ----------------------------------------------------------------------------------------
    Case("theory-table-missing", "theory.table naming a file that does not exist",
         "theory: {table: bad/no_table.csv}\n", ("theory.table: bad/no_table.csv: file missing",)),
    Case("theory-header-column-missing", "a scale table without the process column",
         "theory: {table: bad/theory_header.csv}\n",
         ("theory.table: bad/theory_header.csv: line 1 (header): missing column(s) ['process']",)),
    Case("theory-cell-not-a-number", "text in a cross-section cell", "theory: {table: bad/theory_cell.csv}\n",
         ("bad/theory_cell.csv: line 2 (row a.1 'p p > wpm'), column 'lo_xsec_pb': expected a number",)),
    Case("theory-duplicate-label", "two rows with one label", "theory: {table: bad/theory_duplicate.csv}\n",
         ("bad/theory_duplicate.csv: line 3", "column 'label': duplicate label (first on line 2)")),
    # ---- command line -------------------------------------------------------------------------------------------
    Case("cli-unknown-target", "a target no rule makes", None, ("No rule to produce results/nope.txt",),
         argv=(*SNAKEMAKE, "results/nope.txt", "--cores", "2", *CONFIGS)),
    Case("cli-target-unknown-process", "a target for a process the analysis lacks", None,
         ("No rule to produce results/events/wjets.parquet",),
         argv=(*SNAKEMAKE, "results/events/wjets.parquet", "--cores", "2", *CONFIGS)),
    Case("cli-config-option-typo", "snakemake --config with a misspelt key", None,
         ("'trainnig' was unexpected", "did you mean 'training'"),
         argv=(*SNAKEMAKE, *TARGETS, "--cores", "2", "--config", "trainnig=3", *CONFIGS)),
    Case("cli-check-config-yaml-syntax", "systlab check-config on a YAML syntax error", "training: {epochs: 3\n",
         (f"error: {OVERLAY}: line 2, column 1: YAML syntax error",), when="cli",
         argv=check_config("config/tiny.yaml", OVERLAY),
         shown='systlab check-config config/tiny.yaml bad.yaml; bad.yaml: training: {epochs: 3'),
    Case("cli-check-config-unknown-key", "systlab check-config on a misspelt key", "trainnig: {epochs: 3}\n",
         (f"error: {OVERLAY}: field 'trainnig'", "did you mean 'training'"), when="cli",
         argv=check_config("config/tiny.yaml", OVERLAY),
         shown='systlab check-config config/tiny.yaml bad.yaml; bad.yaml: trainnig: {epochs: 3}'),
    Case("cli-check-config-missing-file", "systlab check-config on a config file that does not exist", None,
         ("error: nope.yaml: cannot read the file",), when="cli", argv=check_config("nope.yaml"),
         shown='systlab check-config nope.yaml'),
    Case("cli-check-config-unknown-branch", "systlab check-config on an inputs: branch the file lacks",
         column("tau_pt", branch="Tau_ptx"),
         (f"error: {OVERLAY}: field 'inputs.ttbar.columns.tau_pt'", "branch 'Tau_ptx' missing"), when="cli",
         argv=check_config("config/tiny.yaml", "config/nanoaod_example.yaml", OVERLAY),
         shown="systlab check-config config/tiny.yaml config/nanoaod_example.yaml bad.yaml; bad.yaml: "
         "{inputs: {ttbar: {columns: {tau_pt: {branch: Tau_ptx}}}}}"),
]
assert len({case.id for case in CASES}) == len(CASES)


def _env() -> dict[str, str]:
    """The environment of every command: the code under test first on the path (snakemake's script jobs inherit it)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + (os.pathsep + path if path else "")}


def _digests(results: Path) -> dict[str, str]:
    return {str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob("*")) if p.is_file()}  # fmt: skip


def _make_bad_files(workdir: Path) -> None:
    """The broken files the cases point at, made from the finished run's own outputs and the test data."""
    import awkward as ak
    import h5py
    import numpy as np

    from systlab.samples import rawio

    bad = workdir / "bad"
    bad.mkdir()
    raw = (ROOT / NANOAOD).read_bytes()
    (bad / "truncated.root").write_bytes(raw[: len(raw) // 2])
    (bad / "fake.root").write_text("this is not ROOT\n" * 100)
    (bad / "fake.h5").write_text("no HDF5 here\n")
    events = ak.from_parquet(workdir / "results" / "events" / "diboson.parquet")
    met = ak.to_numpy(events["met_pt"]).copy()
    met[7] = np.nan
    rawio.write_root(ak.with_field(events, met, "met_pt"), bad / "nan.root")
    rawio.write_root(events[:0], bad / "empty.root")
    h5 = workdir / "results" / "raw" / "diboson.h5"
    for name, edit in (("no_tau_eta", lambda g: g.__delitem__("tau_eta")),
                       ("two_d", lambda g: (g.__delitem__("lep_phi"),
                                            g.create_dataset("lep_phi", data=np.zeros((len(events), 2))))),
                       ("short", lambda g: g["met_pt"].resize((10,)))):  # fmt: skip
        shutil.copyfile(h5, bad / f"{name}.h5")
        with h5py.File(bad / f"{name}.h5", "a") as handle:
            edit(handle["events"])
    _make_bad_fair_directories(bad, events)
    lines = (ROOT / "resources" / "theory" / "scale_table_13tev.csv").read_text().splitlines()
    header = lines[0].split(",")
    (bad / "theory_header.csv").write_text("\n".join([",".join(h for h in header if h != "process"), *lines[1:]]))
    (bad / "theory_cell.csv").write_text("\n".join([lines[0], lines[1].replace("1.375e5", "lots"), *lines[2:]]))
    (bad / "theory_duplicate.csv").write_text("\n".join([lines[0], lines[1], lines[1], *lines[3:]]))


def _make_bad_fair_directories(bad: Path, events) -> None:
    """diboson's events as a systlab sample written in the challenge's layout, then broken one way per directory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from systlab.samples.fair import write_dataset
    from systlab.samples.vary import Variation, apply_variation, finish_sample, soft_met_draws

    fractions = {"train": 0.3, "validation": 0.1, "template": 0.3, "toy": 0.3}
    sample = finish_sample(apply_variation(events, Variation("nominal"), soft_met_draws(len(events), 1)), 0, 1,
                           fractions)  # fmt: skip
    sample.to_parquet(bad / "diboson_sample.parquet", index=False)
    good = write_dataset(bad / "diboson_sample.parquet", bad / "fair", "diboson", fractions).files
    table = pq.read_table(good.parquet)
    labels = np.zeros(table.num_rows, dtype=np.int64)
    labels[4] = 2
    weights = table.column("weights").to_numpy().copy()
    weights[[2, 5]] = (np.nan, np.inf)
    broken = {"fair_no_parquet": None, "fair_no_metadata": table,
              "fair_no_had_eta": table.drop_columns(["PRI_had_eta"]),
              "fair_labels": table.set_column(table.schema.get_field_index("labels"), "labels", pa.array(labels)),
              "fair_weights": table.set_column(table.schema.get_field_index("weights"), "weights", pa.array(weights))}
    for name, edited in broken.items():
        (bad / name).mkdir()
        if edited is not None:
            pq.write_table(edited, bad / name / "data.parquet")
        if name != "fair_no_metadata":
            shutil.copyfile(good.metadata, bad / name / "data_metadata.json")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """The finished run (workdir), the digests of every file under its results/, and a copy of them."""
    workdir = tmp_path_factory.mktemp("bad_inputs")
    for name in ("Snakefile", "workflow", "config", "profiles", "resources", "tests"):
        (workdir / name).symlink_to(ROOT / name)
    run = subprocess.run([*SNAKEMAKE, *TARGETS, "--cores", "2", *CONFIGS], cwd=workdir, capture_output=True,
                         text=True, timeout=600, env=_env())  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    _make_bad_files(workdir)
    backup = tmp_path_factory.mktemp("bad_inputs_backup") / "results"
    shutil.copytree(workdir / "results", backup)
    return workdir, _digests(workdir / "results"), backup


def _params() -> list:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, raises=case.xfail_raises, reason=case.xfail)] if case.xfail else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


#: A job starting: Snakemake's "rule NAME:" / "localrule NAME:" header.
JOB_STARTED = re.compile(r"^(local)?rule \w+:$", re.MULTILINE)
TEMPORARY = ("*.tmp*", ".*.tmp")


@pytest.mark.parametrize("case", _params())
def test_a_bad_input_fails_with_one_line_and_keeps_the_finished_outputs(case: Case, finished) -> None:
    workdir, recorded, backup = finished
    results = workdir / "results"
    overlay = workdir / OVERLAY
    if case.overlay is not None:
        text = case.overlay if isinstance(case.overlay, str) else yaml.safe_dump(case.overlay, sort_keys=False)
        overlay.write_text(text)
    default = [*SNAKEMAKE, *TARGETS, *([ZTAUTAU] if case.when == "job" and case.log == ZTAU_LOG else []),
               "--cores", "2", *CONFIGS, OVERLAY]  # fmt: skip
    try:
        run = subprocess.run(list(case.argv or default), cwd=workdir, capture_output=True, text=True, timeout=300,
                             env=_env())  # fmt: skip
        output = run.stdout + run.stderr
        assert run.returncode != 0, output[-3000:]
        lines = [line for line in output.splitlines() if all(needle in line for needle in case.needles)]
        if not lines:
            raise NoOneLine(f"no line holds {case.needles}:\n{output[-3000:]}")
        assert "Traceback (most recent call last)" not in output, output[-3000:]
        if case.when == "dag":
            assert not JOB_STARTED.search(output), f"a job started:\n{output[-3000:]}"
        if case.log is not None:
            log = (workdir / case.log).read_text()
            assert all(needle in log for needle in case.needles), log[-3000:]
        left = [str(p.relative_to(workdir)) for pattern in TEMPORARY for p in results.rglob(pattern)]
        assert not left, f"temporary files left: {left}"
        now = _digests(results)
        touched = sorted(name for name, digest in recorded.items() if now.get(name) != digest)
        if touched:
            raise OutputsTouched(f"deleted or changed: {touched}")
    finally:
        overlay.unlink(missing_ok=True)
        _restore(results, recorded, backup)


def _restore(results: Path, recorded: dict[str, str], backup: Path) -> None:
    """The finished run's results/ as recorded: new files removed, touched ones copied back (cases independent)."""
    now = _digests(results)
    for name in now.keys() - recorded.keys():
        (results / name).unlink()
    for name, digest in recorded.items():
        if now.get(name) != digest:
            (results / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup / name, results / name)


def test_the_matrix_has_at_least_40_cases() -> None:
    assert len(CASES) >= 40


# ---- docs/bad_inputs.md: the table of cases ----------------------------------------------------------------------
DOC = ROOT / "docs" / "bad_inputs.md"
WHEN = {"dag": "DAG build, no job starts", "job": "the job; error in its log", "cli": "`systlab check-config`"}


def doc_table() -> str:
    """docs/bad_inputs.md as this module's case list makes it."""
    gaps = list(dict.fromkeys(case.xfail for case in CASES if case.xfail))
    rows = ["# Bad inputs and the one line each gives", "",
            "Generated from `tests/test_bad_inputs.py` (`python tests/test_bad_inputs.py > docs/bad_inputs.md`); "
            "`test_the_doc_lists_every_case` fails when the two differ.", "",
            "Each case is a real `snakemake` (or `systlab`) start, with one mistake, in a finished run (`snakemake "
            + " ".join(TARGETS) + " --cores 2 --configfile config/tiny.yaml config/nanoaod_example.yaml`): the "
            f"mistake is an overlay `{OVERLAY}` added to those config files, or the command shown; the test makes "
            "the broken files under `bad/`. Every case asserts: exit code non-zero; one output line holding every "
            "part of the last column; no Python traceback; every earlier file under results/ present and "
            "byte-identical; no temporary file under results/. Caught at DAG build: no job started. Caught by a "
            "job (only reading the events shows it): the rule's log holds the error, and the other outputs are "
            "kept (Snakemake deletes the outputs of a job before it runs, so such a mistake in an input whose "
            "table exists costs that table: the cases map a process not built yet, ztautau).", "",
            f"{len(CASES)} cases: {len(CASES) - len([c for c in CASES if c.xfail])} must pass, "
            f"{len([c for c in CASES if c.xfail])} are known gaps (xfail, strict: one that starts passing fails).",
            "",
            "| case | what is wrong | mistake | caught at | the line holds |", "| --- | --- | --- | --- | --- |"]
    for case in CASES:
        if case.shown is not None:
            mistake = case.shown
        elif case.overlay is None:
            mistake = " ".join(a for a in case.argv or () if a != sys.executable).replace("-m ", "")
        elif isinstance(case.overlay, str):
            mistake = " ".join(case.overlay.split())
        else:
            mistake = " ".join(yaml.safe_dump(case.overlay, sort_keys=False, default_flow_style=True).split())
        needles = " … ".join(f"`{n}`" for n in case.needles)
        status = WHEN[case.when] + (f" — **known gap {gaps.index(case.xfail) + 1}**" if case.xfail else "")
        rows.append(f"| {case.id} | {case.what} | `{mistake}` | {status} | {needles} |")
    rows += ["", "## Known gaps", ""] + [f"{k}. {gap}." for k, gap in enumerate(gaps, 1)]
    return "\n".join(rows) + "\n"


def test_the_doc_lists_every_case() -> None:
    assert DOC.read_text() == doc_table(), "docs/bad_inputs.md is stale: python tests/test_bad_inputs.py > it"


if __name__ == "__main__":
    print(doc_table(), end="")
