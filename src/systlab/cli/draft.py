"""The draft ``inputs:`` mapping of ``systlab inspect``: which branches it recognises as which canonical columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Source:
    """One branch (ROOT) or dataset (HDF5): name, type, 'flat'/'jagged'/'table' (2-D or compound)/'other', its counter,
    length."""

    name: str
    type: str
    kind: str
    counts: str | None = None
    length: int | None = None
    note: str = ""


@dataclass
class Table:
    """One TTree or HDF5 group: its name, entry count and sources."""

    name: str
    entries: int
    sources: list[Source] = field(default_factory=list)

    def lookup(self) -> dict[str, Source]:
        """Usable (numeric) sources by lower-case name; the first of names differing only in case wins."""
        out: dict[str, Source] = {}
        for src in self.sources:
            if src.kind in ("flat", "jagged"):
                out.setdefault(src.name.lower(), src)
        return out


COLLECTIONS = {
    "tau": ("tau", "taus", "hadtau", "tauh"),
    "lep": ("lep", "lepton", "leptons", "muon", "muons", "mu", "electron", "electrons", "ele", "el"),
    "met": ("met", "puppimet", "pfmet", "missinget"),
    "jet": ("jet", "jets"),
}
#: Component names recognised for the pt of each object (ATLAS ntuples call the MET magnitude met_met).
PT_NAMES = {"met": ("pt", "met", "et")}
WEIGHT_NAMES = ("weight", "genweight", "eventweight", "event_weight", "mcweight", "mc_weight", "evtweight",
                "weight_mc", "totalweight", "generatorweight")
EVENT_NAMES = ("event_id", "event", "eventnumber", "event_number", "evt", "evtnum", "eventno", "eventnum")


@dataclass
class Mapped:
    """The draft source of one canonical column and an optional comment."""

    column: dict[str, Any]
    comment: str = ""


def recognise(table: Table, fmt: str) -> tuple[dict[str, Mapped], list[str]]:
    """Map canonical columns onto the table's sources; returns the mapped columns and the unrecognised ones."""
    lookup = table.lookup()
    mapped: dict[str, Mapped] = {}
    for obj, collections in COLLECTIONS.items():
        mapped.update(_object_columns(obj, collections, lookup, fmt))
    for name, candidates in (("weight", WEIGHT_NAMES), ("event_id", EVENT_NAMES)):
        src = next((lookup[c] for c in candidates if c in lookup and lookup[c].kind == "flat"), None)
        if src is not None:
            mapped[name] = Mapped({"branch": src.name})
    order = _draft_order()
    return {name: mapped[name] for name in order if name in mapped}, [name for name in order if name not in mapped]


def _object_columns(obj: str, collections: Sequence[str], lookup: Mapping[str, Source], fmt: str) -> dict[str, Mapped]:
    """Columns of one object (tau/lep/met: pt, eta/phi; jet: jagged) from the first complete collection."""
    components = ("pt", "phi") if obj == "met" else ("pt", "eta", "phi")
    jagged = obj == "jet"
    best: dict[str, Mapped] = {}
    best_collection = None
    found = []
    for collection in collections:
        columns = {}
        for comp in components:
            mapped = _component(collection, comp, PT_NAMES.get(obj, ("pt",)), lookup, fmt, jagged)
            if mapped is not None:
                columns[f"{obj}_{comp}"] = mapped
        if len(columns) == len(components):
            src = lookup.get(f"{collection}_pt") or lookup.get(f"{collection}_px")
            found.append(src.name.rsplit("_", 1)[0] if src is not None else collection)
        if len(columns) > len(best):
            best, best_collection = columns, collection
    if best and obj == "lep" and len(found) > 1:
        others = [c for c in found if c.lower() != best_collection]
        first = next(iter(best.values()))
        first.comment = (first.comment + "; " if first.comment else "") + f"also present: {', '.join(others)}"
    return best


def _component(collection: str, comp: str, pt_names: Sequence[str], lookup: Mapping[str, Source], fmt: str,
               jagged: bool) -> Mapped | None:
    """Source of one component (pt/eta/phi) of a collection: a branch, or (ROOT) an expression of px/py/pz."""
    names = pt_names if comp == "pt" else (comp,)
    for name in names:
        src = lookup.get(f"{collection}_{name}")
        if src is not None and (src.kind == "jagged" or not jagged):
            return _from_source(src, jagged, fmt, comp)
    px, py, pz = (lookup.get(f"{collection}_{c}") for c in ("px", "py", "pz"))
    if px is None or py is None or px.kind != py.kind or (jagged and px.kind != "jagged"):
        return None
    if fmt != "root" and (jagged or px.kind == "jagged"):
        return None  # HDF5 expressions make flat columns of flat datasets only
    pt = f"sqrt({px.name}**2 + {py.name}**2)"
    if comp == "pt":
        expr = pt
    elif comp == "phi":
        expr = f"arctan2({py.name}, {px.name})"
    elif pz is not None and pz.kind == px.kind:
        expr = f"arcsinh({pz.name} / {pt})"
    else:
        return None
    column: dict[str, Any] = {"expr": expr}
    if px.kind == "jagged" and not jagged:
        column["object"] = 0
    return Mapped(column, _leading(px.name, comp) if "object" in column else "")


def _leading(name: str, comp: str) -> str:
    """Comment of an ``object: 0`` pick (the event cut it implies is said once, on pt)."""
    prefix = name.rsplit("_", 1)[0]
    return f"leading {prefix}; events without one are dropped" if comp == "pt" else f"leading {prefix}"


def _from_source(src: Source, jagged: bool, fmt: str, comp: str) -> Mapped:
    """A branch/dataset as a column source: ``object: 0`` picks the leading object for a per-event column."""
    column: dict[str, Any] = {"branch": src.name}
    comment = ""
    if src.kind == "jagged":
        if fmt == "hdf5":
            column["counts"] = src.counts
        if not jagged:
            column["object"] = 0
            comment = _leading(src.name, comp)
    return Mapped(column, comment)


def draft_inputs(file: str, fmt: str, table: Table, process: str, others: Sequence[str]) -> tuple[str, list[str]]:
    """The draft ``inputs:`` overlay (YAML text with comments) and the canonical columns left as TODO."""
    mapped, todo = recognise(table, fmt)
    name = (table.name.lstrip("/") or "/") if fmt == "hdf5" else table.name
    where = "tree" if fmt == "root" else "group"
    lines = [
        f"# Draft `inputs:` overlay written by `systlab inspect {file}` ({where} {name!r}, {table.entries} entries).",
        "# Review every line (which object is the lepton, units GeV and radians), then layer it on the base config:",
        "#   systlab check-config THIS.yaml   and   snakemake --cores 2 --configfile THIS.yaml",
    ]
    if others:
        lines.append(f"# Other {where}s in the file: {', '.join(others)} (systlab inspect --tree NAME drafts one).")
    placeholder = "   # TODO: one of `processes:` in the base config" if process == "my_process" else ""
    lines += [
        "inputs:",
        f"  {_scalar(process)}:{placeholder}",
        f"    format: {fmt}",
        "    files:",
        f"      - {_scalar(file)}",
        f"    {where}: {_scalar(name)}",
        "    columns:",
    ]
    texts = {column: f"      {column}: {_flow(source.column)}" for column, source in mapped.items()}
    width = min(max(map(len, texts.values()), default=0), 60)
    for column in _draft_order():
        if column in todo:
            lines.append(f"      # TODO {column}: {_todo_hint(column, fmt)}")
        elif mapped[column].comment:
            lines.append(f"{texts[column]:<{width}}  # {mapped[column].comment}")
        else:
            lines.append(texts[column])
    from systlab.config.catalogue import PROCESSES

    model = PROCESSES.get(process)
    expected = f"{model.expected_yield:.0f}" if model else "1000"
    origin = f" (simulator's {process}: {expected} per 10 fb^-1)" if model else ""
    lines += [
        "    # selection: {jet_min_pt: 20.0, jet_max_abs_eta: 4.7}   # optional jet cuts",
        f"    # yield: {expected:<47}# optional: weights rescaled to sum to it{origin}",
    ]
    return "\n".join(lines) + "\n", todo


def _draft_order() -> list[str]:
    """Canonical columns in draft order: the kinematics, then weight and event_id."""
    from systlab.events import CANONICAL_COLUMNS

    return [name for name in CANONICAL_COLUMNS if name not in ("weight", "event_id")] + ["weight", "event_id"]


def _todo_hint(column: str, fmt: str) -> str:
    """What to write for an unrecognised canonical column."""
    if column == "weight":
        return "optional, not recognised (default: every event weighs 1.0), e.g. {branch: NAME}"
    if column == "event_id":
        return "optional, not recognised (default: a running index), e.g. {branch: NAME}"
    if column.startswith("jet_"):
        return "not recognised; a jagged source, e.g. {branch: NAME}" + (", counts: NCOUNTS}" if fmt == "hdf5" else "")
    how = "{branch: NAME, object: 0}" + (" or {expr: EXPRESSION}" if fmt == "root" else "")
    return f"not recognised (required); e.g. {how}"


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def _scalar(value: Any) -> str:
    """A YAML scalar: plain if it reads back unchanged, else double-quoted (JSON strings are valid YAML)."""
    import json

    import yaml

    if isinstance(value, str) and _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _flow(column: Mapping[str, Any]) -> str:
    """A column source as a YAML flow mapping, e.g. ``{branch: Tau_pt, object: 0}``."""
    return "{" + ", ".join(f"{key}: {_scalar(value)}" for key, value in column.items()) + "}"
