"""The precision a submission computes in, told from its results rather than their dtype.

A float64 result that agrees with the reference only to float32 precision passes at the float32
tolerance when the submission demonstrably computes in float32 (e.g. `np.exp(z.astype(np.float32))`
inside a function that returns float64). The evidence, either of:

- every value it returns is a float32 number held in float64 (and at least a few of them are not
  float16 numbers): a float64 computation lands on a float32 number once in ~5e8 values;
- run once more with the worker watching the submission's own functions return, one of them
  holds a float32 array, or returns float64 arrays of float32 numbers (traced in the worker);
- its results do not change at all, bit for bit, when every float64 input is moved by a relative
  PERTURBATION far below float32's resolution (1e-11, ~45,000 float64 units), while the
  reference's results do: a float64 computation follows such a change; one that rounds its inputs
  to float32 cannot see it.

Evidence found for a check's functions holds for the rest of that submission: a later check of a
function that uses them (gradients calling a float32 sigmoid) is held to the float32 tolerance
too, with a note naming the check that showed it.

Without the evidence, the float64 tolerance stands: a float64 bug of float32 size is still caught.
"""
import numpy as np

from nngrader.engine import comparison, replay, search

PERTURBATION = 1e-11


def perturbed(env, seed):
    """The example with every float64 array moved by a relative PERTURBATION (random signs)."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, v in env.items():
        if isinstance(v, np.ndarray) and v.dtype == np.float64:
            out[k] = v * (1.0 + PERTURBATION * rng.choice([-1.0, 1.0], size=v.shape))
        elif isinstance(v, list) and v and all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x in v):
            out[k] = [x * (1.0 + PERTURBATION * rng.choice([-1.0, 1.0], size=x.shape)) for x in v]
        else:
            out[k] = v
    return out


def traced(student, steps, env, draw):
    """Run the steps again with the worker tracing precision -> what it saw in float32, or ""."""
    student.trace_precision, student.precision_trace = True, []
    try:
        _, problem = search.run_student(student, steps, env, draw)
    finally:
        student.trace_precision = False
    seen = list(dict.fromkeys(student.precision_trace))
    return "; ".join(seen[:2]) if problem is None and seen else ""


def evidence(student, reference, steps, env, names, ref_env, stu_env, draw):
    """Why the submission computes in float32 on this example, or ""."""
    values = [stu_env.get(n) for n in names]
    if comparison.float32_exact(values):
        return "every value it returns is a float32 number"
    seen = traced(student, steps, env, draw)
    if seen:
        return seen
    moved = perturbed(env, (draw or {}).get("seed", 0) if isinstance(draw, dict) else 0)
    try:
        ref_moved = search.run_reference(reference, steps, moved)
    except replay.NotRecorded:
        return ""       # a bundle holds no reference values for the moved inputs: no evidence from them
    if comparison.bitwise_equal([ref_env[n] for n in names], [ref_moved[n] for n in names]):
        return ""       # these outputs do not follow so small a change: no evidence either way
    again, problem = search.run_student(student, steps, moved, draw)
    if problem is None and comparison.bitwise_equal(values, [again.get(n) for n in names]):
        return (f"its results stay the same, bit for bit, when its inputs move by {PERTURBATION:g} "
                f"relative, far below float32's resolution, while the reference's change")
    return ""


MEMO = ("precision", "float32")          # ctx.memo key: {contract function: (check name, why)}


def record(ctx, check, why):
    """This check's functions compute in float32 (for the rest of the submission)."""
    seen = ctx.memo.setdefault(MEMO, {})
    for name in check.exercises:
        seen.setdefault(name.split(".")[0], (check.name, why))


def known(ctx, check):
    """Evidence an earlier check found for a function this check exercises -> why, or ""."""
    seen = ctx.memo.get(MEMO, {})
    for name in check.exercises:
        hit = seen.get(name.split(".")[0])
        if hit:
            return f"your {name.split('.')[0]} does, as check {hit[0]} showed: {hit[1]}"
    return ""


def as_float32(check, names, tolerances=None):
    """Per-value tolerances holding float64 results to the check's float32 tolerance."""
    return {n: {"float64": check.tolerance["float32"], **((tolerances or {}).get(n) or {})} for n in names}


def note(check, why):
    return (f"note: your results were held to the float32 tolerance ({check.tolerance['float32'].describe()}): "
            f"your code computes in float32 ({why})")
