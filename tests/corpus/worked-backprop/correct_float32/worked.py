"""Problems 3, 4.3 and 7 computed in float32."""
import numpy as np

f32 = np.float32


def softmax_jacobian(x):
    x = np.asarray(x, dtype=f32).reshape(-1)
    e = np.exp(x - x.max())
    y = e / e.sum()
    return (np.diag(y) - y[:, None] * y[None, :]).astype(f32)


def elu_grad(x, alpha):
    x = np.asarray(x, dtype=f32)
    return np.where(x >= 0, f32(1.0), f32(alpha) * np.exp(np.minimum(x, f32(0.0)))).astype(f32)


def two_layer_grads(x, y_onehot, W1, b1, W2, b2):
    x, y = x.astype(f32), y_onehot.astype(f32)
    W1, b1, W2, b2 = W1.astype(f32), b1.astype(f32), W2.astype(f32), b2.astype(f32)
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, f32(0.01) * z1)
    z2 = W2 @ a1 + b2
    e = np.exp(z2 - z2.max())
    yhat = e / e.sum()
    d2 = yhat - y
    d1 = (W2.T @ d2) * np.where(z1 > 0, f32(1.0), f32(0.01))
    return {"W1": d1 @ x.T, "b1": d1, "W2": d2 @ a1.T, "b2": d2}
