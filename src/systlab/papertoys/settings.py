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
    )
    for key in ("events", "test_events", "replicas"):
        if getattr(settings, key) < 1:
            raise ValueError(f"config: field 'paper_toys.{key}': must be >= 1")
    return settings
