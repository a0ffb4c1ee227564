"""``systlab inspect``: list what a ROOT/HDF5 file holds (trees or groups, branches, types, entries)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from systlab.cli.common import EXIT_OK, CliError
from systlab.cli.draft import Source, Table, draft_inputs, recognise


def inspect_file(args: argparse.Namespace) -> int:
    """``systlab inspect``: list the file's trees/groups, then print (or write) the draft ``inputs:`` block."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: file not found")
    fmt = detect_format(path)
    tables, notes = read_root_tables(path) if fmt == "root" else read_hdf5_tables(path)
    if not args.draft_only:
        print("\n".join(listing(path, fmt, tables, notes, args.branches)))
    if not tables:
        raise CliError(f"{path}: no {'TTree' if fmt == 'root' else 'group with datasets'} to map")
    table = pick_table(tables, fmt, args.tree, path)
    process = args.process or guess_process(path)
    draft, todo = draft_inputs(args.file, fmt, table, process, others=[t.name for t in tables if t is not table])
    if args.output:
        Path(args.output).write_text(draft)
        print(f"draft inputs block written to {args.output}", file=sys.stderr)
    else:
        if not args.draft_only:
            print()
        print(draft, end="")
    required = [name for name in todo if name not in ("weight", "event_id")]
    if required:
        print(f"note: draft incomplete: {len(required)} required column(s) not recognised: {', '.join(required)} "
              "(see the TODO lines)", file=sys.stderr)
    return EXIT_OK


def detect_format(path: Path) -> str:
    """'root' or 'hdf5' from the file's magic bytes (not its extension)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] == b"root":
        return "root"
    import h5py

    if h5py.is_hdf5(path):
        return "hdf5"
    raise CliError(f"{path}: neither a ROOT nor an HDF5 file (magic bytes {head[:4]!r})")


_TREE_CLASSES = ("TTree", "TNtuple", "TNtupleD")


def read_root_tables(path: Path) -> tuple[list[Table], list[str]]:
    """Every TTree of a ROOT file (subdirectories included) with its branches; other objects as notes."""
    import uproot

    try:
        file = uproot.open(path)
    except Exception as exc:
        raise CliError(f"{path}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
    tables, notes = [], []
    with file:
        for key, cls in file.classnames(recursive=True, cycle=False).items():
            if cls not in _TREE_CLASSES:
                if "RNTuple" in cls:
                    notes.append(f"{key}: {cls} (not supported by systlab ingest, which reads TTrees)")
                continue
            tree = file[key]
            table = Table(key, int(tree.num_entries))
            for name in tree.keys(recursive=True):
                table.sources.append(_root_source(name, tree[name]))
            tables.append(table)
    return tables, notes


def _root_source(name: str, branch: Any) -> Source:
    """Classify one branch like systlab ingest does: numeric flat, numeric jagged, or unusable."""
    import uproot

    try:
        interp = branch.interpretation
    except Exception:  # uproot cannot interpret it at all
        return Source(name, branch.typename, "other", note="not readable by uproot")
    counts = None
    kind = "flat"
    if isinstance(interp, uproot.interpretation.jagged.AsJagged):
        interp, kind = interp.content, "jagged"
        counter = getattr(branch, "count_branch", None)
        counts = counter.name if counter is not None else None
    if not isinstance(interp, uproot.interpretation.numerical.AsDtype):
        return Source(name, branch.typename, "other", note="not numeric")
    dtype = interp.to_dtype
    if dtype.shape != () or dtype.kind not in "iuf":
        return Source(name, branch.typename, "other", note="not numeric" if dtype.shape == () else "fixed-size array")
    return Source(name, branch.typename, kind, counts=counts)


_COUNTER_NAME = re.compile(r"^(n_?[a-z]|N[A-Z_]|num)|count|mult", re.IGNORECASE)


def read_hdf5_tables(path: Path) -> tuple[list[Table], list[str]]:
    """Every HDF5 group holding datasets; jagged = a values dataset whose length is the sum of a counts dataset."""
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except Exception as exc:
        raise CliError(f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})") from None
    groups: list[Any] = []
    with h5:
        h5.visititems(lambda name, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
        tables = [_hdf5_table(group) for group in [h5, *groups]]
    return [t for t in tables if t is not None], []


def _hdf5_table(group: Any) -> Table | None:
    """One group as a Table (None without datasets): per-event, per-object (with counts) and other datasets."""
    import h5py
    import numpy as np

    datasets = {name: obj for name, obj in group.items() if isinstance(obj, h5py.Dataset)}
    if not datasets:
        return None
    one_d = {n: d for n, d in datasets.items() if d.ndim == 1 and d.dtype.kind in "iuf"}
    lengths = {n: int(d.shape[0]) for n, d in one_d.items()}
    counters: dict[str, str] = {}  # values dataset -> counts dataset
    for name, dset in one_d.items():
        if dset.dtype.kind not in "iu" or not _COUNTER_NAME.search(name):
            continue
        values = dset[()]
        if values.size and values.min() < 0:
            continue
        total = int(np.sum(values, dtype=np.int64))
        for other, length in lengths.items():
            if other != name and other not in counters and length == total != lengths[name]:
                counters[other] = name
    n_events = group.attrs.get("n_events")
    if n_events is not None and np.ndim(n_events) == 0:
        entries = int(n_events)
    elif counters:
        entries = lengths[next(iter(counters.values()))]
    elif lengths:
        entries = max(set(lengths.values()), key=list(lengths.values()).count)
    else:
        entries = 0
    table = Table(group.name, entries)
    for name, dset in datasets.items():
        dtype = str(dset.dtype) if dset.dtype.names is None else "compound"
        length = int(dset.shape[0]) if dset.ndim else 1
        if name in counters:
            table.sources.append(Source(name, dtype, "jagged", counts=counters[name], length=length))
        elif name in one_d and length == entries:
            table.sources.append(Source(name, dtype, "flat", length=length))
        else:
            note = f"shape {dset.shape}" if name not in one_d else f"{length} values for {entries} entries"
            if dset.dtype.kind not in "iuf":
                note = "not numeric"
            table_like = length == entries and ((dset.ndim == 2 and dset.dtype.kind in "iuf") or dset.dtype.names)
            table.sources.append(Source(name, dtype, "table" if table_like else "other", length=length, note=note))
    return table


def listing(path: Path, fmt: str, tables: Sequence[Table], notes: Sequence[str], pattern: str | None) -> list[str]:
    """Readable lines: each tree/group with its entry count and its branches/datasets (optionally filtered)."""
    from fnmatch import fnmatchcase

    what, unit = ("tree", "branches") if fmt == "root" else ("group", "datasets")
    lines = [f"{'ROOT' if fmt == 'root' else 'HDF5'} file {path}"]
    for table in tables:
        lines.append(f"{what} '{table.name}': {table.entries} entries, {len(table.sources)} {unit}")
        shown = [s for s in table.sources if pattern is None or fnmatchcase(s.name.lower(), pattern.lower())]
        width = max((len(s.name) for s in shown), default=0)
        type_width = max((len(s.type) for s in shown), default=0)
        for src in shown:
            size = f"{src.length:>10} values  " if src.length is not None else ""
            lines.append(f"  {src.name:<{width}}  {src.type:<{type_width}}  {size}{_kind(src, fmt)}")
        if pattern is not None:
            lines.append(f"  ({len(shown)} of {len(table.sources)} {unit} match {pattern!r})")
    return lines + [f"note: {note}" for note in notes]


def _kind(src: Source, fmt: str) -> str:
    if src.kind == "jagged":
        counter = "counter" if fmt == "root" else "counts"
        return f"jagged ({counter} {src.counts})" if src.counts else "jagged"
    if src.kind == "flat":
        return "flat"
    if src.kind == "table":  # a 2-D table or a compound dataset: one column per mapping entry
        return f"table ({src.note}): map a column as '{src.name}:<name or index>'"
    return f"cannot be mapped ({src.note})"


def pick_table(tables: Sequence[Table], fmt: str, wanted: str | None, path: Path) -> Table:
    """The table to draft: ``--tree`` if given, else the one mapping most canonical columns (then most entries)."""
    if wanted is not None:
        for table in tables:
            if table.name.strip("/") == wanted.strip("/"):
                return table
        raise CliError(f"{path}: no tree/group {wanted!r} (--tree); found: {[t.name for t in tables]}")
    return max(tables, key=lambda t: (len(recognise(t, fmt)[0]), t.entries))


def guess_process(path: Path) -> str:
    """A simulator process named in the file name (``..._ttbar.root`` -> ttbar), else a placeholder."""
    from systlab.config.catalogue import PROCESSES

    tokens = set(re.split(r"[^a-z0-9]+", path.stem.lower()))
    found = [p for p in PROCESSES if p in tokens]
    return found[0] if len(found) == 1 else "my_process"


#: Collections recognised per canonical object, in order of preference (matched case-insensitively).
