"""Named variants of the worked-backprop reference: known mistakes that need the reference's own
code path, for the grader's diagnosis (`variants:` in checks/worked-backprop.yaml). Each is the
reference with one mistake planted, and is never graded against."""
import numpy as np

from reference.numerics import softmax_rows
from reference.worked_backprop import LEAKY_ALPHA, PROBLEM1, PROBLEM2, problem1, problem2, two_layer_grads


def _answers(step=None, derivative=None):
    """answers() with the update step `step(p, key, grad)` and the sigmoid's derivative
    `derivative(net, out)` replaced."""
    r1, r2 = problem1(), problem2()
    if derivative is not None:
        r1 = _problem1_with_derivative(derivative)
    if step is not None:
        for r, p, prefix in ((r1, PROBLEM1, "dE_d"), (r2, PROBLEM2, "dSE_d")):
            for k in [k for k in r if k.endswith("_new")]:
                w = k[:-len("_new")]
                r[k] = step(p, w, r[prefix + w])
    return {"problem1": {k: float(v) for k, v in r1.items()}, "problem2": {k: float(v) for k, v in r2.items()}}


def _problem1_with_derivative(derivative):
    p = PROBLEM1
    r = problem1()
    h1, h2, o1, o2 = r["out_h1"], r["out_h2"], r["out_o1"], r["out_o2"]
    d_o1 = (o1 - p["t1"]) * derivative(r["net_o1"], o1)
    d_o2 = (o2 - p["t2"]) * derivative(r["net_o2"], o2)
    d_h1 = (d_o1 * p["w5"] + d_o2 * p["w7"]) * derivative(r["net_h1"], h1)
    d_h2 = (d_o1 * p["w6"] + d_o2 * p["w8"]) * derivative(r["net_h2"], h2)
    grads = {"w1": d_h1 * p["i1"], "w2": d_h1 * p["i2"], "w3": d_h2 * p["i1"], "w4": d_h2 * p["i2"],
             "w5": d_o1 * h1, "w6": d_o1 * h2, "w7": d_o2 * h1, "w8": d_o2 * h2, "b1": d_h1 + d_h2, "b2": d_o1 + d_o2}
    for k, g in grads.items():
        r[f"dE_d{k}"] = g
        r[f"{k}_new"] = p[k] - p["lr"] * g
    return r


def answers_ascent():
    """every update a step up the gradient: w + lr * dE/dw."""
    return _answers(step=lambda p, w, g: p[w] + p["lr"] * g)


def answers_learning_rate_ignored():
    """every update w - dE/dw, the learning rate left out."""
    return _answers(step=lambda p, w, g: p[w] - g)


def answers_derivative_at_net():
    """the sigmoid's derivative out (1 - out) taken at the net input: net (1 - net)."""
    return _answers(derivative=lambda net, out: net * (1 - net))


def two_layer_grads_dW2_from_z1(x, y_onehot, W1, b1, W2, b2):
    """dW2 from the pre-activation z1 instead of the activation a1."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(y_onehot, dtype=np.float64).reshape(-1, 1)
    z1 = W1 @ x + b1
    a1 = np.where(z1 > 0, z1, LEAKY_ALPHA * z1)
    z2 = W2 @ a1 + b2
    delta0 = softmax_rows(z2.T).T - y
    dz1 = (W2.T @ delta0) * np.where(z1 > 0, 1.0, LEAKY_ALPHA)
    return {"W1": dz1 @ x.T, "b1": dz1, "W2": delta0 @ z1.T, "b2": delta0}



def two_layer_grads_db1_summed(x, y_onehot, W1, b1, W2, b2):
    """db1 summed over its units (axis 0) instead of kept per unit."""
    g = two_layer_grads(x, y_onehot, W1, b1, W2, b2)
    g["b1"] = g["b1"].sum(axis=0, keepdims=True)
    return g
