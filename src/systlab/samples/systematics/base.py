"""What a shape systematic is: a named nuisance parameter that moves some primary objects of every event.

No numerical imports here or in the built-in modules (arithmetic on the arrays they are handed is enough), so the
config can validate NP names and nominals against the registry without loading numpy, awkward or pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: The primary objects a systematic can declare it moves.
OBJECTS = frozenset({"tau", "lep", "jets", "met"})
#: The objects the event selection cuts on (tau and lepton pT thresholds): moving one moves events across a cut.
SELECTED = frozenset({"tau", "lep"})


class Objects(NamedTuple):
    """The primary objects of every event as a systematic sees them (float64, one entry per event).

    Systematics move pT and MET only, never a direction; ``apply`` returns a copy with its fields replaced
    (``_replace``). ``jet_pt``/``jet_phi`` are the unvaried jagged jets and ``jet_px``/``jet_py`` their vector sum,
    for the MET change when jets scale; they are None where no systematic that moves jets is applied.
    """

    tau_pt: Any
    tau_direction: Any  # rows cos phi, sin phi, sinh eta, cosh eta: the tau four-vector per unit pT
    lep_pt: Any
    lep_direction: Any
    met_x: Any
    met_y: Any
    jet_scale: Any  # factor on every jet pT: 1.0, one value, one per event, or one per jet (jagged)
    jet_pt: Any
    jet_phi: Any
    jet_px: Any
    jet_py: Any
    soft_draws: Any  # (n, 2) standard normals, the same in every variation of a process

    def take(self, index) -> Objects:
        """The same objects in the events ``index`` only (a scalar jet scale stays as it is)."""
        out = {}
        for name, values in self._asdict().items():
            if values is None or (name == "jet_scale" and not hasattr(values, "__len__")):
                out[name] = values
            elif name.endswith("_direction"):
                out[name] = values[:, index]
            else:
                out[name] = values[index]
        return Objects(**out)


def _identity(value):
    return value


@dataclass(frozen=True)
class Systematic:
    """One shape NP: its name, nominal (physical) value, the objects it moves and how (``apply(objects, value)``).

    ``value`` is a physical value: a float, or an array with one value per event (per jet, for jets). ``key`` maps
    a value to what the sample depends on (soft MET: the width |value|), so equal keys give byte-equal samples.
    """

    name: str
    nominal: float
    apply: Callable[[Objects, Any], Objects]
    moves: frozenset[str]
    key: Callable[[Any], Hashable] = field(default=_identity)

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", frozenset(self.moves))
        unknown = sorted(self.moves - OBJECTS)
        if unknown:
            raise ValueError(f"systematic {self.name!r}: moves unknown object(s) {unknown}; known: {sorted(OBJECTS)}")
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"systematic {self.name!r}: a name is letters, digits and underscores")

    @property
    def selects(self) -> bool:
        """Whether it moves an object the event selection cuts on, so events can enter or leave the sample."""
        return bool(self.moves & SELECTED)
