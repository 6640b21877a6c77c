"""Reference for `worked-backprop` (handout 002): Problems 1 and 2 worked in code, and the
derivations of Problems 3, 4.3 and 7 as functions.

Wiring of Problems 1 and 2 is decided in the assignment contract (figures are lost).
"""
import numpy as np

from reference.numerics import softmax_rows, stable_sigmoid

PROBLEM1 = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "b1": 0.35,
            "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55, "b2": 0.60,
            "i1": 0.05, "i2": 0.10, "t1": 0.01, "t2": 0.99, "lr": 0.5}
PROBLEM2 = {"w1": 0.11, "w2": 0.21, "w3": 0.12, "w4": 0.08, "w5": 0.14, "w6": 0.15,
            "i1": 2.0, "i2": 3.0, "y": 1.0, "lr": 0.05}


def problem1(p=PROBLEM1):
    """2-2-2 sigmoid network, E = sum 0.5 (t - out)^2, one step at the original parameters."""
    s = stable_sigmoid
    r = {}
    r["net_h1"] = p["w1"] * p["i1"] + p["w2"] * p["i2"] + p["b1"]
    r["net_h2"] = p["w3"] * p["i1"] + p["w4"] * p["i2"] + p["b1"]
    h1, h2 = float(s(r["net_h1"])), float(s(r["net_h2"]))
    r["out_h1"], r["out_h2"] = h1, h2
    r["net_o1"] = p["w5"] * h1 + p["w6"] * h2 + p["b2"]
    r["net_o2"] = p["w7"] * h1 + p["w8"] * h2 + p["b2"]
    o1, o2 = float(s(r["net_o1"])), float(s(r["net_o2"]))
    r["out_o1"], r["out_o2"] = o1, o2
    r["E_o1"] = 0.5 * (p["t1"] - o1) ** 2
    r["E_o2"] = 0.5 * (p["t2"] - o2) ** 2
    r["E_total"] = r["E_o1"] + r["E_o2"]
    d_o1 = (o1 - p["t1"]) * o1 * (1 - o1)           # dE/dnet_o1
    d_o2 = (o2 - p["t2"]) * o2 * (1 - o2)
    d_h1 = (d_o1 * p["w5"] + d_o2 * p["w7"]) * h1 * (1 - h1)   # dE/dnet_h1, original w5..w8
    d_h2 = (d_o1 * p["w6"] + d_o2 * p["w8"]) * h2 * (1 - h2)
    grads = {"w1": d_h1 * p["i1"], "w2": d_h1 * p["i2"], "w3": d_h2 * p["i1"], "w4": d_h2 * p["i2"],
             "w5": d_o1 * h1, "w6": d_o1 * h2, "w7": d_o2 * h1, "w8": d_o2 * h2,
             "b1": d_h1 + d_h2, "b2": d_o1 + d_o2}       # a shared bias sums over the units it feeds
    for k, g in grads.items():
        r[f"dE_d{k}"] = g
    for k, g in grads.items():
        r[f"{k}_new"] = p[k] - p["lr"] * g
    return r


def problem2(p=PROBLEM2):
    """Linear 2-2-1 network, SE = 0.5 (y - out)^2, one step of size lr."""
    r = {}
    r["h1"] = p["w1"] * p["i1"] + p["w2"] * p["i2"]
    r["h2"] = p["w3"] * p["i1"] + p["w4"] * p["i2"]
    r["out"] = p["w5"] * r["h1"] + p["w6"] * r["h2"]
    r["SE"] = 0.5 * (p["y"] - r["out"]) ** 2
    d = r["out"] - p["y"]                             # dSE/dout
    grads = {"w1": d * p["w5"] * p["i1"], "w2": d * p["w5"] * p["i2"],
             "w3": d * p["w6"] * p["i1"], "w4": d * p["w6"] * p["i2"],
             "w5": d * r["h1"], "w6": d * r["h2"]}
    for k, g in grads.items():
        r[f"dSE_d{k}"] = g
    for k, g in grads.items():
        r[f"{k}_new"] = p[k] - p["lr"] * g
    return r


def answers():
    """The numbers answers.yaml asks for: {"problem1": {...}, "problem2": {...}}."""
    return {"problem1": {k: float(v) for k, v in problem1().items()},
            "problem2": {k: float(v) for k, v in problem2().items()}}


def softmax_jacobian(x):
    """x (n,) -> (n, n) with [i, j] = dy_i/dx_j = y_i (delta_ij - y_j)."""
    y = softmax_rows(np.asarray(x, dtype=np.float64).reshape(-1))
    return np.diag(y) - np.outer(y, y)


def elu_grad(x, alpha):
    """Elementwise derivative of ELU: 1 for x >= 0, alpha e^x for x < 0."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def elu_grad_left_at_zero(x, alpha):
    """elu_grad with the left side's value (alpha) at x == 0: the other accepted value there."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


LEAKY_ALPHA = 0.01


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    """Problem 7: z1 = W1 x + b1; a1 = LeakyReLU(z1, 0.01); z2 = W2 a1 + b2; CE of softmax(z2).

    x (D_x, 1), y_onehot (K, 1), W1 (D_a, D_x), b1 (D_a, 1), W2 (K, D_a), b2 (K, 1)
    -> {"W1": (D_a, D_x), "b1": (D_a, 1), "W2": (K, D_a), "b2": (K, 1)}.
    """
    return _two_layer_grads(x, y_onehot, W1, b1, W2, b2, slope_at_zero=LEAKY_ALPHA)


def two_layer_grads_slope_one_at_zero(x, y_onehot, W1, b1, W2, b2):
    """two_layer_grads taking LeakyReLU's right-hand slope 1 where z1 == 0 (the other accepted value)."""
    return _two_layer_grads(x, y_onehot, W1, b1, W2, b2, slope_at_zero=1.0)


def _two_layer_grads(x, y_onehot, W1, b1, W2, b2, slope_at_zero):
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(y_onehot, dtype=np.float64).reshape(-1, 1)
    z1 = W1 @ x + b1
    a1 = np.where(z1 > 0, z1, LEAKY_ALPHA * z1)
    z2 = W2 @ a1 + b2
    yhat = softmax_rows(z2.T).T
    delta0 = yhat - y                                  # dL/dz2
    slope = np.where(z1 > 0, 1.0, np.where(z1 < 0, LEAKY_ALPHA, slope_at_zero))
    dz1 = (W2.T @ delta0) * slope
    return {"W1": dz1 @ x.T, "b1": dz1, "W2": delta0 @ a1.T, "b2": delta0}


def two_layer_loss(x, y_onehot, W1, b1, W2, b2):
    """Problem 7's cross-entropy loss (for checking two_layer_grads)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    z1 = W1 @ x + b1
    a1 = np.where(z1 > 0, z1, LEAKY_ALPHA * z1)
    z2 = (W2 @ a1 + b2).reshape(-1)
    z2 = z2 - z2.max()
    logp = z2 - np.log(np.exp(z2).sum())
    return float(-np.sum(np.asarray(y_onehot).reshape(-1) * logp))
