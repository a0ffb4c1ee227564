"""The typed configuration: frozen dataclasses for every section and the names derived from them.

Built only by :func:`systlab.config.load.load_config`; stages receive a :class:`Config`, never the raw mapping.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from systlab.config.catalogue import NOMINAL, TRAINING_VARIANTS, MassSlices, Variation
from systlab.methods.registry import get as get_method


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
    replica_noise: str = "both"  # both | data | init: what differs between replicas (Config.replica_seeds)
    study_replicas: int | None = None  # training.study_replicas: the replicas the studies use (None: all)

    @property
    def study_replica_count(self) -> int:
        """Replicas the studies train and read: ``study_replicas`` but at most ``replicas`` (the studies read
        replicas of the compared models), every replica when it is unset."""
        return self.replicas if self.study_replicas is None else min(self.study_replicas, self.replicas)


class ReplicaSeeds(NamedTuple):
    """The seeds of one training replica: ``data`` draws the NPs and the bootstrap (``resample``), ``init`` seeds the
    network's initialisation and batch order."""

    data: int
    init: int
    resample: bool


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
class GrlConfig:
    """Gradient-reversal domain adaptation: strength of the reversed domain loss and the domain head's layers."""

    lam: float = 100.0
    domain_hidden: tuple[int, ...] = (16,)


@dataclass(frozen=True)
class MethodSettings:
    """Per-method settings; ``oracle_points`` are shifts of the target NP in sigma units (default: the truths')."""

    pivot: PivotConfig = PivotConfig()
    disco: DiscoConfig = DiscoConfig()
    oracle_points: tuple[float, ...] = (-1.0, 0.0, 1.0)
    aware_leave_out: tuple[float, ...] = ()  # target-NP grid points of the aware interpolation check
    inferno_bins: int = 10  # INFERNO's soft bins
    inferno_temperature: float = 0.1  # INFERNO's softmax temperature in training (and in its exported score)
    grl: GrlConfig = GrlConfig()
    extra: Mapping[str, Mapping] = field(default_factory=dict)  # settings of methods registered outside systlab


@dataclass(frozen=True)
class ModelSpec:
    """One trained model family member: its name (the ``method`` wildcard), family, the NP it is built against
    (``systematics.target``, or a modelling family of the generator check), the oracle's point on it, lambda."""

    name: str
    method: str
    nuisance: str  # what the method targets: pivot/disco/grl decorrelate from it, aware takes it, oracle sits on it
    point: float | None = None  # oracle only: the nuisance's value (sigma) the model is trained at
    lam: float | None = None  # a lambda-scan point of pivot/disco (None: the method's configured lambda)
    left_out: float | None = None  # aware only: the grid point (sigma) whose neighbourhood training leaves out


#: ``systematics.target`` when the config does not set it. Not a schema default: filling it in would change the
#: config digest (and so every result's stamp) of configs written before the key existed.
DEFAULT_TARGET = "tes"


def oracle_name(np_name: str, point: float) -> str:
    """Model name of the oracle at a shift of ``np_name`` in sigma units: ``oracle_tes_-1sd``, ``oracle_tes_0sd``."""
    return f"oracle_{np_name}_{point:+g}sd" if point else f"oracle_{np_name}_0sd"


def oracle_point(model_name: str) -> float | None:
    """The point (sigma) of an oracle model by its name (inverse of :func:`oracle_name`); None for other models."""
    prefix, _, rest = model_name.partition("_")
    label = rest.rpartition("_")[2]
    if prefix != "oracle" or not label.endswith("sd"):
        return None
    try:
        return float(label.removesuffix("sd"))
    except ValueError:
        return None


def leave_out_name(np_name: str, point: float) -> str:
    """Model name of the aware classifier trained without the neighbourhood of a grid point of ``np_name``."""
    return "aware_without_" + oracle_name(np_name, point).removeprefix("oracle_")


def lambda_scan_name(method: str, lam: float) -> str:
    """Model name of one lambda-scan point: ``pivot_lambda_0``, ``disco_lambda_2.5``."""
    return f"{method}_lambda_{lam:g}"




#: Modelling families of the generator cross-check that pivot/DisCo can be trained against (systlab.samples.generators).
CROSS_CHECK_FAMILIES = tuple(TRAINING_VARIANTS)


@dataclass(frozen=True)
class GeneratorCheck:
    """The ``generator_check`` section: decorrelation methods trained against each family, and the cut."""

    methods: tuple[str, ...] = ()
    cut_signal_efficiency: float = 0.5
    closure_models: tuple[str, ...] = ()  # fixed classifiers fitted on generator C / higher-order pseudo-data
    closure_toys: int = 40  # toys per closure target and workspace




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
    digest: str  # short hash of the whole config (systlab check-config prints it)
    method_settings: MethodSettings = MethodSettings()
    grid_interpolation: str = "cubic"  # fit.grid_interpolation: how -2lnL is interpolated between grid points
    grid_morph_step: float = 0.0  # fit.grid_morph_step: sigma; the grid NP moved inside each point's cell (0 = off)
    histosys_check: tuple[str, ...] = ()  # fit.histosys_check: fixed classifiers also fitted through the target grid
    n_grid_toys: int = 100  # toys.grid_n: toys per replica of a grid-profiled (parameterized) model
    toy_chunks: int = 1  # toys.chunks: jobs per model replica's toys (clusters; grid: <= grid_n)
    generator_check: GeneratorCheck = GeneratorCheck()
    mass_slices: Mapping[str, MassSlices] = field(default_factory=dict)  # simulate.mass_slices, by process
    target: str = DEFAULT_TARGET  # systematics.target: the shape NP the methods are built against
    signal_efficiency: float = 1.0  # templates.signal_efficiency: the fitted score range's share of the signal
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the validated mapping

    def replica_seeds(self, replica: int) -> ReplicaSeeds:
        """Replica i's seeds by ``training.replica_noise``: ``seed + i`` for what varies between replicas, ``seed``
        (replica 0's) for what is held; replicas i > 0 are bootstrapped unless only the initialisation varies."""
        noise = self.training.replica_noise
        data = self.seed + replica if noise in ("both", "data") else self.seed
        init = self.seed + replica if noise in ("both", "init") else self.seed
        return ReplicaSeeds(data=data, init=init, resample=replica > 0 and noise != "init")

    def seed_stream(self, *parts: str) -> int:
        """The seed of one named random stream (e.g. ``seed_stream("toys", model, replica)``): the config seed plus
        the crc32 of the parts joined by "/", so every stream is fixed by the config and independent of the others."""
        return self.seed + zlib.crc32("/".join(parts).encode())

    @property
    def fair_protocol(self):
        """The ``fair_protocol`` section, typed (:class:`systlab.infer.fair_settings.Settings`)."""
        from systlab.infer.fair_settings import settings

        return settings(self.raw.get("fair_protocol"))

    @property
    def sensitivity(self):
        """The ``sensitivity`` section, typed (:class:`systlab.studies.sensitivity_settings.Settings`)."""
        from systlab.studies.sensitivity_settings import settings

        return settings(self.raw.get("sensitivity"))

    @property
    def paper_toys(self):
        """The ``paper_toys`` section, typed (:class:`systlab.papertoys.settings.PaperToySettings`)."""
        from systlab.papertoys.settings import parse_paper_toys

        return parse_paper_toys(self.raw)

    @property
    def processes(self) -> tuple[str, ...]:
        return (self.signal, *self.backgrounds)

    @property
    def toy_truth(self) -> str | None:
        """The truth the coverage toys are drawn at (μ = 1, every NP nominal), None if no truth is."""
        return next((t.name for t in self.truths if t.mu == 1.0 and not any(t.shifts.values())), None)

    def shape_np(self, name: str) -> ShapeNP:
        return next(np_ for np_ in self.shape_nps if np_.name == name)

    @property
    def target_np(self) -> ShapeNP:
        """The shape NP the methods are built against (``systematics.target``)."""
        return self.shape_np(self.target)

    def target_variations(self) -> tuple[str, str, str]:
        """The target NP's -1 sigma, nominal and +1 sigma samples (the metrics and model figures compare them)."""
        return variation_name(self.target, -1.0), NOMINAL, variation_name(self.target, 1.0)

    def target_shift(self, truth: Truth | None) -> float:
        """The target NP's true value (sigma) in ``truth``; 0 for None or a truth that leaves it nominal."""
        return 0.0 if truth is None else float(truth.shifts.get(self.target, 0.0))

    def shape_variations(self) -> tuple[tuple[str, float, str], ...]:
        """(NP, shift in sigma, sample name) of every simulated one-NP variation: +-1 sigma and the grid points."""
        return tuple((np_.name, float(k), variation_name(np_.name, k))
                     for np_ in self.shape_nps for k in sorted({-1.0, 1.0, *np_.grid} - {0.0}))  # fmt: skip

    def variations(self) -> tuple[Variation, ...]:
        """Every sample variation: nominal, +-1 sigma and grid points per shape NP, pseudo-data truths."""
        out: dict[str, Variation] = {"nominal": Variation("nominal", {})}
        for np_name, k, name in self.shape_variations():
            out[name] = Variation(name, {np_name: self.shape_np(np_name).at(k)})
        for truth in self.truths:
            values = {np_: self.shape_np(np_).at(k) for np_, k in truth.shifts.items()}
            out[truth_name(truth.name)] = Variation(truth_name(truth.name), values)
        return tuple(out.values())

    def variation_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variations())

    def variation_shifts(self, variation: str) -> dict[str, float]:
        """Shape-NP shifts (sigma units) of a variation by name; NPs not listed are nominal."""
        for np_name, k, name in self.shape_variations():
            if variation == name:
                return {np_name: k}
        for truth in self.truths:
            if variation == truth_name(truth.name):
                return dict(truth.shifts)
        if variation == "nominal":
            return {}
        raise KeyError(f"unknown variation {variation!r}")

    def models(self) -> tuple[ModelSpec, ...]:
        """Every model to train: one per method, one per target-NP point for the oracle."""
        out: list[ModelSpec] = []
        for method in self.methods:
            if get_method(method).one_per_point:
                out += [ModelSpec(oracle_name(self.target, k), method, self.target, point=k)
                        for k in self.method_settings.oracle_points]
            else:
                out.append(ModelSpec(method, method, self.target))
        return tuple(out)

    def model_names(self) -> tuple[str, ...]:
        """Values of the ``method`` wildcard: model directories under results/models/."""
        return tuple(m.name for m in self.models())

    def lambda_scan_models(self) -> tuple[ModelSpec, ...]:
        """The extra models of the pivot/disco lambda scans (configured methods only; the configured
        lambda itself is the main model, so it is not trained twice)."""
        out: list[ModelSpec] = []
        for method in self.methods:
            if not get_method(method).lambda_scan:
                continue
            settings = getattr(self.method_settings, method)
            out += [ModelSpec(lambda_scan_name(method, lam), method, self.target, lam=lam)
                    for lam in settings.lambda_scan if lam != settings.lam]
        return tuple(out)

    def cross_check_models(self) -> tuple[ModelSpec, ...]:
        """Models of the generator cross-check: ``<method>_generator`` and ``<method>_scale`` per configured method."""
        return tuple(ModelSpec(f"{method}_{family}", method, family)
                     for method in self.generator_check.methods for family in CROSS_CHECK_FAMILIES)  # fmt: skip

    def interpolation_models(self) -> tuple[ModelSpec, ...]:
        """The aware classifiers of the interpolation check, one per left-out grid point of the target NP."""
        if "aware" not in self.methods:
            return ()
        return tuple(ModelSpec(leave_out_name(self.target, k), "aware", self.target, left_out=k)
                     for k in self.method_settings.aware_leave_out)

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
