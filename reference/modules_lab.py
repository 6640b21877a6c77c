"""Reference for `modules-lab` (handout 001): Linear/ReLU/tanh modules, softmax + CE, L2 penalty, MLP.

Conventions: examples are rows. x (B, in_dim); W (out_dim, in_dim); b (out_dim,).
"""
import math

import numpy as np

from reference.numerics import softmax_rows


class Linear:
    """Fully connected layer: forward(x) = x @ W.T + b; backward fills dW, db and returns dx."""

    def __init__(self, in_dim, out_dim):
        limit = math.sqrt(6 / (in_dim + out_dim))      # Xavier/Glorot uniform, as the handout
        self.W = np.random.uniform(-limit, limit, size=(out_dim, in_dim))
        self.b = np.zeros((out_dim,))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.x = None

    def forward(self, x):
        """x (B, in_dim) -> (B, out_dim); keeps x for backward."""
        self.x = x
        return x @ self.W.T + self.b

    def backward(self, dout):
        """dout (B, out_dim) or (out_dim,) for B = 1 -> dx (B, in_dim); sets dW (out, in), db (out,)."""
        dout = np.atleast_2d(np.asarray(dout, dtype=np.float64))
        x = np.atleast_2d(np.asarray(self.x, dtype=np.float64))
        self.dW = dout.T @ x
        self.db = dout.sum(axis=0)
        return dout @ self.W


def relu(x):
    """max(0, x) elementwise."""
    return np.maximum(0, x)


def relu_backward(x, dout):
    """dout where x > 0, 0 elsewhere (subgradient 0 at x == 0)."""
    return np.where(np.asarray(x) > 0, dout, 0.0)


def relu_backward_subgradient_one(x, dout):
    """relu_backward taking subgradient 1 at x == 0 (grading helper: with relu_backward it bounds
    the accepted interval there, since any subgradient in [0, 1] is right)."""
    return np.where(np.asarray(x) >= 0, dout, 0.0)


def tanh(x):
    """tanh elementwise (given in the handout)."""
    return np.tanh(x)


def tanh_backward(x, dout):
    """dout * (1 - tanh(x)**2)."""
    return dout * (1 - np.tanh(x) ** 2)


def softmax(logits):
    """Row-wise softmax of (B, C) (given in the handout)."""
    return softmax_rows(logits)


def cross_entropy(probs, Y_true):
    """Mean over the batch of -sum(Y_true * log(probs + 1e-9), axis=1); probs, Y_true (B, C)."""
    eps = 1e-9
    return float(np.mean(-np.sum(Y_true * np.log(probs + eps), axis=1)))


def softmax_cross_entropy_backward(probs, Y_true):
    """(probs - Y_true) / B (given in the handout)."""
    return (probs - Y_true) / probs.shape[0]


def l2_penalty(W, lam):
    """lam * sum(W**2)."""
    return float(lam * np.sum(W ** 2))


def l2_penalty_grad(W, lam):
    """2 * lam * W."""
    return 2 * lam * W


class MLP:
    """One hidden layer: Linear -> relu|tanh -> Linear (Stage 3.2, given in the handout)."""

    def __init__(self, in_dim, hidden_dim, out_dim, nonlin="relu"):
        self.l1 = Linear(in_dim, hidden_dim)
        self.l2 = Linear(hidden_dim, out_dim)
        self.nonlin = nonlin
        self.h_pre = None

    def forward(self, x):
        """x (B, in_dim) -> (yhat (B, out_dim), h (B, hidden_dim))."""
        z1 = self.l1.forward(x)
        self.h_pre = z1
        h = relu(z1) if self.nonlin == "relu" else tanh(z1)
        return self.l2.forward(h), h

    def backward(self, dyhat, h):
        """dyhat (B, out_dim) -> dx (B, in_dim); fills l1/l2 dW, db."""
        dh = self.l2.backward(dyhat)
        if self.nonlin == "relu":
            dz1 = relu_backward(self.h_pre, dh)
        else:
            dz1 = tanh_backward(self.h_pre, dh)
        return self.l1.backward(dz1)
