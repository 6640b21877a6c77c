"""Neural network for optical character recognition: one sigmoid hidden layer, softmax output.

Run as a program:

    python neuralnet.py <train_input> <validation_input> <train_out> <validation_out> \
        <metrics_out> <num_epoch> <hidden_units> <init_flag> <learning_rate>

Conventions: one example at a time, as 1-D vectors. x is (M,) without the bias feature;
a Linear layer's weights w are (output_size, input_size + 1) with column 0 the bias.
K = 10 classes; labels 0..9 stand for the letters a e g i l n o r t u.

Corpus variant: other valid designs (einsum, dict caches, in-place arguments, tanh sigmoid,\nbackward using the cached y_hat, arrays instead of lists).
"""
import argparse

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
    """ZERO initialization."""
    return np.zeros(shape)


def random_init(shape):
    """RANDOM initialization, seeded with M * D."""
    M, D = shape
    np.random.seed(M * D)
    return np.random.uniform(-0.1, 0.1, size=(M, D))


class SoftMaxCrossEntropy:
    """Log-sum-exp softmax; both methods work in place on their (copied) arguments."""

    def _softmax(self, z):
        z = np.asarray(z, dtype=float)
        z -= z.max()
        np.exp(z, out=z)
        z /= z.sum()
        return z

    def _cross_entropy(self, y, y_hat):
        return float(-np.log(y_hat[y]))

    def forward(self, z, y):
        y_hat = self._softmax(z)
        return y_hat, self._cross_entropy(y, y_hat)

    def backward(self, y, y_hat):
        y_hat = np.asarray(y_hat, dtype=float)
        y_hat[y] -= 1.0
        return y_hat


class Sigmoid:
    """sigmoid(x) = (1 + tanh(x / 2)) / 2; caches its output in a dict."""

    def __init__(self):
        self.cache = {}

    def forward(self, x):
        out = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
        self.cache["out"] = out
        return out

    def backward(self, dz):
        s = self.cache["out"]
        return dz * s * (1.0 - s)


class Linear:
    """Bias kept in column 0, applied separately; einsum products; step rebinds w."""

    def __init__(self, input_size, output_size, weight_init_fn, learning_rate):
        self.w = weight_init_fn((output_size, input_size + 1))
        self.w[:, 0] = 0.0
        self.dw = np.zeros_like(self.w)
        self.lr = learning_rate
        self.cache = {}

    def forward(self, x):
        x = np.asarray(x, dtype=float)
        self.cache["x"] = x
        return self.w[:, 0] + np.einsum("ij,j->i", self.w[:, 1:], x)

    def backward(self, dz):
        dz = np.asarray(dz, dtype=float)
        self.dw = np.concatenate([dz[:, None], np.einsum("i,j->ij", dz, self.cache["x"])], axis=1)
        return np.einsum("ij,i->j", self.w[:, 1:], dz)

    def step(self):
        self.w = self.w - self.lr * self.dw


class NN:
    """Keeps its modules in a list too; backward uses the y_hat cached by forward."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_fn, learning_rate):
        self.weight_init_fn = weight_init_fn
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.linear1 = Linear(input_size, hidden_size, weight_init_fn, learning_rate)
        self.sig = Sigmoid()
        self.linear2 = Linear(hidden_size, output_size, weight_init_fn, learning_rate)
        self.loss = SoftMaxCrossEntropy()
        self.y_hat = None

    def forward(self, x, y):
        h = self.sig.forward(self.linear1.forward(x))
        self.y_hat, loss = self.loss.forward(self.linear2.forward(h), y)
        return self.y_hat, loss

    def backward(self, y, y_hat):
        # y_hat is the one forward just returned: the cached copy is the same values.
        g = self.loss.backward(y, self.y_hat)
        self.linear1.backward(self.sig.backward(self.linear2.backward(g)))

    def step(self):
        for layer in (self.linear1, self.linear2):
            layer.step()

    def compute_loss(self, X, y):
        return sum(self.forward(X[i], y[i])[1] for i in range(len(y))) / len(y)

    def train(self, X_tr, y_tr, X_test, y_test, n_epochs):
        history = np.zeros((2, n_epochs))
        for epoch in range(n_epochs):
            X_s, y_s = shuffle(X_tr, y_tr, epoch)
            for x, y in zip(X_s, y_s):
                y_hat, _ = self.forward(x, y)
                self.backward(y, y_hat)
                self.step()
            history[:, epoch] = self.compute_loss(X_tr, y_tr), self.compute_loss(X_test, y_test)
        return history[0], history[1]

    def test(self, X, y):
        probs = np.array([self.forward(x, label)[0] for x, label in zip(X, y)])
        labels = probs.argmax(axis=1)
        return labels, float(np.count_nonzero(labels != y)) / len(y)


def write_outputs(labels_tr, labels_val, train_losses, val_losses, err_tr, err_val,
                  out_tr, out_val, out_metrics):
    """Labels with np.savetxt as integers; metrics with str.format."""
    np.savetxt(out_tr, np.asarray(labels_tr), fmt="%d")
    np.savetxt(out_val, np.asarray(labels_val), fmt="%d")
    lines = []
    for i in range(len(train_losses)):
        lines.append("epoch={} crossentropy(train): {}".format(i + 1, train_losses[i]))
        lines.append("epoch={} crossentropy(validation): {}".format(i + 1, val_losses[i]))
    lines.append("error(train): {}".format(err_tr))
    lines.append("error(validation): {}".format(err_val))
    with open(out_metrics, "w") as f:
        f.write("\n".join(lines) + "\n")


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
