"""The harness-side arithmetic of `eval` steps is safe and does what it says."""
import numpy as np
import pytest

from nngrader.engine import expr


def test_arithmetic_with_names_and_functions():
    tree = expr.parse("2.0 / N * (yhat - Y)")
    out = expr.evaluate(tree, {"N": 4, "yhat": np.array([1.0, 2.0]), "Y": np.array([0.0, 1.0])})
    assert np.allclose(out, [0.5, 0.5])
    assert expr.names(tree) == {"N", "yhat", "Y"}
    assert np.isclose(expr.evaluate(expr.parse("mean(sum(W.T @ W))"), {"W": np.eye(2)}), 2.0)


@pytest.mark.parametrize("text", ["__import__('os')", "x.__class__", "open('f')", "[1, 2]", "'a'", "lambda: 1"])
def test_everything_else_is_refused(text):
    with pytest.raises(expr.ExprError):
        expr.parse(text)
