"""Neural network for optical character recognition: one sigmoid hidden layer, softmax output.

Run as a program:

    python neuralnet.py <train_input> <validation_input> <train_out> <validation_out> \
        <metrics_out> <num_epoch> <hidden_units> <init_flag> <learning_rate>

Conventions: one example at a time, as 1-D vectors. x is (M,) without the bias feature;
a Linear layer's weights w are (output_size, input_size + 1) with column 0 the bias.
K = 10 classes; labels 0..9 stand for the letters a e g i l n o r t u.

Corpus variant: the handout's starter filled in, vectorized with NumPy.
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
    """ZERO initialization. shape: (M, D) -> zeros of shape (M, D)."""
    return np.zeros(shape=shape)


def random_init(shape):
    """RANDOM initialization. shape: (M, D) -> (M, D) drawn U(-0.1, 0.1) with np.random.uniform."""
    M, D = shape
    # The seed fixes the values a correct program must reproduce: keep this line.
    np.random.seed(M * D)
    return np.random.uniform(-0.1, 0.1, (M, D))


class SoftMaxCrossEntropy:
    """Softmax output layer with the cross-entropy loss against an integer label."""

    def _softmax(self, z):
        """z: (K,) output-layer scores -> (K,) probabilities summing to 1."""
        e = np.exp(z - np.max(z))
        return e / np.sum(e)

    def _cross_entropy(self, y, y_hat):
        """y: int label in 0..K-1; y_hat: (K,) probabilities -> the loss -log y_hat[y], a scalar."""
        return -np.log(y_hat[y])

    def forward(self, z, y):
        """z: (K,) scores; y: int label -> (y_hat (K,) probabilities, loss scalar)."""
        y_hat = self._softmax(z)
        return y_hat, self._cross_entropy(y, y_hat)

    def backward(self, y, y_hat):
        """y: int label; y_hat: (K,) probabilities from forward -> dL/dz: (K,)."""
        grad = np.array(y_hat, dtype=float)
        grad[y] -= 1.0
        return grad


class Sigmoid:
    """Elementwise sigmoid layer."""

    def __init__(self):
        # backward needs only forward's output, so that is the one thing cached.
        self.z = None

    def forward(self, x):
        """x: (D,) -> sigmoid(x): (D,). Cache what backward needs."""
        self.z = 1.0 / (1.0 + np.exp(-x))
        return self.z

    def backward(self, dz):
        """dz: (D,) = dL/d(output) -> dL/dx: (D,), using the cached forward output."""
        return dz * self.z * (1.0 - self.z)


class Linear:
    """Fully connected layer with the bias folded into column 0 of its weights."""

    def __init__(self, input_size, output_size, weight_init_fn, learning_rate):
        """input_size, output_size: ints; weight_init_fn: zero_init or random_init, called
        with a shape (rows, cols); learning_rate: float.

        Sets w (output_size, input_size + 1) with column 0 (the bias) zero, dw zeros of w's
        shape, and lr.
        """
        # The bias is column 0, so one call draws it together with the weights; asking for
        # exactly this shape matters because random_init seeds with rows * cols.
        self.w = weight_init_fn((output_size, input_size + 1))
        # Biases start at zero under both initializations.
        self.w[:, 0] = 0.0
        self.dw = np.zeros_like(self.w)
        self.lr = learning_rate
        self.cache = {}

    def forward(self, x):
        """x: (input_size,) without the bias feature -> (output_size,). Cache what backward needs."""
        x = np.insert(x, 0, 1.0)
        self.cache["x"] = x
        return self.w @ x

    def backward(self, dz):
        """dz: (output_size,) = dL/d(output) -> dL/dx: (input_size,), without the bias entry.

        Sets self.dw: (output_size, input_size + 1), the bias column included. Does not
        change self.w (step does).
        """
        self.dw = np.outer(dz, self.cache["x"])
        return self.w[:, 1:].T @ dz

    def step(self):
        """One SGD step: w -= lr * dw."""
        self.w -= self.lr * self.dw


class NN:
    """linear1 -> Sigmoid -> linear2 -> softmax cross-entropy, trained one example at a time."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_fn, learning_rate):
        """input_size M, hidden_size D, output_size K: ints; weight_init_fn: zero_init or
        random_init; learning_rate: float."""
        self.weight_init_fn = weight_init_fn
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.linear1 = Linear(input_size, hidden_size, weight_init_fn, learning_rate)
        self.activation = Sigmoid()
        self.linear2 = Linear(hidden_size, output_size, weight_init_fn, learning_rate)
        self.output = SoftMaxCrossEntropy()

    def forward(self, x, y):
        """x: (M,) one example; y: its int label -> (y_hat (K,) probabilities, loss scalar)."""
        a = self.linear1.forward(x)
        z = self.activation.forward(a)
        b = self.linear2.forward(z)
        return self.output.forward(b, y)

    def backward(self, y, y_hat):
        """y: int label; y_hat: (K,) from forward. Fills linear1.dw and linear2.dw."""
        gb = self.output.backward(y, y_hat)
        gz = self.linear2.backward(gb)
        ga = self.activation.backward(gz)
        self.linear1.backward(ga)

    def step(self):
        """Apply one SGD step to both linear layers."""
        self.linear1.step()
        self.linear2.step()

    def compute_loss(self, X, y):
        """X: (N, M); y: (N,) int labels -> mean cross-entropy over the N examples, a scalar."""
        losses = [self.forward(x, label)[1] for x, label in zip(X, y)]
        return np.mean(losses)

    def train(self, X_tr, y_tr, X_test, y_test, n_epochs):
        """SGD over shuffle(X_tr, y_tr, epoch) for epoch = 0 .. n_epochs - 1, always shuffling
        the original data.

        X_tr: (N_tr, M); y_tr: (N_tr,); X_test: (N_test, M); y_test: (N_test,); n_epochs: int.
        Returns (train_losses, test_losses): lists of n_epochs floats, the mean cross-entropy
        of the whole train / test set after each epoch.
        """
        train_losses, test_losses = [], []
        for epoch in range(n_epochs):
            X_s, y_s = shuffle(X_tr, y_tr, epoch)
            for x, y in zip(X_s, y_s):
                y_hat, _ = self.forward(x, y)
                self.backward(y, y_hat)
                self.step()
            train_losses.append(self.compute_loss(X_tr, y_tr))
            test_losses.append(self.compute_loss(X_test, y_test))
        return train_losses, test_losses

    def test(self, X, y):
        """X: (N, M); y: (N,) int labels -> (labels (N,) int predictions, error rate float).

        The prediction is the argmax of y_hat; ties go to the smallest index.
        """
        labels = np.array([np.argmax(self.forward(x, label)[0]) for x, label in zip(X, y)])
        return labels, np.mean(labels != y)


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
