"""Loops everywhere, math module, in-place updates of the arguments."""
import math
import pickle
import numpy as np


def _sig(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        out[idx] = _sig(x[idx])
    return out


def inference_layer(X, W, b):
    single = X.ndim == 1
    X2 = X.reshape(-1, 1) if single else X
    l, d = W.shape
    out = np.zeros((l, X2.shape[1]))
    for n in range(X2.shape[1]):
        for i in range(l):
            s = b[i]
            for j in range(d):
                s += W[i, j] * X2[j, n]
            out[i, n] = _sig(s)
    return out[:, 0] if single else out


def inference_2layers(X, W1, W2, b1, b2):
    h = inference_layer(X, W1, b1)
    b2v = np.array([float(np.asarray(b2).reshape(-1)[0])])
    return inference_layer(h, W2, b2v).reshape(-1)


def bce_forward(yhat, y):
    total = 0.0
    for p, t in zip(yhat, y):
        total += t * math.log(p) + (1 - t) * math.log(1 - p)
    return -total / len(y)


def gradients(X, y, W1, W2, b1, b2):
    d, N = X.shape
    H = W1.shape[0]
    dW1 = np.zeros_like(W1); dW2 = np.zeros_like(W2); db1 = np.zeros(H); db2 = 0.0
    preds = []
    for n in range(N):
        x = X[:, n]
        h = inference_layer(x, W1, b1)
        p = _sig(float(W2[0] @ h) + float(np.asarray(b2).reshape(-1)[0]))
        preds.append(p)
        g = (p - y[n]) / N
        for k in range(H):
            dW2[0, k] += g * h[k]
            gh = g * W2[0, k] * h[k] * (1 - h[k])
            db1[k] += gh
            for j in range(d):
                dW1[k, j] += gh * x[j]
        db2 += g
    L = bce_forward(preds, y)
    return dW1, dW2, db1, db2, L


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    dW1, dW2, db1, db2, _ = gradients(batchx, batchy, W1, W2, b1, b2)
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2
    return W1, b1, W2, b2


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    from utils import extract_features
    with open(filename, 'rb') as f:
        data = pickle.load(f)
    feats = [extract_features(t, data['freqs'])[0] for t in data['train_x']]
    X = np.array(feats).T
    y = np.array(data['train_y']).ravel()
    np.random.seed(3)
    W1 = np.random.randn(hidden_layer_size, 3) * 0.1
    b1 = np.zeros(hidden_layer_size)
    W2 = np.random.randn(1, hidden_layer_size) * 0.1
    b2 = np.zeros(1)
    import utils  # noqa: F401  (students import inside functions too)
    Xv = X
    for _ in range(int(iters)):
        dW1, dW2, db1, db2, _ = _fast(Xv, y, W1, W2, b1, b2)
        W1 -= lr * dW1; b1 -= lr * db1; W2 -= lr * dW2; b2 -= lr * db2
    return W1, b1, W2, b2


def _fast(X, y, W1, W2, b1, b2):
    N = X.shape[1]
    h = 1 / (1 + np.exp(-(W1 @ X + b1[:, None])))
    p = (1 / (1 + np.exp(-(W2 @ h + b2)))).ravel()
    g = (p - y) / N
    dW2 = g[None, :] @ h.T
    gh = (W2.T @ g[None, :]) * h * (1 - h)
    return gh @ X.T, dW2, gh.sum(1), np.array([g.sum()]), None
