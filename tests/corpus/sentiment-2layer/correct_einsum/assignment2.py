"""einsum, naive sigmoid (warns on overflow, still correct), (1, N) outputs, scalar db2, lists."""
import pickle
import numpy as np


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def inference_layer(X, W, b):
    if X.ndim == 1:
        return sigmoid(np.einsum("ld,d->l", W, X) + b)
    return sigmoid(np.einsum("ld,dn->ln", W, X) + b[:, None])


def inference_2layers(X, W1, W2, b1, b2):
    h = inference_layer(X, W1, b1)
    out = inference_layer(h, W2, np.atleast_1d(b2))
    return out if X.ndim == 2 else out.reshape(())


def bce_forward(yhat, y):
    yhat = np.asarray(yhat).reshape(-1)
    return float(np.einsum("n->", -(y * np.log(yhat) + (1 - y) * np.log1p(-yhat))) / len(y))


def gradients(X, y, W1, W2, b1, b2):
    N = X.shape[1]
    h = inference_layer(X, W1, b1)
    yhat = inference_layer(h, W2, np.atleast_1d(b2))[0]
    delta = (yhat - y) / N
    dW2 = np.einsum("n,hn->h", delta, h)[None, :]
    dz1 = np.einsum("h,n->hn", W2[0], delta) * h * (1 - h)
    dW1 = np.einsum("hn,dn->hd", dz1, X)
    return dW1, dW2, list(dz1.sum(axis=1)), float(delta.sum()), bce_forward(yhat, y)


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    dW1, dW2, db1, db2, _ = gradients(batchx, batchy, W1, W2, b1, b2)
    return [W1 - lr * dW1, b1 - lr * np.asarray(db1), W2 - lr * dW2, float(np.asarray(b2).ravel()[0] - lr * db2)]


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    from utils import extract_features
    with open(filename, 'rb') as f:
        data = pickle.load(f)
    X = np.hstack([extract_features(t, data['freqs']).T for t in data['train_x']])
    y = np.asarray(data['train_y']).ravel()
    rng = np.random.default_rng(11)
    W1 = rng.uniform(-0.2, 0.2, (hidden_layer_size, 3)); b1 = np.zeros(hidden_layer_size)
    W2 = rng.uniform(-0.2, 0.2, (1, hidden_layer_size)); b2 = 0.0
    for _ in range(int(iters)):
        W1, b1, W2, b2 = update_params(X, y, W1, b1, W2, b2, lr)
    return W1, b1, W2, np.array([b2])
