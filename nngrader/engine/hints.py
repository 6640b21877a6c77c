"""Hints derived from the numbers: what the difference between expected and received looks like.

Each rule looks only at the arrays (and the drawn dimensions), so a hint is a fact about this
submission's output, phrased as the likely cause.
"""
import numpy as np


def shape_hint(expected, received, dims):
    expected, received = tuple(expected), tuple(received)
    if len(expected) == 2 and received == expected[::-1] and expected[0] != expected[1]:
        return ("the received shape is the transpose of the expected one: check the order of a matrix "
                "product or a missing/extra .T")
    squeezed_e = tuple(d for d in expected if d != 1)
    squeezed_r = tuple(d for d in received if d != 1)
    if squeezed_e == squeezed_r and len(received) > len(expected):
        return (f"the received array has extra axes of length 1 ({received} instead of {expected}): "
                "keepdims=True, a row/column vector where a flat array is asked for, or a missing reshape")
    if squeezed_e == squeezed_r and len(received) < len(expected):
        return (f"the received array lost axes of length 1 ({received} instead of {expected}): "
                "keep the 2-D shape (e.g. keepdims=True or reshape)")
    if len(expected) == 1 and received == (expected[0], expected[0]) and expected[0] > 1:
        return ("an (N, N) result where (N,) is expected is a broadcasting accident: an (N,) array "
                "combined with an (N, 1) array; flatten one of them first")
    if int(np.prod(received)) == int(np.prod(expected)) and received != expected:
        return "same number of entries, different layout: check reshapes and the axis order"
    names = {v: k for k, v in dims.items() if isinstance(v, int)}
    if received and expected and received[1:] == expected[1:] and received[0] != expected[0]:
        which = names.get(received[0])
        return (f"the first axis has length {received[0]}" + (f" (= {which})" if which else "") +
                f" instead of {expected[0]}: an argument may be used in the wrong orientation")
    return ""


def value_hint(exp, got, bad, dims, context):
    if not np.isfinite(got).all():
        return ("the received values contain NaN or inf: an overflow (exp of a large number), log(0) "
                "or 0/0; use a numerically stable formula")
    if not np.any(exp):
        return "expected all zeros here (e.g. a zero upstream gradient must give zero gradients)"
    if not np.any(got):
        return ("received all zeros: the value is never computed or set (e.g. a gradient left at its "
                "initial zeros, or a mask that removes everything)")
    scale = np.max(np.abs(exp))
    if np.allclose(got, -exp, rtol=1e-5, atol=1e-9 * scale):
        return "every sign is flipped: check the sign of a derivative (y - yhat vs yhat - y) or a subtraction order"
    ratio = _constant_ratio(exp, got)
    if ratio is not None:
        return _ratio_hint(ratio, dims)
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and exp.shape[0] > 1 and np.allclose(got, exp.T, rtol=1e-6, atol=1e-12):
        return "the received values are the transpose of the expected ones"
    diff = got - exp
    if np.ptp(diff) <= 1e-9 * max(1.0, scale) and abs(diff.flat[0]) > 0:
        return f"received = expected + {diff.flat[0]:.6g} everywhere: a constant offset (a bias added or left out?)"
    region = _where_bad(bad)
    if region:
        return region
    zero_where = (got == 0) & (exp != 0) & bad
    if zero_where.sum() >= max(1, bad.sum() // 2):
        return ("received exactly 0 where the expected value is not: a mask zeroes too many entries "
                "(e.g. masking on the output instead of the input, or the wrong comparison)")
    rel = np.max(np.abs(diff)[bad] / np.maximum(np.abs(exp)[bad], 1e-12))
    if rel < 1e-2:
        return (f"close but outside the tolerance (largest relative error {rel:.2g}): an approximation, "
                "a lower precision than float32, or an epsilon in the wrong place")
    return ""


def _constant_ratio(exp, got):
    mask = np.abs(exp) > 1e-12 * np.max(np.abs(exp))
    if mask.sum() < 1:
        return None
    r = got[mask] / exp[mask]
    if not np.isfinite(r).all():
        return None
    k = float(np.median(r))
    if abs(k - 1) < 1e-6 or k == 0:
        return None
    if np.allclose(r, k, rtol=1e-5) and np.allclose(got[~mask], 0, atol=1e-9 * np.max(np.abs(exp))):
        return k
    return None


BATCH_DIMS = ("N", "B", "n", "batch")


def _ratio_hint(k, dims):
    text = f"received / expected = {k:.6g} everywhere"
    sizes = [(n, v) for n, v in dims.items() if isinstance(v, int) and not isinstance(v, bool) and v > 1]
    for n, v in sorted(sizes, key=lambda nv: nv[0] not in BATCH_DIMS):
        what = f"the batch size {n}={v}" if n in BATCH_DIMS else f"{n}={v}"
        if n not in BATCH_DIMS and v == 2 and np.isclose(abs(k), 2.0) or (v == 2 and np.isclose(k, 0.5) and n not in BATCH_DIMS):
            continue                     # a factor 2 is far more often a doubled term than a dimension
        if np.isclose(k, v, rtol=1e-6):
            return f"{text} = {what}: a missing division by {n} (the mean over the batch?)"
        if np.isclose(k, 1.0 / v, rtol=1e-6):
            return f"{text} = 1/{v} ({what}): divided by {n} once too often"
    if np.isclose(k, 2.0):
        return f"{text}: a factor 2 too large (a doubled term, or a missing 1/2)"
    if np.isclose(k, 0.5):
        return f"{text}: half the expected value (a missing factor 2, e.g. the derivative of x**2)"
    if np.isclose(k, -1.0):
        return "every sign is flipped: check the sign of a derivative or a subtraction order"
    return f"{text}: a constant factor is wrong"


def _where_bad(bad):
    if bad.ndim != 2 or bad.all() or bad.shape[1] < 2 and bad.shape[0] < 2:
        return ""
    cols = np.flatnonzero(bad.any(axis=0))
    rows = np.flatnonzero(bad.any(axis=1))
    if len(cols) == 1 and bad.shape[1] > 1:
        c = int(cols[0])
        return f"only column {c} differs" + (" (the bias column?)" if c == 0 else "")
    if len(rows) == 1 and bad.shape[0] > 1:
        return f"only row {int(rows[0])} differs"
    return ""
