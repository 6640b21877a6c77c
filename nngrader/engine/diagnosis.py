"""Naming the mistake behind a failing check, only on evidence.

When a check fails, the catalog's variants (`mistakes`) that apply are computed on a few
non-degenerate examples: every size at 2 or more where its range allows (so N >= 2 and outputs
have more than one entry where the shapes allow), each size different from the others, and
different between examples (so a ratio equal to N cannot be read as one equal to d or 2). A
mistake is named for an output only when, on every example where the student's output differs
from the reference's, exactly one mistake's variant reproduces it within the check's tolerance,
and there are at least `MIN_EXAMPLES` such examples. Otherwise nothing is said beyond the numbers.
A check whose inputs are all fixed values gives one example, so nothing is named from it; a
received output of all zeros (never computed?) fits too many variants to be evidence; a NaN or an
infinity is reproduced only by the same one in the same place. Hand-computed answers (the answers
kind) are diagnosed by `name_answers`: there the answers of the check are the examples.

Variants come from three places:
- generic ones, made from the reference's output alone (`mistakes.generic()`); for an update (an
  output named like an argument of the same shape, e.g. W1 from update_params) they are applied
  to the step W_new - W, with the learning rate passed in;
- another output of the same call (two returned values swapped);
- an assignment's own (`variants:` of a check): the reference run with some of its functions
  replaced by functions of the assignment's reference-side mistakes module.
"""
import numpy as np

from nngrader.core.errors import SpecError
from nngrader.engine import comparison, inputs, mistakes, replay, scenario
from nngrader.engine.targets import ReferenceTarget

MIN_EXAMPLES = 2             # examples on which a variant must reproduce the student's output
EXAMPLES = 3                 # non-degenerate examples tried


def examples(spec, seed):
    """Non-degenerate draws: sizes >= 2 where the range allows, distinct within and across draws."""
    out = []
    for k in range(EXAMPLES):
        dims = {}
        for name, (lo, hi) in spec.dims.items():
            free = [v for v in range(max(lo, 2 + k), hi + 1) if v not in dims.values()]
            dims[name] = int(free[0] if free else min(hi, max(lo, 2 + k)))
        ex = {"dims": dims, "seed": (seed + 7919 * (k + 1)) % (2 ** 32)}
        if all(ex["dims"] != o["dims"] for o in out) or not spec.dims and _drawn(spec):
            out.append(ex)
    return out


def _drawn(spec):
    """Whether the inputs are drawn (so two seeds give two examples), not all fixed values."""
    return any(a.gen != "value" for a in spec.args)


class _Layered:
    """A reference module with some names taken from its mistakes module."""

    def __init__(self, reference, mistakes_module):
        self._reference, self._mistakes = reference, mistakes_module

    def __getattr__(self, name):
        if hasattr(self._mistakes, name):
            return getattr(self._mistakes, name)
        return getattr(self._reference, name)


def mistakes_module_name(asg):
    """The assignment's reference-side mistakes module: `<reference>_mistakes`."""
    return asg.reference + "_mistakes"


def _variant_targets(ctx, declared):
    if not declared or isinstance(ctx.reference_source, replay.Replay):
        return []       # a student bundle ships no reference code, so no assignment's variants either
    module = ctx.reference_module(mistakes_module_name(ctx.asg))
    layered = _Layered(ctx.reference_module(), module)
    return [(v["mistake"], ReferenceTarget(layered, ctx.files, dict(v["use"]))) for v in declared]


def _matches(candidate, got, tol):
    """Within tolerance entry by entry; a NaN or an infinity matches only the same one in the same
    place (a variant without its eps reproduces the student's log(0) = -inf)."""
    cand = np.asarray(candidate, dtype=np.float64)
    if got is None or cand.shape != got.shape:
        return False
    finite = np.isfinite(cand)
    if not finite.all():
        same = (np.isnan(cand) & np.isnan(got)) | (cand == got)
        if not np.array_equal(~finite, ~finite & same) or np.isfinite(got).sum() != finite.sum():
            return False
    return bool(np.all(np.abs(got[finite] - cand[finite]) <= tol.atol + tol.rtol * np.abs(cand[finite])))


def _elements(name, value):
    """(label, array) pairs of one compared value (a list of arrays is compared per element)."""
    if isinstance(value, (list, tuple)) and value and not all(np.isscalar(x) for x in value):
        return [(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [(name, value)]


def _update_context(name, exp, env, arg_names):
    """An update is an output named like an argument (W1, or W1_new) of the same shape."""
    arg = name[:-len("_new")] if name.endswith("_new") else name
    before = env.get(arg) if arg in arg_names else None
    if before is None or np.shape(before) != np.shape(exp):
        return None, None
    lr = next((float(env[n]) for n in mistakes.LEARNING_RATES if n in env and np.ndim(env[n]) == 0), None)
    return np.asarray(before, dtype=np.float64), lr


def _candidates(label, exp, ref_env, env, dims, arg_names, names):
    """-> [(mistake id, candidate)] of the generic variants and of a swapped return (`names`: the
    values returned by the same call, `_siblings`)."""
    exp = np.asarray(exp, dtype=np.float64)
    before, lr = _update_context(label, exp, env, arg_names)
    ctx = mistakes.Context(name=label, env=env, dims=dims, before=before, lr=lr)
    out = []
    for m in mistakes.generic():
        if m.id in ("ascent", "lr_ignored", "lr_twice"):
            if before is not None:
                out += [(m.id, c) for c in m.make(exp, ctx)]
            continue
        if before is not None and m.id == "sign":
            continue                    # a step's flipped sign is the ascent
        if before is not None:          # an update: the mistake is in the step W_new - W
            out += [(m.id, before + c) for c in m.make(exp - before, ctx) if np.shape(c) == before.shape]
        else:
            out += [(m.id, c) for c in m.make(exp, ctx)]
    for other in names.get(label.split("[")[0], ()):
        o = _plain_array(ref_env.get(other)) if other != label else None
        if o is not None and np.any(o) and not (o.shape == exp.shape and np.allclose(o, exp)):
            out.append(("swapped_returns", o))     # matched against the received shape, whatever it is
    return out


def _siblings(steps):
    """{name: the other values returned by the same call} (two of them may come back swapped)."""
    out = {}
    for s in steps:
        if s.op == "call" and isinstance(s.returns, list):
            names = [r.name for r in s.returns if not r.handle]
            for n in names:
                out.setdefault(n, set()).update(m for m in names if m != n)
    return out


def _plain_array(value):
    """A returned value as a float64 array, or None (a handle, a dict, a list of arrays)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (np.ndarray, np.generic, int, float)):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def diagnose(check, ctx, steps, input_spec, compare_names, problem, declared=()):
    """Set the hint of each mismatch of `problem` whose mistake the evidence names (generated
    examples of the check's inputs)."""
    if not _diagnosable(problem):
        return
    ref = ctx.reference()

    def cases():
        for draw in examples(input_spec, check.seed):
            env = inputs.build(input_spec, draw)
            try:
                ref_env = scenario.run(ref, steps, env)
            except replay.NotRecorded:
                return          # a bundle without these reference values: no diagnosis, the numbers stand
            yield env, ref_env
    _diagnose(check, ctx, steps, set(input_spec.names()), compare_names, problem, declared, cases())


def diagnose_cases(check, ctx, steps, compare_names, problem, cases):
    """The same, on a fixture's cases: `cases` is [(inputs, expected)]; cases whose outputs have a
    single entry (where the sizes could show nothing) are no evidence."""
    if not _diagnosable(problem):
        return
    names = set()
    for env, _ in cases:
        names |= set(env)
    _diagnose(check, ctx, steps, names, compare_names, problem, (), cases, min_entries=2)


def _diagnosable(problem):
    return not (problem is None or problem.failure is not None or problem.structure or not problem.mismatches)


def _diagnose(check, ctx, steps, arg_names, compare_names, problem, declared, cases, min_entries=1):
    variants = _variant_targets(ctx, declared)
    evidence = {}                       # label -> [set of matching ids per differing example]
    shown = {}                          # label -> sizes of those examples
    returned = _siblings(steps)
    for env, ref_env in cases:
        try:
            stu_env = scenario.run(ctx.student, steps, env)
        except (scenario.StepFailure, scenario.ShapeOfReturn):
            continue
        finally:
            ctx.student.release()
        var_envs = []
        for mid, target in variants:
            try:
                var_envs.append((mid, scenario.run(target, steps, env)))
            except Exception:           # a variant that does not apply to these inputs is no evidence
                continue
        dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
        for name in compare_names:
            for (label, exp), (_, got) in zip(_elements(name, ref_env.get(name)),
                                              _elements(name, stu_env.get(name))):
                if np.size(exp) < min_entries:
                    continue
                got_arr, bad = comparison.coerce(got)
                tol = check.tolerance.get(comparison.received_dtype(got), check.tolerance["float64"])
                if bad is not None:
                    continue
                if _matches(exp, got_arr, tol):
                    continue            # right on this example: no evidence either way
                if not np.any(got_arr):
                    continue            # all zeros (never computed?) fits too many variants to be evidence
                ids = {mid for mid, c in _candidates(label, exp, ref_env, env, dims, arg_names, returned)
                       if _matches(c, got_arr, tol)}
                for mid, venv in var_envs:
                    for (vl, vexp) in _elements(name, venv.get(name)):
                        if vl == label and _matches(vexp, got_arr, tol):
                            ids.add(mid)
                evidence.setdefault(label, []).append(ids)
                shown.setdefault(label, []).append(dims)
    for m in problem.mismatches:
        hint = _named(m.name, evidence.get(m.name, []), shown.get(m.name, []))
        if hint:
            m.hint = hint


def _named(label, per_example, dims):
    if len(per_example) < MIN_EXAMPLES:
        return ""
    common = set.intersection(*per_example)
    if len(common) != 1:
        return ""
    mid = common.pop()
    where = "; ".join(", ".join(f"{k}={v}" for k, v in d.items()) for d in dims if d)
    n = len(per_example)
    return (f"your {label} equals the reference's {label} computed {mistakes.describe(mid)}, on {n} of {n} "
            f"examples" + (f" ({where})" if where else "") + f" [mistake: {mid}]")



def parse_variants(where, raw):
    """`variants: [{mistake: ID, use: {name: function}}]`: the reference run with `name` replaced
    by `function` of the assignment's reference-side mistakes module (`<reference>_mistakes`)
    reproduces mistake ID (an id of the catalog, `nngrader/engine/mistakes.py`)."""
    if not isinstance(raw, list):
        where.fail("a list of {mistake: ID, use: {name: function}}", raw)
    out = []
    for i, v in enumerate(raw):
        if not isinstance(v, dict) or set(v) != {"mistake", "use"}:
            where.at(i).fail("a mapping with exactly `mistake` and `use`", v)
        if v["mistake"] not in mistakes.CATALOG:
            raise SpecError(f"{where.at(i, 'mistake')}: {v['mistake']!r} is not in the catalog of mistakes "
                            f"({', '.join(mistakes.CATALOG)}).")
        use = v["use"]
        if not isinstance(use, dict) or not use or not all(isinstance(a, str) and isinstance(b, str)
                                                          for a, b in use.items()):
            where.at(i, "use").fail("a mapping {reference name: mistakes-module function}", use)
        out.append({"mistake": v["mistake"], "use": dict(use)})
    return out


def declared_functions(ctx, declared):
    """[(mistake id, {reference name: function of the assignment's mistakes module})] of a check's
    `variants:` (for kinds that call the reference themselves, e.g. answers)."""
    if not declared:
        return []
    module = ctx.reference_module(mistakes_module_name(ctx.asg))
    return [(v["mistake"], {name: getattr(module, fn) for name, fn in v["use"].items()}) for v in declared]


ANSWER_MISTAKES = {"sign": -1.0, "factor_2": 2.0, "missing_factor_2": 0.5}


def name_answers(got, want, tol, declared=()):
    """A hint naming the mistake behind hand-computed answers, or ''. `got`, `want`: {key: number}
    of the check's keys (the student's numeric answers, the reference's); `declared`: [(mistake id,
    {key: number})], the answers of the reference with that mistake planted. A mistake is named when
    its answers reproduce every answer given, at least `MIN_EXAMPLES` of them wrong, and no other
    mistake's do: the answers of one problem are the examples here."""
    keys = [k for k in want if k in got]
    wrong = [k for k in keys if not abs(got[k] - want[k]) <= tol.atol + tol.rtol * abs(want[k])]
    if len(wrong) < MIN_EXAMPLES:
        return ""
    cands = [(mid, {k: f * want[k] for k in keys}) for mid, f in ANSWER_MISTAKES.items()] + list(declared)

    def fits(values):
        return all(k in values and abs(got[k] - values[k]) <= tol.atol + tol.rtol * abs(values[k]) for k in keys)
    ids = {mid for mid, values in cands if fits(values)}
    if len(ids) != 1:
        return ""
    mid = ids.pop()
    return (f"your answers equal the reference's computed {mistakes.describe(mid)}: all {len(keys)} of them, "
            f"{len(wrong)} of which differ from the right ones [mistake: {mid}]")
