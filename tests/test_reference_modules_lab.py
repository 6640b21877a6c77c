"""External truth for reference/modules_lab.py (assignment `modules-lab`, handout 001).

Truth used: the handout's mini-checks (also transcribed in
shared/data/modules-lab/credit_toy.json), its Stage 3.3 training run, the contract in
shared/specs/assignments.md, and central differences.
"""
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from reference import modules_lab as R

try:
    from tests.helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array
except ImportError:  # tests/ not importable as a package
    from helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array

CREDIT = json.loads((DATA / "modules-lab" / "credit_toy.json").read_text())
MINI = CREDIT["mini_checks_from_handout"]


@pytest.fixture
def global_seed():
    """The handout seeds NumPy's global generator; put the global state back afterwards."""
    state = np.random.get_state()
    yield np.random.seed
    np.random.set_state(state)


def handout_assert_close(got, want, atol=1e-7, rtol=1e-5):
    """The handout's assert_close: np.allclose with its tolerances, and equal shapes."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.allclose(got, want, atol=atol, rtol=rtol)


# --------------------------------------------------------------------------- handout mini-checks


def test_minicheck_relu():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(R.relu(z), MINI["relu([-2,0,3])"])


def test_minicheck_relu_backward():
    z = np.array([-2.0, 0.0, 3.0])
    dout = np.array([10.0, 10.0, 10.0])
    np.testing.assert_array_equal(R.relu_backward(z, dout),
                                  MINI["relu_backward(x=[-2,0,3], dout=[10,10,10])"])


def test_minicheck_cross_entropy_perfect():
    probs = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    Yt = np.array([[0, 1, 0]], dtype=np.float32)
    assert abs(float(R.cross_entropy(probs, Yt))) < 1e-6


def test_minicheck_cross_entropy_fifty_fifty():
    probs = np.array([[0.5, 0.5, 0.0]], dtype=np.float32)
    Y0 = np.array([[1, 0, 0]], dtype=np.float32)
    assert abs(float(R.cross_entropy(probs, Y0)) - math.log(2)) < 1e-6


def test_minicheck_l2_grad_delta_exactly_as_handout(global_seed):
    global_seed(3)
    lin = R.Linear(in_dim=3, out_dim=1)
    Xn = np.random.randn(5, 3)
    yc = np.random.randn(5, 1)
    yhat = lin.forward(Xn)
    err = yhat - yc
    bs = Xn.shape[0]
    dy = (2.0 / bs) * err
    _ = lin.backward(dy)
    dW_no_reg = lin.dW.copy()
    lam = 0.01
    _ = lin.backward(dy)                               # recompute base grads (must not accumulate)
    lin.dW += 2 * lam * lin.W
    dW_with_reg = lin.dW
    handout_assert_close(dW_with_reg - dW_no_reg, 2 * lam * lin.W)
    # and the base gradient itself is the MSE gradient: 2/B * err^T X
    handout_assert_close(dW_no_reg, (2.0 / bs) * err.T @ Xn, atol=1e-12, rtol=1e-12)


def test_l2_penalty_and_grad():
    rng = np.random.default_rng(11)
    W = rng_array(rng, (3, 4))
    assert abs(R.l2_penalty(W, 0.3) - 0.3 * float(np.sum(W * W))) <= 1e-12
    assert_grad_close(R.l2_penalty_grad(W, 0.3), numeric_grad(lambda: R.l2_penalty(W, 0.3), W), "l2")


def test_credit_toy_matches_handout_listing():
    """The transcribed Stage 4.1 data is the handout's (guards the data file itself)."""
    assert CREDIT["Xc"][1] == [0.90, 22, 3] and CREDIT["yc"] == [720, 580, 660, 740, 610]


# --------------------------------------------------------------------------- modules vs contract


def test_linear_init_contract(global_seed):
    global_seed(0)
    lin = R.Linear(120, 80)
    limit = math.sqrt(6 / 200)
    assert lin.W.shape == (80, 120) and lin.b.shape == (80,)
    assert lin.dW.shape == (80, 120) and lin.db.shape == (80,)
    assert not lin.b.any() and not lin.dW.any() and not lin.db.any()
    assert np.abs(lin.W).max() <= limit and np.abs(lin.W).max() > 0.98 * limit
    assert abs(lin.W.std() - limit / math.sqrt(3)) < 0.03 * limit       # U(-l, l)


def test_linear_forward_is_x_WT_plus_b():
    rng = np.random.default_rng(5)
    lin = R.Linear(3, 2)
    lin.W, lin.b = rng_array(rng, (2, 3)), rng_array(rng, 2)
    x = rng_array(rng, (4, 3))
    out = lin.forward(x)
    assert out.shape == (4, 2)
    want = np.array([[sum(x[i, k] * lin.W[j, k] for k in range(3)) + lin.b[j] for j in range(2)]
                     for i in range(4)])
    np.testing.assert_allclose(out, want, rtol=1e-13)


def test_linear_backward_with_1d_dout_for_batch_of_one():
    rng = np.random.default_rng(9)
    lin = R.Linear(4, 3)
    lin.W = rng_array(rng, (3, 4))
    x = rng_array(rng, (1, 4))
    dout = rng_array(rng, 3)
    lin.forward(x)
    dx = lin.backward(dout)
    np.testing.assert_allclose(lin.dW, np.outer(dout, x[0]), rtol=1e-13)
    assert lin.dW.shape == (3, 4)
    np.testing.assert_allclose(lin.db, dout, rtol=1e-13)
    assert lin.db.shape == (3,)
    assert dx.shape == (1, 4)                           # contract: dx (B, in_dim)
    np.testing.assert_allclose(dx[0], lin.W.T @ dout, rtol=1e-13)


def test_softmax_rows():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    p = R.softmax(z)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0.0], atol=1e-15)


# --------------------------------------------------------------------------- central differences


@hyp(30)
@given(B=st.integers(1, 4), n_in=st.integers(1, 4), n_out=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_linear_backward_matches_central_differences(B, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    lin = R.Linear(n_in, n_out)
    lin.W, lin.b = rng_array(rng, (n_out, n_in)), rng_array(rng, n_out)
    x = rng_array(rng, (B, n_in))
    up = rng_array(rng, (B, n_out))

    def f():
        return float(np.sum((x @ lin.W.T + lin.b) * up))    # <forward(x), up>, independent

    lin.forward(x)
    dx = lin.backward(up)
    assert_grad_close(dx, numeric_grad(f, x), "dx")
    assert_grad_close(lin.dW, numeric_grad(f, lin.W), "dW")
    assert_grad_close(lin.db, numeric_grad(f, lin.b), "db")


@hyp(30)
@given(shape=st.sampled_from([(1, 1), (2, 3), (4, 2), (3, 5)]), seed=st.integers(0, 2**32 - 1))
def test_activation_backwards_match_central_differences(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng_array(rng, shape, 2.0)
    x[np.abs(x) < 1e-3] = 0.4                       # off the ReLU kink
    up = rng_array(rng, shape)
    assert_grad_close(R.relu_backward(x, up),
                      numeric_grad(lambda: float(np.sum(np.maximum(x, 0) * up)), x), "relu")
    assert_grad_close(R.tanh_backward(x, up),
                      numeric_grad(lambda: float(np.sum(np.tanh(x) * up)), x), "tanh")
    np.testing.assert_array_equal(R.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(R.tanh(x), np.tanh(x), rtol=1e-15)


@hyp(30)
@given(B=st.integers(1, 4), C=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_softmax_cross_entropy_backward_matches_central_differences(B, C, seed):
    rng = np.random.default_rng(seed)
    logits = rng_array(rng, (B, C), 2.0)
    Y = np.eye(C)[rng.integers(0, C, B)]

    def f():
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return float(np.mean(-np.sum(Y * np.log(p), axis=1)))

    g = R.softmax_cross_entropy_backward(R.softmax(logits), Y)
    assert_grad_close(g, numeric_grad(f, logits), "dlogits", rtol=1e-5, atol=1e-7)
    probs = R.softmax(logits)
    want = float(np.mean(-np.sum(Y * np.log(probs + 1e-9), axis=1)))        # contract's formula
    assert abs(R.cross_entropy(probs, Y) - want) <= 1e-12 * max(1.0, want)


@hyp(30)
@given(B=st.integers(1, 4), n_in=st.integers(1, 3), H=st.integers(1, 5), n_out=st.integers(1, 3),
       nonlin=st.sampled_from(["relu", "tanh"]), seed=st.integers(0, 2**32 - 1))
def test_mlp_backward_matches_central_differences(B, n_in, H, n_out, nonlin, seed):
    rng = np.random.default_rng(seed)
    m = R.MLP(n_in, H, n_out, nonlin)
    m.l1.W, m.l1.b = rng_array(rng, (H, n_in)), rng_array(rng, H, 0.5)
    m.l2.W, m.l2.b = rng_array(rng, (n_out, H)), rng_array(rng, n_out, 0.5)
    x = rng_array(rng, (B, n_in))
    up = rng_array(rng, (B, n_out))
    act = (lambda z: np.maximum(z, 0)) if nonlin == "relu" else np.tanh
    assume(nonlin == "tanh" or np.abs(x @ m.l1.W.T + m.l1.b).min() > 1e-3)

    def f():
        h = act(x @ m.l1.W.T + m.l1.b)
        return float(np.sum((h @ m.l2.W.T + m.l2.b) * up))

    yhat, h = m.forward(x)
    assert yhat.shape == (B, n_out) and h.shape == (B, H)
    dx = m.backward(up, h)
    assert_grad_close(dx, numeric_grad(f, x), "dx")
    for name, layer in (("l1", m.l1), ("l2", m.l2)):
        assert_grad_close(layer.dW, numeric_grad(f, layer.W), f"{name}.dW")
        assert_grad_close(layer.db, numeric_grad(f, layer.b), f"{name}.db")


# --------------------------------------------------------------------------- Stage 3.3 training


def test_mlp_learns_sin_stage_3_3(global_seed):
    """The handout's run (n 400, hidden 32, lr 0.005, MSE, 1500 epochs: ~0.15 s)."""
    global_seed(0)
    n = 400
    x2 = np.linspace(-1, 1, n)
    y2 = np.sin(2 * math.pi * x2) + 0.1 * np.random.randn(n)
    X2, Y2 = x2.reshape(-1, 1), y2.reshape(-1, 1)
    model = R.MLP(in_dim=1, hidden_dim=32, out_dim=1, nonlin="relu")
    lr = 0.005
    losses = []
    for _ in range(1500):
        yhat, h = model.forward(X2)
        err = yhat - Y2
        losses.append(float(np.mean(err ** 2)))
        model.backward((2.0 / X2.shape[0]) * err, h)
        for layer in (model.l1, model.l2):
            layer.W -= lr * layer.dW
            layer.b -= lr * layer.db
    assert np.all(np.diff(losses) <= 1e-12)            # small-step gradient descent never goes up
    assert losses[-1] < 0.75 * losses[0], (losses[0], losses[-1])
