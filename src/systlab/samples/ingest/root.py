"""ROOT reader: check file, tree, branches and expressions, then stream chunks with ``uproot.iterate``.

Branches are read as awkward arrays (flat or jagged); ``expr`` columns become uproot aliases. Any
unreadable file, missing tree/branch or bad expression is an IngestError naming the file and column.
``tree`` may also name an RNTuple (ROOT's successor of the TTree, read by uproot the same way); its fields are
mapped like branches, and ``expr:`` is refused there (uproot 5.7 ignores aliases on an RNTuple).
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import uproot
from uproot.behaviors.RNTuple import RNTuple

from systlab.samples.ingest.canonical import Chunk, check_structure, structure_of
from systlab.samples.ingest.errors import IngestError, describe
from systlab.samples.ingest.spec import NUMERIC_KINDS, ColumnSpec, InputSpec

#: uproot alias under which an ``expr`` column is evaluated.
_ALIAS_PREFIX = "systlab_expr_"


def root_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of one ROOT file via ``uproot.iterate``; read errors are re-raised as IngestError."""
    _validate_root_file(spec, path)
    expressions, aliases = _root_expressions(spec)
    try:
        for arrays in uproot.iterate(
            {path: spec.tree}, expressions, aliases=aliases, step_size=chunk_size, library="ak"
        ):
            yield Chunk(path, len(arrays), {col.name: arrays[_root_key(col)] for col in spec.read_columns()})
    except Exception as exc:
        raise IngestError(
            f"{path}: corrupt or unreadable data in tree '{spec.tree}' ({describe(exc)}) (field 'files')"
        ) from exc


def check_file(spec: InputSpec, path: str) -> None:
    """The DAG build's check of one ROOT file (``formats.CHECKERS``): it opens, the tree (or RNTuple) exists and has
    entries, every mapped branch exists and holds numbers of the structure its column needs (flat, or jagged for jet
    columns and ``object:`` picks), every ``expr:`` evaluates on the first entry; no event is read beyond that."""
    _validate_root_file(spec, path)


def _validate_root_file(spec: InputSpec, path: str) -> None:
    """Check file, tree, branches and expressions before reading (closes the file again)."""
    try:
        file = uproot.open(path)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable ROOT file ({describe(exc)}) (field 'files')") from exc
    with file:
        tree = _tree_of(file, spec, path)
        _check_branches(spec, tree, path)
        _check_expressions(spec, tree, path)


def _tree_of(file: uproot.ReadOnlyDirectory, spec: InputSpec, path: str) -> uproot.TTree | RNTuple:
    """The tree (or RNTuple) of ``spec`` in ``file``; a missing tree, anything else or zero entries raise."""
    try:
        tree = file[spec.tree]
    except Exception as exc:
        raise IngestError(
            f"{path}: tree '{spec.tree}' missing (field 'tree'); keys: {file.keys(recursive=False)[:10]}"
        ) from exc
    if not isinstance(tree, uproot.TTree | RNTuple):
        raise IngestError(f"{path}: '{spec.tree}' is a {type(tree).__name__}, not a TTree or RNTuple (field 'tree')")
    if tree.num_entries == 0:
        raise IngestError(f"{path}: tree '{spec.tree}' has zero entries (field 'tree')")
    return tree


def _root_key(col: ColumnSpec) -> str:
    """Name under which uproot returns ``col``: the branch name or the column's alias."""
    return col.branch if col.branch is not None else _ALIAS_PREFIX + col.name


def _root_expressions(spec: InputSpec) -> tuple[list[str], dict[str, str]]:
    """Unique expressions for ``uproot.iterate`` and the aliases defining the ``expr`` columns."""
    columns = spec.read_columns()
    expressions = list(dict.fromkeys(_root_key(col) for col in columns))
    aliases = {_root_key(col): col.expr for col in columns if col.expr is not None}
    return expressions, aliases


def _check_branches(spec: InputSpec, tree: uproot.TTree | RNTuple, path: str) -> None:
    """Every mapped branch (RNTuple field) exists and holds numbers (flat or variable-length lists)."""
    for col in spec.columns:
        if col.branch is None:
            continue
        if col.branch not in tree:
            raise IngestError(
                f"{path}: column '{col.name}': branch '{col.branch}' missing in tree '{spec.tree}'"
            )
        if isinstance(tree, RNTuple):
            kind = ak.type(tree.arrays([col.branch], entry_stop=1)[col.branch]).content
            if not _numeric_type(kind):
                raise IngestError(f"{path}: column '{col.name}': field '{col.branch}' of type '{kind}' is not numeric")
            jagged = isinstance(kind, ak.types.ListType)
        elif not _numeric_interpretation(tree[col.branch]):
            raise IngestError(
                f"{path}: column '{col.name}': branch '{col.branch}' of type "
                f"'{tree[col.branch].typename}' is not numeric"
            )
        else:
            jagged = isinstance(tree[col.branch].interpretation, uproot.interpretation.jagged.AsJagged)
        check_structure(col, "jagged" if jagged else "flat", path)


def _numeric_type(kind: ak.types.Type) -> bool:
    """True for an awkward type of numbers or of variable-length lists of numbers (an RNTuple field's)."""
    if isinstance(kind, ak.types.ListType):
        kind = kind.content
    return isinstance(kind, ak.types.NumpyType) and kind.primitive not in ("bool", "datetime64", "timedelta64")


def _numeric_interpretation(branch: uproot.TBranch) -> bool:
    """True if uproot reads ``branch`` as 1-D numbers or variable-length lists of numbers."""
    interp = branch.interpretation
    if isinstance(interp, uproot.interpretation.jagged.AsJagged):
        interp = interp.content
    if not isinstance(interp, uproot.interpretation.numerical.AsDtype):
        return False
    dtype = interp.to_dtype
    return dtype.shape == () and dtype.kind in NUMERIC_KINDS


def _check_expressions(spec: InputSpec, tree: uproot.TTree | RNTuple, path: str) -> None:
    """Evaluate each ``expr`` on the first entry so unknown names fail with the column named."""
    for col in spec.columns:
        if col.expr is None:
            continue
        if isinstance(tree, RNTuple):
            raise IngestError(f"{path}: column '{col.name}': expr: is read from TTrees only and '{spec.tree}' is an "
                              "RNTuple; map a field with branch: (field 'expr')")  # fmt: skip
        alias = _root_key(col)
        try:
            value = tree.arrays([alias], aliases={alias: col.expr}, entry_stop=1, library="ak")[alias]
        except Exception as exc:
            raise IngestError(
                f"{path}: column '{col.name}': cannot evaluate expr '{col.expr}' ({describe(exc)})"
            ) from exc
        structure = structure_of(ak.to_layout(value))
        if structure is None:
            raise IngestError(f"{path}: column '{col.name}' ({col.source}): type '{ak.type(value)}' is not numeric "
                              "(need numbers or variable-length lists of numbers)")  # fmt: skip
        check_structure(col, structure, path)
