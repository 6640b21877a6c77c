"""HW2 in float32 throughout (half the memory for the 784-200-1 network)."""
import numpy as np

F = np.float32


def sigmoid_activation(s):
    s = np.asarray(s).astype(F)
    z = np.exp(-np.abs(s))
    out = np.where(s >= 0, 1 / (1 + z), z / (1 + z)).astype(F)
    out = np.clip(out, F(1e-15), F(1 - 1e-15))
    return out, out * (1 - out)


def logistic_loss(g, y):
    g = np.asarray(g).astype(F)
    y = np.asarray(y).astype(F).reshape(g.shape)
    loss = -(y * np.log(g) + (1 - y) * np.log(1 - g))
    dL_dg = -y / g + (1 - y) / (1 - g)
    return loss, dL_dg


def relu_activation(s):
    s = np.asarray(s).astype(F)
    return np.maximum(s, F(0)), (s > 0).astype(F)


def layer_forward(x, W, b, activation_fn):
    x, W, b = (np.asarray(a).astype(F) for a in (x, W, b))
    out, grad = activation_fn(x @ W + b)
    return np.asarray(out).astype(F), (x, W, np.asarray(grad).astype(F))


def create_weight_matrices(layer_dims):
    return [np.random.normal(0, 0.01, (m, k)).astype(F) for m, k in zip(layer_dims[:-1], layer_dims[1:])]


def create_bias_vectors(layer_dims):
    return [np.zeros((1, k), dtype=F) for k in layer_dims[1:]]


def forward_pass(X_batch, weight_matrices, biases, activations):
    out, caches = X_batch, []
    for W, b, act in zip(weight_matrices, biases, activations):
        out, c = layer_forward(out, W, b, act)
        caches.append(c)
    return out, caches


def backward_pass(dL_dg, layer_caches):
    up = np.asarray(dL_dg).astype(F) / F(dL_dg.shape[0])
    gWs, gbs = [], []
    for x, W, grad in reversed(layer_caches):
        delta = up * grad
        gWs.append(x.T @ delta)
        gbs.append(delta.sum(axis=0, keepdims=True))
        up = delta @ W.T
    return gWs[::-1], gbs[::-1]


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    eps = 1e-5

    def f():
        out, _ = forward_pass(X_batch, weight_matrices, biases, activations)
        return logistic_loss(out, y_batch)[0].mean()

    result = []
    for group in (weight_matrices, biases):
        grads = []
        for P in group:
            G = np.zeros(P.shape, dtype=F)
            for idx in np.ndindex(*P.shape):
                keep = P[idx]
                P[idx] = keep + eps
                fp = f()
                P[idx] = keep - eps
                fm = f()
                P[idx] = keep
                G[idx] = (fp - fm) / (2 * eps)
            grads.append(G)
        result.append(grads)
    return result[0], result[1]
