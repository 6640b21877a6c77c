"""Numerics shared by every reference module: written once, stable where that is free."""
import numpy as np


def stable_sigmoid(x):
    """Elementwise 1 / (1 + exp(-x)) without overflow. x: any shape -> same shape, float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def softmax_rows(logits):
    """Row-wise softmax. logits: (B, C) -> (B, C); a 1-D (C,) input gives (C,)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def central_difference(f, x, h_scale=6e-6):
    """Central-difference gradient of scalar f at array x (float64), step h = h_scale * max(1, |x_i|).

    x is perturbed in place and restored, so f may close over it.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        h = h_scale * max(1.0, abs(orig))
        flat[i] = orig + h
        fp = f()
        flat[i] = orig - h
        fm = f()
        flat[i] = orig
        g[i] = (fp - fm) / (2 * h)
    return grad
