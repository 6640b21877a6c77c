"""Numerics the harness itself computes with (the `eval` step language): the engine has its own
copy, because it never imports a course's reference code."""
import numpy as np


def stable_sigmoid(z):
    """1 / (1 + exp(-z)) without overflow: exp only ever of a non-positive number."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
