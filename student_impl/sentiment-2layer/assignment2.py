"""Assignment 2: a two-layer sigmoid network that predicts the sentiment of a tweet.

Conventions (used by every function below):
    d  number of features per example, N number of examples, H number of hidden units.
    Examples are columns: X is (d,) for one example or (d, N) for N examples.
    W1 (H, d), b1 (H,), W2 (1, H), b2 a scalar or (1,).

Only numpy may be used. Replace every `raise NotImplementedError` with your code.
"""
import pickle

import numpy as np


def sigmoid(x):
    """Elementwise logistic function, eq. 1.2: 1 / (1 + e^-x).

    Args:
        x: array of any shape, e.g. (d,) or (d, N).

    Returns:
        array of x's shape.
    """
    raise NotImplementedError("sigmoid")


def inference_layer(X, W, b):
    """One layer, eq. 1.3: sigmoid(W X + b).

    Args:
        X: (d,) for one example or (d, N) for N examples.
        W: (l, d) weights.
        b: (l,) biases, added to every column.

    Returns:
        (l,) for X (d,); (l, N) for X (d, N).
    """
    raise NotImplementedError("inference_layer")


def inference_2layers(X, W1, W2, b1, b2):
    """The two-layer network, eq. 1.4: sigmoid(W2 sigmoid(W1 X + b1) + b2).

    Args:
        X: (d,) or (d, N).
        W1: (H, d).
        W2: (1, H).
        b1: (H,).
        b2: scalar or (1,).

    Returns:
        (1,) for X (d,); (N,) for X (d, N).
    """
    raise NotImplementedError("inference_2layers")


def bce_forward(yhat, y):
    """Mean binary cross-entropy, eq. 1.7.

    Args:
        yhat: (N,) predicted probabilities in (0, 1).
        y: (N,) labels in {0, 1}.

    Returns:
        the loss, a scalar.
    """
    raise NotImplementedError("bce_forward")


def gradients(X, y, W1, W2, b1, b2):
    """Gradients of the mean BCE of inference_2layers(X, W1, W2, b1, b2) w.r.t. every parameter.

    Note the argument order (X, y, W1, W2, b1, b2): it differs from update_params.

    Args:
        X: (d, N) inputs.
        y: (N,) labels in {0, 1}.
        W1: (H, d). W2: (1, H). b1: (H,). b2: scalar or (1,).

    Returns:
        (dW1, dW2, db1, db2, L): dW1 (H, d), dW2 (1, H), db1 (H,), db2 scalar or (1,),
        and L the mean BCE loss (a scalar).
    """
    raise NotImplementedError("gradients")


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    """One gradient-descent step of size lr on the batch's mean BCE, eq. 4.1.

    Note the argument order (W1, b1, W2, b2): it differs from gradients.

    Args:
        batchx: (d, N) mini-batch of features.
        batchy: (N,) its labels in {0, 1}.
        W1: (H, d). b1: (H,). W2: (1, H). b2: scalar or (1,).
        lr: learning rate.

    Returns:
        (W1, b1, W2, b2) after the step, each of its input's shape.
    """
    raise NotImplementedError("update_params")


def train_nn(filename, hidden_layer_size, iters=1e6, lr=0.01):
    """Read the tweets, extract their features, initialise the parameters and train them.

    Args:
        filename: path to twitter_data.pkl, a dict with train_x, test_x (lists of tweets),
            train_y, test_y (their labels) and freqs ({(word, label): count}).
        hidden_layer_size: H.
        iters: number of gradient-descent steps.
        lr: learning rate.

    Returns:
        (W1 (H, 3), b1 (H,), W2 (1, H), b2 (1,)): the trained parameters. Each tweet has 3
        features: [1, sum of positive counts, sum of negative counts].
    """
    # Imported here, not at the top, so that this file imports (and its other functions can be
    # tested) without the course's utils.py beside it.
    from utils import extract_features

    with open(filename, "rb") as f:
        data = pickle.load(f)

    train_x = data["train_x"]
    train_y = data["train_y"]
    test_x = data["test_x"]
    test_y = data["test_y"]
    freqs = data["freqs"]

    # extract_features(tweet, freqs) returns one tweet's features as a (1, 3) row; the
    # functions above take examples as columns, so stack them into X of shape (3, N).
    raise NotImplementedError("train_nn: build X (3, N) and y (N,), initialise W1, b1, W2, b2, "
                              "then call update_params iters times")
