"""The ``systlab`` command: validate a layered configuration, inspect a raw ROOT/HDF5 file.

``systlab check-config`` answers "will Snakemake accept this config?" before a DAG is built; ``systlab inspect``
lists what a foreign file holds and drafts the ``inputs:`` mapping onto the canonical columns. Every subcommand
imports what it needs when it runs (numpy, uproot, h5py, jsonschema), so ``systlab --help`` stays fast.
Exit codes: 0 success, 2 invalid input (one line on stderr naming file, field and problem, no traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INVALID = 2
#: The Snakefile's ``configfile:``, relative to the directory Snakemake runs in.
BASE_CONFIG = Path("config") / "config.yaml"

CHECK_EPILOG = """\
layering (what snakemake does): the Snakefile declares `configfile: config/config.yaml`, and
`snakemake --configfile A.yaml B.yaml` merges A then B on top of it key by key (mappings merge, lists
and scalars are replaced). check-config does the same: the base config is layered first unless it is
among FILEs, so an overlay such as config/tiny.yaml or config/nanoaod_example.yaml can be checked alone.
The base is --base if given, else config/config.yaml in the current directory, else the one of the
systlab checkout. --no-base checks FILEs alone (like snakemake --replace-workflow-config).

`inputs:` entries are validated as systlab ingest reads them (format, columns, object/counts rules) and
their files must exist (relative paths from the current directory, as snakemake sees them; --no-files
skips that).

examples:
  systlab check-config config/config.yaml
  systlab check-config config/tiny.yaml              # = config/config.yaml + config/tiny.yaml
  systlab check-config config/nanoaod_example.yaml --yaml
"""

INSPECT_EPILOG = """\
The draft maps the branches it recognises (NanoAOD Tau_/Muon_/Electron_/MET_/Jet_ pt-eta-phi, the
simulator's own tau_pt ... jet_phi, Px/Py/Pz collections as uproot expressions, genWeight/EventWeight,
event) onto systlab's canonical columns; the rest appear as `# TODO` lines. Review it, then:

  systlab inspect FILE.root --process ttbar -o my_inputs.yaml
  systlab check-config my_inputs.yaml                # layered on config/config.yaml
  snakemake --cores 2 --configfile my_inputs.yaml
"""


class CliError(Exception):
    """An invalid input the command reports as one line and exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``systlab`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # `systlab inspect big.root | head`
        sys.stdout = open(os.devnull, "w")  # the reader is gone: silence the flush at interpreter exit
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands (nothing heavy imported here)."""
    parser = argparse.ArgumentParser(
        prog="systlab", description="Systematics-aware ML pipeline: configuration and input helpers. "
        "The analysis itself runs through Snakemake (snakemake --cores N).",
    )
    from systlab import __version__

    parser.add_argument("--version", action="version", version=f"systlab {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    check = sub.add_parser(
        "check-config", help="validate one or several layered config YAML files",
        description="Validate config files layered the way snakemake --configfile does and print the resolved\n"
        "analysis (processes, methods, models, variations, nuisance parameters, truths, inputs).\n"
        "On an invalid config: one line on stderr naming the file, the field and the problem; exit code 2.",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="YAML config files; later ones override earlier")
    base = check.add_mutually_exclusive_group()
    base.add_argument("--base", metavar="FILE", help="base config layered first (default: config/config.yaml)")
    base.add_argument("--no-base", action="store_true", help="check FILEs alone, without the base config")
    check.add_argument("--no-files", action="store_true", help="do not require the files of `inputs:` to exist")
    check.add_argument("--yaml", action="store_true", help="print the merged mapping as YAML instead of a summary")
    check.set_defaults(run=check_config)

    inspect = sub.add_parser(
        "inspect", help="list the trees/groups of a ROOT or HDF5 file and draft its `inputs:` mapping",
        description="List the TTrees (ROOT, via uproot) or groups (HDF5, via h5py) of FILE with their\n"
        "branches/datasets, types and entry counts, then print a draft `inputs:` overlay mapping the\n"
        "recognised branches onto systlab's canonical columns.",
        epilog=INSPECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("file", metavar="FILE", help="a .root or .h5/.hdf5 file")
    inspect.add_argument("--process", help="process name of the draft (default: guessed from the file name)")
    inspect.add_argument("--tree", help="tree (ROOT) or group (HDF5) to draft (default: the best-matching one)")
    inspect.add_argument("--branches", metavar="GLOB", help="list only branches/datasets matching GLOB (e.g. 'Tau_*')")
    inspect.add_argument("--draft-only", action="store_true", help="print only the draft YAML (no listing)")
    inspect.add_argument("-o", "--output", metavar="FILE", help="write the draft to FILE instead of stdout")
    inspect.set_defaults(run=inspect_file)
    return parser


def _one_line(text: str) -> str:
    """Collapse whitespace so a message is exactly one line."""
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------ check-config


@dataclass
class Layer:
    """One YAML file of a layered config: its label (as given) and its parsed mapping."""

    label: str
    mapping: dict[str, Any]


def check_config(args: argparse.Namespace) -> int:
    """``systlab check-config``: merge the layers, validate config and inputs, print the result."""
    import yaml

    from systlab.config import ConfigError, deep_update, load_config

    paths = [Path(p) for p in args.files]
    found = None if args.no_base else find_base(args.base)
    base = found if found is not None and not any(_same_file(found, p) for p in paths) else None
    if base is not None:  # a base among FILEs is layered where the user put it, not twice
        paths.insert(0, base)
    layers = [read_layer(p) for p in paths]
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_update(merged, layer.mapping)
    try:
        cfg = load_config(merged, source="config")
    except ConfigError as exc:
        raise CliError(_config_error_line(str(exc), layers, no_base=found is None)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a value the schema let through
        raise CliError(f"{_labels(layers)}: invalid value ({type(exc).__name__}: {exc})") from None
    inputs = validate_inputs(cfg.inputs, layers, check_files=not args.no_files)
    if args.yaml:
        print(yaml.safe_dump(merged, sort_keys=False, width=120), end="")
    else:
        print("\n".join(config_summary(cfg, layers, inputs, base)))
    return EXIT_OK


def find_base(explicit: str | None) -> Path | None:
    """The base config: ``--base``, else config/config.yaml here, else the one of the systlab checkout."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise CliError(f"{explicit}: base config not found (--base)")
        return Path(explicit)
    if BASE_CONFIG.is_file():
        return BASE_CONFIG
    checkout = Path(__file__).resolve().parents[2]  # src/systlab/cli.py -> the checkout of an editable install
    if (checkout / "Snakefile").is_file() and (checkout / BASE_CONFIG).is_file():
        return checkout / BASE_CONFIG
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def read_layer(path: Path) -> Layer:
    """Parse one YAML file; a missing file, a syntax error or a non-mapping top level is a CliError."""
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise CliError(f"{path}:{where} YAML syntax error: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise CliError(f"{path}: field '(top level)': must be a mapping of config keys, got {type(data).__name__}")
    return Layer(str(path), dict(data))


def _labels(layers: Sequence[Layer]) -> str:
    return " + ".join(layer.label for layer in layers)


_CONFIG_ERROR = re.compile(r"^config: field '(?P<field>[^']*)': (?P<problem>.*)$", re.DOTALL)
_UNEXPECTED = re.compile(r"\((?P<keys>'.*') (?:was|were) unexpected\)")
_REQUIRED = re.compile(r"^'(?P<key>[^']*)' is a required property")


def _config_error_line(message: str, layers: Sequence[Layer], no_base: bool) -> str:
    """Rewrite a ConfigError as 'FILE: field 'a.b': problem', FILE being the layer whose value is at fault."""
    match = _CONFIG_ERROR.match(message)
    if match is None:
        return f"{_labels(layers)}: {message}"
    field_, problem = match["field"], match["problem"]
    parts = [] if field_ == "(top level)" else field_.split(".")
    unexpected, required = _UNEXPECTED.search(problem), _REQUIRED.match(problem)
    if unexpected:  # name the typo'd key itself, not only its parent
        parts.append(re.findall(r"'([^']*)'", unexpected["keys"])[0])
    elif required:
        parts.append(required["key"])
    shown = ".".join(parts) or "(top level)"
    line = f"{blame(layers, parts)}: field '{shown}': {problem}"
    if no_base and required and len(parts) == 1:
        line += f" (an overlay needs a base config under it: --base {BASE_CONFIG})"
    return line


def blame(layers: Sequence[Layer], parts: Sequence[str]) -> str:
    """The last layer that sets the value at ``parts`` (or an enclosing non-mapping); all layers if none does."""
    if parts:
        for layer in reversed(layers):
            if _sets(layer.mapping, parts):
                return layer.label
    return _labels(layers)


def _sets(mapping: Mapping[str, Any], parts: Sequence[str]) -> bool:
    """True if ``mapping`` holds the path ``parts``, or replaces a prefix of it by a list or scalar."""
    node: Any = mapping
    for part in parts:
        if not isinstance(node, Mapping):
            return True  # a list/scalar set here replaces everything below it
        key = next((k for k in node if str(k) == part), None)
        if key is None:
            return False
        node = node[key]
    return True


@dataclass
class CheckedInput:
    """One validated ``inputs:`` entry and the files its patterns resolved to (None: not checked)."""

    spec: Any  # systlab.samples.ingest.InputSpec
    files: list[str] | None


def validate_inputs(inputs: Mapping[str, Any], layers: Sequence[Layer], check_files: bool) -> dict[str, CheckedInput]:
    """Validate every ``inputs:`` entry with ``InputSpec.from_mapping`` (and its files); errors name the layer."""
    if not inputs:
        return {}
    from systlab.samples.ingest import IngestError, InputSpec, resolve_files

    checked = {}
    for process, mapping in inputs.items():
        where = f"inputs.{process}"
        try:
            spec = InputSpec.from_mapping(mapping, where=where)
        except IngestError as exc:
            path, _, problem = str(exc).partition(": ")
            raise CliError(f"{blame(layers, path.split('.'))}: field '{path}': {problem}") from None
        files = None
        if check_files:
            try:
                files = resolve_files(spec.files)
            except IngestError as exc:
                problem = str(exc).removesuffix(" (field 'files')")
                raise CliError(f"{blame(layers, [*where.split('.'), 'files'])}: field '{where}.files': {problem} "
                               f"(relative paths are taken from {Path.cwd()})") from None
        checked[process] = CheckedInput(spec, files)
    return checked


def config_summary(
    cfg: Any, layers: Sequence[Layer], inputs: Mapping[str, CheckedInput], base: Path | None
) -> list[str]:
    """Readable lines of the resolved configuration (what the DAG will be built from)."""
    labels = [layer.label for layer in layers]
    if base is not None:  # layered automatically, as the Snakefile's configfile
        labels[0] += " (base)"
    lines = [f"config OK: {' + '.join(labels)}",
             f"run_id {cfg.run_id}, seed {cfg.seed}, digest {cfg.digest}",
             f"processes: signal {cfg.signal}; backgrounds {', '.join(cfg.backgrounds)}"]
    for process in cfg.processes:
        if process in inputs:
            lines += _input_lines(process, inputs[process])
        else:
            boost = f", signal boost {cfg.signal_boost:g}" if process == cfg.signal and cfg.signal_boost != 1 else ""
            events = f"{cfg.events[process]:,} events ({cfg.luminosity_fb:g} fb^-1{boost})"
            lines.append(f"  {process:<10} simulated: {events}")
    models, study = cfg.model_names(), [m.name for m in cfg.study_models()]
    variations = cfg.variation_names()
    lines += [
        f"methods ({len(cfg.methods)}): {', '.join(cfg.methods)}",
        f"models ({len(models)}): {', '.join(models)}",
        f"study models ({len(study)}): {', '.join(study) or '-'}",
        f"variations ({len(variations)}): {', '.join(variations)}",
        "shape NPs: " + ("; ".join(_shape_np(np_) for np_ in cfg.shape_nps) or "-"),
        "norm NPs: " + ("; ".join(f"{np_.name} ({', '.join(np_.processes)}) {np_.sigma:g}" for np_ in cfg.norm_nps)
                        or "-") + f"; lumi {cfg.lumi_sigma:g}",
        "truths: " + "; ".join(_truth(t) for t in cfg.truths),
        f"features ({len(cfg.features)}): {', '.join(cfg.features)}",
        f"splits: {', '.join(f'{k} {v:g}' for k, v in cfg.splits.items())}",
        f"training: hidden {list(cfg.training.hidden)}, {cfg.training.epochs} epochs, "
        f"{cfg.training.replicas} replicas; templates: {cfg.bins} bins ({cfg.binning}); "
        f"fit: mu in {list(cfg.mu_range)}, {cfg.scan_points} scan points; toys: {cfg.n_toys}",
    ]
    return lines


def _shape_np(np_: Any) -> str:
    grid = f", grid [{' '.join(f'{k:g}' for k in np_.grid)}] sigma" if len(np_.grid) > 1 else ""
    return f"{np_.name} (nominal {np_.nominal:g}, sigma {np_.sigma:g}{', one-sided' if np_.one_sided else ''}{grid})"


def _truth(truth: Any) -> str:
    shifts = "".join(f", {k} {v:+g} sigma" for k, v in truth.shifts.items())
    return f"{truth.name} (mu {truth.mu:g}{shifts})"


def _input_lines(process: str, checked: CheckedInput) -> list[str]:
    """Summary of one ``inputs:`` entry: format, tree/group, files, column sources, selection, yield."""
    spec = checked.spec
    where = f"tree {spec.tree}" if spec.format == "root" else f"group {spec.group}"
    files = checked.files if checked.files is not None else list(spec.files)
    found = "" if checked.files is not None else " (not checked)"
    lines = [f"  {process:<10} read from {spec.format} files, {where}, {len(files)} file(s){found}: "
             + ", ".join(files),
             "             columns: " + ", ".join(f"{col.name} <- {_column_source(col)}" for col in spec.columns)]
    extra = [f"{k} {v:g}" for k, v in vars(spec.selection).items() if v is not None]
    if spec.expected_yield is not None:
        extra.append(f"yield {spec.expected_yield:g}")
    if extra:
        lines.append("             " + ", ".join(extra))
    return lines


def _column_source(col: Any) -> str:
    """Compact source of a ColumnSpec: ``Tau_pt[0]``, ``jet_pt/njet``, ``expr(...)``, ``=1``, ``(index)``."""
    if col.branch is not None:
        text = col.branch + (f"/{col.counts}" if col.counts else "")
    elif col.expr is not None:
        text = f"expr({col.expr})"
    elif col.value is not None:
        text = f"={col.value:g}"
    else:
        return "(running index)"
    if col.object is not None:
        text += f"[{col.object}]"
    return text + (f" x{col.scale:g}" if col.scale != 1.0 else "")


# ------------------------------------------------------------------------------------------------ inspect


@dataclass
class Source:
    """One branch (ROOT) or dataset (HDF5): name, type, 'flat'/'jagged'/'other', its counter, length."""

    name: str
    type: str
    kind: str
    counts: str | None = None
    length: int | None = None
    note: str = ""


@dataclass
class Table:
    """One TTree or HDF5 group: its name, entry count and sources."""

    name: str
    entries: int
    sources: list[Source] = field(default_factory=list)

    def lookup(self) -> dict[str, Source]:
        """Usable (numeric) sources by lower-case name; the first of names differing only in case wins."""
        out: dict[str, Source] = {}
        for src in self.sources:
            if src.kind in ("flat", "jagged"):
                out.setdefault(src.name.lower(), src)
        return out


def inspect_file(args: argparse.Namespace) -> int:
    """``systlab inspect``: list the file's trees/groups, then print (or write) the draft ``inputs:`` block."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: file not found")
    fmt = detect_format(path)
    tables, notes = read_root_tables(path) if fmt == "root" else read_hdf5_tables(path)
    if not args.draft_only:
        print("\n".join(listing(path, fmt, tables, notes, args.branches)))
    if not tables:
        raise CliError(f"{path}: no {'TTree' if fmt == 'root' else 'group with datasets'} to map")
    table = pick_table(tables, fmt, args.tree, path)
    process = args.process or guess_process(path)
    draft, todo = draft_inputs(args.file, fmt, table, process, others=[t.name for t in tables if t is not table])
    if args.output:
        Path(args.output).write_text(draft)
        print(f"draft inputs block written to {args.output}", file=sys.stderr)
    else:
        if not args.draft_only:
            print()
        print(draft, end="")
    required = [name for name in todo if name not in ("weight", "event_id")]
    if required:
        print(f"note: draft incomplete: {len(required)} required column(s) not recognised: {', '.join(required)} "
              "(see the TODO lines)", file=sys.stderr)
    return EXIT_OK


def detect_format(path: Path) -> str:
    """'root' or 'hdf5' from the file's magic bytes (not its extension)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] == b"root":
        return "root"
    import h5py

    if h5py.is_hdf5(path):
        return "hdf5"
    raise CliError(f"{path}: neither a ROOT nor an HDF5 file (magic bytes {head[:4]!r})")


_TREE_CLASSES = ("TTree", "TNtuple", "TNtupleD")


def read_root_tables(path: Path) -> tuple[list[Table], list[str]]:
    """Every TTree of a ROOT file (subdirectories included) with its branches; other objects as notes."""
    import uproot

    try:
        file = uproot.open(path)
    except Exception as exc:
        raise CliError(f"{path}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
    tables, notes = [], []
    with file:
        for key, cls in file.classnames(recursive=True, cycle=False).items():
            if cls not in _TREE_CLASSES:
                if "RNTuple" in cls:
                    notes.append(f"{key}: {cls} (not supported by systlab ingest, which reads TTrees)")
                continue
            tree = file[key]
            table = Table(key, int(tree.num_entries))
            for name in tree.keys(recursive=True):
                table.sources.append(_root_source(name, tree[name]))
            tables.append(table)
    return tables, notes


def _root_source(name: str, branch: Any) -> Source:
    """Classify one branch like systlab ingest does: numeric flat, numeric jagged, or unusable."""
    import uproot

    try:
        interp = branch.interpretation
    except Exception:  # uproot cannot interpret it at all
        return Source(name, branch.typename, "other", note="not readable by uproot")
    counts = None
    kind = "flat"
    if isinstance(interp, uproot.interpretation.jagged.AsJagged):
        interp, kind = interp.content, "jagged"
        counter = getattr(branch, "count_branch", None)
        counts = counter.name if counter is not None else None
    if not isinstance(interp, uproot.interpretation.numerical.AsDtype):
        return Source(name, branch.typename, "other", note="not numeric")
    dtype = interp.to_dtype
    if dtype.shape != () or dtype.kind not in "iuf":
        return Source(name, branch.typename, "other", note="not numeric" if dtype.shape == () else "fixed-size array")
    return Source(name, branch.typename, kind, counts=counts)


_COUNTER_NAME = re.compile(r"^(n_?[a-z]|N[A-Z_]|num)|count|mult", re.IGNORECASE)


def read_hdf5_tables(path: Path) -> tuple[list[Table], list[str]]:
    """Every HDF5 group holding datasets; jagged = a values dataset whose length is the sum of a counts dataset."""
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except Exception as exc:
        raise CliError(f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})") from None
    groups: list[Any] = []
    with h5:
        h5.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
        tables = [_hdf5_table(group) for group in [h5, *groups]]
    return [t for t in tables if t is not None], []


def _hdf5_table(group: Any) -> Table | None:
    """One group as a Table (None without datasets): per-event, per-object (with counts) and other datasets."""
    import h5py
    import numpy as np

    datasets = {name: obj for name, obj in group.items() if isinstance(obj, h5py.Dataset)}
    if not datasets:
        return None
    one_d = {n: d for n, d in datasets.items() if d.ndim == 1 and d.dtype.kind in "iuf"}
    lengths = {n: int(d.shape[0]) for n, d in one_d.items()}
    counters: dict[str, str] = {}  # values dataset -> counts dataset
    for name, dset in one_d.items():
        if dset.dtype.kind not in "iu" or not _COUNTER_NAME.search(name):
            continue
        values = dset[()]
        if values.size and values.min() < 0:
            continue
        total = int(np.sum(values, dtype=np.int64))
        for other, length in lengths.items():
            if other != name and other not in counters and length == total != lengths[name]:
                counters[other] = name
    n_events = group.attrs.get("n_events")
    if n_events is not None and np.ndim(n_events) == 0:
        entries = int(n_events)
    elif counters:
        entries = lengths[next(iter(counters.values()))]
    elif lengths:
        entries = max(set(lengths.values()), key=list(lengths.values()).count)
    else:
        entries = 0
    table = Table(group.name, entries)
    for name, dset in datasets.items():
        dtype = str(dset.dtype) if dset.dtype.names is None else "compound"
        length = int(dset.shape[0]) if dset.ndim else 1
        if name in counters:
            table.sources.append(Source(name, dtype, "jagged", counts=counters[name], length=length))
        elif name in one_d and length == entries:
            table.sources.append(Source(name, dtype, "flat", length=length))
        else:
            note = f"shape {dset.shape}" if name not in one_d else f"{length} values for {entries} entries"
            if dset.dtype.kind not in "iuf":
                note = "not numeric"
            table.sources.append(Source(name, dtype, "other", length=length, note=note))
    return table


def listing(path: Path, fmt: str, tables: Sequence[Table], notes: Sequence[str], pattern: str | None) -> list[str]:
    """Readable lines: each tree/group with its entry count and its branches/datasets (optionally filtered)."""
    from fnmatch import fnmatchcase

    what, unit = ("tree", "branches") if fmt == "root" else ("group", "datasets")
    lines = [f"{'ROOT' if fmt == 'root' else 'HDF5'} file {path}"]
    for table in tables:
        lines.append(f"{what} '{table.name}': {table.entries} entries, {len(table.sources)} {unit}")
        shown = [s for s in table.sources if pattern is None or fnmatchcase(s.name.lower(), pattern.lower())]
        width = max((len(s.name) for s in shown), default=0)
        type_width = max((len(s.type) for s in shown), default=0)
        for src in shown:
            size = f"{src.length:>10} values  " if src.length is not None else ""
            lines.append(f"  {src.name:<{width}}  {src.type:<{type_width}}  {size}{_kind(src, fmt)}")
        if pattern is not None:
            lines.append(f"  ({len(shown)} of {len(table.sources)} {unit} match {pattern!r})")
    return lines + [f"note: {note}" for note in notes]


def _kind(src: Source, fmt: str) -> str:
    if src.kind == "jagged":
        counter = "counter" if fmt == "root" else "counts"
        return f"jagged ({counter} {src.counts})" if src.counts else "jagged"
    if src.kind == "flat":
        return "flat"
    return f"cannot be mapped ({src.note})"


def pick_table(tables: Sequence[Table], fmt: str, wanted: str | None, path: Path) -> Table:
    """The table to draft: ``--tree`` if given, else the one mapping most canonical columns (then most entries)."""
    if wanted is not None:
        for table in tables:
            if table.name.strip("/") == wanted.strip("/"):
                return table
        raise CliError(f"{path}: no tree/group {wanted!r} (--tree); found: {[t.name for t in tables]}")
    return max(tables, key=lambda t: (len(recognise(t, fmt)[0]), t.entries))


def guess_process(path: Path) -> str:
    """A simulator process named in the file name (``..._ttbar.root`` -> ttbar), else a placeholder."""
    from systlab.config.catalogue import PROCESSES

    tokens = set(re.split(r"[^a-z0-9]+", path.stem.lower()))
    found = [p for p in PROCESSES if p in tokens]
    return found[0] if len(found) == 1 else "my_process"


#: Collections recognised per canonical object, in order of preference (matched case-insensitively).
COLLECTIONS = {
    "tau": ("tau", "taus", "hadtau", "tauh"),
    "lep": ("lep", "lepton", "leptons", "muon", "muons", "mu", "electron", "electrons", "ele", "el"),
    "met": ("met", "puppimet", "pfmet", "missinget"),
    "jet": ("jet", "jets"),
}
#: Component names recognised for the pt of each object (ATLAS ntuples call the MET magnitude met_met).
PT_NAMES = {"met": ("pt", "met", "et")}
WEIGHT_NAMES = ("weight", "genweight", "eventweight", "event_weight", "mcweight", "mc_weight", "evtweight",
                "weight_mc", "totalweight", "generatorweight")
EVENT_NAMES = ("event_id", "event", "eventnumber", "event_number", "evt", "evtnum", "eventno", "eventnum")


@dataclass
class Mapped:
    """The draft source of one canonical column and an optional comment."""

    column: dict[str, Any]
    comment: str = ""


def recognise(table: Table, fmt: str) -> tuple[dict[str, Mapped], list[str]]:
    """Map canonical columns onto the table's sources; returns the mapped columns and the unrecognised ones."""
    lookup = table.lookup()
    mapped: dict[str, Mapped] = {}
    for obj, collections in COLLECTIONS.items():
        mapped.update(_object_columns(obj, collections, lookup, fmt))
    for name, candidates in (("weight", WEIGHT_NAMES), ("event_id", EVENT_NAMES)):
        src = next((lookup[c] for c in candidates if c in lookup and lookup[c].kind == "flat"), None)
        if src is not None:
            mapped[name] = Mapped({"branch": src.name})
    order = _draft_order()
    return {name: mapped[name] for name in order if name in mapped}, [name for name in order if name not in mapped]


def _object_columns(obj: str, collections: Sequence[str], lookup: Mapping[str, Source], fmt: str) -> dict[str, Mapped]:
    """Columns of one object (tau/lep/met: pt, eta/phi; jet: jagged) from the first complete collection."""
    components = ("pt", "phi") if obj == "met" else ("pt", "eta", "phi")
    jagged = obj == "jet"
    best: dict[str, Mapped] = {}
    best_collection = None
    found = []
    for collection in collections:
        columns = {}
        for comp in components:
            mapped = _component(collection, comp, PT_NAMES.get(obj, ("pt",)), lookup, fmt, jagged)
            if mapped is not None:
                columns[f"{obj}_{comp}"] = mapped
        if len(columns) == len(components):
            src = lookup.get(f"{collection}_pt") or lookup.get(f"{collection}_px")
            found.append(src.name.rsplit("_", 1)[0] if src is not None else collection)
        if len(columns) > len(best):
            best, best_collection = columns, collection
    if best and obj == "lep" and len(found) > 1:
        others = [c for c in found if c.lower() != best_collection]
        first = next(iter(best.values()))
        first.comment = (first.comment + "; " if first.comment else "") + f"also present: {', '.join(others)}"
    return best


def _component(collection: str, comp: str, pt_names: Sequence[str], lookup: Mapping[str, Source], fmt: str,
               jagged: bool) -> Mapped | None:
    """Source of one component (pt/eta/phi) of a collection: a branch, or (ROOT) an expression of px/py/pz."""
    names = pt_names if comp == "pt" else (comp,)
    for name in names:
        src = lookup.get(f"{collection}_{name}")
        if src is not None and (src.kind == "jagged" or not jagged):
            return _from_source(src, jagged, fmt, comp)
    if fmt != "root":
        return None  # expressions are ROOT-only in systlab ingest
    px, py, pz = (lookup.get(f"{collection}_{c}") for c in ("px", "py", "pz"))
    if px is None or py is None or px.kind != py.kind or (jagged and px.kind != "jagged"):
        return None
    pt = f"sqrt({px.name}**2 + {py.name}**2)"
    if comp == "pt":
        expr = pt
    elif comp == "phi":
        expr = f"arctan2({py.name}, {px.name})"
    elif pz is not None and pz.kind == px.kind:
        expr = f"arcsinh({pz.name} / {pt})"
    else:
        return None
    column: dict[str, Any] = {"expr": expr}
    if px.kind == "jagged" and not jagged:
        column["object"] = 0
    return Mapped(column, _leading(px.name, comp) if "object" in column else "")


def _leading(name: str, comp: str) -> str:
    """Comment of an ``object: 0`` pick (the event cut it implies is said once, on pt)."""
    prefix = name.rsplit("_", 1)[0]
    return f"leading {prefix}; events without one are dropped" if comp == "pt" else f"leading {prefix}"


def _from_source(src: Source, jagged: bool, fmt: str, comp: str) -> Mapped:
    """A branch/dataset as a column source: ``object: 0`` picks the leading object for a per-event column."""
    column: dict[str, Any] = {"branch": src.name}
    comment = ""
    if src.kind == "jagged":
        if fmt == "hdf5":
            column["counts"] = src.counts
        if not jagged:
            column["object"] = 0
            comment = _leading(src.name, comp)
    return Mapped(column, comment)


def draft_inputs(file: str, fmt: str, table: Table, process: str, others: Sequence[str]) -> tuple[str, list[str]]:
    """The draft ``inputs:`` overlay (YAML text with comments) and the canonical columns left as TODO."""
    mapped, todo = recognise(table, fmt)
    name = (table.name.lstrip("/") or "/") if fmt == "hdf5" else table.name
    where = "tree" if fmt == "root" else "group"
    lines = [
        f"# Draft `inputs:` overlay written by `systlab inspect {file}` ({where} {name!r}, {table.entries} entries).",
        "# Review every line (which object is the lepton, units GeV and radians), then layer it on the base config:",
        "#   systlab check-config THIS.yaml   and   snakemake --cores 2 --configfile THIS.yaml",
    ]
    if others:
        lines.append(f"# Other {where}s in the file: {', '.join(others)} (systlab inspect --tree NAME drafts one).")
    placeholder = "   # TODO: one of `processes:` in the base config" if process == "my_process" else ""
    lines += [
        "inputs:",
        f"  {_scalar(process)}:{placeholder}",
        f"    format: {fmt}",
        "    files:",
        f"      - {_scalar(file)}",
        f"    {where}: {_scalar(name)}",
        "    columns:",
    ]
    texts = {column: f"      {column}: {_flow(source.column)}" for column, source in mapped.items()}
    width = min(max(map(len, texts.values()), default=0), 60)
    for column in _draft_order():
        if column in todo:
            lines.append(f"      # TODO {column}: {_todo_hint(column, fmt)}")
        elif mapped[column].comment:
            lines.append(f"{texts[column]:<{width}}  # {mapped[column].comment}")
        else:
            lines.append(texts[column])
    from systlab.config.catalogue import PROCESSES

    model = PROCESSES.get(process)
    expected = f"{model.expected_yield:.0f}" if model else "1000"
    origin = f" (simulator's {process}: {expected} per 10 fb^-1)" if model else ""
    lines += [
        "    # selection: {jet_min_pt: 20.0, jet_max_abs_eta: 4.7}   # optional jet cuts",
        f"    # yield: {expected:<47}# optional: weights rescaled to sum to it{origin}",
    ]
    return "\n".join(lines) + "\n", todo


def _draft_order() -> list[str]:
    """Canonical columns in draft order: the kinematics, then weight and event_id."""
    from systlab.events import CANONICAL_COLUMNS

    return [name for name in CANONICAL_COLUMNS if name not in ("weight", "event_id")] + ["weight", "event_id"]


def _todo_hint(column: str, fmt: str) -> str:
    """What to write for an unrecognised canonical column."""
    if column == "weight":
        return "optional, not recognised (default: every event weighs 1.0), e.g. {branch: NAME}"
    if column == "event_id":
        return "optional, not recognised (default: a running index), e.g. {branch: NAME}"
    if column.startswith("jet_"):
        return "not recognised; a jagged source, e.g. {branch: NAME}" + (", counts: NCOUNTS}" if fmt == "hdf5" else "")
    how = "{branch: NAME, object: 0}" + (" or {expr: EXPRESSION}" if fmt == "root" else "")
    return f"not recognised (required); e.g. {how}"


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def _scalar(value: Any) -> str:
    """A YAML scalar: plain if it reads back unchanged, else double-quoted (JSON strings are valid YAML)."""
    import json

    import yaml

    if isinstance(value, str) and _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _flow(column: Mapping[str, Any]) -> str:
    """A column source as a YAML flow mapping, e.g. ``{branch: Tau_pt, object: 0}``."""
    return "{" + ", ".join(f"{key}: {_scalar(value)}" for key, value in column.items()) + "}"


if __name__ == "__main__":
    sys.exit(main())
