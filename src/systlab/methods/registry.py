"""The training methods by name: how each trains, what it draws, its options, and what the pipeline needs to know.

One :class:`Method` per method. The config's ``methods`` check, whether a method is built against the target NP
(``systematics.target``), its λ scan, the route of its fit (a histosys workspace, the grid likelihood over the
target NP it takes as input, or the unbinned likelihood of its learned per-event density ratios) and its figure
colour are all read from here — nowhere else names a method. Adding a method is one module with a ``train_<name>``
function (and an ``options(cfg, spec)`` if it has settings) plus one :func:`register` call below (or in user code
before the run). Entries name their functions as ``"module:function"`` strings, resolved on use, so reading the
registry (config validation, DAG build) imports neither torch nor pandas.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: How a method's training events set the shape NPs (``systlab.methods.data.method_draws``): every NP nominal; every
#: NP from its prior; each event nominal or (with probability 1/2) the target NP from its prior (two domains); the
#: target uniform over its grid, others from priors (parameterised); the target fixed at the model's point, others
#: nominal (oracle).
DRAWS = ("nominal", "prior", "nominal_or_prior", "grid_uniform", "fixed_point")


@dataclass(frozen=True)
class Method:
    """One training method: its ``train`` function and what the rest of the pipeline needs to know about it."""

    name: str
    train: str | Callable[..., Any]  # "module:function" or a callable: (samples, features, settings, seed, out_dir,
    #                                   **options) -> systlab.methods.common.TrainedModel
    draws: str = "nominal"  # one of DRAWS: what its training tables hold (ignored when ``tables`` is given)
    options: str | Callable[..., dict] | None = None  # (cfg, spec) -> keyword options of ``train``
    tables: str | Callable[..., dict] | None = None  # (cfg, spec, events, replica) -> its own training tables
    parameterized: bool = False  # takes the target NP as input: fitted through the grid likelihood over it
    unbinned: bool = False  # learns per-event density ratios: fitted through the unbinned likelihood of its events
    targets: bool = False  # built against the target NP (decorrelated from, parameterised on, trained at it)
    lambda_scan: bool = False  # a decorrelation strength λ that the λ-scan study varies
    decorrelates: bool = False  # shown in the decorrelation figure beside the baseline
    one_per_point: bool = False  # one model per point of method_settings.oracle.points (the oracle)
    after_training: tuple[str, ...] = ()  # its method_settings keys read after training (not a retraining)
    colour: str = "#777777"

    def __post_init__(self) -> None:
        if self.draws not in DRAWS:
            raise ValueError(f"method {self.name!r}: draws {self.draws!r} is not one of {DRAWS}")

    def trainer(self) -> Callable[..., Any]:
        """The training function."""
        return _resolve(self.train)

    def training_options(self, cfg: Any, spec: Any) -> dict[str, Any]:
        """Keyword options of :meth:`trainer` for one model of this method."""
        return dict(_resolve(self.options)(cfg, spec)) if self.options else {}

    def training_tables(self, cfg: Any, spec: Any, events: Mapping[str, Any], replica: int) -> dict[str, Any]:
        """Its own training tables (only for a method with ``tables``)."""
        if not self.tables:
            raise ValueError(f"method {self.name!r} draws its tables with {self.draws!r}, it has no own tables")
        return _resolve(self.tables)(cfg, spec, events, replica)


def _resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


REGISTRY: dict[str, Method] = {}


def register(method: Method, replace: bool = False) -> Method:
    """Add ``method`` to the registry (ValueError if its name is taken, unless ``replace``)."""
    if method.name in REGISTRY and not replace:
        raise ValueError(f"a method named {method.name!r} is already registered")
    REGISTRY[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method (tests that register their own)."""
    REGISTRY.pop(name, None)


def get(name: str) -> Method:
    """The registered method ``name``; KeyError naming the registered ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; registered: {sorted(REGISTRY)}") from None


class Trainers(Mapping[str, Callable[..., Any]]):
    """Method name -> training function, resolved from the registry on access."""

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return get(name).trainer()

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


_T = "systlab.methods."
register(Method("baseline", _T + "baseline:train_baseline", draws="nominal", colour="#0072B2"))
register(Method("augmented", _T + "augmented:train_augmented", draws="prior", colour="#E69F00"))
register(Method("pivot", _T + "pivot:train_pivot", draws="prior", options=_T + "setup:pivot_options", targets=True,
                lambda_scan=True, decorrelates=True, colour="#009E73"))
register(Method("disco", _T + "disco:train_disco", draws="prior", options=_T + "setup:disco_options", targets=True,
                lambda_scan=True, decorrelates=True, colour="#CC79A7"))
register(Method("grl", _T + "grl:train_grl", draws="nominal_or_prior", options=_T + "grl:options", targets=True,
                decorrelates=True, colour="#999933"))
register(Method("aware", _T + "aware:train_aware", draws="grid_uniform", options=_T + "setup:aware_options",
                parameterized=True, targets=True, colour="#D55E00"))
register(Method("oracle", _T + "oracle:train_oracle", draws="fixed_point", options=_T + "setup:oracle_options",
                targets=True, one_per_point=True, colour="#000000"))
register(Method("inferno", _T + "inferno:train_inferno", options=_T + "setup:inferno_options",
                tables=_T + "setup:inferno_tables", targets=True, colour="#56B4E9"))
register(Method("unbinned", _T + "unbinned:train_unbinned", options=_T + "unbinned:unbinned_options",
                tables=_T + "unbinned:unbinned_tables", unbinned=True, after_training=("calibrate_spread",),
                colour="#8C564B"))
