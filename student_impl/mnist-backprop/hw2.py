"""A neural network in NumPy, trained with mini-batch SGD: forward pass with per-layer caches,
backward pass, and a finite-difference checker.

Conventions: examples are rows. A mini-batch x is (n, d_in); layer l has weights W (d_in, d_out)
and a bias row b (1, d_out); its output is activation_fn(x @ W + b), (n, d_out).

Only numpy may be used. Replace every `raise NotImplementedError` with your code.
"""
import numpy as np


def sigmoid_activation(s):
    """Elementwise sigmoid and its derivative, numerically stable.

    Args:
        s: array of any shape; must give finite values and no overflow warning for
            entries anywhere in [-1000, 1000].

    Returns:
        (out, grad), both s's shape: out = sigmoid(s) clipped to [1e-15, 1 - 1e-15],
        grad = d out / d s = out * (1 - out).
    """
    raise NotImplementedError("sigmoid_activation")


def logistic_loss(g, y):
    """Per-example negative log-likelihood of binary labels and its derivative.

    Args:
        g: (n, 1) predicted probabilities.
        y: (n,) or (n, 1) labels in {0, 1}.

    Returns:
        (loss, dL_dg), both (n, 1): loss[i] = -(y log g + (1 - y) log(1 - g)) for example i,
        dL_dg[i] = d loss[i] / d g[i] (per example, not divided by n).
    """
    raise NotImplementedError("logistic_loss")


def relu_activation(s):
    """Elementwise ReLU and its derivative.

    Args:
        s: (n, d).

    Returns:
        (out, grad), both (n, d): out = max(0, s); grad = 1 where s > 0, 0 where s < 0.
    """
    raise NotImplementedError("relu_activation")


def layer_forward(x, W, b, activation_fn):
    """One layer's forward pass.

    Args:
        x: (n, d_in) the previous layer's output for the mini-batch.
        W: (d_in, d_out).
        b: (1, d_out).
        activation_fn: relu_activation or sigmoid_activation, returning (out, grad).

    Returns:
        (out, cache): out (n, d_out) = activation_fn(x @ W + b)[0]; cache holds whatever
        backward_pass needs for this layer (your choice of contents).
    """
    raise NotImplementedError("layer_forward")


def create_weight_matrices(layer_dims):
    """layer_dims: list of L + 1 ints, e.g. [784, 200, 1].

    Returns a list of L arrays, the i-th (layer_dims[i], layer_dims[i + 1]) with entries drawn
    from N(0, 0.01^2).
    """
    raise NotImplementedError("create_weight_matrices")


def create_bias_vectors(layer_dims):
    """layer_dims: list of L + 1 ints.

    Returns a list of L arrays, the i-th (1, layer_dims[i + 1]).
    """
    raise NotImplementedError("create_bias_vectors")


def forward_pass(X_batch, weight_matrices, biases, activations):
    """Forward pass of the whole network.

    Args:
        X_batch: (n, d_0) mini-batch.
        weight_matrices: list of L arrays, the i-th (d_i, d_{i+1}).
        biases: list of L arrays, the i-th (1, d_{i+1}).
        activations: list of L activation functions, e.g. [relu_activation, sigmoid_activation].

    Returns:
        (output, layer_caches): output (n, d_L); layer_caches a list of L caches from layer_forward.
    """
    raise NotImplementedError("forward_pass")


def backward_pass(dL_dg, layer_caches):
    """Backpropagation through every layer.

    Args:
        dL_dg: (n, d_L) derivative of each example's loss w.r.t. the network output
            (e.g. logistic_loss(...)[1]).
        layer_caches: the list returned by forward_pass.

    Returns:
        (grad_Ws, grad_bs): lists shaped like weight_matrices and biases, the gradients of the
        MEAN over the mini-batch of the per-example loss.
    """
    raise NotImplementedError("backward_pass")


def finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    """Central-difference gradients, (f(p + eps) - f(p - eps)) / (2 eps) with eps = 1e-5, of
    f = logistic_loss(forward_pass(...)[0], y_batch)[0].mean() w.r.t. every weight and bias entry.

    Args:
        X_batch: (n, d_0). y_batch: (n,) labels in {0, 1}.
        weight_matrices, biases, activations: as for forward_pass.

    Returns:
        (grad_Ws, grad_bs), lists shaped like weight_matrices and biases. The passed arrays
        must hold their original values again on return.
    """
    raise NotImplementedError("finite_difference_checker")
