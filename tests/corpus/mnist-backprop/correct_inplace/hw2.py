"""HW2 that reuses its argument arrays in place wherever it can (no copies)."""
import numpy as np


def sigmoid_activation(s):
    s = np.asarray(s, dtype=np.float64)
    pos = s >= 0
    e = np.exp(-np.abs(s))                 # e <= 1: no overflow
    s[...] = e                             # the argument now holds exp(-|s|)
    s /= 1.0 + e
    s[pos] = 1.0 - s[pos]
    np.clip(s, 1e-15, 1 - 1e-15, out=s)
    return s, s * (1 - s)


def logistic_loss(g, y):
    y = np.asarray(y, dtype=np.float64)
    y.shape = g.shape                      # (n,) -> (n, 1) in place
    loss = -(y * np.log(g) + (1 - y) * np.log1p(-g))
    dL_dg = g - y
    dL_dg /= g * (1 - g)
    return loss, dL_dg


def relu_activation(s):
    grad = (s > 0).astype(np.float64)
    s[s < 0] = 0.0
    return s, grad


def layer_forward(x, W, b, activation_fn):
    s = x @ W
    s += b
    out, grad = activation_fn(s)
    return out, (x, W, grad)


def create_weight_matrices(layer_dims):
    Ws = []
    for d_in, d_out in zip(layer_dims[:-1], layer_dims[1:]):
        W = np.random.standard_normal((d_in, d_out))
        W *= 0.01
        Ws.append(W)
    return Ws


def create_bias_vectors(layer_dims):
    return [np.zeros((1, d)) for d in layer_dims[1:]]


def forward_pass(X_batch, weight_matrices, biases, activations):
    caches = []
    for W, b, act in zip(weight_matrices, biases, activations):
        X_batch, cache = layer_forward(X_batch, W, b, act)
        caches.append(cache)
    return X_batch, caches


def backward_pass(dL_dg, layer_caches):
    dL_dg /= dL_dg.shape[0]                # the argument becomes d(mean loss)/d(output)
    grad_Ws, grad_bs = [], []
    for x, W, grad in reversed(layer_caches):
        delta = dL_dg * grad
        grad_Ws.append(x.T @ delta)
        grad_bs.append(delta.sum(axis=0, keepdims=True))
        dL_dg = delta @ W.T
    grad_Ws.reverse()
    grad_bs.reverse()
    return grad_Ws, grad_bs


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    eps = 1e-5
    out = ([], [])
    for group, params in enumerate((weight_matrices, biases)):
        for P in params:
            G = np.zeros_like(P)
            flat, gflat = P.reshape(-1), G.reshape(-1)
            for i in range(flat.size):
                flat[i] += eps
                up = logistic_loss(forward_pass(X_batch, weight_matrices, biases, activations)[0], y_batch)[0].mean()
                flat[i] -= 2 * eps
                down = logistic_loss(forward_pass(X_batch, weight_matrices, biases, activations)[0], y_batch)[0].mean()
                flat[i] += eps
                gflat[i] = (up - down) / (2 * eps)
            out[group].append(G)
    return out
