"""HW2 written with explicit loops (slow but correct); math module for the scalar sigmoid."""
import math

import numpy as np


def _sigmoid_scalar(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid_activation(s):
    s = np.asarray(s, dtype=np.float64)
    out = np.empty(s.shape)
    grad = np.empty(s.shape)
    for idx in np.ndindex(*s.shape):
        o = min(max(_sigmoid_scalar(float(s[idx])), 1e-15), 1 - 1e-15)
        out[idx] = o
        grad[idx] = o * (1 - o)
    return out, grad


def logistic_loss(g, y):
    n = g.shape[0]
    y = np.asarray(y).reshape(-1)
    loss = np.zeros((n, 1))
    dL_dg = np.zeros((n, 1))
    for i in range(n):
        gi, yi = float(g[i, 0]), float(y[i])
        loss[i, 0] = -(yi * math.log(gi) + (1 - yi) * math.log(1 - gi))
        dL_dg[i, 0] = -yi / gi + (1 - yi) / (1 - gi)
    return loss, dL_dg


def relu_activation(s):
    n, d = s.shape
    out = np.zeros((n, d))
    grad = np.zeros((n, d))
    for i in range(n):
        for j in range(d):
            if s[i, j] > 0:
                out[i, j] = s[i, j]
                grad[i, j] = 1.0
    return out, grad


def layer_forward(x, W, b, activation_fn):
    n, d_in = x.shape
    d_out = W.shape[1]
    s = np.zeros((n, d_out))
    for i in range(n):
        for j in range(d_out):
            total = b[0, j]
            for k in range(d_in):
                total += x[i, k] * W[k, j]
            s[i, j] = total
    out, grad = activation_fn(s)
    return out, {"input": x.copy(), "W": W.copy(), "dout_ds": grad}


def create_weight_matrices(layer_dims):
    weights = []
    for i in range(len(layer_dims) - 1):
        weights.append(0.01 * np.random.randn(layer_dims[i], layer_dims[i + 1]))
    return weights


def create_bias_vectors(layer_dims):
    biases = []
    for i in range(1, len(layer_dims)):
        biases.append(np.zeros((1, layer_dims[i])))
    return biases


def forward_pass(X_batch, weight_matrices, biases, activations):
    caches = []
    h = X_batch
    for l in range(len(weight_matrices)):
        h, c = layer_forward(h, weight_matrices[l], biases[l], activations[l])
        caches.append(c)
    return h, caches


def backward_pass(dL_dg, layer_caches):
    n = dL_dg.shape[0]
    L = len(layer_caches)
    grad_Ws, grad_bs = [None] * L, [None] * L
    up = np.array(dL_dg, dtype=np.float64) / n
    for l in reversed(range(L)):
        c = layer_caches[l]
        x, W, dds = c["input"], c["W"], c["dout_ds"]
        d_in, d_out = W.shape
        delta = np.zeros((n, d_out))
        for i in range(n):
            for j in range(d_out):
                delta[i, j] = up[i, j] * dds[i, j]
        gW = np.zeros((d_in, d_out))
        gb = np.zeros((1, d_out))
        for i in range(n):
            for j in range(d_out):
                gb[0, j] += delta[i, j]
                for k in range(d_in):
                    gW[k, j] += x[i, k] * delta[i, j]
        new_up = np.zeros((n, d_in))
        for i in range(n):
            for k in range(d_in):
                for j in range(d_out):
                    new_up[i, k] += delta[i, j] * W[k, j]
        grad_Ws[l], grad_bs[l] = gW, gb
        up = new_up
    return grad_Ws, grad_bs


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    eps = 1e-5

    def f():
        out, _ = forward_pass(X_batch, weight_matrices, biases, activations)
        return np.mean(logistic_loss(out, y_batch)[0])

    grad_Ws, grad_bs = [], []
    for params, grads in ((weight_matrices, grad_Ws), (biases, grad_bs)):
        for P in params:
            G = np.zeros(P.shape)
            for i in range(P.shape[0]):
                for j in range(P.shape[1]):
                    P[i, j] += eps
                    plus = f()
                    P[i, j] -= 2 * eps
                    minus = f()
                    P[i, j] += eps
                    G[i, j] = (plus - minus) / (2 * eps)
            grads.append(G)
    return grad_Ws, grad_bs
