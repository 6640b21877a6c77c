"""Implementing a neural network: Linear/ReLU/tanh modules, softmax with cross-entropy,
an L2 penalty and a one-hidden-layer MLP.

Conventions: examples are rows. x is (B, in_dim) for a batch of B examples; a Linear layer
holds W (out_dim, in_dim) and b (out_dim,). Class scores and one-hot labels are (B, C).

Replace every `raise NotImplementedError` with your code; the rest is given by the handout.
"""
import math

import numpy as np


class Linear:
    """Fully connected layer: forward(x) = x @ W.T + b; backward fills dW, db and returns dx."""

    def __init__(self, in_dim, out_dim):
        """in_dim, out_dim: ints.

        Sets W (out_dim, in_dim) drawn U(-l, l) with l = sqrt(6 / (in_dim + out_dim)),
        b zeros (out_dim,), and the gradients dW (out_dim, in_dim), db (out_dim,) as zeros.
        """
        # Xavier/Glorot uniform: keeps the scale of activations and gradients similar across layers.
        limit = math.sqrt(6 / (in_dim + out_dim))
        self.W = np.random.uniform(-limit, limit, size=(out_dim, in_dim))
        self.b = np.zeros((out_dim,))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        # backward needs the input of the last forward call.
        self.x = None

    def forward(self, x):
        """x: (B, in_dim) -> out: (B, out_dim) = x @ W.T + b (b added to every row)."""
        self.x = x
        raise NotImplementedError("Linear.forward")

    def backward(self, dout):
        """dout: (B, out_dim), or (out_dim,) when B = 1 -> dx: (B, in_dim) = dout @ W.

        Sets self.dW (out_dim, in_dim) = dout.T @ x and self.db (out_dim,) = dout.sum(axis=0),
        where x is the input of the last forward call.
        """
        # A single example may arrive as a 1-D vector: make both (B, ...) matrices.
        dout = np.atleast_2d(np.asarray(dout))
        x = np.atleast_2d(np.asarray(self.x))
        raise NotImplementedError("Linear.backward")


def relu(x):
    """Elementwise max(0, x). x: any shape -> same shape."""
    raise NotImplementedError("relu")


def relu_backward(x, dout):
    """x: the ReLU's input (pre-activation), dout: dL/d relu(x), both the same shape.

    Returns dL/dx, same shape: dout where x > 0, 0 where x < 0 (either at x == 0).
    """
    raise NotImplementedError("relu_backward")


def tanh(x):
    """Elementwise tanh. x: any shape -> same shape."""
    return np.tanh(x)


def tanh_backward(x, dout):
    """x: the tanh's input, dout: dL/d tanh(x), both the same shape.

    Returns dL/dx = dout * (1 - tanh(x)**2), same shape.
    """
    raise NotImplementedError("tanh_backward")


def softmax(logits):
    """Row-wise softmax. logits: (B, C) -> probabilities (B, C), each row summing to 1."""
    # Subtracting the row maximum changes nothing mathematically but keeps exp from overflowing.
    z = logits - logits.max(axis=1, keepdims=True)
    expz = np.exp(z)
    return expz / expz.sum(axis=1, keepdims=True)


def cross_entropy(probs, Y_true):
    """Mean over the batch of -sum(Y_true * log(probs + 1e-9), axis=1).

    Args:
        probs: (B, C) predicted probabilities.
        Y_true: (B, C) one-hot labels.

    Returns:
        the mean loss, a scalar.
    """
    # eps keeps log away from log(0) when a probability underflows to zero.
    eps = 1e-9
    raise NotImplementedError("cross_entropy")


def softmax_cross_entropy_backward(probs, Y_true):
    """dL/dlogits of the mean cross-entropy of softmax(logits): (probs - Y_true) / B.

    probs, Y_true: (B, C) -> (B, C).
    """
    bs = probs.shape[0]
    return (probs - Y_true) / bs


def l2_penalty(W, lam):
    """L2 penalty lam * sum(W**2). W: any shape; lam: scalar -> scalar."""
    raise NotImplementedError("l2_penalty")


def l2_penalty_grad(W, lam):
    """Gradient of l2_penalty w.r.t. W: 2 * lam * W, W's shape."""
    raise NotImplementedError("l2_penalty_grad")


class MLP:
    """One hidden layer: Linear -> relu (or tanh) -> Linear. Built on the functions above."""

    def __init__(self, in_dim, hidden_dim, out_dim, nonlin="relu"):
        """l1: Linear(in_dim, hidden_dim); l2: Linear(hidden_dim, out_dim); nonlin "relu" or "tanh"."""
        self.l1 = Linear(in_dim, hidden_dim)
        self.l2 = Linear(hidden_dim, out_dim)
        self.nonlin = nonlin
        self.h_pre = None  # pre-activation cache: the nonlinearity's derivative needs it

    def forward(self, x):
        """x: (B, in_dim) -> (yhat (B, out_dim), h (B, hidden_dim) the hidden activations)."""
        z1 = self.l1.forward(x)
        self.h_pre = z1
        if self.nonlin == "relu":
            h = relu(z1)
        else:
            h = tanh(z1)
        yhat = self.l2.forward(h)
        return yhat, h

    def backward(self, dyhat, h):
        """dyhat: (B, out_dim) = dL/dyhat; h: (B, hidden_dim) from forward.

        Fills l1.dW, l1.db, l2.dW, l2.db and returns dx: (B, in_dim).
        """
        dh = self.l2.backward(dyhat)
        if self.nonlin == "relu":
            dz1 = relu_backward(self.h_pre, dh)
        else:
            dz1 = tanh_backward(self.h_pre, dh)
        dx = self.l1.backward(dz1)
        return dx
