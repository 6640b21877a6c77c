import math

import numpy as np


def softmax(Z):
    N, C = len(Z), len(Z[0])
    out = np.zeros((N, C))
    for n in range(N):
        m = max(Z[n])
        exps = [math.exp(Z[n][c] - m) for c in range(C)]
        total = sum(exps)
        for c in range(C):
            out[n, c] = exps[c] / total
    return out


def cross_entropy(P, y):
    total = 0.0
    for n in range(len(y)):
        total += -math.log(P[n][int(y[n])])
    return total / len(y)


def grad_W(X, P, y):
    N, d = len(X), len(X[0])
    C = len(P[0])
    G = np.zeros((d, C))
    for n in range(N):
        for c in range(C):
            diff = P[n][c] - (1.0 if int(y[n]) == c else 0.0)
            for j in range(d):
                G[j, c] += X[n][j] * diff / N
    return G


def grad_b(P, y):
    N, C = len(P), len(P[0])
    g = np.zeros(C)
    for n in range(N):
        for c in range(C):
            g[c] += (P[n][c] - (1.0 if int(y[n]) == c else 0.0)) / N
    return g


def train(X, y, lr, steps):
    C = max(int(v) for v in y) + 1
    W = np.zeros((len(X[0]), C))
    b = np.zeros(C)
    step = 0
    while step < steps:
        P = softmax(np.asarray(X) @ W + b)
        W = W - lr * grad_W(X, P, y)
        b = b - lr * grad_b(P, y)
        step += 1
    return W, b
