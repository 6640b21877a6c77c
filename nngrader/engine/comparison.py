"""Comparing a received value with the expected one: exact shape first (never broadcast), then
elementwise |received - expected| <= atol + rtol * |expected| with the tolerance chosen from the
received dtype. Expected values may be intervals (any subgradient at a kink is accepted).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from nngrader.boundary import wire
from nngrader.engine import hints


@dataclass
class Mismatch:
    """Why one named value is wrong, in numbers."""
    name: str
    summary: str
    lines: list = field(default_factory=list)
    hint: str = ""


def received_dtype(value):
    """The dtype name that selects the tolerance: float32 (or float16) gets the loose one."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype.itemsize <= 4:
        return "float32"
    if isinstance(value, (list, tuple)):
        kinds = [received_dtype(v) for v in value]
        return "float32" if "float32" in kinds else "float64"
    return "float64"


def _arrays(values):
    for v in values:
        if isinstance(v, (list, tuple)) and not all(np.isscalar(x) for x in v):
            yield from _arrays(v)
        else:
            arr, problem = coerce(v)
            if problem is None:
                yield arr


def float32_exact(values, min_nontrivial=3):
    """True when every received entry is a float32 number stored in float64 and at least
    `min_nontrivial` of them are not also float16 numbers (0, 1, 0.5 are float32 numbers in any
    code). A float64 computation yields a float32 number by chance once in ~5e8 entries, so this
    is evidence that the last operation ran in float32."""
    nontrivial = 0
    for arr in _arrays(values):
        finite = arr[np.isfinite(arr)]
        if finite.size != arr.size:
            return False
        with np.errstate(over="ignore"):
            if not np.array_equal(finite.astype(np.float32).astype(np.float64), finite):
                return False
            nontrivial += int(np.count_nonzero(finite.astype(np.float16).astype(np.float64) != finite))
    return nontrivial >= min_nontrivial


def bitwise_equal(a_values, b_values):
    a, b = list(_arrays(a_values)), list(_arrays(b_values))
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


def coerce(value):
    """Received value -> plain float64 ndarray, or an explanation of why it is not numeric."""
    if isinstance(value, wire.Opaque):
        return None, f"a {value.type_name} object, not numbers"
    if isinstance(value, wire.Handle):
        return None, f"a {value.type_name} object, not numbers"
    if value is None:
        return None, "None (did the function forget to return?)"
    if isinstance(value, bool):
        return None, f"a bool ({value})"
    if isinstance(value, str):
        return None, f"a string {value[:40]!r}"
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return None, f"{type(value).__name__} that is not an array of numbers ({exc})"
    return arr, None


SQUEEZE = "squeeze"     # an `accept:` entry: any shape equal to the expected one up to axes of length 1


def accepted_shapes(expected_shape, accept, dims):
    """The concrete shapes accepted for an output: the expected one, then each symbolic
    alternative of `accept` that holds the same number of entries (an alternative (n,) for an
    (n, d) output only applies where d = 1)."""
    shapes = [tuple(expected_shape)]
    if not accept:
        return shapes
    size = math.prod(int(d) for d in expected_shape)
    for sym in accept:
        if sym == SQUEEZE:
            continue
        try:
            shape = tuple(dims[d] if isinstance(d, str) else int(d) for d in sym)
        except KeyError:
            continue
        if math.prod(int(d) for d in shape) == size and shape not in shapes:
            shapes.append(shape)
    return shapes


def shape_accepted(expected_shape, received_shape, accept, dims):
    """Is `received_shape` an accepted shape for this output? With `squeeze` among the accepted
    entries, any shape that equals the expected one once axes of length 1 are dropped is."""
    if tuple(received_shape) in accepted_shapes(expected_shape, accept, dims):
        return True
    if SQUEEZE in (accept or []):
        return (tuple(d for d in received_shape if d != 1) == tuple(d for d in expected_shape if d != 1))
    return False


def describe_accepted(expected_shape, accept, dims):
    text = " or ".join(str(s) for s in accepted_shapes(expected_shape, accept, dims))
    return text + (" (axes of length 1 aside)" if SQUEEZE in (accept or []) else "")


def agrees(expected, received, tolerances, dims=None, accept=None, upper=None):
    """Does `received` match (what `compare` decides, without building the explanation)?"""
    return compare("v", expected, received, tolerances, dims, accept, upper, quick=True) is None


_DISAGREES = Mismatch("v", "disagrees")
_ARRAYS = (np.ndarray, np.ndarray)
_FLOATS = (float, np.float64)     # `compare(..., quick=True)`'s answer for any mismatch


def compare(name, expected, received, tolerances, dims=None, accept=None, upper=None, context=None, quick=False):
    """-> None when received matches, else a Mismatch. `upper`: expected is an interval
    [expected, upper]. `quick`: any mismatch is one shared Mismatch with no explanation."""
    if upper is None:
        # the common cases, decided at once when they pass: the same test as below, for an
        # expected value that is a point and a float64 result of the expected shape
        kinds = type(received), type(expected)
        if (kinds == _ARRAYS and received.dtype == np.float64 and expected.dtype == np.float64
                and received.shape == expected.shape):
            if received.tobytes() == expected.tobytes() and math.isfinite(expected.sum()):
                return None         # the very same numbers (a NaN or an infinity goes the long way)
            tol = tolerances["float64"]
            if np.all(np.abs(received - expected) <= tol.atol + tol.rtol * np.abs(expected)):
                return None
        elif kinds[0] in _FLOATS and kinds[1] in _FLOATS:
            tol = tolerances["float64"]
            if abs(received - expected) <= tol.atol + tol.rtol * abs(expected):
                return None
    lo = np.array(expected, dtype=np.float64)
    hi = np.array(upper, dtype=np.float64) if upper is not None else lo
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    dtype = received_dtype(received)
    tol = tolerances[dtype] if dtype in tolerances else tolerances["float64"]
    got, problem = coerce(received)
    if problem:
        return _DISAGREES if quick else Mismatch(name, f"{name}: expected an array of shape {lo.shape}, received {problem}")
    # Where a scalar is asked for, any size-1 array is a scalar (the contract's rule).
    scalar_ok = lo.ndim == 0 and got.size == 1
    if not shape_accepted(lo.shape, got.shape, accept, dims or {}) and not scalar_ok:
        if quick:
            return _DISAGREES
        h = hints.shape_hint(lo.shape, got.shape, dims or {})
        accepted = describe_accepted(lo.shape, accept, dims or {})
        return Mismatch(name, f"{name}: wrong shape: expected {accepted}, received {got.shape}",
                        ["  no values were compared: shapes must match exactly (no broadcasting)"], h)
    lo_r, hi_r = lo.reshape(got.shape), hi.reshape(got.shape)
    bound = tol.atol + tol.rtol * np.maximum(np.abs(lo_r), np.abs(hi_r))
    below = lo_r - got
    above = got - hi_r
    excess = np.maximum(below, above)         # > 0 means outside [lo, hi]
    bad = ~(excess <= bound)                  # NaN counts as bad
    if not bad.any():
        return None
    if quick:
        return _DISAGREES
    n_bad, n = int(bad.sum()), got.size
    with np.errstate(invalid="ignore"):
        score = np.where(np.isnan(got), np.inf, (excess - bound) / np.maximum(bound, 1e-300))
        score[np.isnan(score)] = np.inf         # inf against inf, or a NaN expected: as bad as can be
    worst = np.unravel_index(int(np.nanargmax(np.where(bad, score, -np.inf))), got.shape) if got.ndim else ()
    exp_w = lo_r[worst] if np.array_equal(lo_r, hi_r) else None
    exp_text = (f"{_num(exp_w)}" if exp_w is not None else f"between {_num(lo_r[worst])} and {_num(hi_r[worst])}")
    idx = f"[{', '.join(str(int(i)) for i in worst)}]" if got.ndim else ""
    abs_err = np.abs(got - lo_r)
    lines = [
        f"  shape {got.shape} ok; {n_bad} of {n} entries differ "
        f"(max |diff| {_num(np.nanmax(abs_err) if np.isfinite(abs_err).any() else np.inf)})",
        f"  worst at {name}{idx}: expected {exp_text}, received {_num(got[worst])}",
        f"  tolerance ({dtype} output): {tol.describe()}",
    ]
    if n_bad and got.ndim >= 1:
        table = _index_table(name, lo_r, got, bad)
        if table:
            lines += table
    h = hints.value_hint(lo_r, got, bad, dims or {}, context or {})
    return Mismatch(name, f"{name}: {n_bad} of {n} entries outside tolerance", lines, h)


def _index_table(name, exp, got, bad, limit=5):
    idxs = np.argwhere(bad)[:limit]
    if len(idxs) <= 1:
        return []
    rows = ["  first differing entries:"]
    for i in idxs:
        t = tuple(int(x) for x in i)
        rows.append(f"    {name}[{', '.join(map(str, t))}]: expected {_num(exp[t])}, received {_num(got[t])}")
    more = int(bad.sum()) - len(idxs)
    if more > 0:
        rows.append(f"    ... and {more} more")
    return rows


def _num(x):
    x = float(x)
    if np.isnan(x) or np.isinf(x):
        return str(x)
    return f"{x:.10g}"
