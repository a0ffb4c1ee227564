"""The ``paper_toys`` config section as a typed object (absent or empty section = the sub-DAG is off)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from systlab.methods.settings import PivotSettings, TrainingSettings
from systlab.papertoys.toys import get_toy

METHODS = ("baseline", "augmented", "pivot", "disco", "aware", "oracle", "inferno")
ORACLE = re.compile(r"^oracle_(?P<nuisance>[A-Za-z]+)(?P<point>-?[0-9.]+)$")


@dataclass(frozen=True)
class ControlSettings:
    """The positive control on the rotating toy (:mod:`systlab.papertoys.control`): grid, yields, samples, toys."""

    enabled: bool = True
    z_grid: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    true_z: tuple[float, ...] = (2.0, 1.0)  # Asimov datasets; the first is the toys' truth
    signal: float = 100.0  # expected events at mu = 1
    background: float = 1000.0
    template_events: int = 200_000  # per class and grid point
    data_events: int = 200_000  # per class, the independent sample the datasets come from
    bins: int = 10
    toys: int = 500
    morph_step: float = 0.0625  # sigma units of Z
    mu_range: tuple[float, float] = (0.0, 2.0)
    scan_points: int = 81


@dataclass(frozen=True)
class PaperToySettings:
    """Which toys run which methods, sample sizes, replicas and the training settings shared by all toy models."""

    toys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seed: int = 0
    events: int = 10_000
    test_events: int = 20_000
    replicas: int = 3
    training: TrainingSettings = TrainingSettings(hidden=(32, 32), epochs=20, batch_size=512, learning_rate=3e-3)
    pivot: PivotSettings = PivotSettings(lam=50.0)
    disco_lambda: float = 3.0
    oracle_points: tuple[float, ...] = (2.0,)
    control: ControlSettings = ControlSettings()

    @property
    def enabled(self) -> bool:
        return bool(self.toys)

    def replica_names(self) -> list[str]:
        return [f"r{i}" for i in range(self.replicas)]

    def model_names(self, toy: str) -> list[str]:
        """Trained models of ``toy``: its methods, with ``oracle`` expanded to one model per oracle point."""
        primary = get_toy(toy).primary.name
        names = []
        for method in self.toys[toy]:
            if method == "oracle":
                names += [oracle_name(primary, point) for point in self.oracle_points]
            else:
                names.append(method)
        return names

    def pivot_for(self, toy: str) -> PivotSettings:
        """Pivot settings decorrelating from the toy's primary nuisance."""
        return replace(self.pivot, nuisance=get_toy(toy).primary.name)


def oracle_name(nuisance: str, point: float) -> str:
    """Model name of the oracle trained at ``nuisance = point`` (e.g. ``oracle_Z2``)."""
    return f"oracle_{nuisance}{point:g}"


def split_model_name(model: str) -> tuple[str, float | None]:
    """(method, oracle point or None) of a model name."""
    match = ORACLE.match(model)
    if match:
        return "oracle", float(match["point"])
    if model not in METHODS or model == "oracle":
        raise ValueError(f"unknown paper-toy model {model!r}; known methods {METHODS} (oracles as oracle_<NP><point>)")
    return model, None


def _field(raw: Mapping[str, Any], key: str, default: Any, kind: type) -> Any:
    try:
        return kind(raw.get(key, default))
    except (TypeError, ValueError) as err:
        raise ValueError(f"config: field 'paper_toys.{key}': {err}") from None


def parse_paper_toys(config: Mapping[str, Any]) -> PaperToySettings:
    """Settings from the raw (schema-validated) config mapping; unknown toys or methods raise ValueError."""
    raw = dict(config.get("paper_toys") or {})
    base = PaperToySettings()
    toys = {}
    for toy, methods in (raw.get("toys") or {}).items():
        try:
            get_toy(toy)
        except ValueError as err:
            raise ValueError(f"config: field 'paper_toys.toys.{toy}': {err}") from None
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"config: field 'paper_toys.toys.{toy}': unknown method(s) {unknown}; known {METHODS}")
        if "inferno" in methods and toy != "inferno":
            raise ValueError(f"config: field 'paper_toys.toys.{toy}': the inferno method needs the inferno toy")
        toys[toy] = tuple(methods)
    t = dict(raw.get("training") or {})
    p = dict(raw.get("pivot") or {})
    training = replace(base.training, **{k: (tuple(v) if k == "hidden" else v) for k, v in t.items()})
    pivot = PivotSettings(
        lam=float(p.get("lambda", base.pivot.lam)),
        components=int(p.get("components", base.pivot.components)),
        hidden=tuple(p.get("adversary_hidden", base.pivot.hidden)),
        adversary_steps=int(p.get("adversary_steps", base.pivot.adversary_steps)),
        learning_rate=float(p.get("adversary_learning_rate", base.pivot.learning_rate)),
        pretrain_epochs=int(p.get("pretrain_epochs", base.pivot.pretrain_epochs)),
        adversary_pretrain_epochs=int(p.get("adversary_pretrain_epochs", base.pivot.adversary_pretrain_epochs)),
    )
    settings = PaperToySettings(
        toys=toys,
        seed=int(config.get("seed", 0)),
        events=_field(raw, "events", base.events, int),
        test_events=_field(raw, "test_events", base.test_events, int),
        replicas=_field(raw, "replicas", base.replicas, int),
        training=training,
        pivot=pivot,
        disco_lambda=float((raw.get("disco") or {}).get("lambda", base.disco_lambda)),
        oracle_points=tuple(float(x) for x in raw.get("oracle_points", base.oracle_points)),
        control=parse_control(raw.get("control") or {}),
    )
    for key in ("events", "test_events", "replicas"):
        if getattr(settings, key) < 1:
            raise ValueError(f"config: field 'paper_toys.{key}': must be >= 1")
    return settings


def parse_control(raw: Mapping[str, Any]) -> ControlSettings:
    """``paper_toys.control`` typed; ValueError naming the field if the grid cannot carry the truths."""
    base = ControlSettings()
    grid = tuple(sorted(float(z) for z in raw.get("z_grid", base.z_grid)))
    control = ControlSettings(
        enabled=bool(raw.get("enabled", base.enabled)),
        z_grid=grid,
        true_z=tuple(float(z) for z in raw.get("true_z", base.true_z)),
        signal=float(raw.get("signal", base.signal)),
        background=float(raw.get("background", base.background)),
        template_events=int(raw.get("template_events", base.template_events)),
        data_events=int(raw.get("data_events", base.data_events)),
        bins=int(raw.get("bins", base.bins)),
        toys=int(raw.get("toys", base.toys)),
        morph_step=float(raw.get("morph_step", base.morph_step)),
        mu_range=tuple(float(m) for m in raw.get("mu_range", base.mu_range)),  # type: ignore[arg-type]
        scan_points=int(raw.get("scan_points", base.scan_points)),
    )
    if len(grid) < 3 or len(set(grid)) != len(grid):
        raise ValueError(f"config: field 'paper_toys.control.z_grid': >= 3 distinct values needed, got {list(grid)}")
    z = get_toy("rotating").primary
    outside = [t for t in (*grid, *control.true_z) if not z.low <= t <= z.high]
    if outside:
        raise ValueError(f"config: field 'paper_toys.control': Z {outside} outside the aware training range "
                         f"[{z.low:g}, {z.high:g}]")  # fmt: skip
    off_grid = [t for t in control.true_z if not grid[0] <= t <= grid[-1]]
    if off_grid:
        raise ValueError(f"config: field 'paper_toys.control.true_z': {off_grid} outside z_grid "
                         f"[{grid[0]:g}, {grid[-1]:g}]")  # fmt: skip
    if not control.mu_range[0] < 1.0 < control.mu_range[1]:
        raise ValueError(f"config: field 'paper_toys.control.mu_range': {list(control.mu_range)} must contain 1")
    return control
