"""External truth for reference/sentiment_2layer.py (assignment `sentiment-2layer`, handout 000).

Truth used: the handout's equations (sigmoid, eq. 1.7 mean BCE), the contract in
shared/specs/assignments.md, values written out by hand, and central differences.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from reference import sentiment_2layer as R

try:
    from tests.helpers_reference import assert_grad_close, hyp, numeric_grad, rng_array
except ImportError:  # tests/ not importable as a package
    from helpers_reference import assert_grad_close, hyp, numeric_grad, rng_array


def independent_forward(X, W1, W2, b1, b2):
    """Columns are examples. (d, N) -> (N,), written out without the reference."""
    H = 1.0 / (1.0 + np.exp(-(W1 @ X + b1.reshape(-1, 1))))
    return (1.0 / (1.0 + np.exp(-(W2 @ H + np.reshape(b2, (1, 1)))))).reshape(-1)


def independent_bce(yhat, y):
    return float(-np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)))


@st.composite
def problems(draw):
    d = draw(st.integers(1, 5))
    H = draw(st.integers(1, 5))
    N = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng_array(rng, (d, N))
    y = rng.integers(0, 2, N).astype(np.float64)
    W1, b1 = rng_array(rng, (H, d)), rng_array(rng, H, 0.5)
    W2, b2 = rng_array(rng, (1, H)), rng_array(rng, 1, 0.5)
    return X, y, W1, W2, b1, b2


def _loss(X, y, W1, W2, b1, b2):
    return R.bce_forward(R.inference_2layers(X, W1, W2, b1, b2), y)


# --------------------------------------------------------------------------- gradients


@hyp(40)
@given(prob=problems())
def test_gradients_match_central_differences(prob):
    X, y, W1, W2, b1, b2 = prob
    H, d = W1.shape
    dW1, dW2, db1, db2, L = R.gradients(X.copy(), y.copy(), W1.copy(), W2.copy(), b1.copy(), b2.copy())
    assert np.shape(db2) in [(), (1,)]
    db2 = np.reshape(db2, (1,))
    assert abs(float(L) - _loss(X, y, W1, W2, b1, b2)) <= 1e-12
    assert abs(float(L) - independent_bce(independent_forward(X, W1, W2, b1, b2), y)) <= 1e-12

    def f():
        return _loss(X, y, W1, W2, b1, b2)

    assert_grad_close(dW1, numeric_grad(f, W1), f"dW1 (H={H}, d={d})")
    assert_grad_close(dW2, numeric_grad(f, W2), "dW2")
    assert_grad_close(db1, numeric_grad(f, b1), "db1")
    assert_grad_close(db2, numeric_grad(f, b2), "db2")


@pytest.mark.parametrize("d, H, N", [(3, 2, 1), (1, 4, 1), (4, 1, 3), (2, 5, 1)])
def test_gradients_named_shapes_including_N_1(d, H, N):
    """Deterministic corner cases that must always run: N = 1 and d != H both ways."""
    rng = np.random.default_rng(d * 100 + H * 10 + N)
    X, y = rng_array(rng, (d, N)), rng.integers(0, 2, N).astype(np.float64)
    W1, b1, W2, b2 = rng_array(rng, (H, d)), rng_array(rng, H), rng_array(rng, (1, H)), rng_array(rng, 1)
    dW1, dW2, db1, db2, _ = R.gradients(X, y, W1, W2, b1, b2)
    assert (dW1.shape, dW2.shape, db1.shape) == ((H, d), (1, H), (H,))

    def f():
        return independent_bce(independent_forward(X, W1, W2, b1, b2), y)

    assert_grad_close(dW1, numeric_grad(f, W1), "dW1")
    assert_grad_close(dW2, numeric_grad(f, W2), "dW2")
    assert_grad_close(db1, numeric_grad(f, b1), "db1")
    assert_grad_close(np.reshape(db2, (1,)), numeric_grad(f, b2), "db2")


# --------------------------------------------------------------------------- update_params


@hyp(30)
@given(prob=problems())
def test_update_params_is_one_gradient_step_and_lowers_loss(prob):
    X, y, W1, W2, b1, b2 = prob
    lr = 1e-3
    dW1, dW2, db1, db2, L0 = R.gradients(X, y, W1, W2, b1, b2)
    nW1, nb1, nW2, nb2 = R.update_params(X.copy(), y.copy(), W1.copy(), b1.copy(), W2.copy(), b2.copy(), lr=lr)
    np.testing.assert_allclose(nW1, W1 - lr * dW1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(nb1, b1 - lr * db1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(nW2, W2 - lr * dW2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.reshape(nb2, (1,)), b2 - lr * np.reshape(db2, (1,)), rtol=0, atol=1e-15)
    assert (nW1.shape, nb1.shape, nW2.shape) == (W1.shape, b1.shape, W2.shape)
    g2 = sum(float(np.sum(np.square(g))) for g in (dW1, dW2, db1, db2))
    L1 = _loss(X, y, nW1, nW2, nb1, nb2)
    assert L1 <= L0 - 0.5 * lr * g2 + 1e-13, (L0, L1, g2)        # sufficient decrease


def test_update_params_default_lr_is_0_01():
    rng = np.random.default_rng(1)
    X, y = rng_array(rng, (3, 4)), np.array([1.0, 0.0, 1.0, 1.0])
    W1, b1, W2, b2 = rng_array(rng, (2, 3)), rng_array(rng, 2), rng_array(rng, (1, 2)), rng_array(rng, 1)
    dW1, *_ = R.gradients(X, y, W1, W2, b1, b2)
    nW1, *_ = R.update_params(X, y, W1.copy(), b1.copy(), W2.copy(), b2.copy())
    np.testing.assert_allclose(nW1, W1 - 0.01 * dW1, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- forward pieces


def test_inference_shapes_and_values():
    rng = np.random.default_rng(4)
    d, H, N = 3, 5, 4
    W1, b1, W2 = rng_array(rng, (H, d)), rng_array(rng, H), rng_array(rng, (1, H))
    for b2 in (rng_array(rng, 1), 0.3):
        Xn = rng_array(rng, (d, N))
        out = R.inference_2layers(Xn, W1, W2, b1, b2)
        assert out.shape == (N,)
        np.testing.assert_allclose(out, independent_forward(Xn, W1, W2, b1, np.asarray(b2)), rtol=1e-13)
        x1 = Xn[:, 0].copy()
        o1 = R.inference_2layers(x1, W1, W2, b1, b2)
        assert np.shape(o1) in [(1,), ()]
        assert abs(float(np.reshape(o1, -1)[0]) - out[0]) <= 1e-15
    assert R.inference_layer(Xn, W1, b1).shape == (H, N)
    assert R.inference_layer(x1, W1, b1).shape == (H,)
    np.testing.assert_allclose(R.inference_layer(x1, W1, b1), 1 / (1 + np.exp(-(W1 @ x1 + b1))), rtol=1e-14)


def test_bce_forward_is_the_mean_by_hand():
    assert abs(R.bce_forward(np.array([0.5, 0.5]), np.array([1.0, 0.0])) - math.log(2)) <= 1e-15
    assert abs(R.bce_forward(np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 0.0]))
               - (-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)) <= 1e-15


def test_sigmoid_stable_at_plus_minus_1000():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = R.sigmoid(np.array([-1000.0, 1000.0]))
    assert np.isfinite(s).all()
    np.testing.assert_array_equal(s, [0.0, 1.0])


def test_sigmoid_values_and_shape():
    x = np.array([[-2.0, 0.0], [1.0, 3.5]])
    s = R.sigmoid(x)
    assert s.shape == (2, 2)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert s[0, 1] == 0.5
