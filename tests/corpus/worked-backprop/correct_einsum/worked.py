"""Problems 3, 4.3 and 7 with einsum and a log-sum-exp softmax."""
import numpy as np


def _softmax(z):
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    lse = np.max(z) + np.log(np.sum(np.exp(z - np.max(z))))
    return np.exp(z - lse)


def softmax_jacobian(x):
    y = _softmax(x)
    eye = np.eye(y.size)
    return np.einsum("i,ij->ij", y, eye) - np.einsum("i,j->ij", y, y)


def elu_grad(x, alpha):
    x = np.asarray(x, dtype=np.float64)
    pos = (x >= 0).astype(np.float64)
    return pos + (1.0 - pos) * alpha * np.exp(np.minimum(x, 0.0))


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    z1 = np.einsum("ij,jk->ik", W1, x) + b1
    slope = np.where(z1 > 0, 1.0, 0.01)
    a1 = slope * z1
    z2 = np.einsum("ki,il->kl", W2, a1) + b2
    delta0 = _softmax(z2).reshape(-1, 1) - y_onehot
    delta1 = np.einsum("ki,kl->il", W2, delta0) * slope
    return {"W1": np.einsum("il,jl->ij", delta1, x), "b1": delta1,
            "W2": np.einsum("kl,il->ki", delta0, a1), "b2": delta0}
