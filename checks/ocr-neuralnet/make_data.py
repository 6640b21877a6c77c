"""Regenerate the data files of the ocr-neuralnet checks from the handout's small data set.

    python checks/ocr-neuralnet/make_data.py

small_train.csv and small_validation.csv are the handout's files, byte for byte the course data
in data/ocr-neuralnet/ (this script verifies that).
subset_train.csv and subset_validation.csv are a hidden data set made from them: other examples
in another order and other sizes (so no size is hard-coded), with grey pixel values (the handout:
"write your code to accept arbitrary pixel values in the range [0, 1]").
"""
import hashlib
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COURSE_DATA = os.path.join(HERE, "..", "..", "data", "ocr-neuralnet")
SEED = 1060
N_TRAIN, N_VALIDATION = 200, 60
SHAPE = (16, 8)                 # each row's 128 pixels, row major


def grey(pixels):
    """(N, 128) binary pixels -> half the pixel plus an eighth of each 4-neighbour (zero-padded):
    multiples of 1/8 in [0, 1]."""
    img = pixels.reshape(-1, *SHAPE)
    pad = np.pad(img, ((0, 0), (1, 1), (1, 1)))
    near = pad[:, :-2, 1:-1] + pad[:, 2:, 1:-1] + pad[:, 1:-1, :-2] + pad[:, 1:-1, 2:]
    return (0.5 * img + 0.125 * near).reshape(len(pixels), -1)


def subset(src, n, rng):
    data = np.loadtxt(os.path.join(HERE, src), delimiter=",", ndmin=2)
    rows = data[rng.permutation(len(data))[:n]]
    return rows[:, 0].astype(int), grey(rows[:, 1:])


def write(name, labels, pixels):
    with open(os.path.join(HERE, name), "w") as f:
        for y, x in zip(labels, pixels):
            f.write(",".join([str(int(y))] + [f"{v:g}" for v in x]) + "\n")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    for name in ("small_train.csv", "small_validation.csv"):
        if sha256(os.path.join(COURSE_DATA, name)) != sha256(os.path.join(HERE, name)):
            raise SystemExit(f"{name} differs from the handout's copy in data/ocr-neuralnet/")
    rng = np.random.default_rng(SEED)
    write("subset_train.csv", *subset("small_train.csv", N_TRAIN, rng))
    write("subset_validation.csv", *subset("small_validation.csv", N_VALIDATION, rng))
    print("wrote subset_train.csv, subset_validation.csv")


if __name__ == "__main__":
    main()
