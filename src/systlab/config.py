"""Configuration: the schema-validated mapping turned into typed, frozen dataclasses.

JSON-Schema validation (workflow/schemas/config.schema.yaml) runs first, at DAG build; this
module adds the cross-field checks a schema cannot express (known feature names, processes of
normalisation NPs, pseudo-data NPs that exist) and derives the variation list every stage shares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from systlab.catalogue import KNOWN_SHAPE_NPS, PROCESSES, TRAINING_VARIANTS, Variation
from systlab.events import FEATURES

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value that is not acceptable; the message names the field."""


@dataclass(frozen=True)
class ShapeNP:
    name: str
    nominal: float
    sigma: float
    one_sided: bool
    grid: tuple[float, ...]  # in units of sigma

    def at(self, k: float) -> float:
        """Physical value of this NP ``k`` standard deviations from nominal."""
        return self.nominal + k * self.sigma


@dataclass(frozen=True)
class NormNP:
    name: str
    processes: tuple[str, ...]
    sigma: float


@dataclass(frozen=True)
class Truth:
    """A pseudo-data truth: signal strength and shape-NP shifts in units of sigma."""

    name: str
    mu: float
    shifts: Mapping[str, float]


@dataclass(frozen=True)
class Training:
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    replicas: int
    threads: int


@dataclass(frozen=True)
class PivotConfig:
    """Adversarial pivot: lambda (and the lambda values of a later scan), adversary and schedule."""

    lam: float = 1.0
    lambda_scan: tuple[float, ...] = ()
    components: int = 5
    adversary_hidden: tuple[int, ...] = (16, 16)
    adversary_steps: int = 1
    adversary_learning_rate: float = 5e-3
    pretrain_epochs: int = 5
    adversary_pretrain_epochs: int = 3


@dataclass(frozen=True)
class DiscoConfig:
    """DisCo: lambda of the dCorr^2 penalty (and the lambda values of a later scan)."""

    lam: float = 10.0
    lambda_scan: tuple[float, ...] = ()


@dataclass(frozen=True)
class MethodSettings:
    """Per-method settings; ``oracle_points`` are TES shifts in sigma units (default: the truths' shifts)."""

    pivot: PivotConfig = PivotConfig()
    disco: DiscoConfig = DiscoConfig()
    oracle_points: tuple[float, ...] = (-1.0, 0.0, 1.0)
    aware_leave_out: tuple[float, ...] = ()  # TES grid points of the aware interpolation check
    inferno_bins: int = 10  # INFERNO's soft bins
    inferno_temperature: float = 0.1  # INFERNO's softmax temperature in training (and in its exported score)


@dataclass(frozen=True)
class ModelSpec:
    """One trained model family member: its name (the ``method`` wildcard), family, oracle TES point, lambda."""

    name: str
    method: str
    tes_point: float | None = None
    lam: float | None = None  # a lambda-scan point of pivot/disco (None: the method's configured lambda)
    nuisance: str = "tes"  # what pivot/disco decorrelate from: the TES NP, or a modelling family (generator, scale)
    left_out: float | None = None  # aware only: the TES grid point (sigma) whose neighbourhood training leaves out


def oracle_name(tes_point: float) -> str:
    """Model name of the oracle at a TES shift in sigma units: ``oracle_tes_-1sd``, ``oracle_tes_0sd``."""
    return f"oracle_tes_{tes_point:+g}sd" if tes_point else "oracle_tes_0sd"


def leave_out_name(tes_point: float) -> str:
    """Model name of the aware classifier trained without the neighbourhood of a TES grid point."""
    return "aware_without_" + oracle_name(tes_point).removeprefix("oracle_")


def lambda_scan_name(method: str, lam: float) -> str:
    """Model name of one lambda-scan point: ``pivot_lambda_0``, ``disco_lambda_2.5``."""
    return f"{method}_lambda_{lam:g}"


#: Methods with a decorrelation strength lambda that can be scanned.
LAMBDA_METHODS = ("pivot", "disco")


#: Modelling families of the generator cross-check that pivot/DisCo can be trained against (systlab.generators).
CROSS_CHECK_FAMILIES = tuple(TRAINING_VARIANTS)


@dataclass(frozen=True)
class GeneratorCheck:
    """The ``generator_check`` section: decorrelation methods trained against each family, and the cut."""

    methods: tuple[str, ...] = ()
    cut_signal_efficiency: float = 0.5
    closure_models: tuple[str, ...] = ()  # fixed classifiers fitted on generator C / higher-order pseudo-data
    closure_toys: int = 40  # toys per closure target and workspace


#: Methods that need the TES nuisance parameter in ``systematics.shape``.
TES_METHODS = ("pivot", "disco", "aware", "oracle", "inferno")


@dataclass(frozen=True)
class Config:
    """The whole analysis configuration as typed values."""

    run_id: str
    seed: int
    luminosity_fb: float
    signal_boost: float
    write_hdf5: bool
    events: Mapping[str, int]
    signal: str
    backgrounds: tuple[str, ...]
    inputs: Mapping[str, Mapping[str, Any]]
    chunk_size: int
    splits: Mapping[str, float]
    shape_nps: tuple[ShapeNP, ...]
    norm_nps: tuple[NormNP, ...]
    lumi_sigma: float
    truths: tuple[Truth, ...]
    features: tuple[str, ...]
    methods: tuple[str, ...]
    training: Training
    bins: int
    binning: str
    mu_range: tuple[float, float]
    scan_points: int
    n_toys: int
    theory_table: str
    loop_induced: tuple[str, ...]
    digest: str  # short hash of the whole config, stamped into models and figures
    method_settings: MethodSettings = MethodSettings()
    grid_interpolation: str = "cubic"  # fit.grid_interpolation: how -2lnL is interpolated between grid points
    grid_morph_step: float = 0.0  # fit.grid_morph_step: sigma; the grid NP moved inside each point's cell (0 = off)
    histosys_check: tuple[str, ...] = ()  # fit.histosys_check: fixed classifiers also fitted through the TES grid
    n_grid_toys: int = 100  # toys.grid_n: toys per replica of a grid-profiled (parameterized) model
    toy_chunks: int = 1  # toys.chunks: jobs the toys of one fixed-model replica are split into (for clusters)
    generator_check: GeneratorCheck = GeneratorCheck()

    @property
    def processes(self) -> tuple[str, ...]:
        return (self.signal, *self.backgrounds)

    @property
    def toy_truth(self) -> str | None:
        """The truth the coverage toys are drawn at (μ = 1, every NP nominal), None if no truth is."""
        return next((t.name for t in self.truths if t.mu == 1.0 and not any(t.shifts.values())), None)

    def shape_np(self, name: str) -> ShapeNP:
        return next(np_ for np_ in self.shape_nps if np_.name == name)

    def variations(self) -> tuple[Variation, ...]:
        """Every sample variation: nominal, +-1 sigma and grid points per shape NP, pseudo-data truths."""
        out: dict[str, Variation] = {"nominal": Variation("nominal", {})}
        for np_ in self.shape_nps:
            for k in sorted({-1.0, 1.0, *np_.grid} - {0.0}):
                name = variation_name(np_.name, k)
                out[name] = Variation(name, {np_.name: np_.at(k)})
        for truth in self.truths:
            values = {np_: self.shape_np(np_).at(k) for np_, k in truth.shifts.items()}
            out[truth_name(truth.name)] = Variation(truth_name(truth.name), values)
        return tuple(out.values())

    def variation_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variations())

    def variation_shifts(self, variation: str) -> dict[str, float]:
        """Shape-NP shifts (sigma units) of a variation by name; NPs not listed are nominal."""
        for np_ in self.shape_nps:
            for k in {-1.0, 1.0, *np_.grid} - {0.0}:
                if variation == variation_name(np_.name, k):
                    return {np_.name: k}
        for truth in self.truths:
            if variation == truth_name(truth.name):
                return dict(truth.shifts)
        if variation == "nominal":
            return {}
        raise KeyError(f"unknown variation {variation!r}")

    def models(self) -> tuple[ModelSpec, ...]:
        """Every model to train: one per method, one per TES point for the oracle."""
        out: list[ModelSpec] = []
        for method in self.methods:
            if method == "oracle":
                out += [ModelSpec(oracle_name(k), method, k) for k in self.method_settings.oracle_points]
            else:
                out.append(ModelSpec(method, method))
        return tuple(out)

    def model_names(self) -> tuple[str, ...]:
        """Values of the ``method`` wildcard: model directories under results/models/."""
        return tuple(m.name for m in self.models())

    def lambda_scan_models(self) -> tuple[ModelSpec, ...]:
        """The extra models of the pivot/disco lambda scans (configured methods only; the configured
        lambda itself is the main model, so it is not trained twice)."""
        out: list[ModelSpec] = []
        for method in LAMBDA_METHODS:
            if method not in self.methods:
                continue
            settings = getattr(self.method_settings, method)
            out += [ModelSpec(lambda_scan_name(method, lam), method, lam=lam)
                    for lam in settings.lambda_scan if lam != settings.lam]
        return tuple(out)

    def cross_check_models(self) -> tuple[ModelSpec, ...]:
        """Models of the generator cross-check: ``<method>_generator`` and ``<method>_scale`` per configured method."""
        return tuple(ModelSpec(f"{method}_{family}", method, nuisance=family)
                     for method in self.generator_check.methods for family in CROSS_CHECK_FAMILIES)  # fmt: skip

    def interpolation_models(self) -> tuple[ModelSpec, ...]:
        """The aware classifiers of the interpolation check, one per left-out TES grid point."""
        if "aware" not in self.methods:
            return ()
        return tuple(ModelSpec(leave_out_name(k), "aware", left_out=k) for k in self.method_settings.aware_leave_out)

    def study_models(self) -> tuple[ModelSpec, ...]:
        """Models trained for one study only (lambda scans, generator cross-check, aware interpolation check)."""
        return (*self.lambda_scan_models(), *self.cross_check_models(), *self.interpolation_models())

    def model(self, name: str) -> ModelSpec:
        extra = self.study_models()
        for spec in (*self.models(), *extra):
            if spec.name == name:
                return spec
        known = [*self.model_names(), *(m.name for m in extra)]
        raise KeyError(f"unknown model {name!r}; known: {known}")


def variation_name(np_name: str, k: float) -> str:
    """File-safe name of a shape-NP shift of ``k`` sigma, e.g. ``tes_+1sd``, ``tes_-0.5sd``."""
    return f"{np_name}_{k:+g}sd"


def truth_name(name: str) -> str:
    return f"truth_{name}"


def validate_schema(mapping: Mapping[str, Any], source: str = "config") -> None:
    """Validate against the JSON schema; raise ConfigError naming the offending field."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(mapping)), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.path) or "(top level)"
        raise ConfigError(f"{source}: field '{field}': {err.message}")


def _fail(source: str, field: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: field '{field}': {message}")


def load_config(mapping: Mapping[str, Any], source: str = "config") -> Config:
    """Schema-validate ``mapping`` and convert it into a :class:`Config` (cross-field checks included)."""
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
    for np_ in shape_nps:
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

    if "tes" not in shape_names:
        needs_tes = [x for x in m["methods"] if x in TES_METHODS]
        if needs_tes:
            raise _fail(source, "methods", f"{needs_tes} need the 'tes' NP in systematics.shape")
    method_settings = parse_method_settings(m.get("method_settings") or {}, truths)
    for k in method_settings.aware_leave_out if "aware" in m["methods"] else ():
        grid = sorted(next((np_.grid for np_ in shape_nps if np_.name == "tes"), ()))
        if k not in grid[1:-1]:
            raise _fail(source, "method_settings.aware.leave_out", f"{k:g} is not an interior point of the TES grid "
                        f"{grid} (the check interpolates between its neighbours)")
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
                          t["patience"], t["replicas"], t["threads"]),
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
        generator_check=generator_check,
    )
    if cfg.grid_morph_step > 0 and cfg.grid_interpolation != "quadratic":
        raise _fail(source, "fit.grid_interpolation", "the morph (fit.grid_morph_step > 0) needs 'quadratic' "
                    f"(a spline would cross the jumps between cells), not {cfg.grid_interpolation!r}")
    fixed = {spec.name for spec in cfg.models() if spec.method != "aware"}
    for field, names in (("generator_check.closure_models", generator_check.closure_models),
                         ("fit.histosys_check", cfg.histosys_check)):  # fmt: skip
        unknown = sorted(set(names) - fixed)
        if unknown:
            raise _fail(source, field, f"{unknown} are not fixed classifiers of this run {sorted(fixed)}")
    return cfg


def parse_method_settings(raw: Mapping[str, Any], truths: list[Truth]) -> MethodSettings:
    """Typed method settings; oracle points default to the distinct TES shifts of the pseudo-data truths."""
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
        points = sorted({float(t.shifts.get("tes", 0.0)) for t in truths})
    leave_out = tuple(float(k) for k in (raw.get("aware") or {}).get("leave_out", ()))
    inferno = dict(raw.get("inferno") or {})
    return MethodSettings(pivot, disco, tuple(float(k) for k in points), leave_out, int(inferno.get("bins", 10)),
                          float(inferno.get("temperature", 0.1)))


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
