import numpy as np


def softmax(Z):
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


def cross_entropy(P, y):
    N = P.shape[0]
    return -np.mean(np.log(P[np.arange(N), y]))


def grad_W(X, P, y):
    N, C = P.shape
    Y = np.zeros((N, C))
    Y[np.arange(N), y] = 1.0
    return X.T @ (P - Y)


def grad_b(P, y):
    N, C = P.shape
    Y = np.zeros((N, C))
    Y[np.arange(N), y] = 1.0
    return np.sum(P - Y, axis=0) / N


def train(X, y, lr, steps):
    C = int(np.max(y)) + 1
    W = np.zeros((X.shape[1], C))
    b = np.zeros(C)
    for _ in range(steps):
        P = softmax(X @ W + b)
        dW = grad_W(X, P, y)
        db = grad_b(P, y)
        W = W - lr * dW
        b = b - lr * db
    return W, b
