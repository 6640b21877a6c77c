"""Named variants of the sentiment-2layer reference: known mistakes that need the reference's own
code path, for the grader's diagnosis (`variants:` in checks/sentiment-2layer.yaml). Each is the
reference with one mistake planted, and is never graded against."""
import numpy as np

from reference.sentiment_2layer import bce_forward, gradients, inference_layer, sigmoid


def gradients_derivative_at_preactivation(X, y, W1, W2, b1, b2):
    """gradients with the sigmoid's derivative h (1 - h) evaluated at the pre-activation z1."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = X.shape[1]
    z1 = W1 @ X + np.reshape(b1, (-1, 1))
    H = inference_layer(X, W1, b1)
    yhat = inference_layer(H, W2, np.reshape(b2, (1,))).reshape(-1)
    dz2 = (yhat - y) / n
    dA1 = (W2.T @ dz2[None, :]) * z1 * (1 - z1)
    return dA1 @ X.T, dz2[None, :] @ H.T, dA1.sum(axis=1), np.array([dz2.sum()]), bce_forward(yhat, y)


def gradients_no_sigmoid_derivative(X, y, W1, W2, b1, b2):
    """gradients with the hidden sigmoid's derivative left out (the upstream gradient passed through)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = X.shape[1]
    H = inference_layer(X, W1, b1)
    yhat = inference_layer(H, W2, np.reshape(b2, (1,))).reshape(-1)
    dz2 = (yhat - y) / n
    dA1 = W2.T @ dz2[None, :]
    return dA1 @ X.T, dz2[None, :] @ H.T, dA1.sum(axis=1), np.array([dz2.sum()]), bce_forward(yhat, y)


def inference_layer_without_bias(X, W, b):
    """inference_layer without `+ b`."""
    return sigmoid(W @ np.asarray(X, dtype=np.float64))


def inference_2layers_without_b2(X, W1, W2, b1, b2):
    """inference_2layers without the output layer's bias b2."""
    out = sigmoid(W2 @ inference_layer(X, W1, b1))
    return out if np.ndim(X) == 1 else out.reshape(-1)


def gradients_db1_over_batch_axis(X, y, W1, W2, b1, b2):
    """gradients with db1 summed over the hidden units (axis 0) instead of over the batch."""
    dW1, dW2, db1, db2, L = gradients(X, y, W1, W2, b1, b2)
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[1]
    H = inference_layer(X, W1, b1)
    yhat = inference_layer(H, W2, np.reshape(b2, (1,))).reshape(-1)
    dA1 = (W2.T @ ((yhat - np.asarray(y, dtype=np.float64).reshape(-1)) / n)[None, :]) * H * (1 - H)
    return dW1, dW2, dA1.sum(axis=0), db2, L
