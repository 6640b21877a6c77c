"""Reference for `sentiment-2layer` (handout 000): a two-layer sigmoid network trained with mean BCE.

Conventions: examples are columns. X (d,) or (d, N); W1 (H, d); b1 (H,); W2 (1, H); b2 scalar or (1,).
"""
import os
import pickle

import numpy as np

from reference.numerics import stable_sigmoid


def sigmoid(x):
    """x: any shape -> 1 / (1 + e^-x), same shape."""
    return stable_sigmoid(x)


def inference_layer(X, W, b):
    """X (d,) or (d, N); W (l, d); b (l,) -> sigmoid(W X + b): (l,) or (l, N)."""
    X = np.asarray(X, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    Z = W @ X + (b if X.ndim == 1 else b[:, None])
    return sigmoid(Z)


def inference_2layers(X, W1, W2, b1, b2):
    """X (d,) -> (1,); X (d, N) -> (N,)."""
    h = inference_layer(X, W1, b1)
    out = inference_layer(h, W2, np.reshape(b2, (1,)))
    return out if np.ndim(X) == 1 else out.reshape(-1)


def bce_forward(yhat, y):
    """yhat (N,), y (N,) in {0, 1} -> mean binary cross-entropy (eq. 1.7), a float."""
    yhat = np.asarray(yhat, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)))


def gradients(X, y, W1, W2, b1, b2):
    """X (d, N); y (N,) -> (dW1 (H, d), dW2 (1, H), db1 (H,), db2 (1,), L) of the mean BCE."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = X.shape[1]
    H = inference_layer(X, W1, b1)                      # (H, N)
    yhat = inference_layer(H, W2, np.reshape(b2, (1,))).reshape(-1)   # (N,)
    L = bce_forward(yhat, y)
    dz2 = (yhat - y) / n                                # dL/d(pre-activation of output), (N,)
    dW2 = dz2[None, :] @ H.T                            # (1, H)
    db2 = np.array([dz2.sum()])                         # (1,)
    dA1 = (W2.T @ dz2[None, :]) * H * (1 - H)           # (H, N)
    dW1 = dA1 @ X.T                                     # (H, d)
    db1 = dA1.sum(axis=1)                               # (H,)
    return dW1, dW2, db1, db2, L


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    """One gradient-descent step of size lr on the batch's mean BCE -> (W1, b1, W2, b2), new arrays."""
    dW1, dW2, db1, db2, _ = gradients(batchx, batchy, W1, W2, b1, b2)
    b2_new = np.asarray(b2, dtype=np.float64) - lr * np.reshape(db2, np.shape(b2))
    return W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2_new


def _support_utils(filename):
    """The course's utils.py handed out beside the data file (as the handout's train_nn imports it)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(filename)), "utils.py")
    spec = importlib.util.spec_from_file_location("sentiment_support_utils", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def features_matrix(filename, tweets, freqs):
    """tweets: list of N strings -> (3, N) feature columns, with the handed-out extract_features."""
    extract = _support_utils(filename).extract_features
    return np.vstack([extract(t, freqs) for t in tweets]).T


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    """Full-batch gradient descent on the pickle's training part -> (W1, b1, W2, b2)."""
    with open(filename, "rb") as f:
        data = pickle.load(f)
    X = features_matrix(filename, data["train_x"], data["freqs"])
    y = np.asarray(data["train_y"], dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(0)
    W1 = rng.normal(0.0, 0.1, (hidden_layer_size, X.shape[0]))
    b1 = np.zeros(hidden_layer_size)
    W2 = rng.normal(0.0, 0.1, (1, hidden_layer_size))
    b2 = np.zeros(1)
    for _ in range(int(iters)):
        W1, b1, W2, b2 = update_params(X, y, W1, b1, W2, b2, lr)
    return W1, b1, W2, b2


def test_accuracy(filename, W1, b1, W2, b2):
    """Accuracy of (W1, b1, W2, b2) on the pickle's held-back test part (threshold 0.5)."""
    with open(filename, "rb") as f:
        data = pickle.load(f)
    X = features_matrix(filename, data["test_x"], data["freqs"])
    y = np.asarray(data["test_y"], dtype=np.float64).reshape(-1)
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64).reshape(1, -1)
    yhat = inference_2layers(X, W1, W2, np.asarray(b1, dtype=np.float64).reshape(-1), np.reshape(b2, (1,)))
    return float(np.mean((yhat > 0.5) == (y > 0.5)))
