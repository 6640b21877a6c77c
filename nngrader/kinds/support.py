"""support: grade a function that works on support files the assignment hands the submission
(e.g. sentiment-2layer's train_nn on a tweets pickle with utils.py): the shapes of what it
returns, and a score the reference computes from it (accuracy on the held-back part).

    - name: train_nn_accuracy
      kind: support
      timeout: 60
      steps: [{call: train_nn, args: [{file: tweets.pkl}, 4, 300, 0.5],
               returns: [{name: W1}, {name: b1}, {name: W2}, {name: b2}]}]
      shapes: {W1: [H, 3], b1: [[H], [H, 1]], W2: [1, H], b2: [[1], [], [1, 1]]}
      dims: {H: 4}
      score_steps: [{call: test_accuracy, args: [{file: tweets.pkl}, W1, b1, W2, b2],
                     returns: {name: accuracy}}]
      min_accuracy: 0.75
      attempts: 5

`attempts` (default 1): how many runs the steps get to reach `min_accuracy`. The first run
meets the random generators the submission draws from without a seed of its own as they are
(seeded by the worker, or by the submission's own module-level `np.random.seed`); before run k
(k = 1, 2, ...) the grader seeds them with the check's seed + k. Another run follows one that
missed only when that run drew from those generators (a run that did not would return the same
again), and counts only when it returns other parameters than the run before it (a submission
that seeds its own generator in the trainer gets the same start at every run). The check passes
when a run reaches `min_accuracy`; the feedback gives every run's accuracy.
"""
from dataclasses import dataclass

from nngrader.core.errors import SpecError, StudentFailure
from nngrader.core.model import integer
from nngrader.core.outcome import Outcome
from nngrader.engine import comparison, feedback, orders, scenario, search
from nngrader.engine.kind import Kind
from nngrader.engine.parameters import check_shapes, parse_score, parse_shapes, reordered, score

FIELDS = ("steps", "shapes", "dims", "score_steps", "min_accuracy", "attempts")
SEEDS = 2 ** 32                 # NumPy's global generator takes seeds below this


@dataclass
class Config:
    steps: list
    shapes: dict
    dims: dict
    score_steps: list
    min_accuracy: float
    attempts: int = 1


def parse(where, raw, asg):
    if "steps" not in raw:
        raise SpecError(f"{where}: a support check needs `steps`.")
    dims = {k: integer(where.at("dims", k), v, minimum=0) for k, v in (raw.get("dims") or {}).items()}
    score_steps, min_acc = parse_score(where, raw)
    attempts = integer(where.at("attempts"), raw.get("attempts", 1), minimum=1)
    if attempts > 1 and not score_steps:
        raise SpecError(f"{where.at('attempts')}: more than one attempt needs `score_steps` and `min_accuracy` "
                        "(a run is tried again only when it misses the accuracy).")
    return Config(steps=scenario.parse_steps(where.at("steps"), raw["steps"]),
                  shapes=parse_shapes(where.at("shapes"), raw.get("shapes", {}), dims),
                  dims=dims, score_steps=score_steps, min_accuracy=min_acc, attempts=attempts)


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def run(check, ctx):
    cfg = check.config
    calls = ", ".join(s.describe() for s in cfg.steps if s.op == "call")
    checked = (f"checked: {calls} on the assignment's data files — shapes "
               + ", ".join(f"{k} {' or '.join(str(tuple(a)) for a in v)}" for k, v in cfg.shapes.items())
               + (f"; accuracy of the returned parameters on the held-back part >= {cfg.min_accuracy:.0%}"
                  if cfg.score_steps else ""))
    hidden = check.visibility == "hidden"
    accuracies, previous, stopped = [], None, ""
    for k in range(cfg.attempts):
        try:
            drew = ctx.student.reseed((check.seed + k) % SEEDS if k else None)
        except StudentFailure as exc:
            return _failed(checked, search.Problem(env={}, draw=None, failure=exc), hidden)
        if k and not drew:
            stopped = ("your code drew nothing from the random generators the grader seeds, so another seed "
                       "would not change what it returns")
            break
        env, problem = search.run_student(ctx.student, cfg.steps, dict(cfg.dims), None)
        if problem:
            return _failed(checked, problem, hidden)
        problems = check_shapes(env, cfg.shapes, cfg.dims)
        if problems:
            lines = problems + _order_hint(ctx, cfg, env)
            return Outcome(False, checked, lines=lines, short=problems[0])
        if not cfg.score_steps:
            return Outcome(True, checked)
        returned = _returned(env, cfg.shapes)
        if previous is not None and returned == previous:
            stopped = "from the grader's next seed your code returned the very same parameters"
            break
        acc = score(ctx, cfg, env)
        accuracies.append(acc)
        if acc >= cfg.min_accuracy:
            if k == 0:
                return Outcome(True, checked + f" (yours: {acc:.1%})")
            before = ", ".join(f"{a:.1%}" for a in accuracies[:-1])
            return Outcome(True, checked + f" (yours: {acc:.1%}, in run {k + 1} of up to {cfg.attempts}, each from "
                           f"another seed of your random generators; the run{'s' if k > 1 else ''} before "
                           f"reached {before})")
        previous = returned
    reached = ", ".join(f"{a:.1%}" for a in accuracies)
    runs = (f" in {len(accuracies)} runs from different seeds of your random generators" if len(accuracies) > 1
            else "")
    line = (f"accuracy on the held-back part is {reached}{runs}, below the required {cfg.min_accuracy:.0%}: "
            "the trained parameters do not separate the classes (check the update, the learning rate, "
            "and that features are built with extract_features)")
    lines = [line] + ([f"  only one run of up to {cfg.attempts}: {stopped}"] if stopped and len(accuracies) == 1 else [])
    return Outcome(False, checked, lines=lines + _order_hint(ctx, cfg, env), short=line)


def _order_hint(ctx, cfg, env):
    """A line naming the order a call returned its results in, when exactly one other order gives
    values of the shapes asked that reach the accuracy (parameters.reordered); else nothing."""
    for step in cfg.steps:
        names = orders.returned_names(step) if step.op == "call" else []
        found = reordered(ctx, cfg, env, names)
        if found:
            order, acc = found
            return [f"  hint: your {step.target} returns its values in the order ({', '.join(order)}): in that "
                    f"order they have the shapes asked and reach {acc:.1%} on the held-back part; the expected "
                    f"order is ({', '.join(names)}) [mistake: swapped_returns]"]
    return []


def _failed(checked, problem, hidden):
    lines = feedback.failure_lines(problem, [], hidden)
    return Outcome(False, checked, lines=lines, short=lines[0])


def _returned(env, shapes):
    """The returned parameters, exactly (the bytes of each), to tell whether a run repeated the one before."""
    out = []
    for name in shapes:
        arr, _ = comparison.coerce(env.get(name))
        out.append((name, arr.dtype.str, arr.shape, arr.tobytes()) if arr is not None else (name, None))
    return out


KIND = Kind(name="support", fields=FIELDS, parse=parse, exercised=exercised, run=run)
