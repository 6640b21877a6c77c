"""Named variants of the ocr-neuralnet reference: known mistakes that need the reference's own code
path, for the grader's diagnosis (`variants:` in checks/ocr-neuralnet.yaml). Each is the reference
with one mistake planted, and is never graded against."""
import numpy as np

from reference.ocr_neuralnet import NN, Linear, Sigmoid


class SigmoidDerivativeAtInput(Sigmoid):
    """backward takes s (1 - s) at the cached input x instead of the output s."""

    def forward(self, x):
        out = super().forward(x)
        self.z = np.asarray(x, dtype=np.float64)
        return out


class LinearWithoutBias(Linear):
    """forward without the bias column's term."""

    def forward(self, x):
        self.x = np.insert(np.asarray(x, dtype=np.float64), 0, 1.0)
        return self.w[:, 1:] @ self.x[1:]


class LinearDxWithBiasEntry(Linear):
    """backward returns w.T @ dz, the bias column's entry left in dx."""

    def backward(self, dz):
        super().backward(dz)
        return self.w.T @ dz


class LinearAccumulating(Linear):
    """backward adds to dw instead of overwriting it."""

    def backward(self, dz):
        dw = self.dw
        dx = super().backward(dz)
        self.dw = dw + self.dw
        return dx


class LinearStepAscends(Linear):
    """step takes w + lr * dw."""

    def step(self):
        self.w += self.lr * self.dw


class NNWithoutSigmoidDerivative(NN):
    """backward passes linear2's dx straight to linear1 (the sigmoid's derivative left out)."""

    def backward(self, y, y_hat):
        gb = self.softmax.backward(y, y_hat)
        self.linear1.backward(self.linear2.backward(gb))
