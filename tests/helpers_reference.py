"""Shared helpers for the external-truth tests of the reference implementations.

Everything here is written independently of `reference/` (in particular the central difference
below is not `reference.numerics.central_difference`), so a bug in the reference numerics can
never make a reference look right.
"""
from pathlib import Path

import numpy as np
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "data"          # the course data and published outputs (data/README.md)


def hyp(max_examples):
    """The hypothesis settings every property test here uses: reproducible, no example database."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None)


def numeric_grad(f, x, h_scale=6e-6):
    """Central differences of the scalar f() w.r.t. every entry of the float64 array x.

    x is perturbed in place (so f may close over it) and restored bit for bit.
    """
    assert isinstance(x, np.ndarray) and x.dtype == np.float64
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        h = h_scale * max(1.0, abs(orig))
        x[idx] = orig + h
        fp = float(f())
        x[idx] = orig - h
        fm = float(f())
        x[idx] = orig
        grad[idx] = (fp - fm) / (2.0 * h)
    return grad


def assert_grad_close(analytic, numeric, name="", rtol=1e-5, atol=1e-8):
    """Same shape exactly (no broadcasting), and elementwise |a - n| <= atol + rtol * |n|."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, f"{name}: shape {a.shape}, expected {n.shape}"
    err = np.abs(a - n)
    ok = err <= atol + rtol * np.abs(n)
    assert ok.all(), (f"{name}: max abs error {err.max():.3e}\nanalytic=\n{a}\nnumeric=\n{n}")


def rng_array(rng, shape, scale=1.0):
    """float64 normal entries (never the zeros/constants hypothesis' own arrays favour)."""
    return scale * rng.standard_normal(shape)
