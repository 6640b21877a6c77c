"""HW2 that hands back plain Python lists and tuples where it can."""
import math
import random

import numpy as np


def sigmoid_activation(s):
    s = np.asarray(s, dtype=float)
    out = np.vectorize(lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)))(s)
    out = np.clip(out, 1e-15, 1 - 1e-15)
    return out.tolist() if out.ndim else out, (out * (1 - out)).tolist() if out.ndim else out * (1 - out)


def logistic_loss(g, y):
    g = np.asarray(g, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    loss = -(y * np.log(g) + (1 - y) * np.log(1 - g))
    dL_dg = -y / g + (1 - y) / (1 - g)
    return loss.tolist(), dL_dg.tolist()


def relu_activation(s):
    rows = np.asarray(s, dtype=float).tolist()
    out = [[v if v > 0 else 0.0 for v in row] for row in rows]
    grad = [[1.0 if v > 0 else 0.0 for v in row] for row in rows]
    return out, grad


def layer_forward(x, W, b, activation_fn):
    s = np.asarray(x, dtype=float) @ np.asarray(W) + np.asarray(b)
    out, grad = activation_fn(s)
    return out, [np.asarray(x, dtype=float), np.asarray(W), np.asarray(grad, dtype=float)]


def create_weight_matrices(layer_dims):
    return tuple([[random.gauss(0.0, 0.01) for _ in range(b)] for _ in range(a)]
                 for a, b in zip(layer_dims, layer_dims[1:]))


def create_bias_vectors(layer_dims):
    return [[[0.0] * d] for d in layer_dims[1:]]


def forward_pass(X_batch, weight_matrices, biases, activations):
    caches = []
    out = X_batch
    for W, b, act in zip(weight_matrices, biases, activations):
        out, cache = layer_forward(out, W, b, act)
        caches.append(cache)
    return out, caches


def backward_pass(dL_dg, layer_caches):
    up = np.asarray(dL_dg, dtype=float)
    up = up / up.shape[0]
    grad_Ws, grad_bs = [], []
    for x, W, grad in reversed(layer_caches):
        delta = up * grad
        grad_Ws.insert(0, (x.T @ delta).tolist())
        grad_bs.insert(0, delta.sum(axis=0, keepdims=True).tolist())
        up = delta @ W.T
    return tuple(grad_Ws), tuple(grad_bs)


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    eps = 1e-5

    def loss():
        out, _ = forward_pass(X_batch, weight_matrices, biases, activations)
        return float(np.mean(logistic_loss(out, y_batch)[0]))

    grads = ([], [])
    for k, group in enumerate((weight_matrices, biases)):
        for P in group:
            G = []
            for i in range(len(P)):
                row = []
                for j in range(len(P[i])):
                    orig = P[i][j]
                    P[i][j] = orig + eps
                    a = loss()
                    P[i][j] = orig - eps
                    c = loss()
                    P[i][j] = orig
                    row.append((a - c) / (2 * eps))
                G.append(row)
            grads[k].append(G)
    return grads
