"""A tiny, safe arithmetic language for harness-side steps (`{eval: "2.0 / N * (yhat - Y)", as: d}`).

Names come from the scenario; numbers, + - * / // % ** @, unary minus, `.T`, and a few NumPy
functions are allowed. Nothing else parses, so a spec cannot run arbitrary code.

Typed: integers stay integral where the operands are (`k + 5` with an integer `k` is the int
`k + 5`, fit for a step count or a `range`), as in Python: `/` is true division (a float), `//`
and `%` keep integers, `**` keeps them for a non-negative integer exponent. Integer arrays keep
an integer dtype under + - * // % and `@`; every other value is float64. A scalar result is a
plain Python int or float, never a NumPy scalar.
"""
import ast
import operator

import numpy as np

from nngrader.core.numerics import stable_sigmoid

FUNCTIONS = {"mean": np.mean, "sum": np.sum, "exp": np.exp, "log": np.log, "tanh": np.tanh,
             "sin": np.sin, "abs": np.abs, "maximum": np.maximum, "minimum": np.minimum,
             "sqrt": np.sqrt, "sigmoid": stable_sigmoid, "argmax_rows": lambda a: np.argmax(a, axis=-1)}
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
        ast.FloorDiv: np.floor_divide, ast.Mod: np.mod, ast.Pow: np.power, ast.MatMult: np.matmul}
# Python's own operators for two plain integers (exact, unbounded, and `/` gives a float)
_INT_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
            ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


class ExprError(ValueError):
    pass


def parse(text):
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Call,
                               ast.Attribute, ast.Load, ast.USub, ast.UAdd, *tuple(_BIN)))
        if not ok:
            raise ExprError(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, (int, float))):
            raise ExprError("only numeric constants are allowed")
        if isinstance(node, ast.Attribute) and node.attr != "T":
            raise ExprError(f"attribute .{node.attr} is not allowed (only .T)")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ExprError(f"only these functions are allowed: {', '.join(FUNCTIONS)}")
    return tree


def names(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS)


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _operand(v):
    """A scenario value as an operand: integers (Python or NumPy, scalars or arrays) stay
    integral, everything else becomes float64."""
    if _is_int(v):
        return int(v)
    if isinstance(v, float):
        return v
    arr = np.asarray(v)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64) if arr.ndim else int(arr)
    arr = np.asarray(v, dtype=np.float64)
    return arr if arr.ndim else float(arr)


def _plain(v):
    """NumPy scalars and 0-d arrays -> Python int or float; arrays stay arrays."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if _is_int(v):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    return v


def _binop(op, a, b):
    if _is_int(a) and _is_int(b) and type(op) in _INT_BIN:
        if isinstance(op, ast.Pow) and b < 0:
            return float(a) ** b
        if isinstance(op, (ast.FloorDiv, ast.Mod, ast.Div)) and b == 0:
            return float("nan") if a == 0 else float("inf") * (1 if a > 0 else -1)
        return _INT_BIN[type(op)](a, b)
    if isinstance(op, ast.Pow) and _is_int(b) and b < 0 and np.asarray(a).dtype.kind in "iu":
        a = np.asarray(a, dtype=np.float64)       # NumPy refuses integers to negative integer powers
    return _plain(_BIN[type(op)](a, b))


def evaluate(tree, env):
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return _operand(env[node.id])
        if isinstance(node, ast.BinOp):
            return _binop(node.op, ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Attribute):
            return np.asarray(ev(node.value)).T
        if isinstance(node, ast.Call):
            return _plain(FUNCTIONS[node.func.id](*[ev(a) for a in node.args]))
        raise ExprError(type(node).__name__)
    with np.errstate(all="ignore"):
        return ev(tree)
