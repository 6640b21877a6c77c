"""initializer: random initializers (weights drawn N(0, s^2), biases zeros or random). The
shapes must equal the reference's exactly; the values, being random, are judged by their
statistics: each returned array must fit one of the accepted distributions.

    - name: create_weight_matrices_init
      kind: initializer
      steps:
        - {call: create_weight_matrices, args: [[784, 200, 1]], returns: {name: Ws}}
      distributions:
        Ws: [{normal: {mean: 0.0, std: 0.01}}]
        bs: [{constant: 0.0}, {normal: {mean: 0.0, std: 0.01}}]    # any one of them
      max_z: 6.0

A result may be one array or a list of arrays (then its length must equal the reference's too).
For `normal: {mean: m, std: s}` an array of n entries passes when its sample mean is within
max_z standard errors (s / sqrt(n)) of m and its root-mean-square deviation from m is within
max_z standard errors (s / sqrt(2 n)) of s. At the default max_z = 6 a correct initializer fails
with probability about 1e-8 per array, so the verdict is stable although the values are not
seeded; a wrong scale (std 1 or 0.1 instead of 0.01), an offset (uniform [0, 1)) or all zeros
is caught as soon as the array is large enough for the bound to separate them.
`constant: c` asks for every entry to equal c within `constant_atol` (default 0).
"""
from dataclasses import dataclass

import numpy as np

from nngrader.core.errors import SpecError
from nngrader.core.model import number, req_map
from nngrader.core.outcome import Outcome
from nngrader.engine import comparison, feedback, hints, scenario, search
from nngrader.engine.kind import Kind

FIELDS = ("steps", "distributions", "max_z", "constant_atol")
DEFAULT_MAX_Z = 6.0
DEFAULT_CONSTANT_ATOL = 0.0


@dataclass
class Config:
    steps: list
    distributions: dict       # result name -> [("normal", mean, std) | ("constant", c)]
    max_z: float
    constant_atol: float


def _read_distribution(where, raw):
    d = req_map(where, raw, {"normal", "constant"})
    if len(d) != 1:
        where.fail("exactly one of {normal: {mean: .., std: ..}} or {constant: ..}", raw)
    if "constant" in d:
        return ("constant", number(where.at("constant"), d["constant"]))
    n = req_map(where.at("normal"), d["normal"], {"mean", "std"}, required=("mean", "std"))
    return ("normal", number(where.at("normal", "mean"), n["mean"]),
            number(where.at("normal", "std"), n["std"], positive=True))


def parse(where, raw, asg):
    for key in ("steps", "distributions"):
        if key not in raw:
            raise SpecError(f"{where}: an initializer check needs `{key}`.")
    steps = scenario.parse_steps(where.at("steps"), raw["steps"])
    produced = scenario.result_names(steps)
    dists = raw["distributions"]
    if not isinstance(dists, dict) or not dists:
        where.at("distributions").fail("a mapping {result name: [accepted distributions]}", dists)
    out = {}
    for name, alts in dists.items():
        w = where.at("distributions", name)
        if name not in produced:
            raise SpecError(f"{w}: {name!r} is not returned by any step (returned: {', '.join(produced)}).")
        if not isinstance(alts, list) or not alts:
            w.fail("a non-empty list of distributions, e.g. [{normal: {mean: 0.0, std: 0.01}}]", alts)
        out[name] = [_read_distribution(w.at(i), a) for i, a in enumerate(alts)]
    return Config(steps=steps, distributions=out,
                  max_z=number(where.at("max_z"), raw.get("max_z", DEFAULT_MAX_Z), positive=True),
                  constant_atol=number(where.at("constant_atol"),
                                       raw.get("constant_atol", DEFAULT_CONSTANT_ATOL), nonneg=True))


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def describe(dist):
    if dist[0] == "constant":
        return f"all {dist[1]:g}"
    return f"N({dist[1]:g}, {dist[2]:g}^2)"


def fit(arr, dist, cfg):
    """-> None if arr fits dist, else a sentence with the numbers."""
    x = arr.reshape(-1)
    if dist[0] == "constant":
        dev = np.abs(x - dist[1])
        if (dev <= cfg.constant_atol).all():
            return None
        return (f"{int((dev > cfg.constant_atol).sum())} of {x.size} entries differ from {dist[1]:g} "
                f"(largest |difference| {dev.max():.4g})")
    if x.size == 0:
        return None
    _, mean, std = dist
    n = x.size
    m = float(x.mean())
    rms = float(np.sqrt(np.mean((x - mean) ** 2)))
    se_m, se_s = std / np.sqrt(n), std / np.sqrt(2 * n)
    bad = []
    if abs(m - mean) > cfg.max_z * se_m:
        bad.append(f"sample mean {m:.4g}, expected {mean:g} ± {cfg.max_z * se_m:.2g}")
    if abs(rms - std) > cfg.max_z * se_s:
        bad.append(f"sample std {rms:.4g}, expected {std:g} ± {cfg.max_z * se_s:.2g}")
    return "; ".join(bad) or None


def _hint(arr, dists):
    normal = [d for d in dists if d[0] == "normal"]
    if not normal or arr.size == 0:
        return ""
    _, mean, std = normal[0]
    x = arr.reshape(-1)
    if not np.any(x):
        return f"every entry is 0: draw them from {describe(normal[0])} (e.g. np.random.normal)"
    rms = float(np.sqrt(np.mean((x - mean) ** 2)))
    # A zero-mean distribution never gives 20 non-negative draws in a row (probability < 1e-6).
    if mean == 0 and x.size >= 20 and (x >= 0).all():
        return "every entry is >= 0: np.random.rand draws from U[0, 1); use np.random.normal (or randn)"
    ratio = rms / std
    if ratio > 2 or ratio < 0.5:
        return (f"the spread is {ratio:.3g} times the asked std {std:g}: check the scale "
                f"(np.random.normal takes the standard deviation, not the variance)")
    return ""


def _check_one(label, exp, got, dists, cfg, accept, dims):
    """-> list of feedback lines (empty if fine)."""
    arr, bad = comparison.coerce(got)
    if bad:
        return [f"{label}: expected an array of shape {np.shape(exp)}, received {bad}"]
    shapes = comparison.accepted_shapes(np.shape(exp), accept, dims)
    if arr.shape not in shapes:
        h = hints.shape_hint(np.shape(exp), arr.shape, dims)
        return [f"{label}: wrong shape: expected {' or '.join(str(s) for s in shapes)}, received {arr.shape}"] + (
            [f"  hint: {h}"] if h else [])
    if not np.isfinite(arr).all():
        return [f"{label}: contains NaN or inf"]
    reasons = [fit(arr, d, cfg) for d in dists]
    if any(r is None for r in reasons):
        return []
    lines = [f"{label}: shape {arr.shape} ok, but the values are not "
             + " or ".join(describe(d) for d in dists)]
    lines += [f"  as {describe(d)}: {r}" for d, r in zip(dists, reasons)]
    h = _hint(arr, dists)
    if h:
        lines.append(f"  hint: {h}")
    return lines


def run(check, ctx):
    cfg = check.config
    ref_env = search.run_reference(ctx.reference(), cfg.steps, {})
    accept = search.accept_map(cfg.steps)
    calls = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new", "get"))
    checked = (f"checked: {calls} — shapes against the reference's; values: "
               + "; ".join(f"{n} " + " or ".join(describe(d) for d in ds) for n, ds in cfg.distributions.items())
               + f" (sample mean and std within {cfg.max_z:g} standard errors)")
    stu_env, problem = search.run_student(ctx.student, cfg.steps, {}, None)
    hidden = check.visibility == "hidden"
    if problem:
        lines = feedback.failure_lines(problem, [], hidden)
        return Outcome(False, checked, lines=lines, short=lines[0])
    lines = []
    for name, dists in cfg.distributions.items():
        exp, got = ref_env[name], stu_env.get(name)
        if isinstance(exp, (list, tuple)):
            if not isinstance(got, (list, tuple)) or len(got) != len(exp):
                what = (f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (list, tuple))
                        else comparison.coerce(got)[1] or f"an array of shape {np.shape(got)}")
                lines.append(f"{name}: expected a list of {len(exp)} arrays, received {what}")
                continue
            for i, (e, g) in enumerate(zip(exp, got)):
                lines += _check_one(f"{name}[{i}]", e, g, dists, cfg, accept.get(name), {})
        else:
            lines += _check_one(name, exp, got, dists, cfg, accept.get(name), {})
    if not lines:
        return Outcome(True, checked)
    summary = [ln for ln in lines if not ln.startswith("  ")]
    return Outcome(False, checked, lines=summary[:1] if hidden else lines, short=summary[0])


KIND = Kind(name="initializer", fields=FIELDS, parse=parse, exercised=exercised, run=run)
