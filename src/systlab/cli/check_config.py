"""``systlab check-config``: layer config files like snakemake --configfile, validate, print the resolved analysis."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from systlab.cli.common import BASE_CONFIG, EXIT_OK, CliError

if TYPE_CHECKING:  # the ingest package (awkward, pyarrow) is imported only when inputs are checked
    from systlab.samples.ingest import CheckedInput


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


def validate_inputs(
    inputs: Mapping[str, Any], layers: Sequence[Layer], check_files: bool
) -> dict[str, CheckedInput]:
    """The DAG build's check of every ``inputs:`` entry (``samples.ingest.check_inputs``), its error naming the
    config file (layer) that set the field: {process: CheckedInput}."""
    if not inputs:
        return {}
    from systlab.samples.ingest import InputsError, check_inputs

    try:
        return check_inputs(inputs, check_files)
    except InputsError as exc:
        where = f" (relative paths are taken from {Path.cwd()})" if exc.field.endswith(".files") else ""
        raise CliError(f"{blame(layers, exc.field.split('.'))}: field '{exc.field}': {exc.problem}{where}") from None


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
        "shape NPs: " + ("; ".join(_shape_np(np_) for np_ in cfg.shape_nps) or "-")
        + f"; target (the NP the methods are built against): {cfg.target}",
        "norm NPs: " + ("; ".join(f"{np_.name} ({', '.join(np_.processes)}) {np_.sigma:g}" for np_ in cfg.norm_nps)
                        or "-") + f"; lumi {cfg.lumi_sigma:g}",
        "truths: " + "; ".join(_truth(t) for t in cfg.truths),
        f"features ({len(cfg.features)}): {', '.join(cfg.features)}",
        f"splits: {', '.join(f'{k} {v:g}' for k, v in cfg.splits.items())}",
        f"training: hidden {list(cfg.training.hidden)}, {cfg.training.epochs} epochs, "
        f"{cfg.training.replicas} replicas"
        f"{'' if cfg.training.study_replicas is None else f' (studies {cfg.training.study_replica_count})'}; "
        f"templates: {cfg.bins} bins ({cfg.binning}"
        f"{'' if cfg.signal_efficiency == 1 else f', signal region: {cfg.signal_efficiency:g} of the signal'}); "
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
