import pickle
import numpy as np


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def inference_layer(X, W, b):
    if X.ndim == 1:
        return sigmoid(W @ X + b)
    return sigmoid(W @ X + b.reshape(-1, 1))


def inference_2layers(X, W1, W2, b1, b2):
    h = inference_layer(X, W1, b1)
    out = sigmoid(W2 @ h + b2)
    if X.ndim == 1:
        return out.reshape(1)
    return out.reshape(-1)


def bce_forward(yhat, y):
    return -np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat))


def gradients(X, y, W1, W2, b1, b2):
    N = X.shape[1]
    z1 = W1 @ X + b1.reshape(-1, 1)
    h = sigmoid(z1)
    yhat = sigmoid(W2 @ h + b2).reshape(-1)
    L = bce_forward(yhat, y)
    dz2 = (yhat - y).reshape(1, -1) / N
    dW2 = dz2 @ h.T
    db2 = np.sum(dz2, axis=1)
    dh = W2.T @ dz2
    dz1 = dh * h * (1 - h)
    dW1 = dz1 @ X.T
    db1 = np.sum(dz1, axis=1)
    return dW1, dW2, db1, db2, L


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    dW1, dW2, db1, db2, _ = gradients(batchx, batchy, W1, W2, b1, b2)
    W1 = W1 - lr * dW1
    b1 = b1 - lr * db1
    W2 = W2 - lr * dW2
    b2 = b2 - lr * db2
    return W1, b1, W2, b2


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    from utils import extract_features
    with open(filename, 'rb') as f:
        data = pickle.load(f)
    X = np.vstack([extract_features(t, data['freqs']) for t in data['train_x']]).T
    y = np.asarray(data['train_y']).reshape(-1)
    rng = np.random.default_rng(1)
    W1 = rng.normal(0, 0.1, (hidden_layer_size, X.shape[0]))
    b1 = np.zeros(hidden_layer_size)
    W2 = rng.normal(0, 0.1, (1, hidden_layer_size))
    b2 = np.zeros(1)
    for _ in range(int(iters)):
        W1, b1, W2, b2 = update_params(X, y, W1, b1, W2, b2, lr)
    return W1, b1, W2, b2
