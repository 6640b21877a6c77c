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


@pytest.mark.parametrize("k", [3, np.int64(3), np.int32(3), np.array(3)])
def test_integers_stay_integral_where_the_operands_are(k):
    out = expr.evaluate(expr.parse("k + 5"), {"k": k})
    assert out == 8 and type(out) is int                 # a step count `range(steps)` accepts
    assert list(range(expr.evaluate(expr.parse("2 * k - 1"), {"k": k}))) == [0, 1, 2, 3, 4]
    assert type(expr.evaluate(expr.parse("k // 2"), {"k": k})) is int
    assert type(expr.evaluate(expr.parse("k ** 2"), {"k": k})) is int


@pytest.mark.parametrize("text,env,want", [
    ("k / 2", {"k": 3}, 1.5),                   # true division, as in Python
    ("k + 0.5", {"k": 3}, 3.5),
    ("k ** -1", {"k": 2}, 0.5),
    ("lr * 2", {"lr": 0.25}, 0.5),
    ("mean(x)", {"x": np.array([1, 2])}, 1.5),
])
def test_a_float_anywhere_makes_a_float(text, env, want):
    out = expr.evaluate(expr.parse(text), env)
    assert out == want and type(out) is float


def test_integer_arrays_keep_their_dtype_and_float_arrays_are_float64():
    labels = np.array([0, 2, 1], dtype=np.int32)
    out = expr.evaluate(expr.parse("labels + 1"), {"labels": labels})
    assert out.dtype.kind == "i" and out.tolist() == [1, 3, 2]
    out = expr.evaluate(expr.parse("x * 2"), {"x": np.array([1.0, 2.0], dtype=np.float32)})
    assert out.dtype == np.float64
    assert expr.evaluate(expr.parse("sum(labels)"), {"labels": labels}) == 3
    assert type(expr.evaluate(expr.parse("sum(labels)"), {"labels": labels})) is int


def test_integer_division_by_zero_is_not_an_exception():
    assert expr.evaluate(expr.parse("k / 0"), {"k": 1}) == float("inf")
    assert np.isnan(expr.evaluate(expr.parse("k // 0"), {"k": 0}))
