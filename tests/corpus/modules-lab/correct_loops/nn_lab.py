"""Modules lab with explicit loops everywhere (the handout allows a nested loop)."""
import math

import numpy as np


class Linear:
    def __init__(self, in_dim, out_dim):
        limit = math.sqrt(6 / (in_dim + out_dim))
        self.W = np.random.uniform(-limit, limit, size=(out_dim, in_dim))
        self.b = np.zeros((out_dim,))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.x = None

    def forward(self, x):
        self.x = x
        B, n_in = x.shape
        n_out = self.W.shape[0]
        out = np.zeros((B, n_out))
        for r in range(B):
            for j in range(n_out):
                total = self.b[j]
                for k in range(n_in):
                    total += x[r, k] * self.W[j, k]
                out[r, j] = total
        return out

    def backward(self, dout):
        dout = np.atleast_2d(np.asarray(dout))
        x = np.atleast_2d(np.asarray(self.x))
        B, n_out = dout.shape
        n_in = x.shape[1]
        dW = np.zeros((n_out, n_in))
        db = np.zeros(n_out)
        dx = np.zeros((B, n_in))
        for r in range(B):
            for j in range(n_out):
                db[j] += dout[r, j]
                for k in range(n_in):
                    dW[j, k] += dout[r, j] * x[r, k]
                    dx[r, k] += dout[r, j] * self.W[j, k]
        self.dW = dW
        self.db = db
        return dx


def relu(x):
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        out[idx] = x[idx] if x[idx] > 0 else 0.0
    return out


def relu_backward(x, dout):
    dx = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        if x[idx] > 0:
            dx[idx] = dout[idx]
        else:
            dx[idx] = 0
    return dx


def tanh(x):
    return np.tanh(x)


def tanh_backward(x, dout):
    dx = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        t = math.tanh(x[idx])
        dx[idx] = dout[idx] * (1 - t * t)
    return dx


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    expz = np.exp(z)
    return expz / expz.sum(axis=1, keepdims=True)


def cross_entropy(probs, Y_true):
    eps = 1e-9
    B, C = probs.shape
    total = 0.0
    for r in range(B):
        for c in range(C):
            if Y_true[r, c] != 0:
                total -= Y_true[r, c] * math.log(probs[r, c] + eps)
    return total / B


def softmax_cross_entropy_backward(probs, Y_true):
    bs = probs.shape[0]
    return (probs - Y_true) / bs


def l2_penalty(W, lam):
    total = 0.0
    for w in np.ravel(W):
        total += w * w
    return lam * total


def l2_penalty_grad(W, lam):
    g = np.zeros_like(W, dtype=float)
    for idx in np.ndindex(np.shape(W)):
        g[idx] = 2 * lam * W[idx]
    return g


class MLP:
    def __init__(self, in_dim, hidden_dim, out_dim, nonlin="relu"):
        self.l1 = Linear(in_dim, hidden_dim)
        self.l2 = Linear(hidden_dim, out_dim)
        self.nonlin = nonlin
        self.h_pre = None

    def forward(self, x):
        z1 = self.l1.forward(x)
        self.h_pre = z1
        if self.nonlin == "relu":
            h = relu(z1)
        else:
            h = tanh(z1)
        yhat = self.l2.forward(h)
        return yhat, h

    def backward(self, dyhat, h):
        dh = self.l2.backward(dyhat)
        if self.nonlin == "relu":
            dz1 = relu_backward(self.h_pre, dh)
        else:
            dz1 = tanh_backward(self.h_pre, dh)
        dx = self.l1.backward(dz1)
        return dx
