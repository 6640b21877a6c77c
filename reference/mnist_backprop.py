"""Reference for `mnist-backprop` (handout 004): layer_forward / backward_pass with caches.

Conventions: examples are rows. x (n, d_in); W (d_in, d_out); b (1, d_out).
"""
import numpy as np

from reference.numerics import stable_sigmoid

SIGMOID_CLIP = 1e-15        # the handout's epsilon: outputs live in [eps, 1 - eps]
FD_EPS = 1e-5               # the handout's finite-difference step


def sigmoid_activation(s):
    """s any shape -> (out, grad): clipped sigmoid and out * (1 - out); stable on [-1000, 1000]."""
    out = np.clip(stable_sigmoid(s), SIGMOID_CLIP, 1 - SIGMOID_CLIP)
    return out, out * (1 - out)


def logistic_loss(g, y):
    """g (n, 1); y (n,) or (n, 1) -> (loss, dL_dg), both (n, 1), per example."""
    g = np.asarray(g, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(g.shape)
    loss = -(y * np.log(g) + (1 - y) * np.log(1 - g))
    dL_dg = -y / g + (1 - y) / (1 - g)
    return loss, dL_dg


def relu_activation(s):
    """s (n, d) -> (max(0, s), 1 where s > 0 else 0)."""
    s = np.asarray(s, dtype=np.float64)
    return np.maximum(0.0, s), (s > 0).astype(np.float64)


def layer_forward(x, W, b, activation_fn):
    """x (n, d_in), W (d_in, d_out), b (1, d_out) -> (out (n, d_out), cache)."""
    s = x @ W + b
    out, grad = activation_fn(s)
    return out, (x, W, grad)


def create_weight_matrices(layer_dims):
    """i-th matrix (layer_dims[i], layer_dims[i+1]) drawn N(0, 0.01^2)."""
    return [np.random.normal(0.0, 0.01, (a, b)) for a, b in zip(layer_dims[:-1], layer_dims[1:])]


def create_bias_vectors(layer_dims):
    """i-th vector zeros (1, layer_dims[i+1])."""
    return [np.zeros((1, d)) for d in layer_dims[1:]]


def forward_pass(X_batch, weight_matrices, biases, activations):
    """-> (output (n, d_last), one cache per layer)."""
    out, caches = X_batch, []
    for W, b, act in zip(weight_matrices, biases, activations):
        out, cache = layer_forward(out, W, b, act)
        caches.append(cache)
    return out, caches


def backward_pass(dL_dg, layer_caches):
    """Gradients of the batch-mean loss -> (grad_Ws, grad_bs), shaped like the weights and biases."""
    n = dL_dg.shape[0]
    grad_Ws, grad_bs = [], []
    upstream = dL_dg / n                                   # d(mean loss)/d(output)
    for x, W, act_grad in reversed(layer_caches):
        delta = upstream * act_grad                        # d/ds of this layer, (n, d_out)
        grad_Ws.append(x.T @ delta)
        grad_bs.append(delta.sum(axis=0, keepdims=True))
        upstream = delta @ W.T
    return grad_Ws[::-1], grad_bs[::-1]


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    """Central differences (eps 1e-5) of the mean logistic loss w.r.t. every weight and bias."""
    def loss():
        out, _ = forward_pass(X_batch, weight_matrices, biases, activations)
        return logistic_loss(out, y_batch)[0].mean()

    grads = []
    for params in (weight_matrices, biases):
        group = []
        for P in params:
            G = np.zeros_like(P, dtype=np.float64)
            for idx in np.ndindex(P.shape):
                orig = P[idx]
                P[idx] = orig + FD_EPS
                plus = loss()
                P[idx] = orig - FD_EPS
                minus = loss()
                P[idx] = orig
                G[idx] = (plus - minus) / (2 * FD_EPS)
            group.append(G)
        grads.append(group)
    return grads[0], grads[1]


# ---- grading helpers (not part of the contract) ---------------------------------------------

def relu_activation_at_kink_one(s):
    """relu_activation with the other accepted subgradient at 0: grad 1 where s >= 0."""
    s = np.asarray(s, dtype=np.float64)
    return np.maximum(0.0, s), (s >= 0).astype(np.float64)


# The handout's toy network (test_batch_weights_biases.pkl, activations [relu, sigmoid]):
# values published with it (shared/data/README.md). "dW1"/"db1" are layer index 1.
PUBLISHED_MEAN_LOSS = 0.6985168038536878
PUBLISHED_dW1 = np.array([[-0.0012002103], [-0.0080164097]])
PUBLISHED_db1 = np.array([[-0.5026776163]])


def _published_inputs(data):
    X, y, Ws, bs = data
    return {"X": np.asarray(X, dtype=np.float64), "y": np.asarray(y, dtype=np.float64),
            "Ws": [np.asarray(W, dtype=np.float64) for W in Ws],
            "bs": [np.asarray(b, dtype=np.float64) for b in bs]}


def published_test_batch(data):
    """Converter for the fixture check: the pickle's tuple -> one case with the published
    mean loss and layer-1 batch-mean gradients."""
    return [{"inputs": _published_inputs(data),
             "published": {"mean_loss": PUBLISHED_MEAN_LOSS, "dW1": PUBLISHED_dW1, "db1": PUBLISHED_db1}}]


def published_test_batch_gradients(data):
    """Converter for the finite-difference fixture: the same case, gradients only."""
    return [{"inputs": _published_inputs(data),
             "published": {"dW1": PUBLISHED_dW1, "db1": PUBLISHED_db1}}]
