"""What an entry of an ``inputs:`` process's ``files:`` stands for (numerical imports none: the DAG build uses it)."""

from __future__ import annotations

import glob
from pathlib import Path

#: The files a directory in ``files:`` stands for: every one with these suffixes, sorted.
DATA_SUFFIXES = (".root", ".h5", ".hdf5", ".he5")


#: Formats whose ``files:`` entries are directories standing for themselves (a FAIR-Universe dataset directory).
DIRECTORY_FORMATS = ("fair",)


def expand_files(pattern: str, fmt: str | None = None) -> list[str]:
    """One entry of ``files:``: a glob's matches or a directory's ROOT/HDF5 files (sorted), else the path itself; for
    a format of :data:`DIRECTORY_FORMATS` a directory is itself (one dataset)."""
    if glob.has_magic(pattern):
        return sorted(glob.glob(pattern))
    if fmt in DIRECTORY_FORMATS:
        return [pattern]
    if Path(pattern).is_dir():
        return sorted(str(p) for p in Path(pattern).iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    return [pattern]
