"""Modules lab computed in float32 throughout (parameters, activations, losses)."""
import math

import numpy as np

F = np.float32


class Linear:
    def __init__(self, in_dim, out_dim):
        limit = math.sqrt(6 / (in_dim + out_dim))
        self.W = np.random.uniform(-limit, limit, size=(out_dim, in_dim)).astype(F)
        self.b = np.zeros((out_dim,), dtype=F)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.x = None

    def forward(self, x):
        self.x = np.asarray(x, dtype=F)
        return self.x @ np.asarray(self.W, dtype=F).T + np.asarray(self.b, dtype=F)

    def backward(self, dout):
        dout = np.atleast_2d(np.asarray(dout, dtype=F))
        x = np.atleast_2d(np.asarray(self.x, dtype=F))
        self.dW = dout.T @ x
        self.db = dout.sum(axis=0)
        return dout @ np.asarray(self.W, dtype=F)


def relu(x):
    return np.maximum(F(0), np.asarray(x, dtype=F))


def relu_backward(x, dout):
    x = np.asarray(x, dtype=F)
    return np.where(x > 0, np.asarray(dout, dtype=F), F(0))


def tanh(x):
    return np.tanh(np.asarray(x, dtype=F))


def tanh_backward(x, dout):
    t = np.tanh(np.asarray(x, dtype=F))
    return np.asarray(dout, dtype=F) * (F(1) - t * t)


def softmax(logits):
    logits = np.asarray(logits, dtype=F)
    z = logits - logits.max(axis=1, keepdims=True)
    expz = np.exp(z)
    return expz / expz.sum(axis=1, keepdims=True)


def cross_entropy(probs, Y_true):
    eps = F(1e-9)
    probs = np.asarray(probs, dtype=F)
    Y_true = np.asarray(Y_true, dtype=F)
    return np.mean(-np.sum(Y_true * np.log(probs + eps), axis=1))


def softmax_cross_entropy_backward(probs, Y_true):
    bs = probs.shape[0]
    return (np.asarray(probs, dtype=F) - np.asarray(Y_true, dtype=F)) / F(bs)


def l2_penalty(W, lam):
    W = np.asarray(W, dtype=F)
    return F(lam) * np.sum(W * W)


def l2_penalty_grad(W, lam):
    return F(2 * lam) * np.asarray(W, dtype=F)


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
