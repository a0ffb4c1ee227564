"""Atomic writes: complete or absent, with the permissions any other file written under the umask would get."""

import os
import stat

import pytest

from systlab.atomic import atomic_path, write_json


def test_output_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


def test_failed_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_the_next_write_removes_what_a_killed_write_left(tmp_path):
    """A SIGKILLed job leaves its temporary files (``.<name>.<random>.tmp``, ingestion's ``...tmp.unscaled``): the
    next write of the same output removes them; other files and other outputs' temporaries stay."""
    stale = [tmp_path / ".events.parquet.abc123.tmp", tmp_path / ".events.parquet.abc123.tmp.unscaled"]
    keep = [tmp_path / ".other.parquet.abc123.tmp", tmp_path / "events.parquet.notes"]
    for path in stale + keep:
        path.write_text("x")
    write_json(tmp_path / "events.parquet", {"a": 1})
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in keep), "events.parquet"])
