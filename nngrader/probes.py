"""Probe activations: smooth, non-trivial stand-ins handed to a student's layer code instead of
the student's own activations, so a layer is graded apart from them. They must equal the
worker's copies in `nngrader/worker.py` (a test checks this)."""
import numpy as np


def cubic_activation(s):
    """(s^3/3 + s, s^2 + 1): strictly increasing, gradient never 0 or 1."""
    s = np.asarray(s, dtype=np.float64)
    return s ** 3 / 3.0 + s, s ** 2 + 1.0


def softsign_activation(s):
    """(s / (1 + |s|), 1 / (1 + |s|)^2)."""
    s = np.asarray(s, dtype=np.float64)
    return s / (1.0 + np.abs(s)), 1.0 / (1.0 + np.abs(s)) ** 2


def identity_activation(s):
    """(s, 1)."""
    s = np.asarray(s, dtype=np.float64)
    return s.copy(), np.ones_like(s)


def squash_activation(s):
    """((1 + s / (1 + |s|)) / 2, 1 / (2 (1 + |s|)^2)): values in (0, 1) like a probability,
    for a layer whose output feeds a log-loss, yet not the sigmoid."""
    s = np.asarray(s, dtype=np.float64)
    return 0.5 + 0.5 * s / (1.0 + np.abs(s)), 0.5 / (1.0 + np.abs(s)) ** 2


PROBES = {"cubic": cubic_activation, "softsign": softsign_activation, "identity": identity_activation,
          "squash": squash_activation}

# Probes that are NumPy functions themselves: they travel to the worker by reference (requests
# are trusted pickles and NumPy is imported there), so the worker needs no copy of them.
# zeros: a weight initializer (shape -> zeros), so a layer's constructor needs no student init.
NUMPY_PROBES = {"zeros": np.zeros}
PROBES.update(NUMPY_PROBES)
