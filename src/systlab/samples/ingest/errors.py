"""The one error type of ingestion, and the bounded description of library exceptions it quotes.

Every problem with a raw input or its specification surfaces as ONE ``IngestError`` naming the file
(or config path) and the field, whichever stage (spec, ROOT/HDF5 reader, mapping) found it.
"""

from __future__ import annotations


class IngestError(ValueError):
    """A raw input or its specification is unusable; the message names the file (or config path) and field."""


def describe(exc: BaseException, limit: int = 300) -> str:
    """One-line, bounded description of a library exception, for IngestError messages."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"
