"""Named variants of the modules-lab reference: known mistakes that need the reference's own code
path, for the grader's diagnosis (`variants:` in checks/modules-lab.yaml). Each is the reference
with one mistake planted, and is never graded against."""
import numpy as np

from reference.modules_lab import MLP, Linear, relu_backward, tanh_backward
from reference.numerics import softmax_rows


class LinearWithoutBias(Linear):
    """forward without `+ b`."""

    def forward(self, x):
        self.x = x
        return x @ self.W.T


class LinearCachingOutput(Linear):
    """forward keeps its output instead of its input for backward."""

    def forward(self, x):
        out = x @ self.W.T + self.b
        self.x = out
        return out


class LinearAccumulating(Linear):
    """backward adds to dW and db instead of overwriting them."""

    def backward(self, dout):
        dW, db = self.dW, self.db
        dx = super().backward(dout)
        self.dW, self.db = dW + self.dW, db + self.db
        return dx


def relu_backward_mask_only(x, dout):
    """the mask (x > 0) returned instead of dout times it."""
    return (np.asarray(x) > 0).astype(np.float64) + 0 * np.asarray(dout, dtype=np.float64)


def relu_backward_mask_inverted(x, dout):
    """dout where x <= 0 instead of where x > 0."""
    return np.where(np.asarray(x) <= 0, dout, 0.0)


def tanh_backward_formula_on_input(x, dout):
    """1 - x**2 (the derivative written in terms of the output, applied to the input x)."""
    return dout * (1 - np.asarray(x, dtype=np.float64) ** 2)


def tanh_backward_local_only(x, dout):
    """the local derivative 1 - tanh(x)**2 returned instead of dout times it."""
    return (1 - np.tanh(x) ** 2) + 0 * np.asarray(dout, dtype=np.float64)


def softmax_over_batch_axis(logits):
    """softmax over axis 0 (the batch) instead of over each row's classes."""
    return softmax_rows(np.asarray(logits, dtype=np.float64).T).T


def softmax_unshifted(logits):
    """softmax without the max subtracted first: exp overflows for large logits."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(logits, dtype=np.float64))
        return e / e.sum(axis=1, keepdims=True)


class MLPTanhDerivativeAtOutput(MLP):
    """backward takes tanh's derivative at the hidden output h instead of the pre-activation."""

    def backward(self, dyhat, h):
        dh = self.l2.backward(dyhat)
        if self.nonlin == "relu":
            dz1 = relu_backward(h, dh)
        else:
            dz1 = tanh_backward(h, dh)
        return self.l1.backward(dz1)
