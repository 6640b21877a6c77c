"""Problems 3, 4.3 and 7: plain softmax (no max shift), results as Python lists, arguments
modified in place."""
import numpy as np


def softmax_jacobian(x):
    x = np.asarray(x, dtype=float)
    np.exp(x, out=x)                 # in place: x now holds e^x
    x /= x.sum()
    n = len(x)
    return [[x[i] * ((1.0 if i == j else 0.0) - x[j]) for j in range(n)] for i in range(n)]


def elu_grad(x, alpha):
    neg = x < 0
    x[neg] = alpha * np.exp(x[neg])  # in place
    x[~neg] = 1.0
    return x.tolist()


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    z1 = W1.dot(x)
    z1 += b1
    a1 = np.where(z1 > 0, z1, z1 / 100)
    z2 = W2.dot(a1) + b2
    yhat = np.exp(z2) / np.exp(z2).sum()
    yhat -= y_onehot                 # now dL/dz2
    W2 *= 1.0
    dz1 = W2.T.dot(yhat)
    dz1[z1 <= 0] *= 0.01
    return {"W1": dz1.dot(x.T).tolist(), "b1": dz1.tolist(), "W2": yhat.dot(a1.T).tolist(),
            "b2": yhat.tolist()}
