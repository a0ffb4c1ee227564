"""The part of a config a rule's script reads, as the rule's ``params``: Snakemake reruns a job whose params changed,
so an edited value reruns the jobs that read it (and their descendants) and no other (``workflow/rules/common.smk``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def config_subset(config: Mapping[str, Any], entries: Iterable[str], ignore: Iterable[str] = ()) -> dict[str, Any]:
    """The ``entries`` of ``config``: whole sections ("fit") or dotted keys inside one ("simulate.luminosity_fb"),
    kept nested ("fit.mu_range" and "fit.scan_points" give {"fit": {"mu_range": ..., "scan_points": ...}}; a key
    the config lacks gives None). ``ignore``: dotted keys dropped from the result, for values that cannot change
    the job's outputs (how many replicas or toy jobs there are, which models a study runs on)."""
    out: dict[str, Any] = {}
    for entry in entries:
        name, *path = entry.split(".")
        value = config.get(name)
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if not path:
            out[name] = value
            continue
        node = out.setdefault(name, {})
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    for dotted in ignore:
        out = _without(out, dotted.split("."))
    return out


def _without(mapping: Any, path: list[str]) -> Any:
    """A copy of ``mapping`` without the nested key ``path``; unchanged where the path is absent."""
    key, *rest = path
    if not isinstance(mapping, Mapping) or key not in mapping:
        return mapping
    if not rest:
        return {k: v for k, v in mapping.items() if k != key}
    return {k: (_without(v, rest) if k == key else v) for k, v in mapping.items()}
