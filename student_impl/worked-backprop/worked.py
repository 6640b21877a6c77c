"""Problems 3, 4.3 and 7 as code: the derivations you wrote, turned into functions.

Only numpy may be used. Replace every `raise NotImplementedError` with your code.
"""
import numpy as np


def softmax_jacobian(x):
    """Problem 3: Jacobian of y = softmax(x).

    Args:
        x: (n,) input vector.

    Returns:
        (n, n) array J with J[i, j] = dy_i / dx_j.
    """
    raise NotImplementedError("softmax_jacobian")


def elu_grad(x, alpha):
    """Problem 4.3: derivative of ELU(x) = x for x >= 0, alpha (e^x - 1) for x < 0.

    Args:
        x: array of any shape.
        alpha: scalar.

    Returns:
        dELU/dx elementwise, x's shape (at x == 0 either side's value is accepted).
    """
    raise NotImplementedError("elu_grad")


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    """Problem 7: gradients of L = -sum(y * log(softmax(z2))) for one example, where
    z1 = W1 x + b1, a1 = LeakyReLU(z1, alpha=0.01), z2 = W2 a1 + b2.

    Args:
        x: (D_x, 1) input column.
        y_onehot: (K, 1) one-hot label.
        W1: (D_a, D_x). b1: (D_a, 1). W2: (K, D_a). b2: (K, 1).

    Returns:
        dict {"W1": (D_a, D_x), "b1": (D_a, 1), "W2": (K, D_a), "b2": (K, 1)} of dL/d(parameter).
    """
    raise NotImplementedError("two_layer_grads")
