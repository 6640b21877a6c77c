"""Problems 3, 4.3 and 7 written with explicit loops, as derived on paper."""
import math

import numpy as np


def softmax_jacobian(x):
    xs = [float(v) for v in np.ravel(x)]
    n = len(xs)
    m = max(xs)
    e = [math.exp(v - m) for v in xs]
    total = sum(e)
    y = [v / total for v in e]
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                J[i, j] = y[i] * (1 - y[i])
            else:
                J[i, j] = -y[i] * y[j]
    return J


def elu_grad(x, alpha):
    x = np.asarray(x, dtype=float)
    out = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        out[idx] = 1.0 if x[idx] >= 0 else alpha * math.exp(x[idx])
    return out


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    D_a, D_x = W1.shape
    K = W2.shape[0]
    z1 = [sum(W1[i, j] * x[j, 0] for j in range(D_x)) + b1[i, 0] for i in range(D_a)]
    a1 = [z if z > 0 else 0.01 * z for z in z1]
    z2 = [sum(W2[k, i] * a1[i] for i in range(D_a)) + b2[k, 0] for k in range(K)]
    m = max(z2)
    e = [math.exp(z - m) for z in z2]
    yhat = [v / sum(e) for v in e]
    dz2 = [yhat[k] - y_onehot[k, 0] for k in range(K)]
    dW2 = np.zeros((K, D_a))
    db2 = np.zeros((K, 1))
    for k in range(K):
        db2[k, 0] = dz2[k]
        for i in range(D_a):
            dW2[k, i] = dz2[k] * a1[i]
    dW1 = np.zeros((D_a, D_x))
    db1 = np.zeros((D_a, 1))
    for i in range(D_a):
        da = sum(W2[k, i] * dz2[k] for k in range(K))
        dz = da * (1.0 if z1[i] > 0 else 0.01)
        db1[i, 0] = dz
        for j in range(D_x):
            dW1[i, j] = dz * x[j, 0]
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
