"""The shape-systematics registry: one small module per nuisance parameter, like pyhf's modifier registry.

A systematic (:class:`Systematic`) declares its name, nominal value, the primary objects it moves and
``apply(objects, value)``. :mod:`systlab.samples.vary` applies every registered one to the events, in
registration order: the built-ins ``tes``, ``jes``, ``soft_met`` (so MET collects the TES term, then JES, then
soft, always in the same floating-point order: byte-identical samples), then the other modules of this package that
define a ``SYSTEMATIC`` (by module name), then any registered at run time (:func:`register`) in order.
Adding a shape NP is one module plus its ``systematics.shape`` entry in the config.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from systlab.samples.systematics import jes, soft_met, tes
from systlab.samples.systematics.base import OBJECTS, SELECTED, Objects, Systematic

__all__ = [
    "NOMINALS",
    "OBJECTS",
    "SELECTED",
    "SYSTEMATICS",
    "Objects",
    "Systematic",
    "apply_all",
    "get",
    "ordered",
    "register",
    "unregister",
]

#: Every known shape systematic by name, in application order (dict insertion order).
SYSTEMATICS: dict[str, Systematic] = {}


def register(systematic: Systematic | None = None, /, **fields: Any) -> Any:
    """Append ``systematic`` to the registry (applied after those already there) and return it.

    With keyword fields only (``name``, ``nominal``, ``moves``, optionally ``key``) it is a decorator of the
    ``apply`` function, returning the registered :class:`Systematic`. A name can be registered once.
    """
    if systematic is None:
        return lambda apply: register(Systematic(apply=apply, **fields))
    if systematic.name in SYSTEMATICS:
        raise ValueError(f"shape systematic {systematic.name!r} is already registered")
    SYSTEMATICS[systematic.name] = systematic
    return systematic


def unregister(name: str) -> Systematic:
    """Remove a systematic (tests that register a toy one clean up with this); returns it."""
    return SYSTEMATICS.pop(get(name).name)


def get(name: str) -> Systematic:
    """The systematic called ``name``; KeyError listing the registered ones otherwise."""
    try:
        return SYSTEMATICS[name]
    except KeyError:
        raise KeyError(f"unknown shape systematic {name!r}; registered: {list(SYSTEMATICS)}") from None


def ordered(moving: Iterable[str] | None = None) -> tuple[Systematic, ...]:
    """Registered systematics in application order; with ``moving``, only those that move one of those objects."""
    if moving is None:
        return tuple(SYSTEMATICS.values())
    moving = frozenset(moving)
    return tuple(s for s in SYSTEMATICS.values() if s.moves & moving)


def apply_all(objects: Objects, values: Mapping[str, Any], systematics: Iterable[Systematic] | None = None) -> Objects:
    """``objects`` moved by every systematic (or those given) in application order, each at ``values[name]``."""
    for systematic in ordered() if systematics is None else systematics:
        objects = systematic.apply(objects, values[systematic.name])
    return objects


class _Nominals(Mapping):
    """A live, read-only view {name: nominal} of the registry (``catalogue.KNOWN_SHAPE_NPS``)."""

    def __getitem__(self, name: str) -> float:
        return get(name).nominal

    def __iter__(self) -> Iterator[str]:
        return iter(list(SYSTEMATICS))

    def __len__(self) -> int:
        return len(SYSTEMATICS)

    def __repr__(self) -> str:
        return repr(dict(self))


#: {name: nominal value} of every registered systematic, always up to date.
NOMINALS: Mapping[str, float] = _Nominals()


def _discovered() -> list[Systematic]:
    """The ``SYSTEMATIC`` of every other module in this package, by module name: a new NP needs no edit here."""
    known = {"base", "jes", "soft_met", "tes"}
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in known)
    modules = (importlib.import_module(f"{__name__}.{name}") for name in names)
    return [module.SYSTEMATIC for module in modules if isinstance(getattr(module, "SYSTEMATIC", None), Systematic)]


#: Built-ins first, in the order MET collects their terms; modules added to this package after them.
for _systematic in (tes.SYSTEMATIC, jes.SYSTEMATIC, soft_met.SYSTEMATIC, *_discovered()):
    register(_systematic)
