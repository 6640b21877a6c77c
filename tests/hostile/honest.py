# The honest part of every hostile submission in tests/hostile/ (see manifest.yaml): a correct
# sentiment-2layer implementation whose public functions share no code, so that an attack on
# one of them leaves the others whole. A case's attack.py is appended below this file and may
# redefine public functions or run code at import.
import pickle

import numpy as np


def _sig(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _layer(X, W, b):
    if X.ndim == 1:
        return _sig(W @ X + b)
    return _sig(W @ X + b.reshape(-1, 1))


def _forward(X, W1, W2, b1, b2):
    out = _sig(W2 @ _layer(X, W1, b1) + b2)
    return out.reshape(1) if X.ndim == 1 else out.reshape(-1)


def _bce(yhat, y):
    return -np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat))


def _grads(X, y, W1, W2, b1, b2):
    N = X.shape[1]
    h = _sig(W1 @ X + b1.reshape(-1, 1))
    yhat = _sig(W2 @ h + b2).reshape(-1)
    dz2 = (yhat - y).reshape(1, -1) / N
    dz1 = (W2.T @ dz2) * h * (1 - h)
    return dz1 @ X.T, dz2 @ h.T, np.sum(dz1, axis=1), np.sum(dz2, axis=1), _bce(yhat, y)


def _update(X, y, W1, b1, W2, b2, lr):
    dW1, dW2, db1, db2, _ = _grads(X, y, W1, W2, b1, b2)
    return W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2


def sigmoid(x):
    return _sig(x)


def inference_layer(X, W, b):
    return _layer(X, W, b)


def inference_2layers(X, W1, W2, b1, b2):
    return _forward(X, W1, W2, b1, b2)


def bce_forward(yhat, y):
    return _bce(yhat, y)


def gradients(X, y, W1, W2, b1, b2):
    return _grads(X, y, W1, W2, b1, b2)


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    return _update(batchx, batchy, W1, b1, W2, b2, lr)


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    from utils import extract_features
    with open(filename, "rb") as f:
        data = pickle.load(f)
    X = np.vstack([extract_features(t, data["freqs"]) for t in data["train_x"]]).T
    y = np.asarray(data["train_y"]).reshape(-1)
    rng = np.random.default_rng(1)
    W1 = rng.normal(0, 0.1, (hidden_layer_size, X.shape[0]))
    b1 = np.zeros(hidden_layer_size)
    W2 = rng.normal(0, 0.1, (1, hidden_layer_size))
    b2 = np.zeros(1)
    for _ in range(int(iters)):
        W1, b1, W2, b2 = _update(X, y, W1, b1, W2, b2, lr)
    return W1, b1, W2, b2
