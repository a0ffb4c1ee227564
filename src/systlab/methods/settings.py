"""Training hyper-parameters as plain dataclasses, outside the torch-importing :mod:`systlab.methods` package.

The config and the paper-toy settings are parsed when Snakemake builds the DAG; keeping these free of torch
keeps ``snakemake -n`` from importing it (2.5 s).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainingSettings:
    """Hyper-parameters shared by all methods."""

    hidden: tuple[int, ...] = (64, 64)
    epochs: int = 50
    batch_size: int = 2048
    learning_rate: float = 1e-3
    patience: int = 5
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.threads < 1:
            raise ValueError(f"epochs, batch_size, patience and threads must be >= 1: {self}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0: {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (hidden as a list)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> TrainingSettings:
        """Inverse of ``to_dict``; unknown keys are an error so typos in configs surface."""
        return cls(**{**payload, "hidden": tuple(payload.get("hidden", cls.hidden))})


@dataclass(frozen=True)
class PivotSettings:
    """Adversary architecture, game strength and schedule (epochs of the two pre-trainings)."""

    lam: float = 1.0
    components: int = 5
    hidden: tuple[int, ...] = (16, 16)
    adversary_steps: int = 1
    learning_rate: float = 5e-3
    pretrain_epochs: int = 5
    adversary_pretrain_epochs: int = 3
    nuisance: str = "tes"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "hidden": list(self.hidden)}
