"""External truth for reference/worked_backprop.py (assignment `worked-backprop`, handout 002).

Truth used: Mazur's published Problem 1 values and their float64 recomputation
(shared/data/worked-backprop/mazur_reference.json), Problem 2 values derived by hand, and
central differences of losses written independently of the reference.
"""
import json

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from reference import worked_backprop as R
from reference.numerics import central_difference

try:
    from tests.helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array
except ImportError:  # tests/ not importable as a package
    from helpers_reference import DATA, assert_grad_close, hyp, numeric_grad, rng_array

MAZUR = json.loads((DATA / "worked-backprop" / "mazur_reference.json").read_text())
PUBLISHED = next(v for k, v in MAZUR.items() if k.startswith("published_values"))
RECOMPUTED = next(v for k, v in MAZUR.items() if k.startswith("recomputed_here_float64"))
WEIGHTS = [f"w{i}" for i in range(1, 9)]


# --------------------------------------------------------------------------- Problem 1 (Mazur)


def test_problem1_parameters_are_mazurs():
    for k, v in MAZUR["init"].items():
        assert R.PROBLEM1[k] == v, k
    assert R.PROBLEM1["lr"] == 0.5


def test_problem1_E_total_published():
    r = R.problem1()
    assert abs(r["E_total"] - PUBLISHED["E_total"]) <= 1e-8
    assert abs(r["E_total"] - RECOMPUTED["E_total"]) <= 1e-12


@pytest.mark.parametrize("w", WEIGHTS)
def test_problem1_updated_weight_published(w):
    r = R.problem1()
    assert abs(r[f"{w}_new"] - PUBLISHED[f"{w}+"]) <= 1e-8
    assert abs(r[f"{w}_new"] - RECOMPUTED[f"{w}+"]) <= 1e-12


@pytest.mark.parametrize("key, published", [
    ("net_h1", "net_h1"), ("out_h1", "out_h1"), ("out_h2", "out_h2"), ("net_o1", "net_o1"),
    ("out_o1", "out_o1"), ("out_o2", "out_o2"), ("E_o1", "E_o1"), ("E_o2", "E_o2"),
    ("dE_dw5", "dE/dw5"), ("dE_dw1", "dE/dw1")])
def test_problem1_intermediates_published(key, published):
    assert abs(R.problem1()[key] - PUBLISHED[published]) <= 1e-8


def mazur_E(p):
    """Problem 1's total error written out independently (contract wiring, shared biases)."""
    s = lambda v: 1.0 / (1.0 + np.exp(-v))
    h1 = s(p["w1"] * p["i1"] + p["w2"] * p["i2"] + p["b1"])
    h2 = s(p["w3"] * p["i1"] + p["w4"] * p["i2"] + p["b1"])
    o1 = s(p["w5"] * h1 + p["w6"] * h2 + p["b2"])
    o2 = s(p["w7"] * h1 + p["w8"] * h2 + p["b2"])
    return 0.5 * (p["t1"] - o1) ** 2 + 0.5 * (p["t2"] - o2) ** 2


@pytest.mark.parametrize("k", WEIGHTS + ["b1", "b2"])
def test_problem1_gradients_and_updates_match_central_differences(k):
    p = dict(R.PROBLEM1)
    box = np.array([p[k]])

    def f():
        return mazur_E({**p, k: box[0]})

    g = numeric_grad(f, box, h_scale=1e-6)[0]
    r = R.problem1()
    assert abs(r[f"dE_d{k}"] - g) <= 1e-9 + 1e-6 * abs(g)
    assert abs(r[f"{k}_new"] - (p[k] - 0.5 * g)) <= 1e-9      # one step, lr 0.5, original params


def test_problem1_one_step_lowers_error_to_recomputed_value():
    r = R.problem1()
    p = {**R.PROBLEM1, **{k: r[f"{k}_new"] for k in WEIGHTS}}    # biases kept, as published
    assert abs(mazur_E(p) - RECOMPUTED["E_total_after_first_update"]) <= 1e-12


# --------------------------------------------------------------------------- Problem 2 (by hand)

# h1 = .11*2 + .21*3 = .85; h2 = .12*2 + .08*3 = .48; out = .14*.85 + .15*.48 = .191;
# SE = .5 * .809^2 = .3272405; dSE/dout = -.809.
P2_HAND = {
    "h1": 0.85, "h2": 0.48, "out": 0.191, "SE": 0.3272405,
    "dSE_dw5": -0.809 * 0.85, "dSE_dw6": -0.809 * 0.48,
    "dSE_dw1": -0.809 * 0.14 * 2, "dSE_dw2": -0.809 * 0.14 * 3,
    "dSE_dw3": -0.809 * 0.15 * 2, "dSE_dw4": -0.809 * 0.15 * 3,
    "w1_new": 0.121326, "w2_new": 0.226989, "w3_new": 0.132135, "w4_new": 0.0982025,
    "w5_new": 0.1743825, "w6_new": 0.169416,
}


@pytest.mark.parametrize("key", sorted(P2_HAND))
def test_problem2_hand_values(key):
    assert abs(R.problem2()[key] - P2_HAND[key]) <= 1e-12


@pytest.mark.parametrize("k", [f"w{i}" for i in range(1, 7)])
def test_problem2_gradients_match_central_differences(k):
    p = dict(R.PROBLEM2)
    box = np.array([p[k]])

    def se():
        q = {**p, k: box[0]}
        out = q["w5"] * (q["w1"] * q["i1"] + q["w2"] * q["i2"]) + q["w6"] * (q["w3"] * q["i1"] + q["w4"] * q["i2"])
        return 0.5 * (q["y"] - out) ** 2

    g = numeric_grad(se, box, h_scale=1e-6)[0]
    assert abs(R.problem2()[f"dSE_d{k}"] - g) <= 1e-9
    assert abs(R.problem2(p)["SE"] - P2_HAND["SE"]) <= 1e-12


def test_answers_cover_both_problems_as_floats():
    a = R.answers()
    assert a["problem1"]["E_total"] == pytest.approx(PUBLISHED["E_total"], abs=1e-8)
    assert a["problem2"]["out"] == pytest.approx(0.191, abs=1e-12)
    assert all(isinstance(v, float) for part in a.values() for v in part.values())


# --------------------------------------------------------------------------- Problems 3, 4.3, 7


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@hyp(30)
@given(n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_softmax_jacobian_matches_central_differences(n, seed):
    x = rng_array(np.random.default_rng(seed), n, 2.0)
    J = R.softmax_jacobian(x.copy())
    assert J.shape == (n, n)
    for i in range(n):                            # row i = gradient of y_i w.r.t. x
        assert_grad_close(J[i], numeric_grad(lambda: softmax(x)[i], x), f"row {i}")


def test_softmax_jacobian_by_hand():
    y = softmax(np.array([0.0, np.log(3.0)]))      # (1/4, 3/4)
    np.testing.assert_allclose(y, [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(R.softmax_jacobian(np.array([0.0, np.log(3.0)])),
                               [[0.1875, -0.1875], [-0.1875, 0.1875]], rtol=1e-14)


def elu(x, alpha):
    return np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


@hyp(30)
@given(shape=st.sampled_from([(1,), (5,), (2, 3)]), alpha=st.floats(0.05, 3.0),
       seed=st.integers(0, 2**32 - 1))
def test_elu_grad_matches_central_differences(shape, alpha, seed):
    x = rng_array(np.random.default_rng(seed), shape, 2.0)
    x[np.abs(x) < 1e-3] = -0.7                    # away from 0
    g = R.elu_grad(x.copy(), alpha)
    assert g.shape == x.shape
    assert_grad_close(g, numeric_grad(lambda: elu(x, alpha).sum(), x), "elu_grad")


def test_elu_grad_at_zero_is_either_side():
    assert float(np.asarray(R.elu_grad(np.array([0.0]), 0.3))[0]) in (1.0, 0.3)


def problem7_loss(x, y, W1, b1, W2, b2):
    """Problem 7 written out independently: LeakyReLU(0.01), softmax, CE."""
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, 0.01 * z1)
    z2 = (W2 @ a1 + b2).ravel()
    return float(-np.sum(y.ravel() * np.log(softmax(z2))))


@hyp(30)
@given(Dx=st.integers(1, 4), Da=st.integers(1, 4), K=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_two_layer_grads_match_central_differences(Dx, Da, K, seed):
    rng = np.random.default_rng(seed)
    x = rng_array(rng, (Dx, 1))
    y = np.zeros((K, 1))
    y[rng.integers(K)] = 1.0
    params = {"W1": rng_array(rng, (Da, Dx)), "b1": rng_array(rng, (Da, 1), 0.5),
              "W2": rng_array(rng, (K, Da)), "b2": rng_array(rng, (K, 1), 0.5)}
    assume(np.abs(params["W1"] @ x + params["b1"]).min() > 1e-3)         # off the kink
    P = params

    def f():
        return problem7_loss(x, y, P["W1"], P["b1"], P["W2"], P["b2"])

    assert abs(R.two_layer_loss(x, y, P["W1"], P["b1"], P["W2"], P["b2"]) - f()) <= 1e-12
    g = R.two_layer_grads(x.copy(), y.copy(), *(P[k].copy() for k in ("W1", "b1", "W2", "b2")))
    assert set(g) == {"W1", "b1", "W2", "b2"}
    for k in ("W1", "b1", "W2", "b2"):
        assert_grad_close(g[k], numeric_grad(f, P[k]), k)


# --------------------------------------------------------------------------- shared numerics


def test_shared_central_difference_is_exact_enough():
    """reference.numerics.central_difference (used across the harness) on analytic derivatives."""
    x = np.array([[0.3, -1.2], [2.5, 4.0]])
    g = central_difference(lambda: float(np.sum(np.sin(x) + x ** 3 / 3)), x)
    np.testing.assert_allclose(g, np.cos(x) + x ** 2, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(x, [[0.3, -1.2], [2.5, 4.0]])        # restored
