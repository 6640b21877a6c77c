"""Hints derived from the numbers: what the difference between expected and received looks like.

Each rule looks only at the arrays of one example (and its sizes), so a hint here is a fact about
this output, never a guess at its cause: one example cannot refute a guess (on 1x1 examples a
"constant ratio everywhere" fits anything). Causes are named by `diagnosis`, on evidence.
"""
import numpy as np


def shape_hint(expected, received, dims):
    """A fact about the two shapes. Causes (keepdims, a squeeze, a transpose) are named only by
    `diagnosis`, on examples where the batch axis is visible (N >= 2)."""
    expected, received = tuple(expected), tuple(received)
    if len(expected) == 2 and received == expected[::-1] and expected[0] != expected[1]:
        return "the received shape is the transpose of the expected one"
    if len(received) == 2 and received[0] == received[1] > 1 and expected == (received[0],):
        return ("an (N, N) result where (N,) is expected: an (N,) array combined with an (N, 1) array "
                "broadcasts to (N, N) [mistake: broadcast_row_column]")
    names = {v: k for k, v in dims.items() if isinstance(v, int)}
    if received and expected and len(received) == len(expected) and received[1:] == expected[1:] \
            and received[0] != expected[0] and names.get(received[0]):
        return f"the first axis has length {received[0]} (= {names[received[0]]}) instead of {expected[0]}"
    return ""


def value_hint(exp, got, bad, dims, context):
    """A fact about the differences, in numbers. Nothing here names a cause: a mistake is named
    only by `diagnosis`, when one of the catalog's variants reproduces the output."""
    if not np.isfinite(got).all():
        return "the received values contain NaN or inf"
    if not np.any(exp):
        return ""
    if not np.any(got) and np.all(exp != 0):
        return "received all zeros, where every expected value is non-zero"
    ratio = _constant_ratio(exp, got)
    if ratio is not None and np.count_nonzero(exp) >= 2:
        return f"received / expected = {ratio:.6g} on all {np.count_nonzero(exp)} non-zero entries"
    region = _where_bad(bad)
    if region:
        return region
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


def _where_bad(bad):
    if bad.ndim != 2 or bad.all() or bad.shape[1] < 2 and bad.shape[0] < 2:
        return ""
    cols = np.flatnonzero(bad.any(axis=0))
    rows = np.flatnonzero(bad.any(axis=1))
    if len(cols) == 1 and bad.shape[1] > 1:
        return f"only column {int(cols[0])} differs"
    if len(rows) == 1 and bad.shape[0] > 1:
        return f"only row {int(rows[0])} differs"
    return ""


# ---- hints that rely on a structure the check declares (`structure:` of a compare check) ------------

STRUCTURE_KEYS = ("upstream", "bias_column", "mask")


def parse_structure(where, raw):
    """`structure: {upstream: dout, bias_column: {dw: 0}, mask: {dx: x}}`: what the check's values
    mean, so a hint may rely on it. `upstream` names the argument that is the upstream gradient
    (every gradient is zero where it is); `bias_column` maps an output to the column holding its
    bias terms; `mask` maps an output to the argument whose sign (> 0) masks it (a ReLU's input)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - set(STRUCTURE_KEYS):
        where.fail(f"a mapping with {' and/or '.join(STRUCTURE_KEYS)}", raw)
    out = {}
    if "upstream" in raw:
        if not isinstance(raw["upstream"], str):
            where.at("upstream").fail("the name of the argument that is the upstream gradient", raw["upstream"])
        out["upstream"] = raw["upstream"]
    if "bias_column" in raw:
        bc = raw["bias_column"]
        if not isinstance(bc, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                               for k, v in bc.items()):
            where.at("bias_column").fail("a mapping {output: column index}, e.g. {dw: 0}", bc)
        out["bias_column"] = dict(bc)
    if "mask" in raw:
        mk = raw["mask"]
        if not isinstance(mk, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mk.items()):
            where.at("mask").fail("a mapping {output: argument whose sign masks it}, e.g. {dx: x}", mk)
        out["mask"] = dict(mk)
    return out


def structure_hints(mismatches, structure, env, ref_env, stu_env=None):
    """Add, to mismatches with no hint yet, the hints the declared structure supports."""
    if not structure:
        return
    up = structure.get("upstream")
    upstream_zero = up in env and isinstance(env[up], np.ndarray) and env[up].size and not np.any(env[up])
    for m in mismatches:
        col = structure.get("bias_column", {}).get(m.name)
        if col is not None and m.hint == f"only column {col} differs":
            m.hint += f": column {col} of {m.name} holds the bias terms"
        exp = _value(ref_env, m.name)
        if not m.hint and upstream_zero and isinstance(exp, np.ndarray) and exp.size and not np.any(exp):
            m.hint = (f"the upstream gradient {up} is all zeros here, so {m.name} must be zero; yours is not, "
                      f"so it is not proportional to {up}")
        arg = structure.get("mask", {}).get(m.name)
        if not m.hint and arg is not None and stu_env is not None:
            m.hint = _mask_hint(m.name, arg, env.get(arg), exp, _value(stu_env, m.name))


def _value(env, label):
    """The value of a compared label: a name, or an element of a list, `grad_Ws[0]`."""
    name, _, rest = label.partition("[")
    value = env.get(name)
    if rest and isinstance(value, (list, tuple)):
        i = int(rest.rstrip("]"))
        value = value[i] if i < len(value) else None
    return np.asarray(value, dtype=np.float64) if isinstance(value, (np.ndarray, np.generic)) else value


def _mask_hint(name, arg, x, exp, got):
    """Where a masked output differs: only where the mask passes (x > 0) or only where it blocks."""
    try:
        x, exp, got = (np.asarray(v, dtype=np.float64) for v in (x, exp, got))
    except (TypeError, ValueError):
        return ""
    if not (x.shape == exp.shape == got.shape) or x.size < 2:
        return ""
    bad = ~np.isclose(got, exp, rtol=1e-6, atol=1e-9)
    if not bad.any() or bad.all():
        return ""
    if not bad[x > 0].any():
        return f"{name} differs only where {arg} <= 0, where the mask must give 0"
    if not bad[x <= 0].any():
        return f"{name} differs only where {arg} > 0, where the mask passes the upstream gradient through"
    return ""
