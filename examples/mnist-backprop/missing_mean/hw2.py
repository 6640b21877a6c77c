"""HW2: a neural network in NumPy (vectorized, the handout's numpy.where hint)."""
import numpy as np

EPS = 1e-15


def sigmoid_activation(s):
    s = np.asarray(s, dtype=float)
    z = np.exp(-np.abs(s))
    out = np.where(s >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    out = np.clip(out, EPS, 1 - EPS)
    return out, out * (1 - out)


def logistic_loss(g, y):
    y = np.reshape(y, g.shape)
    loss = -(y * np.log(g) + (1 - y) * np.log(1 - g))
    dL_dg = (g - y) / (g * (1 - g))
    return loss, dL_dg


def relu_activation(s):
    out = np.maximum(s, 0)
    grad = (s > 0).astype(float)
    return out, grad


def layer_forward(x, W, b, activation_fn):
    s = x @ W + b
    out, act_grad = activation_fn(s)
    cache = (x, W, act_grad)
    return out, cache


def create_weight_matrices(layer_dims):
    return [np.random.normal(0, 0.01, size=(layer_dims[i], layer_dims[i + 1]))
            for i in range(len(layer_dims) - 1)]


def create_bias_vectors(layer_dims):
    return [np.zeros((1, d)) for d in layer_dims[1:]]


def forward_pass(X_batch, weight_matrices, biases, activations):
    layer_caches = []
    out = X_batch
    for W, b, act in zip(weight_matrices, biases, activations):
        out, cache = layer_forward(out, W, b, act)
        layer_caches.append(cache)
    return out, layer_caches


def backward_pass(dL_dg, layer_caches):
    n = dL_dg.shape[0]
    grad_Ws = [None] * len(layer_caches)
    grad_bs = [None] * len(layer_caches)
    upstream = dL_dg
    for l in range(len(layer_caches) - 1, -1, -1):
        x, W, act_grad = layer_caches[l]
        delta = upstream * act_grad
        grad_Ws[l] = x.T @ delta
        grad_bs[l] = np.sum(delta, axis=0, keepdims=True)
        upstream = delta @ W.T
    return grad_Ws, grad_bs


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    eps = 1e-5

    def mean_loss():
        output, _ = forward_pass(X_batch, weight_matrices, biases, activations)
        loss, _ = logistic_loss(output, y_batch)
        return loss.mean()

    def grads_for(params):
        grads = []
        for P in params:
            G = np.zeros(P.shape)
            for idx in np.ndindex(*P.shape):
                old = P[idx]
                P[idx] = old + eps
                plus = mean_loss()
                P[idx] = old - eps
                minus = mean_loss()
                P[idx] = old
                G[idx] = (plus - minus) / (2 * eps)
            grads.append(G)
        return grads

    return grads_for(weight_matrices), grads_for(biases)
