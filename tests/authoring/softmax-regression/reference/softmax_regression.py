"""Reference implementation of softmax-regression: vectorized float64 NumPy, no I/O, no grading code.
Each function documents its shapes; the checks in checks/softmax-regression.yaml call them by name.

N examples, d features, C classes; labels y are integers in [0, C)."""
import numpy as np


def softmax(Z):
    """Z: (N, C) scores -> (N, C) probabilities, each row summing to 1 (stable for any Z)."""
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def cross_entropy(P, y):
    """P: (N, C) probabilities, y: (N,) labels -> mean of -log P[n, y[n]] (a float)."""
    P = np.asarray(P, dtype=np.float64)
    return float(-np.mean(np.log(P[np.arange(P.shape[0]), y])))


def _onehot(y, C):
    return np.eye(C)[np.asarray(y)]


def grad_W(X, P, y):
    """X: (N, d), P: (N, C), y: (N,) -> (d, C): d(mean cross-entropy)/dW for Z = X @ W + b."""
    X, P = np.asarray(X, dtype=np.float64), np.asarray(P, dtype=np.float64)
    return X.T @ (P - _onehot(y, P.shape[1])) / X.shape[0]


def grad_b(P, y):
    """P: (N, C), y: (N,) -> (C,): d(mean cross-entropy)/db."""
    P = np.asarray(P, dtype=np.float64)
    return (P - _onehot(y, P.shape[1])).mean(axis=0)


def train(X, y, lr, steps):
    """Full-batch gradient descent from W = 0, b = 0 for `steps` steps of size `lr`.
    X: (N, d), y: (N,) labels in [0, C) with C = max(y) + 1 -> (W (d, C), b (C,))."""
    X = np.asarray(X, dtype=np.float64)
    C = int(np.max(y)) + 1
    W, b = np.zeros((X.shape[1], C)), np.zeros(C)
    for _ in range(steps):
        P = softmax(X @ W + b)
        W, b = W - lr * grad_W(X, P, y), b - lr * grad_b(P, y)
    return W, b
