"""Loading: JSON-Schema validation (the schema ships in this package), cross-field checks, typed values.

The schema (``schema.yaml`` beside this module, read through importlib.resources so an installed package
validates without the source checkout) runs first, also at DAG build; :func:`load_config` adds the cross-field
checks a schema cannot express (known feature names, processes of normalisation NPs, pseudo-data NPs that exist).
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from systlab.config.catalogue import KNOWN_SHAPE_NPS, LINE_SHAPES, PROCESSES, MassSlices
from systlab.config.model import (
    DEFAULT_TARGET,
    Config,
    ConfigError,
    DiscoConfig,
    GeneratorCheck,
    GrlConfig,
    MethodSettings,
    NormNP,
    PivotConfig,
    ShapeNP,
    Training,
    Truth,
)
from systlab.events import FEATURES
from systlab.methods.registry import REGISTRY
from systlab.methods.registry import get as get_method

#: Sections of ``method_settings`` that systlab types itself; others belong to externally registered methods.
KNOWN_SETTINGS = ("pivot", "disco", "grl", "inferno", "aware", "oracle")

#: The config schema inside the installed package (a real file for a regular or editable install).
SCHEMA_PATH = Path(str(files("systlab.config") / "schema.yaml"))


@functools.cache
def _schema() -> dict[str, Any]:
    """The schema, parsed once per process with libyaml when PyYAML has it (~7x faster than the pure-Python loader
    on this ~800-line file; the same YAML 1.1 resolver, so the same values). Read-only: never mutate it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(files("systlab.config").joinpath("schema.yaml").read_text(), Loader=loader)


def validate_schema(mapping: Mapping[str, Any], source: str = "config") -> None:
    """Validate against the JSON schema; raise ConfigError naming the offending field."""
    _raise_first(jsonschema.Draft202012Validator(_schema()).iter_errors(dict(mapping)), source)


def _raise_first(errors: Iterable[jsonschema.ValidationError], source: str) -> None:
    errors = sorted(errors, key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.path) or "(top level)"
        raise ConfigError(f"{source}: field '{field}': {err.message}{_hint(err)}")


def _set_defaults(validator, properties, instance, schema):
    """The ``properties`` keyword that first fills each missing property's ``default`` (jsonschema's FAQ recipe; a
    copy, so that editing the config never edits the cached schema)."""
    for name, subschema in properties.items():
        if "default" in subschema:
            instance.setdefault(name, copy.deepcopy(subschema["default"]))
    yield from _PROPERTIES(validator, properties, instance, schema)


_PROPERTIES = jsonschema.Draft202012Validator.VALIDATORS["properties"]
_DefaultFilling = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": _set_defaults})


def validate_and_fill(config: dict[str, Any], source: str = "config") -> None:
    """The Snakefile's config check: :func:`validate_schema` on the config as given (its one-line error), then the
    schema's defaults filled into ``config`` in place, as ``snakemake.utils.validate(config, SCHEMA_PATH)`` does (the
    same jsonschema recipe; tests/test_config.py compares the two) but without parsing the schema a second time."""
    validate_schema(config, source)
    _raise_first(_DefaultFilling(_schema()).iter_errors(config), source)


#: A number as YAML 1.2 writes it but YAML 1.1 (PyYAML, Snakemake) reads as text: an exponent without its sign.
_UNSIGNED_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE]\d+$")


def _hint(err: jsonschema.ValidationError) -> str:
    """What to do about a schema error: the closest valid key of a misspelt one, the fix of a number read as text."""
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        known = list(err.schema.get("properties") or {})
        unknown = [k for k in err.instance if k not in known]
        close = {k: difflib.get_close_matches(str(k), known, n=1) for k in unknown}
        named = [f"{k!r} -> did you mean {c[0]!r}?" for k, c in close.items() if c]
        return f" ({'; '.join(named)})" if named else f" (valid keys: {', '.join(known)})"
    if err.validator == "type" and isinstance(err.instance, str) and _UNSIGNED_EXPONENT.match(err.instance.strip()):
        mantissa, _, exponent = err.instance.strip().lower().partition("e")
        return f" (YAML reads {err.instance!r} as text: write {mantissa}e+{exponent})"
    return ""


def _fail(source: str, field: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: field '{field}': {message}")


def load_config(mapping: Mapping[str, Any], source: str = "config", schema_checked: bool = False) -> Config:
    """Schema-validate ``mapping`` and convert it into a :class:`Config` (cross-field checks included).

    ``schema_checked=True``: the caller has validated ``mapping`` against :data:`SCHEMA_PATH` already (the
    Snakefile's :func:`validate_and_fill`, which also fills the schema's defaults); the schema check is skipped.
    """
    if not schema_checked:
        validate_schema(mapping, source)
    m = mapping
    signal, backgrounds = m["processes"]["signal"], tuple(m["processes"]["backgrounds"])
    processes = (signal, *backgrounds)
    if signal in backgrounds:
        raise _fail(source, "processes.backgrounds", f"{signal!r} is also the signal")
    inputs = dict(m.get("inputs") or {})
    events = dict(m["simulate"].get("events", {}))
    for i, proc in enumerate(processes):
        if proc not in inputs and proc not in PROCESSES:
            raise _fail(source, "processes", f"{proc!r} has no entry in 'inputs' and the simulator knows only "
                        f"{sorted(PROCESSES)}")
        if proc not in inputs and proc not in events:
            field = "processes.signal" if i == 0 else "processes.backgrounds"
            raise _fail(source, f"simulate.events.{proc}", f"missing: {proc!r} (from {field}) is simulated")
    for proc in inputs:
        if proc not in processes:
            raise _fail(source, f"inputs.{proc}", f"not a process of the analysis {list(processes)}")

    shape_cfg = m["systematics"].get("shape", {})
    shape_nps = tuple(
        ShapeNP(name, float(v["nominal"]), float(v["sigma"]), bool(v.get("one_sided", False)),
                tuple(float(k) for k in v.get("grid", [0.0])))
        for name, v in shape_cfg.items()
    )  # fmt: skip
    for np_ in shape_nps:  # names and nominals from the systematics registry (systlab.samples.systematics)
        if np_.name not in KNOWN_SHAPE_NPS:
            raise _fail(source, f"systematics.shape.{np_.name}",
                        f"unknown shape NP {np_.name!r}; registered: {list(KNOWN_SHAPE_NPS)}")
        if np_.nominal != KNOWN_SHAPE_NPS[np_.name]:
            raise _fail(source, f"systematics.shape.{np_.name}.nominal",
                        f"must be {KNOWN_SHAPE_NPS[np_.name]} (the simulator's nominal)")
    norm_nps = tuple(
        NormNP(name, tuple(v["processes"]), float(v["sigma"])) for name, v in m["systematics"].get("norm", {}).items()
    )
    for np_ in norm_nps:
        unknown = sorted(set(np_.processes) - set(processes))
        if unknown:
            raise _fail(source, f"systematics.norm.{np_.name}.processes", f"unknown process(es) {unknown}")

    shape_names = {np_.name for np_ in shape_nps}
    truths = []
    for name, t in m["pseudo_data"].items():
        shifts = {k: float(v) for k, v in t.items() if k != "mu"}
        missing = sorted(set(shifts) - shape_names)
        if missing:
            raise _fail(source, f"pseudo_data.{name}", f"shifts NP(s) {missing} not in systematics.shape")
        truths.append(Truth(name, float(t["mu"]), shifts))

    unknown_features = [f for f in m["features"] if f not in FEATURES]
    if unknown_features:
        raise _fail(source, "features", f"unknown feature(s) {unknown_features}; known: {list(FEATURES)}")
    toys = m.get("toys", {})
    if int(toys.get("chunks", 1)) > int(toys.get("n", 100)):
        raise _fail(source, "toys.chunks", f"{toys['chunks']} chunks for {toys.get('n', 100)} toys: needs chunks <= n")
    mu_lo, mu_hi = (float(x) for x in m["fit"]["mu_range"])
    if not mu_lo < mu_hi:
        raise _fail(source, "fit.mu_range", f"needs low < high, got {[mu_lo, mu_hi]}")
    fair_lo, fair_hi = (float(x) for x in m.get("fair_protocol", {}).get("mu_range", (0.1, 3.0)))
    if not mu_lo <= fair_lo < fair_hi <= mu_hi:
        raise _fail(source, "fair_protocol.mu_range", f"needs low < high inside fit.mu_range {[mu_lo, mu_hi]}, got "
                    f"{[fair_lo, fair_hi]}")  # fmt: skip

    unknown_methods = [x for x in m["methods"] if x not in REGISTRY]
    if unknown_methods:
        raise _fail(source, "methods", f"unknown method(s) {unknown_methods}; registered: {sorted(REGISTRY)}")
    target = m["systematics"].get("target", DEFAULT_TARGET)
    needy = [x for x in m["methods"] if get_method(x).targets]
    if needy and target not in shape_names:
        raise _fail(source, "systematics.target", f"{needy} are built against the target NP {target!r}, which is not "
                    f"in systematics.shape {sorted(shape_names)}")
    unknown_settings = sorted(set(m.get("method_settings") or {}) - set(REGISTRY))
    if unknown_settings:
        raise _fail(source, "method_settings", f"{unknown_settings} are not registered methods {sorted(REGISTRY)}")
    method_settings = parse_method_settings(m.get("method_settings") or {}, truths, target)
    for k in method_settings.aware_leave_out if "aware" in m["methods"] else ():
        grid = sorted(next((np_.grid for np_ in shape_nps if np_.name == target), ()))
        if k not in grid[1:-1]:
            raise _fail(source, "method_settings.aware.leave_out", f"{k:g} is not an interior point of the {target} "
                        f"grid {grid} (the check interpolates between its neighbours)")
    check = m.get("generator_check") or {}
    generator_check = GeneratorCheck(tuple(check.get("methods", ())), float(check.get("cut_signal_efficiency", 0.5)),
                                     tuple(check.get("closure_models", ())), int(check.get("closure_toys", 40)))
    if generator_check.methods and "baseline" not in m["methods"]:
        raise _fail(source, "generator_check.methods", "the cross-check compares with the plain classifier: "
                    "add 'baseline' to methods")

    t = m["training"]
    digest = hashlib.sha256(json.dumps(m, sort_keys=True, default=str).encode()).hexdigest()[:12]
    cfg = Config(
        run_id=m["run_id"],
        seed=int(m["seed"]),
        mass_slices=mass_slices(m["simulate"].get("mass_slices") or {}, source),
        target=target,
        luminosity_fb=float(m["simulate"].get("luminosity_fb", 10.0)),
        signal_boost=float(m["simulate"].get("signal_boost", 1.0)),
        write_hdf5=bool(m["simulate"].get("write_hdf5", False)),
        events=events,
        signal=signal,
        backgrounds=backgrounds,
        inputs=inputs,
        chunk_size=int(m.get("ingest", {}).get("chunk_size", 200_000)),
        splits=dict(m["splits"]),
        shape_nps=shape_nps,
        norm_nps=norm_nps,
        lumi_sigma=float(m["systematics"].get("lumi_sigma", 0.02)),
        truths=tuple(truths),
        features=tuple(m["features"]),
        methods=tuple(m["methods"]),
        training=Training(tuple(t["hidden"]), t["epochs"], t["batch_size"], float(t["learning_rate"]),
                          t["patience"], t["replicas"], t["threads"], t.get("replica_noise", "both"),
                          t.get("study_replicas")),
        bins=int(m["templates"]["bins"]),
        binning=m["templates"].get("binning", "signal_quantiles"),
        mu_range=(mu_lo, mu_hi),
        scan_points=int(m["fit"]["scan_points"]),
        n_toys=int(m.get("toys", {}).get("n", 100)),
        theory_table=m["theory"]["table"],
        loop_induced=tuple(m["theory"].get("loop_induced", [])),
        digest=digest,
        method_settings=method_settings,
        grid_interpolation=m["fit"].get("grid_interpolation", "cubic"),
        grid_morph_step=float(m["fit"].get("grid_morph_step", 0.0)),
        histosys_check=tuple(m["fit"].get("histosys_check", ())),
        n_grid_toys=int(m.get("toys", {}).get("grid_n", m.get("toys", {}).get("n", 100))),
        toy_chunks=int(m.get("toys", {}).get("chunks", 1)),
        signal_efficiency=float(m["templates"].get("signal_efficiency", 1.0)),
        generator_check=generator_check,
        raw=dict(m),
    )
    if cfg.grid_morph_step > 0 and cfg.grid_interpolation != "quadratic":
        raise _fail(source, "fit.grid_interpolation", "the morph (fit.grid_morph_step > 0) needs 'quadratic' "
                    f"(a spline would cross the jumps between cells), not {cfg.grid_interpolation!r}")
    fixed = {spec.name for spec in cfg.models()
             if not (get_method(spec.method).parameterized or get_method(spec.method).unbinned)}  # fmt: skip
    for field, names in (("generator_check.closure_models", generator_check.closure_models),
                         ("fit.histosys_check", cfg.histosys_check)):  # fmt: skip
        unknown = sorted(set(names) - fixed)
        if unknown:
            raise _fail(source, field, f"{unknown} are not fixed classifiers of this run {sorted(fixed)}")
    # a registered systematic this run does not vary simply does not apply (the default names JES and soft MET)
    unbinned = cfg.method_settings.extra.get("unbinned", {})
    for key in ("region_nps", "calibrate_spread"):
        unknown = sorted(set(unbinned.get(key, ())) - set(KNOWN_SHAPE_NPS))
        if unknown:
            raise _fail(source, f"method_settings.unbinned.{key}",
                        f"{unknown} are not shape systematics systlab knows {sorted(KNOWN_SHAPE_NPS)}")
    both = sorted(set(unbinned.get("region_nps", ())) & set(unbinned.get("calibrate_spread", ())))
    if both:  # a region NP has no shape within a region to scale
        raise _fail(source, "method_settings.unbinned.calibrate_spread",
                    f"{both} are also region_nps (no learned shape inside a region to calibrate)")
    unknown = sorted(set(cfg.fair_protocol.models or ()) - set(cfg.model_names()))
    if unknown:
        raise _fail(source, "fair_protocol.models", f"{unknown} are not models of this run {list(cfg.model_names())}")
    return cfg


def mass_slices(raw: Mapping[str, Any], source: str) -> dict[str, MassSlices]:
    """``simulate.mass_slices`` typed; ConfigError unless the edges rise across the process's generated mass range
    and there is one share per slice, the shares summing to 1."""
    out = {}
    for process, entry in raw.items():
        where = f"simulate.mass_slices.{process}"
        edges, shares = tuple(float(e) for e in entry["edges"]), tuple(float(s) for s in entry["shares"])
        low, high = LINE_SHAPES[process][2]
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or (edges[0], edges[-1]) != (low, high):
            raise _fail(source, f"{where}.edges", f"{list(edges)} must rise from {low:g} to {high:g} GeV (the "
                        "generated range)")  # fmt: skip
        if len(shares) != len(edges) - 1 or abs(sum(shares) - 1.0) > 1e-9:
            raise _fail(source, f"{where}.shares", f"{list(shares)}: one share per slice ({len(edges) - 1}), "
                        "summing to 1")  # fmt: skip
        out[process] = MassSlices(edges, shares)
    return out


def parse_method_settings(raw: Mapping[str, Any], truths: list[Truth], target: str) -> MethodSettings:
    """Typed method settings; oracle points default to the distinct shifts of the ``target`` NP in the truths."""
    p, d = dict(raw.get("pivot") or {}), dict(raw.get("disco") or {})
    default = PivotConfig()
    pivot = PivotConfig(
        lam=float(p.get("lambda", default.lam)),
        lambda_scan=tuple(float(x) for x in p.get("lambda_scan", ())),
        components=int(p.get("components", default.components)),
        adversary_hidden=tuple(int(h) for h in p.get("adversary_hidden", default.adversary_hidden)),
        adversary_steps=int(p.get("adversary_steps", default.adversary_steps)),
        adversary_learning_rate=float(p.get("adversary_learning_rate", default.adversary_learning_rate)),
        pretrain_epochs=int(p.get("pretrain_epochs", default.pretrain_epochs)),
        adversary_pretrain_epochs=int(p.get("adversary_pretrain_epochs", default.adversary_pretrain_epochs)),
    )
    disco = DiscoConfig(float(d.get("lambda", DiscoConfig.lam)), tuple(float(x) for x in d.get("lambda_scan", ())))
    points = (raw.get("oracle") or {}).get("points")
    if points is None:
        points = sorted({float(t.shifts.get(target, 0.0)) for t in truths})
    leave_out = tuple(float(k) for k in (raw.get("aware") or {}).get("leave_out", ()))
    inferno = dict(raw.get("inferno") or {})
    g = dict(raw.get("grl") or {})
    grl = GrlConfig(float(g.get("lambda", GrlConfig.lam)),
                    tuple(int(h) for h in g.get("domain_hidden", GrlConfig.domain_hidden)))
    extra = {name: dict(v) for name, v in raw.items() if name not in KNOWN_SETTINGS}
    return MethodSettings(pivot, disco, tuple(float(k) for k in points), leave_out, int(inferno.get("bins", 10)),
                          float(inferno.get("temperature", 0.1)), grl, extra)


def load_config_files(*paths: str | Path) -> Config:
    """Load YAML files (later ones override earlier ones key by key, like snakemake --configfile)."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_update(merged, yaml.safe_load(Path(path).read_text()) or {})
    return load_config(merged, source=", ".join(str(p) for p in paths))


def deep_update(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: ``override`` wins, nested mappings merge."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out
