"""softmax-regression: implement the functions below. Do not change their names or signatures.

N examples, d features, C classes; labels y are integers in [0, C)."""
import numpy as np  # noqa: F401


def softmax(Z):
    """Z: (N, C) scores -> (N, C) probabilities, each row summing to 1 (stable for any Z)."""
    raise NotImplementedError


def cross_entropy(P, y):
    """P: (N, C) probabilities, y: (N,) labels -> mean of -log P[n, y[n]]."""
    raise NotImplementedError


def grad_W(X, P, y):
    """X: (N, d), P: (N, C), y: (N,) -> (d, C): d(mean cross-entropy)/dW for Z = X @ W + b."""
    raise NotImplementedError


def grad_b(P, y):
    """P: (N, C), y: (N,) -> (C,): d(mean cross-entropy)/db."""
    raise NotImplementedError


def train(X, y, lr, steps):
    """Full-batch gradient descent from W = 0, b = 0 for `steps` steps of size `lr`.
    X: (N, d), y: (N,) labels in [0, C) with C = max(y) + 1 -> (W (d, C), b (C,))."""
    raise NotImplementedError
