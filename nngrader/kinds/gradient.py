"""gradient: verify an analytic gradient against central differences, in float64, of the right
scalar loss — once against the reference's loss (this decides the verdict) and once against the
submission's own forward (self-consistency, which tells the student whether the forward or the
backward is wrong).

    - name: gradients_vs_fd
      kind: gradient
      dims: ...; args: ...
      steps: [...]                        # produce the analytic gradients (e.g. dW1)
      loss_steps: [...]                   # produce the scalar `loss` from the same arguments
      wrt: {W1: dW1, "Ws[0]": "grad_Ws[0]"}
      fd_step: 6.0e-6                     # h = fd_step * max(1, |x|)
      fd_tolerance: {rtol: 1.0e-5, atol: 1.0e-8}
      max_entries: 40                     # entries differentiated per argument (a seeded subset)
      kink_threshold: 0.0                 # extra relative margin before one-sided slopes mean a kink
      verify_above: 1000                  # larger arguments: random-direction probes (all entries)

At a kink (ReLU at 0, a clipping edge) the one-sided differences disagree; there any value
between them is accepted, so a correct implementation never fails at a kink.

An argument of more than `verify_above` entries (default 1000, far above the shipped
assignments' shapes, which are therefore checked entry by entry exactly as without it) is
verified by `nngrader.engine.gradverify`: Gaussian directions over all its entries, each
difference with an error estimate, then the disagreeing entries are localised and each is
differentiated on its own. Those entries are held to the tolerance like any other; an error
spread over too many entries to localise is judged entry by entry on the seeded subset. Its
detection limit and cost are in that module's docstring.
"""
import re
from dataclasses import dataclass

import numpy as np

from nngrader.core.errors import HarnessBug, SpecError
from nngrader.core.model import Tolerance, integer, number, read_tolerance
from nngrader.engine import comparison, feedback, gradverify, inputs, memo, orders, precision, scenario, search
from nngrader.engine.kind import Kind
from nngrader.engine.targets import ReferenceTarget

FIELDS = ("dims", "args", "steps", "loss_steps", "wrt", "fd_step", "fd_tolerance", "max_entries",
          "kink_threshold", "return_orders", "verify_above")
DEFAULT_FD_STEP = 6e-6                       # float64 central differences: ~5e-10 relative error
DEFAULT_FD_TOLERANCE = Tolerance(rtol=1e-5, atol=1e-8)
DEFAULT_MAX_ENTRIES = 40
DEFAULT_KINK_THRESHOLD = 0.0                 # extra margin before one-sided slopes count as a kink
DEFAULT_VERIFY_ABOVE = 1000                  # entries above which an argument is verified by probes
PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


@dataclass
class Config:
    inputs: inputs.InputSpec
    steps: list
    loss_steps: list
    wrt: list                 # [(arg_path, result_path)]
    fd_step: float
    fd_tolerance: Tolerance
    max_entries: int
    kink_threshold: float
    return_orders: dict = None    # {call: [other accepted orders of its results]} (engine.orders)
    verify_above: int = DEFAULT_VERIFY_ABOVE    # larger arguments: gradverify probes, not entry by entry


def parse(where, raw, asg):
    spec = inputs.parse_inputs(where, raw.get("dims"), raw.get("args"))
    for key in ("steps", "loss_steps", "wrt"):
        if key not in raw:
            raise SpecError(f"{where}: a gradient check needs `{key}`.")
    steps = scenario.parse_steps(where.at("steps"), raw["steps"])
    loss_steps = scenario.parse_steps(where.at("loss_steps"), raw["loss_steps"])
    wrt = []
    if not isinstance(raw["wrt"], dict) or not raw["wrt"]:
        where.at("wrt").fail("a mapping {argument: returned gradient}", raw["wrt"])
    # a gradient may also be picked out of a returned structure ({item: grads, index: W1, as: dW1})
    produced = scenario.result_names(steps) + scenario.computed_names(steps)
    for a, r in raw["wrt"].items():
        for val, what in ((a, "argument"), (r, "result")):
            m = PATH.match(str(val))
            if not m:
                where.at("wrt", a).fail(f"an {what} name, optionally indexed like Ws[0]", val)
        if PATH.match(a).group(1) not in spec.names():
            raise SpecError(f"{where.at('wrt', a)}: {a!r} is not a generated argument ({', '.join(spec.names())}).")
        if PATH.match(str(r)).group(1) not in produced:
            raise SpecError(f"{where.at('wrt', a)}: {r!r} is not returned by any step ({', '.join(produced)}).")
        wrt.append((a, str(r)))
    return Config(
        inputs=spec, steps=steps, loss_steps=loss_steps, wrt=wrt,
        fd_step=number(where.at("fd_step"), raw.get("fd_step", DEFAULT_FD_STEP), positive=True),
        fd_tolerance=(read_tolerance(where.at("fd_tolerance"), raw["fd_tolerance"], DEFAULT_FD_TOLERANCE)
                      if "fd_tolerance" in raw else DEFAULT_FD_TOLERANCE),
        max_entries=integer(where.at("max_entries"), raw.get("max_entries", DEFAULT_MAX_ENTRIES), minimum=1),
        kink_threshold=number(where.at("kink_threshold"), raw.get("kink_threshold", DEFAULT_KINK_THRESHOLD),
                              nonneg=True),
        return_orders=orders.parse(where.at("return_orders"), raw.get("return_orders"), steps),
        verify_above=integer(where.at("verify_above"), raw.get("verify_above", DEFAULT_VERIFY_ABOVE), minimum=1))


def exercised(cfg):
    names = scenario.exercised(cfg.steps)
    return names + [n for n in scenario.exercised(cfg.loss_steps) if n not in names]


def _get(env, path):
    name, idx = PATH.match(path).groups()
    v = env.get(name)
    if idx is not None:
        v = v[int(idx)] if isinstance(v, (list, tuple)) and int(idx) < len(v) else None
    return v


def _with(env, path, arr):
    name, idx = PATH.match(path).groups()
    out = dict(env)
    if idx is None:
        out[name] = arr
    else:
        lst = list(env[name])
        lst[int(idx)] = arr
        out[name] = lst
    return out


def finite_differences(loss, env, path, cfg, seed):
    """-> (lo, hi, entries): slopes per entry; lo == hi except at kinks (one-sided slopes)."""
    x = np.array(_get(env, path), dtype=np.float64)
    flat = x.reshape(-1)
    entries = np.arange(flat.size)
    if flat.size > cfg.max_entries:
        entries = np.sort(np.random.default_rng(seed).choice(flat.size, cfg.max_entries, replace=False))
    f0 = loss(env)
    lo = np.full(flat.size, np.nan)
    hi = np.full(flat.size, np.nan)
    for i in entries:
        h = cfg.fd_step * max(1.0, abs(flat[i]))
        xp, xm = flat.copy(), flat.copy()
        xp[i] += h
        xm[i] -= h
        fp = loss(_with(env, path, xp.reshape(x.shape)))
        fm = loss(_with(env, path, xm.reshape(x.shape)))
        right, left, central = (fp - f0) / h, (f0 - fm) / h, (fp - fm) / (2 * h)
        # One-sided slopes that disagree beyond the comparison tolerance mean a kink (or a
        # curvature of the order h·f'', which widens the accepted interval only by that much).
        tol = cfg.fd_tolerance
        if abs(right - left) > max(tol.atol + tol.rtol * max(abs(left), abs(right)),
                                   cfg.kink_threshold * max(1.0, abs(central))):
            lo[i], hi[i] = min(left, right), max(left, right)
        else:
            lo[i] = hi[i] = central
    return lo.reshape(x.shape), hi.reshape(x.shape), entries


def _loss_fn(target, steps, student=False):
    def loss(env):
        out = scenario.run(target, steps, env) if not student else _student_loss(target, steps, env)
        return float(np.asarray(out["loss"], dtype=np.float64).reshape(-1)[0])
    return loss


def _student_loss(target, steps, env):
    try:
        return scenario.run(target, steps, env)
    finally:
        target.release()


def run(check, ctx):
    cfg = check.config
    ref = ctx.reference()
    ref_loss = _loss_fn(ref, cfg.loss_steps)
    if type(ref) is ReferenceTarget:
        ref_loss.reference_of = ref.module      # a plain reference: its differences are kept
    accept = search.accept_map(cfg.steps)

    def _mismatches(chk, env, stu_env, draw):
        out = []
        for arg, res in cfg.wrt:
            try:
                m = check_argument(ref_loss, env, arg, res, _get(stu_env, res), cfg, chk, accept, draw["seed"])
            except Exception as exc:
                raise HarnessBug(f"reference loss failed: {exc}") from exc
            if m:
                out.append(m)
        return out

    prefetch = search.Prefetch(ctx.student, cfg.inputs, cfg.steps)

    def one(draw):
        env = prefetch.inputs(draw)
        stu_env, problem = search.run_student(ctx.student, cfg.steps, env, draw)
        if problem:
            return problem
        if cfg.return_orders:       # an order the handout also gives is read from the values
            dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
            stu_env, _ = orders.resolve(cfg.steps, cfg.return_orders, search.run_reference(ref, cfg.steps, env),
                                        stu_env, check.tolerance, dims, accept)
        mismatches = _mismatches(check, env, stu_env, draw)
        if mismatches and "float32" in check.tolerance and not any("wrong shape" in m.summary for m in mismatches):
            why = precision.traced(ctx.student, cfg.steps, env, draw)
            as32 = search.with_tolerance(check, {**check.tolerance, "float64": check.tolerance["float32"]})
            if why and not _mismatches(as32, env, stu_env, draw):
                float32_notes.add(precision.note(check, why))
                mismatches = []
        if not mismatches:
            return None
        p = search.Problem(env=env, draw=draw, mismatches=mismatches)
        if not any("wrong shape" in m.summary for m in mismatches):     # values only, never shapes
            p.note = _self_consistency(ctx, cfg, check, env, stu_env, draw, accept)
        return p

    float32_notes = set()
    problem = search.search(cfg.inputs, check.seed, check.max_examples, one, prefetch)
    wrt = ", ".join(f"{r} = dloss/d{a}" for a, r in cfg.wrt)
    checked = (f"checked: {wrt} from " + ", ".join(s.describe() for s in cfg.steps if s.op in ('call', 'get')) +
               f" — against central differences (h = {cfg.fd_step:g}·max(1, |x|)) of the reference loss, "
               f"tolerance {cfg.fd_tolerance.describe()}, on up to {check.max_examples} generated examples "
               f"(seed {check.seed})")
    names = cfg.inputs.names()
    if problem is not None and problem.env is not None:     # the example as the code received it
        names, problem.env = feedback.as_received(cfg.steps, problem.env, names)
    out = feedback.outcome(check, checked, problem, names)
    if out.passed and float32_notes:
        out.lines = sorted(float32_notes)
    return out


def check_argument(loss, env, arg, res, got, cfg, check, accept, seed):
    """The claimed gradient `got` (result `res`) of `loss` with respect to argument `arg` -> a
    Mismatch, or None: entry by entry up to `verify_above` entries, by probes beyond."""
    if np.size(_get(env, arg)) <= cfg.verify_above:
        if getattr(loss, "reference_of", None) is not None:     # the same for every submission
            lo, hi, entries = memo.REFERENCES.computed(cfg, loss.reference_of, env, [arg, seed],
                                                       lambda: finite_differences(loss, env, arg, cfg, seed))
        else:
            lo, hi, entries = finite_differences(loss, env, arg, cfg, seed)
        return _compare_entries(res, lo, hi, entries, got, cfg, check, accept, env)
    return _verify_by_probes(loss, env, arg, res, got, cfg, check, accept, seed)


def _verify_by_probes(loss, env, arg, res, got, cfg, check, accept, seed):
    x = np.array(_get(env, arg), dtype=np.float64)
    tol = _tolerances(cfg, check)
    dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
    acc = accept.get(PATH.match(res).group(1))
    arr, problem = comparison.coerce(got)
    if problem is not None or arr.size != x.size or not comparison.shape_accepted(x.shape, arr.shape, acc, dims):
        # the comparison names the wrong type or shape; no values are compared
        return comparison.compare(res, np.zeros(x.shape), got, tol, dims, acc)

    def losses(thetas):         # one round of probes: one batch
        return [loss(_with(env, arg, t.reshape(x.shape))) for t in thetas]
    f32 = comparison.received_dtype(got) == "float32"
    report = gradverify.verify(losses, arr, x, batched=True, blocks=[(res, x.shape)], seed=seed,
                               grad_dtype=np.float32 if f32 else np.float64)
    if report.ok:
        return None
    lo, hi = arr.reshape(-1).copy(), arr.reshape(-1).copy()
    for e in report.wrong:              # the localised entries' own differences; elsewhere agreement
        lo[e.index], hi[e.index] = e.low, e.high
    m = comparison.compare(res, lo.reshape(arr.shape), got, tol, dims, acc, hi.reshape(arr.shape))
    if m is None and (report.spread or report.unresolved or not report.wrong):
        flo, fhi, entries = finite_differences(loss, env, arg, cfg, seed)
        m = _compare_entries(res, flo, fhi, entries, got, cfg, check, accept, env)
    if m is not None:
        m.lines = list(m.lines) + ["  random-direction probes over all entries: " + report.describe()[0]]
    return m


def _tolerances(cfg, check):
    """The check's tolerances, each at least the finite differences' own."""
    tol = dict(check.tolerance)
    tol["float64"] = Tolerance(max(cfg.fd_tolerance.rtol, tol["float64"].rtol),
                               max(cfg.fd_tolerance.atol, tol["float64"].atol))
    tol["float32"] = Tolerance(max(cfg.fd_tolerance.rtol, tol["float32"].rtol),
                               max(cfg.fd_tolerance.atol, tol["float32"].atol))
    return tol


def _compare_entries(res, lo, hi, entries, got, cfg, check, accept, env):
    tol = _tolerances(cfg, check)
    dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
    arr, problem = comparison.coerce(got)
    if problem is None and arr.size == lo.size and comparison.shape_accepted(lo.shape, arr.shape, accept.get(PATH.match(res).group(1)), dims):
        # Only the differentiated entries are compared; the rest take the student's values.
        mask = np.zeros(lo.size, dtype=bool)
        mask[entries] = True
        lo_f = np.where(mask, lo.reshape(-1), arr.reshape(-1)).reshape(lo.shape)
        hi_f = np.where(mask, hi.reshape(-1), arr.reshape(-1)).reshape(lo.shape)
        return comparison.compare(res, lo_f, got, tol, dims, accept.get(res), hi_f)
    return comparison.compare(res, lo, got, tol, dims, accept.get(PATH.match(res).group(1)), hi)


def _self_consistency(ctx, cfg, check, env, stu_env, draw, accept):
    """Compare the student's gradient with differences of the student's own loss."""
    if any(n.split(".")[0] not in ctx.asg.contract for n in scenario.exercised(cfg.loss_steps)):
        return ""       # the loss is a grading helper, not the student's code: no "own" loss
    own = _loss_fn(ctx.student, cfg.loss_steps, student=True)
    try:
        bad = []
        for arg, res in cfg.wrt:
            if check_argument(own, env, arg, res, _get(stu_env, res), cfg, check, accept, draw["seed"]):
                bad.append(res)
    except (scenario.StepFailure, scenario.ShapeOfReturn, KeyError, TypeError, ValueError, IndexError) as exc:
        return f"  self-consistency: your own loss could not be evaluated ({getattr(exc, 'message', exc)})"
    steps = ", ".join(s.target for s in cfg.loss_steps if s.op == "call")
    if bad:
        return (f"  self-consistency: does your {steps} pass its own checks? If it does, the backward is wrong: "
                f"the values of {', '.join(bad)} also disagree with central differences of your own {steps}.")
    return (f"  self-consistency: does your {steps} pass its own checks? Your gradients' values match central "
            f"differences of your own {steps}, so its values differ from the reference's: fix it first.")


KIND = Kind(name="gradient", fields=FIELDS, parse=parse, exercised=exercised, run=run)
