"""External truth for reference/mnist_backprop.py (assignment `mnist-backprop`, handout 004).

Truth used: the handout's fixture test_batch_weights_biases.pkl with its published mean loss
and gradients (shared/data/README.md), the contract in shared/specs/assignments.md, values
written out by hand, and central differences.
"""
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from reference import mnist_backprop as R

try:
    from tests.helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array
except ImportError:  # tests/ not importable as a package
    from helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array

FIXTURE = DATA / "mnist-backprop" / "test_batch_weights_biases.pkl"
ACTS = [R.relu_activation, R.sigmoid_activation]


def load_fixture():
    with open(FIXTURE, "rb") as f:
        X, y, Ws, bs = pickle.load(f)
    return X, y, Ws, bs


def independent_forward(X, Ws, bs, kinds):
    """relu/sigmoid network written out without the reference."""
    a = X
    for W, b, kind in zip(Ws, bs, kinds):
        s = a @ W + b
        a = np.maximum(s, 0.0) if kind == "relu" else 1.0 / (1.0 + np.exp(-s))
    return a


def independent_mean_loss(X, y, Ws, bs, kinds):
    g = independent_forward(X, Ws, bs, kinds)
    y = np.asarray(y, dtype=np.float64).reshape(g.shape)
    return float(np.mean(-(y * np.log(g) + (1 - y) * np.log(1 - g))))


def rel_close(got, want, rel=1e-8):
    """max |got - want| <= rel * (largest entry), per array; shapes identical."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(np.abs(got).max(), np.abs(want).max(), 1e-3)
    return np.abs(got - want).max() <= rel * scale


# --------------------------------------------------------------------------- the published fixture


def test_fixture_mean_loss_is_published_value():
    X, y, Ws, bs = load_fixture()
    out, caches = R.forward_pass(X, Ws, bs, ACTS)
    assert out.shape == (2, 1) and len(caches) == 2
    loss, dL_dg = R.logistic_loss(out, y)
    assert loss.shape == dL_dg.shape == (2, 1)
    assert abs(loss.mean() - 0.6985168038536878) <= 1e-12
    assert abs(independent_mean_loss(X, y, Ws, bs, ["relu", "sigmoid"]) - 0.6985168038536878) <= 1e-12


def test_fixture_gradients_are_published_values():
    X, y, Ws, bs = load_fixture()
    out, caches = R.forward_pass(X, Ws, bs, ACTS)
    _, dL_dg = R.logistic_loss(out, y)
    gW, gb = R.backward_pass(dL_dg, caches)
    assert [g.shape for g in gW] == [(4, 2), (2, 1)]
    assert [g.shape for g in gb] == [(1, 2), (1, 1)]
    # "dW1"/"db1" are the second layer (index 1), batch-mean gradients.
    np.testing.assert_allclose(gb[1], [[-0.5026776163]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(gW[1], [[-0.0012002103], [-0.0080164097]], rtol=0, atol=1e-9)


def test_fixture_gradients_match_independent_central_differences():
    X, y, Ws, bs = load_fixture()
    out, caches = R.forward_pass(X, Ws, bs, ACTS)
    _, dL_dg = R.logistic_loss(out, y)
    gW, gb = R.backward_pass(dL_dg, caches)
    Ws = [W.copy() for W in Ws]
    bs = [b.copy() for b in bs]

    def f():
        return independent_mean_loss(X, y, Ws, bs, ["relu", "sigmoid"])

    for i in range(2):
        assert_grad_close(gW[i], numeric_grad(f, Ws[i]), f"dW{i}", rtol=1e-5, atol=1e-10)
        assert_grad_close(gb[i], numeric_grad(f, bs[i]), f"db{i}", rtol=1e-5, atol=1e-10)


def test_fixture_checker_agrees_with_backward_and_leaves_arrays_unchanged():
    X, y, Ws, bs = load_fixture()
    before = [a.copy() for a in [X, y] + Ws + bs]
    out, caches = R.forward_pass(X, Ws, bs, ACTS)
    _, dL_dg = R.logistic_loss(out, y)
    gW, gb = R.backward_pass(dL_dg, caches)
    fW, fb = R.finite_difference_checker(X, y, Ws, bs, ACTS)
    for a, b in zip(before, [X, y] + Ws + bs):
        np.testing.assert_array_equal(a, b)
    for name, a, b in zip(["W0", "W1", "b0", "b1"], gW + gb, fW + fb):
        assert rel_close(b, a), (name, a, b)
    np.testing.assert_allclose(fb[1], [[-0.5026776163]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fW[1], [[-0.0012002103], [-0.0080164097]], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- helpers of 1.2 (b)


def test_sigmoid_is_finite_and_silent_at_plus_minus_1000():
    # Every floating-point event raises except underflow: e^-1000 underflowing to 0 is benign,
    # silent under NumPy's defaults, and unavoidable in the handout's own stable formula.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            out, grad = R.sigmoid_activation(np.array([-1000.0, 1000.0]))
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(out, [1e-15, 1 - 1e-15], rtol=0, atol=1e-18)   # clipped
    np.testing.assert_allclose(grad, out * (1 - out), rtol=1e-12, atol=0)


def test_sigmoid_values_and_grad_by_hand():
    s = np.array([1.0, 0.0, -1.0])
    out, grad = R.sigmoid_activation(s)
    want = 1.0 / (1.0 + np.exp(-s))
    np.testing.assert_allclose(out, want, rtol=1e-14)
    np.testing.assert_allclose(grad, want * (1 - want), rtol=1e-14)
    assert abs(out[1] - 0.5) < 1e-15 and abs(grad[1] - 0.25) < 1e-15


@hyp(20)
@given(shape=st.sampled_from([(3,), (2, 3), (4, 1), (1, 2, 2)]), seed=st.integers(0, 2**32 - 1))
def test_activation_grads_match_central_differences(shape, seed):
    rng = np.random.default_rng(seed)
    s = rng_array(rng, shape, 3.0)
    s[np.abs(s) < 1e-3] = 0.5                               # keep ReLU away from its kink
    for fn in (R.sigmoid_activation, R.relu_activation):
        out, grad = fn(s)
        assert out.shape == grad.shape == s.shape
        # elementwise: the derivative of sum(out) w.r.t. s_i is grad_i
        assert_grad_close(grad, numeric_grad(lambda: fn(s)[0].sum(), s), fn.__name__)
    np.testing.assert_array_equal(R.relu_activation(s)[0], np.maximum(s, 0))


@pytest.mark.parametrize("y_shape", ["flat", "column"])
def test_logistic_loss_is_per_example(y_shape):
    g = np.array([[0.2], [0.7], [0.9], [0.4]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    loss, dL_dg = R.logistic_loss(g.copy(), y.reshape(-1, 1) if y_shape == "column" else y.copy())
    assert loss.shape == dL_dg.shape == (4, 1)
    want = -np.log(np.array([[0.2], [0.3], [0.9], [0.6]]))
    np.testing.assert_allclose(loss, want, rtol=1e-14)      # not divided by n
    np.testing.assert_allclose(dL_dg, [[-1 / 0.2], [1 / 0.3], [-1 / 0.9], [1 / 0.6]], rtol=1e-13)
    gg = g.copy()
    num = numeric_grad(lambda: R.logistic_loss(gg, y)[0].sum(), gg, h_scale=1e-7)
    assert_grad_close(dL_dg, num, "dL_dg")


def test_layer_forward_output_and_shape():
    rng = np.random.default_rng(3)
    x, W, b = rng_array(rng, (5, 3)), rng_array(rng, (3, 2)), rng_array(rng, (1, 2))
    out, _ = R.layer_forward(x, W, b, R.relu_activation)
    assert out.shape == (5, 2)
    np.testing.assert_allclose(out, np.maximum(x @ W + b, 0), rtol=1e-14)
    out, _ = R.layer_forward(x, W, b, R.sigmoid_activation)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(x @ W + b))), rtol=1e-13)


def test_create_shapes_and_init_scale():
    dims = [300, 200, 7, 1]
    Ws = R.create_weight_matrices(dims)
    bs = R.create_bias_vectors(dims)
    assert [W.shape for W in Ws] == [(300, 200), (200, 7), (7, 1)]
    assert [b.shape for b in bs] == [(1, 200), (1, 7), (1, 1)]
    big = Ws[0]
    assert abs(big.std() - 0.01) < 0.0003 and abs(big.mean()) < 0.0003      # N(0, 0.01^2)
    assert all(W.std() < 0.02 for W in Ws[1:])
    for b in bs:                                      # zeros or N(0, 0.01^2), both accepted
        assert not b.any() or np.abs(b).max() < 0.06


# --------------------------------------------------------------------------- random small networks


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    dims = [draw(st.integers(1, 4)) for _ in range(depth)] + [1]
    n = draw(st.integers(1, 5))
    hidden = [draw(st.sampled_from(["relu", "sigmoid"])) for _ in range(depth - 1)]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng_array(rng, (n, dims[0]))
    y = rng.integers(0, 2, n).astype(np.float64)
    Ws = [rng_array(rng, (a, b), 0.8) for a, b in zip(dims[:-1], dims[1:])]
    bs = [rng_array(rng, (1, b), 0.5) for b in dims[1:]]
    return X, y, Ws, bs, hidden + ["sigmoid"]


def _pre_activations(X, Ws, bs, kinds):
    pre, a = [], X
    for W, b, kind in zip(Ws, bs, kinds):
        s = a @ W + b
        pre.append(s)
        a = np.maximum(s, 0.0) if kind == "relu" else 1.0 / (1.0 + np.exp(-s))
    return pre


@hyp(30)
@given(net=networks())
def test_backward_and_checker_agree_with_central_differences(net):
    X, y, Ws, bs, kinds = net
    pre = _pre_activations(X, Ws, bs, kinds)
    assume(all(np.abs(s).min() > 1e-3 for s, k in zip(pre, kinds) if k == "relu"))   # off the kink
    assume(np.abs(pre[-1]).max() < 25)                     # sigmoid output not clipped
    acts = [R.relu_activation if k == "relu" else R.sigmoid_activation for k in kinds]
    out, caches = R.forward_pass(X, Ws, bs, acts)
    assert out.shape == (X.shape[0], 1) and len(caches) == len(Ws)
    np.testing.assert_allclose(out, independent_forward(X, Ws, bs, kinds), rtol=1e-13, atol=1e-15)
    _, dL_dg = R.logistic_loss(out, y)
    gW, gb = R.backward_pass(dL_dg, caches)

    before = [a.copy() for a in [X, y] + Ws + bs]
    fW, fb = R.finite_difference_checker(X, y, Ws, bs, acts)
    for a, b in zip(before, [X, y] + Ws + bs):
        np.testing.assert_array_equal(a, b)                # checker restores every entry
    for a, b in zip(gW + gb, fW + fb):
        assert rel_close(a, b, 1e-8), (a, b)

    # and against an independent loss, not the reference's own forward
    Wc, bc = [W.copy() for W in Ws], [b.copy() for b in bs]

    def f():
        return independent_mean_loss(X, y, Wc, bc, kinds)

    for i in range(len(Ws)):
        assert_grad_close(gW[i], numeric_grad(f, Wc[i]), f"dW{i}", rtol=1e-5, atol=1e-9)
        assert_grad_close(gb[i], numeric_grad(f, bc[i]), f"db{i}", rtol=1e-5, atol=1e-9)
