"""Named variants of the mnist-backprop reference: known mistakes that need the reference's own code
path, for the grader's diagnosis (`variants:` in checks/mnist-backprop.yaml). Each is the reference
with one mistake planted, and is never graded against."""
import numpy as np

from reference.mnist_backprop import SIGMOID_CLIP, layer_forward
from reference.numerics import stable_sigmoid


def sigmoid_unclipped(s):
    """sigmoid and out * (1 - out) without the clip to [eps, 1 - eps]."""
    out = stable_sigmoid(s)
    return out, out * (1 - out)


def sigmoid_clipped_below_only(s):
    """sigmoid clipped at eps from below only (1 - eps is never applied)."""
    out = np.maximum(stable_sigmoid(s), SIGMOID_CLIP)
    return out, out * (1 - out)


def sigmoid_derivative_before_clip(s):
    """the derivative taken from the sigmoid before the clip."""
    raw = stable_sigmoid(s)
    return np.clip(raw, SIGMOID_CLIP, 1 - SIGMOID_CLIP), raw * (1 - raw)


def sigmoid_derivative_at_preactivation(s):
    """the derivative s * (1 - s), at the pre-activation instead of the output."""
    s = np.asarray(s, dtype=np.float64)
    out = np.clip(stable_sigmoid(s), SIGMOID_CLIP, 1 - SIGMOID_CLIP)
    return out, s * (1 - s)


def relu_mask_inverted(s):
    """ReLU with the derivative's mask inverted (1 where s < 0)."""
    s = np.asarray(s, dtype=np.float64)
    return np.maximum(0.0, s), (s < 0).astype(np.float64)


def layer_forward_without_bias(x, W, b, activation_fn):
    """layer_forward without `+ b`."""
    out, grad = activation_fn(x @ W)
    return out, (x, W, grad)


def layer_forward_activation_returns_swapped(x, W, b, activation_fn):
    """layer_forward taking the activation's (out, grad) in the wrong order."""
    grad, out = activation_fn(x @ W + b)
    return out, (x, W, grad)


def forward_pass_caches_reversed(X_batch, weight_matrices, biases, activations):
    """forward_pass returning its caches in reversed layer order."""
    out, caches = X_batch, []
    for W, b, act in zip(weight_matrices, biases, activations):
        out, cache = layer_forward(out, W, b, act)
        caches.append(cache)
    return out, caches[::-1]


def backward_pass_without_activation_derivative(dL_dg, layer_caches):
    """backward_pass with the activation's derivative left out (the upstream gradient passed through)."""
    n = dL_dg.shape[0]
    grad_Ws, grad_bs = [], []
    upstream = dL_dg / n
    for x, W, _ in reversed(layer_caches):
        grad_Ws.append(x.T @ upstream)
        grad_bs.append(upstream.sum(axis=0, keepdims=True))
        upstream = upstream @ W.T
    return grad_Ws[::-1], grad_bs[::-1]


def logistic_loss_flat_labels_broadcast(g, y):
    """logistic_loss with y (n,) used as it comes: against g (n, 1) it broadcasts to (n, n)."""
    g = np.asarray(g, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return -(y * np.log(g) + (1 - y) * np.log(1 - g)), -y / g + (1 - y) / (1 - g)
