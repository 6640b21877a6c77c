"""Running a scenario on the reference and on the submission for generated examples, and
finding a small failing example (`feedback` turns it into lines).

The examples are hypothesis's draws, recorded once per process (`memo`); a failing one is made
smaller by `shrink`. Deterministic: hypothesis is seeded with the check's seed, has no example
database, and never prints; the same submission always meets the same examples.
"""
import contextlib
import sys
from dataclasses import dataclass, field

import numpy as np

from nngrader.core.errors import HarnessBug, SpecError, StudentFailure
from nngrader.core.protocol import FailureKind
from nngrader.core.caches import Held
from nngrader.engine import comparison, inputs, memo, scenario

# Off while the reference is recorded for a bundle or replayed in one (nngrader.engine.replay.around):
# a smaller example would be one the reference was never recorded on.
SHRINK = True
# Student failures after which searching on is pointless (or costly): stop at the first one.
FATAL = {FailureKind.NOT_IMPLEMENTED, FailureKind.MISSING, FailureKind.SYNTAX, FailureKind.TIMEOUT,
         FailureKind.DIED, FailureKind.BUDGET, FailureKind.MEMORY, FailureKind.PROTOCOL, FailureKind.IMPORT}


@dataclass
class Problem:
    """What went wrong on one example."""
    env: dict
    draw: dict
    mismatches: list = field(default_factory=list)      # [comparison.Mismatch]
    failure: StudentFailure = None
    step: object = None
    structure: str = ""                                 # a wrong return structure
    note: str = ""


class _Found(Exception):
    def __init__(self, problem):
        super().__init__("failing example")
        self.problem = problem


class _Abort(BaseException):
    """Stops the search at once (no shrinking): student code is unusable for this check."""

    def __init__(self, problem):
        super().__init__("abort")
        self.problem = problem


def search(input_spec, seed, max_examples, evaluate, prefetch=None):
    """Run `evaluate(draw) -> Problem | None` over generated examples; return the minimal Problem.

    The draws are known before any is evaluated (`memo`: recorded once, replayed, never a
    different verdict); `prefetch(draws)`, if given, is told all of them first, the boundary
    examples last (their student calls can then go to the worker in one batch)."""
    boundary = boundary_examples(input_spec)
    ahead = None if prefetch is None else (lambda draws: prefetch(draws + boundary))
    problem = memo.generated(input_spec, seed, max_examples, SHRINK, evaluate,
                             lambda p: p.failure is not None and p.failure.category in FATAL,
                             lambda ev: _generated(input_spec, seed, max_examples, ev), ahead)
    if problem is not None:
        return problem
    # Generated examples (which shrink) come first; then the boundaries hypothesis may not
    # have drawn: every dimension at its minimum (N = 1), at its maximum, and mixed.
    for ex in boundary:
        problem = evaluate(ex)
        if problem is not None:
            return problem
    return None


class Prefetch:
    """A search's examples built once per process (`memo.INPUTS`: every submission meets the same
    inputs, as read-only arrays), and the student's calls of all of them sent ahead in one batch
    (`StudentTarget.prefetch`) when every call can be known from the example alone
    (`scenario.plan`). `repeat`: the steps run that many times on each example, each time on
    what the last returned (a training loop; 0: nothing is sent ahead). Pass it to `search`;
    get each example's inputs with `inputs(draw)`."""

    def __init__(self, student, input_spec, steps, repeat=1):
        self.student, self.input_spec, self.steps, self.repeat = student, input_spec, steps, repeat

    def __call__(self, draws):
        plan = _plan(self.student, self.steps, self.repeat, [self.inputs(draw) for draw in draws])
        if plan.planned:
            self.student.prefetch(plan.planned, plan)

    def inputs(self, draw):
        """The example's inputs: a new dict of the values built once (read-only arrays)."""
        return dict(memo.INPUTS.get(self.input_spec, draw, _draw_key(draw)))


class _Plan:
    """A search's planned calls (None: they cannot all be known ahead), and the batch's bytes once
    sent whole (`data`)."""

    def __init__(self, planned):
        self.planned, self.data = planned, None


PLAN_ENTRIES = 2000         # plans kept per process (the oldest go first)
_PLANS = Held(PLAN_ENTRIES)


def _plan(student, steps, repeat, envs):
    """The calls of `steps` on every example (`repeat` times each, each on what the last returned),
    planned once per process: every submission meets the same input objects (`memo.INPUTS`), and
    a plan depends on nothing else but the submission's aliases and tracing (`plan_setting`)."""
    objects = (steps, *(v for env in envs for v in env.values()))
    key = (repeat, student.plan_setting(), tuple(tuple(env) for env in envs))
    entry = _PLANS.get(objects, key)
    if entry is not None:
        return entry
    planned = []
    for env in envs:
        produced = {}
        for _ in range(repeat):
            these = scenario.plan(student, steps, env, produced, first=len(planned))
            if these is None:
                planned = None
                break
            planned += these
        if planned is None:
            break
    return _PLANS.put(objects, _Plan(planned or None), key)


def _draw_key(draw):
    return tuple(sorted(draw["dims"].items())), draw.get("seed")


def _generated(input_spec, seed, max_examples, evaluate):
    """The hypothesis search -> the minimal Problem it found, or None."""
    # Imported here, not at module level: the grader overlaps this import with the worker's start.
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hyp_seed

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate) + ((Phase.shrink,) if SHRINK else ()), report_multiple_bugs=False,
              print_blob=False)
    @hyp_seed(seed)
    @given(inputs.strategy(input_spec))
    def prop(draw):
        problem = evaluate(draw)
        if problem is not None:
            if problem.failure is not None and problem.failure.category in FATAL:
                raise _Abort(problem)
            raise _Found(problem)

    try:
        with _no_local_constants():
            prop()
    except _Found as found:
        return found.problem
    except _Abort as abort:
        return abort.problem
    return None


@contextlib.contextmanager
def _no_local_constants():
    """Hypothesis mixes into its draws numbers it finds in the source of every local module loaded
    in this process (hypothesis.internal.conjecture.providers, hypothesis is pinned): the examples
    would depend on what else the process imported (the command line, pytest, a bundle, an engine
    installed in site-packages). They must not, so that pool is kept empty while checks search."""
    import hypothesis  # noqa: F401  (loaded late, as in search(); its providers module comes with it)
    providers = sys.modules["hypothesis.internal.conjecture.providers"]
    before = providers._get_local_constants
    providers._get_local_constants = providers.Constants
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = before
        providers.CONSTANTS_CACHE.cache.clear()


def boundary_examples(input_spec):
    """Always tried: every dimension at its minimum (N = 1), at its maximum, and alternating
    (non-square) — hypothesis alone may never draw them."""
    dims = input_spec.dims
    lows = {k: lo for k, (lo, hi) in dims.items()}
    highs = {k: hi for k, (lo, hi) in dims.items()}
    mixed = {k: (lo if i % 2 else hi) for i, (k, (lo, hi)) in enumerate(dims.items())}
    out = []
    for i, d in enumerate((lows, highs, mixed)):
        ex = {"dims": d, "seed": 1 + i}
        if ex not in out:
            out.append(ex)
    return out


def run_reference(target, steps, env):
    """The steps on the reference. Anything going wrong here is the spec's or the reference's
    doing, never the submission's: a HarnessBug naming the file, the check and the step.
    Results computed before on the same example are not computed again (`memo.References`)."""
    return memo.REFERENCES.run(target, steps, env, lambda: _run_reference(target, steps, env))


def _run_reference(target, steps, env):
    for step in steps:
        try:
            env = scenario.run(target, [step], env)
        except SpecError:
            raise
        except Exception as exc:
            raise HarnessBug(reference_failure(step, exc, env)) from exc
    return env


def reference_failure(step, exc, env=None):
    """'checks/x.yaml › train_loop › steps[0]: the reference failed on `train(X, y, lr, steps)` ...'"""
    if isinstance(exc, scenario.StepFailure):
        exc, step = exc.failure, exc.step
    shown = scenario.with_values(step, env or {})
    what = exc.message if isinstance(exc, scenario.ShapeOfReturn) else f"{type(exc).__name__}: {exc}"
    return (f"{step.where or 'a step'}: the reference failed on `{shown.describe()}`: {what}. The spec does "
            f"not fit the reference (an argument's name, shape or type, the returned values, or "
            f"`returns:`); `python grader.py validate` dry-runs every check on the reference.")


def run_student(target, steps, env, draw):
    """-> (student env, None) or (None, Problem)."""
    try:
        out = scenario.run(target, steps, env)
        return out, None
    except scenario.StepFailure as exc:
        return None, Problem(env=env, draw=draw, failure=exc.failure, step=exc.step)
    except scenario.ShapeOfReturn as exc:
        return None, Problem(env=env, draw=draw, structure=exc.message, step=exc.step)
    finally:
        release = getattr(target, "release", None)
        if release:
            release()


def compare_envs(names, ref_env, stu_env, check, accept, upper_env=None, context=None, tolerances=None):
    """`tolerances`: {name: {dtype: Tolerance}} replacing the check's for some values (a
    returned value's own `tolerance:`, see `tolerance_map`)."""
    dims = {k: v for k, v in ref_env.items() if isinstance(v, int) and not isinstance(v, bool)}
    out = []
    for name in names:
        own = (tolerances or {}).get(name)
        this = with_tolerance(check, {**check.tolerance, **own}) if own else check
        exp = ref_env[name]
        got = stu_env.get(name)
        upper = upper_env.get(name) if upper_env else None
        if isinstance(exp, (list, tuple)) and not _is_numeric_seq(exp):
            out += _compare_list(name, exp, got, this, accept, dims, upper, context)
            continue
        m = comparison.compare(name, exp, got, this.tolerance, dims, accept.get(name), upper, context)
        if m:
            out.append(m)
    return out


def _is_numeric_seq(v):
    return all(isinstance(x, (int, float, np.floating, np.integer)) for x in v)


def _compare_list(name, exp, got, check, accept, dims, upper, context):
    if not isinstance(got, (list, tuple)) or len(got) != len(exp):
        what = (f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (list, tuple))
                else comparison.coerce(got)[1] or f"an array of shape {np.shape(got)}")
        return [comparison.Mismatch(name, f"{name}: expected a list of {len(exp)} arrays, received {what}")]
    out = []
    for i, (e, g) in enumerate(zip(exp, got)):
        m = comparison.compare(f"{name}[{i}]", e, g, check.tolerance, dims, accept.get(name),
                               upper[i] if upper is not None else None, context)
        if m:
            out.append(m)
    return out


class with_tolerance:
    """The check, seen with another tolerance (for one value)."""

    def __init__(self, check, tolerance):
        self._check = check
        self.tolerance = tolerance

    def __getattr__(self, name):
        return getattr(self._check, name)


def tolerance_map(steps):
    """{result name: {dtype: Tolerance}} of the results that set their own `tolerance:`."""
    out = {}
    for s in steps:
        rets = s.returns if isinstance(s.returns, list) else ([s.returns] if s.returns else [])
        for r in rets:
            if getattr(r, "tolerance", None):
                out[r.name] = r.tolerance
    return out


def accept_map(steps):
    acc = {}
    for s in steps:
        rets = s.returns if isinstance(s.returns, list) else ([s.returns] if s.returns else [])
        for r in rets:
            acc[r.name] = r.accept
    return acc
