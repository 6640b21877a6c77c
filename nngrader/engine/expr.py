"""A tiny, safe arithmetic language for harness-side steps (`{eval: "2.0 / N * (yhat - Y)", as: d}`).

Names come from the scenario; numbers, + - * / ** @, unary minus, `.T`, and a few NumPy
functions are allowed. Nothing else parses, so a spec cannot run arbitrary code.
"""
import ast

import numpy as np

from nngrader.core.numerics import stable_sigmoid

FUNCTIONS = {"mean": np.mean, "sum": np.sum, "exp": np.exp, "log": np.log, "tanh": np.tanh,
             "sin": np.sin, "abs": np.abs, "maximum": np.maximum, "minimum": np.minimum,
             "sqrt": np.sqrt, "sigmoid": stable_sigmoid, "argmax_rows": lambda a: np.argmax(a, axis=-1)}
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
        ast.Pow: np.power, ast.MatMult: np.matmul}


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
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ExprError("only numeric constants are allowed")
        if isinstance(node, ast.Attribute) and node.attr != "T":
            raise ExprError(f"attribute .{node.attr} is not allowed (only .T)")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ExprError(f"only these functions are allowed: {', '.join(FUNCTIONS)}")
    return tree


def names(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS)


def evaluate(tree, env):
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            v = env[node.id]
            return np.asarray(v, dtype=np.float64) if not isinstance(v, (int, float)) else v
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Attribute):
            return np.asarray(ev(node.value)).T
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        raise ExprError(type(node).__name__)
    with np.errstate(all="ignore"):
        return ev(tree)
