"""The input-format registry: format name (the ``format:`` of an ``inputs:`` entry) -> its chunk reader and checker.

A reader is ``reader(spec, path, chunk_size) -> Iterator[Chunk]`` (raw columns per chunk, see ``canonical``); it
validates its file against the spec first and raises IngestError naming the file and field. A checker is
``checker(spec, path) -> None``: the same validation without reading the events (file opens, tree/group exists,
every mapped branch/dataset exists with a usable type and shape, ``expr:`` evaluates), run at DAG build by
``check_inputs`` so a bad file stops the run before any job (and before Snakemake deletes an output it would
rebuild). Adding a format is one reader module plus one :func:`register` call; names are "module:function"
strings, so the registry imports neither uproot nor h5py until a file of that format is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

READERS: dict[str, str | Callable[..., Iterator[Any]]] = {
    "root": "systlab.samples.ingest.root:root_chunks",
    "hdf5": "systlab.samples.ingest.hdf5:hdf5_chunks",
    "fair": "systlab.samples.ingest.fair:fair_chunks",
}
CHECKERS: dict[str, str | Callable[..., None]] = {
    "root": "systlab.samples.ingest.root:check_file",
    "hdf5": "systlab.samples.ingest.hdf5:check_file",
    "fair": "systlab.samples.ingest.fair:check_file",
}


def register(name: str, reader: str | Callable[..., Iterator[Any]],
             checker: str | Callable[..., None] | None = None) -> None:  # fmt: skip
    """Add the reader (and optionally the DAG-build checker) of a new format (ValueError if the name is taken)."""
    if name in READERS:
        raise ValueError(f"an input format named {name!r} is already registered")
    READERS[name] = reader
    if checker is not None:
        CHECKERS[name] = checker


def reader(name: str) -> Callable[..., Iterator[Any]]:
    """The chunk reader of format ``name``."""
    return _resolve(READERS[name])


def checker(name: str) -> Callable[..., None] | None:
    """The file checker of format ``name`` (None: the format registered none; its files are checked as read)."""
    target = CHECKERS.get(name)
    return None if target is None else _resolve(target)


def _resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
