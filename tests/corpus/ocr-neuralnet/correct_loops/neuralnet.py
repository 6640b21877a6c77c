"""Neural network for optical character recognition: one sigmoid hidden layer, softmax output.

Run as a program:

    python neuralnet.py <train_input> <validation_input> <train_out> <validation_out> \
        <metrics_out> <num_epoch> <hidden_units> <init_flag> <learning_rate>

Conventions: one example at a time, as 1-D vectors. x is (M,) without the bias feature;
a Linear layer's weights w are (output_size, input_size + 1) with column 0 the bias.
K = 10 classes; labels 0..9 stand for the letters a e g i l n o r t u.

Corpus variant: loops everywhere (math.exp, Python lists), labels returned as a list.
"""
import argparse
import math

import numpy as np


def build_parser():
    """The program's nine positional arguments."""
    parser = argparse.ArgumentParser()
    parser.add_argument("train_input", type=str, help="path to training input .csv file")
    parser.add_argument("validation_input", type=str, help="path to validation input .csv file")
    parser.add_argument("train_out", type=str, help="path to store prediction on training data")
    parser.add_argument("validation_out", type=str, help="path to store prediction on validation data")
    parser.add_argument("metrics_out", type=str, help="path to store training and testing metrics")
    parser.add_argument("num_epoch", type=int, help="number of training epochs")
    parser.add_argument("hidden_units", type=int, help="number of hidden units")
    # metavar: without it the help shows "{1,2}" in place of the argument's name.
    parser.add_argument("init_flag", type=int, choices=[1, 2], metavar="init_flag",
                        help="weight initialization: 1 = RANDOM, 2 = ZERO")
    parser.add_argument("learning_rate", type=float, help="learning rate")
    return parser


def args2data(args):
    """Load both CSV files named by the parsed arguments (label in column 0).

    Returns:
        (X_tr (N_tr, M), y_tr (N_tr,) int, X_val (N_val, M), y_val (N_val,) int,
         train_out, validation_out, metrics_out (paths),
         num_epoch, hidden_units, init_flag (ints), learning_rate (float)).
        X has no label column and no bias column.
    """
    # ndmin=2 keeps a one-row file a (1, 129) matrix rather than a vector.
    train = np.loadtxt(args.train_input, delimiter=",", ndmin=2)
    valid = np.loadtxt(args.validation_input, delimiter=",", ndmin=2)
    return (train[:, 1:], train[:, 0].astype(int), valid[:, 1:], valid[:, 0].astype(int),
            args.train_out, args.validation_out, args.metrics_out,
            args.num_epoch, args.hidden_units, args.init_flag, args.learning_rate)


def shuffle(X, y, epoch):
    """Permute the examples, seeded by the epoch so every run shuffles the same way.

    Args:
        X: (N, M) examples.
        y: (N,) labels.
        epoch: the 0-indexed epoch, used as the seed.

    Returns:
        (X[p], y[p]) for one permutation p of range(N).
    """
    np.random.seed(epoch)
    N = len(y)
    ordering = np.random.permutation(N)
    return X[ordering], y[ordering]


def zero_init(shape):
    """ZERO initialization: a list-built array of zeros, shape (M, D)."""
    M, D = shape
    return np.array([[0.0 for _ in range(D)] for _ in range(M)])


def random_init(shape):
    """RANDOM initialization. shape: (M, D) -> (M, D) drawn U(-0.1, 0.1) with np.random.uniform."""
    M, D = shape
    np.random.seed(M * D)
    return np.random.uniform(low=-0.1, high=0.1, size=shape)


class SoftMaxCrossEntropy:
    """Loops over the classes."""

    def _softmax(self, z):
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        total = sum(exps)
        return np.array([e / total for e in exps])

    def _cross_entropy(self, y, y_hat):
        return -math.log(y_hat[int(y)])

    def forward(self, z, y):
        y_hat = self._softmax(z)
        return y_hat, self._cross_entropy(y, y_hat)

    def backward(self, y, y_hat):
        return np.array([p - (1.0 if k == y else 0.0) for k, p in enumerate(y_hat)])


class Sigmoid:
    """Loops over the units; caches the output."""

    def __init__(self):
        self.z = None

    def forward(self, x):
        out = []
        for v in x:
            if v >= 0:
                out.append(1.0 / (1.0 + math.exp(-v)))
            else:
                e = math.exp(v)
                out.append(e / (1.0 + e))
        self.z = np.array(out)
        return self.z

    def backward(self, dz):
        return np.array([g * s * (1.0 - s) for g, s in zip(dz, self.z)])


class Linear:
    """Loops over rows and columns; keeps the input without the bias feature."""

    def __init__(self, input_size, output_size, weight_init_fn, learning_rate):
        self.w = weight_init_fn((output_size, input_size + 1))
        self.w[:, 0] = 0.0
        self.dw = np.zeros_like(self.w)
        self.lr = learning_rate
        self.x = None

    def forward(self, x):
        self.x = [float(v) for v in x]
        rows, cols = self.w.shape
        out = np.zeros(rows)
        for i in range(rows):
            total = self.w[i, 0]
            for j in range(1, cols):
                total += self.w[i, j] * self.x[j - 1]
            out[i] = total
        return out

    def backward(self, dz):
        rows, cols = self.w.shape
        dw = np.zeros((rows, cols))
        dx = np.zeros(cols - 1)
        for i in range(rows):
            dw[i, 0] = dz[i]
            for j in range(1, cols):
                dw[i, j] = dz[i] * self.x[j - 1]
                dx[j - 1] += self.w[i, j] * dz[i]
        self.dw = dw
        return dx

    def step(self):
        rows, cols = self.w.shape
        for i in range(rows):
            for j in range(cols):
                self.w[i, j] -= self.lr * self.dw[i, j]


class NN:
    """Same wiring, its pieces written with loops."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_fn, learning_rate):
        self.weight_init_fn = weight_init_fn
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.linear1 = Linear(input_size, hidden_size, weight_init_fn, learning_rate)
        self.sigmoid = Sigmoid()
        self.linear2 = Linear(hidden_size, output_size, weight_init_fn, learning_rate)
        self.softmax = SoftMaxCrossEntropy()

    def forward(self, x, y):
        return self.softmax.forward(self.linear2.forward(self.sigmoid.forward(self.linear1.forward(x))), y)

    def backward(self, y, y_hat):
        g = self.softmax.backward(y, y_hat)
        g = self.linear2.backward(g)
        g = self.sigmoid.backward(g)
        self.linear1.backward(g)

    def step(self):
        self.linear1.step()
        self.linear2.step()

    def compute_loss(self, X, y):
        total = 0.0
        for i in range(len(y)):
            total += self.forward(X[i], y[i])[1]
        return total / len(y)

    def train(self, X_tr, y_tr, X_test, y_test, n_epochs):
        train_losses, test_losses = [], []
        for epoch in range(n_epochs):
            X_s, y_s = shuffle(X_tr, y_tr, epoch)
            for i in range(len(y_s)):
                y_hat, _ = self.forward(X_s[i], y_s[i])
                self.backward(y_s[i], y_hat)
                self.step()
            train_losses.append(self.compute_loss(X_tr, y_tr))
            test_losses.append(self.compute_loss(X_test, y_test))
        return train_losses, test_losses

    def test(self, X, y):
        labels, wrong = [], 0
        for i in range(len(y)):
            y_hat, _ = self.forward(X[i], y[i])
            best = 0
            for k in range(1, len(y_hat)):
                if y_hat[k] > y_hat[best]:
                    best = k
            labels.append(best)
            wrong += best != y[i]
        return labels, wrong / len(y)


def write_outputs(labels_tr, labels_val, train_losses, val_losses, err_tr, err_val,
                  out_tr, out_val, out_metrics):
    """Write both labels files (one integer label per line) and the metrics file."""
    for path, labels in ((out_tr, labels_tr), (out_val, labels_val)):
        with open(path, "w") as f:
            # int(): a label written as "6.0" is not the label 6.
            f.write("".join(f"{int(label)}\n" for label in labels))
    with open(out_metrics, "w") as f:
        for i, (tr, va) in enumerate(zip(train_losses, val_losses), start=1):
            f.write(f"epoch={i} crossentropy(train): {tr}\n")
            f.write(f"epoch={i} crossentropy(validation): {va}\n")
        f.write(f"error(train): {err_tr}\n")
        f.write(f"error(validation): {err_val}\n")


def main(argv=None):
    """Train on the training CSV, then write the predicted labels and the metrics.

    argv: the nine arguments as strings (None: the command line).
    """
    args = build_parser().parse_args(argv)
    (X_tr, y_tr, X_val, y_val, out_tr, out_val, out_metrics,
     n_epochs, n_hid, init_flag, lr) = args2data(args)

    letters = ["a", "e", "g", "i", "l", "n", "o", "r", "t", "u"]
    nn = NN(input_size=X_tr.shape[-1], hidden_size=n_hid, output_size=len(letters),
            weight_init_fn=zero_init if init_flag == 2 else random_init, learning_rate=lr)

    train_losses, val_losses = nn.train(X_tr, y_tr, X_val, y_val, n_epochs)
    labels_tr, err_tr = nn.test(X_tr, y_tr)
    labels_val, err_val = nn.test(X_val, y_val)
    write_outputs(labels_tr, labels_val, train_losses, val_losses, err_tr, err_val,
                  out_tr, out_val, out_metrics)


if __name__ == "__main__":
    main()
