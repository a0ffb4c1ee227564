"""The input-format registry: format name (the ``format:`` of an ``inputs:`` entry) -> its chunk reader.

A reader is ``reader(spec, path, chunk_size) -> Iterator[Chunk]`` (raw columns per chunk, see ``canonical``); it
validates its file against the spec first and raises IngestError naming the file and field. Adding a format is one
reader module plus one :func:`register` call; names are "module:function" strings, so the registry imports
neither uproot nor h5py until a file of that format is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

READERS: dict[str, str | Callable[..., Iterator[Any]]] = {
    "root": "systlab.samples.ingest.root:root_chunks",
    "hdf5": "systlab.samples.ingest.hdf5:hdf5_chunks",
}


def register(name: str, reader: str | Callable[..., Iterator[Any]]) -> None:
    """Add the reader of a new format (ValueError if the name is taken)."""
    if name in READERS:
        raise ValueError(f"an input format named {name!r} is already registered")
    READERS[name] = reader


def reader(name: str) -> Callable[..., Iterator[Any]]:
    """The chunk reader of format ``name``."""
    target = READERS[name]
    if callable(target):
        return target
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
