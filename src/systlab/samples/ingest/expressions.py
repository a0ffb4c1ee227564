"""``expr:`` for HDF5 columns: arithmetic and numpy functions of a group's datasets, checked before it is evaluated.

ROOT expressions go to uproot (aliases); HDF5 has no such language, so the expression is parsed here with Python's
``ast`` and only names, numbers, arithmetic and the functions of :data:`FUNCTIONS` are allowed (never ``eval`` of
arbitrary code from a config file).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import numpy as np

from systlab.samples.ingest.errors import IngestError

#: Functions an expression may call (numpy's, element-wise).
FUNCTIONS = {name: getattr(np, name) for name in (
    "abs", "sqrt", "exp", "log", "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh",
    "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "hypot", "minimum", "maximum", "where", "power",
)}  # fmt: skip
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
              ast.Pow: np.power, ast.Mod: np.mod, ast.Gt: np.greater, ast.Lt: np.less, ast.GtE: np.greater_equal,
              ast.LtE: np.less_equal}  # fmt: skip
_NODES = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Compare,
          ast.Call, *_OPERATORS)  # fmt: skip


def parse(expr: str, where: str) -> ast.Expression:
    """The checked syntax tree of ``expr``; IngestError naming ``where`` for anything outside the allowed set."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise IngestError(f"{where}: cannot parse expr '{expr}' ({exc.msg})") from exc
    for node in ast.walk(tree):
        allowed = isinstance(node, _NODES)
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            allowed = False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                                               and not node.keywords):  # fmt: skip
            allowed = False
        if not allowed:
            raise IngestError(f"{where}: expr '{expr}': '{ast.unparse(node)}' is not allowed (numbers, dataset names, "
                              f"+ - * / ** %, comparisons and {', '.join(FUNCTIONS)})")  # fmt: skip
    if not names(tree):
        raise IngestError(f"{where}: expr '{expr}' reads no dataset (a constant: use value:)")
    return tree


def names(tree: ast.Expression) -> list[str]:
    """The dataset names an expression reads (function names excluded), in first-use order."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called]
    return list(dict.fromkeys(found))


def evaluate(tree: ast.Expression, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """The expression on arrays of equal length (``values[name]`` per dataset name)."""

    def value(node: ast.AST) -> np.ndarray | float:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(values[node.id], dtype=np.float64)
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.BinOp):
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Compare):
            left, result = value(node.left), True
            for op, right in zip(node.ops, node.comparators, strict=True):
                right_value = value(right)
                result = np.logical_and(result, _OPERATORS[type(op)](left, right_value))
                left = right_value
            return result
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(value(arg) for arg in node.args))
        raise IngestError(f"unexpected node {ast.dump(node)}")  # parse() lets nothing else through

    with np.errstate(all="ignore"):  # non-finite results are caught with the column named (canonical checks)
        out = np.asarray(value(tree), dtype=np.float64)
    n = len(next(iter(values.values()))) if values else 1
    return np.broadcast_to(out, (n,)).copy() if out.ndim == 0 else out
