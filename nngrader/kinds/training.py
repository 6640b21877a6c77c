"""training: judge a trainer by the loss it reaches. Two modes.

`per_iteration` (the default) runs one training step (or loop body) `iterations` times,
feeding its results back as the next iteration's arguments; the loss must fall, or follow the
reference's trajectory within a tolerance:

    - name: update_params_descends
      kind: training
      dims: ...; args: ...
      setup: [...]                # optional steps run once (e.g. construct a model)
      steps:                      # one iteration; results may overwrite arguments (fed back)
        - {call: update_params, args: [X, y, W1, b1, W2, b2, lr],
           returns: [{name: W1}, {name: b1}, {name: W2}, {name: b2, accept: [[]]}]}
      loss_steps: [...]           # run on the REFERENCE with the current values -> `loss`
      loss: mse                   # ...or the name of a scalar the steps themselves produce
      iterations: 20
      expect: match_reference     # or: decrease
      min_decrease: 0.2           # decrease: final loss <= (1 - min_decrease) * first loss
      trajectory_tolerance: {rtol: 1.0e-6, atol: 1.0e-9}

`whole_loop` calls a trainer that runs its own loop (`train(X, y, lr, steps)`) once, with the
declared hyperparameters, and judges the parameters it returns (no `iterations`, no dummy
arguments: the trainer initialises its own parameters):

    - name: train_reaches_the_reference_loss
      kind: training
      mode: whole_loop
      dims: {N: [10, 30], d: [2, 4], C: [2, 3]}
      args: {X: {shape: [N, d], normal: 1.0}, y: {shape: [N], labels: C}}
      hyperparameters: {lr: 0.5, steps: 100}   # passed as written: an integer stays an int
      steps:
        - {call: train, args: [X, y, lr, steps], returns: [{name: W}, {name: b}]}
      loss_steps: [...]           # on the REFERENCE with the returned parameters -> `loss`
      expect: reach_reference     # the default in this mode; or accuracy, match_reference, decrease
      loss_tolerance: {rtol: 0.05, atol: 1.0e-3}   # reach_reference: loss <= reference's + tolerance
      min_accuracy: 0.9           # accuracy: `loss_steps` also produce `accuracy`, in [0, 1]
      trajectory: losses          # a returned loss history: match_reference compares it with the
                                  # reference's (with the loss reached); decrease needs it

`hyperparameters` (either mode) are named constants added to the arguments and shown in the
feedback. In both modes a failing example is the submission's only when the reference, run on
the same example, meets the check's expectation. When the reference fails the steps, or misses
the expectation where the submission does too and nowhere else does the submission fail, the
spec does not fit the reference: a harness error naming the check, never a student's FAIL
(`grader.py validate` finds it before anyone is graded).
"""
from dataclasses import dataclass, field

import numpy as np

from nngrader.core.errors import HarnessBug, SpecError
from nngrader.core.model import Tolerance, integer, number, read_tolerance, string
from nngrader.engine import feedback, inputs, memo, scenario, search
from nngrader.engine.kind import Kind
from nngrader.engine.targets import ReferenceTarget

FIELDS = ("mode", "dims", "args", "hyperparameters", "setup", "steps", "loss_steps", "loss", "iterations",
          "expect", "min_decrease", "trajectory_tolerance", "loss_tolerance", "min_accuracy", "trajectory")
MODES = ("per_iteration", "whole_loop")
EXPECTATIONS = {"per_iteration": ("decrease", "match_reference"),
                "whole_loop": ("reach_reference", "accuracy", "match_reference", "decrease")}
DEFAULT_EXPECT = {"per_iteration": "decrease", "whole_loop": "reach_reference"}
DEFAULT_TRAJECTORY_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
DEFAULT_MIN_DECREASE = 0.1
# reach_reference: a correct trainer that initialises or orders its updates a little differently
# reaches nearly the same loss; a wrong gradient or a step never applied does not.
DEFAULT_LOSS_TOLERANCE = Tolerance(rtol=0.05, atol=1e-3)
DEFAULT_MIN_ACCURACY = 0.9


@dataclass
class Config:
    inputs: inputs.InputSpec
    setup: list
    steps: list
    loss_steps: list
    loss: str
    iterations: int
    expect: str
    min_decrease: float
    trajectory_tolerance: Tolerance
    mode: str = "per_iteration"
    hyperparameters: dict = field(default_factory=dict)
    loss_tolerance: Tolerance = DEFAULT_LOSS_TOLERANCE
    min_accuracy: float = DEFAULT_MIN_ACCURACY
    trajectory: str = ""


def parse(where, raw, asg):
    spec = inputs.parse_inputs(where, raw.get("dims"), raw.get("args"))
    mode = string(where.at("mode"), raw.get("mode", "per_iteration"), MODES)
    if "steps" not in raw:
        raise SpecError(f"{where}: a training check needs `steps`.")
    if ("loss_steps" in raw) == ("loss" in raw):
        raise SpecError(f"{where}: give either `loss_steps` (run on the reference) or `loss` (a name the steps produce).")
    hyper = _hyperparameters(where.at("hyperparameters"), raw.get("hyperparameters", {}), spec)
    for name, value in hyper.items():      # named constants, passed as written
        spec.args.append(inputs.ArgSpec(name=name, gen="value", param=value))
    expect = string(where.at("expect"), raw.get("expect", DEFAULT_EXPECT[mode]), EXPECTATIONS[mode])
    setup = scenario.parse_steps(where.at("setup"), raw["setup"]) if "setup" in raw else []
    steps = scenario.parse_steps(where.at("steps"), raw["steps"])
    loss_steps = scenario.parse_steps(where.at("loss_steps"), raw["loss_steps"]) if "loss_steps" in raw else []
    produced = scenario.result_names(setup + steps) + scenario.computed_names(setup + steps)
    loss = string(where.at("loss"), raw["loss"]) if "loss" in raw else "loss"
    if "loss" in raw and loss not in produced:
        raise SpecError(f"{where.at('loss')}: {loss!r} is not produced by any step (produced: "
                        f"{', '.join(produced) or 'nothing'}).")
    made = scenario.result_names(loss_steps) + scenario.computed_names(loss_steps)
    if loss_steps and "loss" not in made:
        raise SpecError(f"{where.at('loss_steps')}: the loss steps must produce `loss` (they produce: "
                        f"{', '.join(made) or 'nothing'}).")
    if mode == "whole_loop":
        for key in ("iterations", "setup", "min_decrease") if expect != "decrease" else ("iterations", "setup"):
            if key in raw:
                raise SpecError(f"{where.at(key)}: a whole_loop check calls its steps once (the trainer runs "
                                f"its own loop; give its step count as a hyperparameter), so `{key}` does not "
                                f"apply" + (" (`min_decrease` only with expect: decrease)." if key == "min_decrease"
                                            else "."))
    elif any(k in raw for k in ("trajectory", "loss_tolerance", "min_accuracy")):
        key = next(k for k in ("trajectory", "loss_tolerance", "min_accuracy") if k in raw)
        raise SpecError(f"{where.at(key)}: `{key}` applies to `mode: whole_loop` only.")
    trajectory = string(where.at("trajectory"), raw["trajectory"]) if "trajectory" in raw else ""
    if trajectory and trajectory not in produced:
        raise SpecError(f"{where.at('trajectory')}: {trajectory!r} is not returned by any step (returned: "
                        f"{', '.join(produced) or 'nothing'}).")
    if mode == "whole_loop" and expect == "decrease" and not trajectory:
        raise SpecError(f"{where.at('expect')}: with `mode: whole_loop`, `expect: decrease` needs `trajectory: "
                        f"NAME`, the loss history the trainer returns (or judge the loss it reaches: "
                        f"expect: reach_reference).")
    if expect == "accuracy" and "accuracy" not in made:
        raise SpecError(f"{where.at('expect')}: `expect: accuracy` needs `loss_steps` that also produce "
                        f"`accuracy` (they produce: {', '.join(made) or 'nothing'}).")
    return Config(
        inputs=spec, setup=setup, steps=steps, loss_steps=loss_steps, loss=loss,
        iterations=integer(where.at("iterations"), raw.get("iterations", 10), minimum=1),
        expect=expect,
        min_decrease=number(where.at("min_decrease"), raw.get("min_decrease", DEFAULT_MIN_DECREASE), nonneg=True),
        trajectory_tolerance=(read_tolerance(where.at("trajectory_tolerance"), raw["trajectory_tolerance"],
                                             DEFAULT_TRAJECTORY_TOLERANCE)
                              if "trajectory_tolerance" in raw else DEFAULT_TRAJECTORY_TOLERANCE),
        mode=mode, hyperparameters=hyper,
        loss_tolerance=(read_tolerance(where.at("loss_tolerance"), raw["loss_tolerance"], DEFAULT_LOSS_TOLERANCE)
                        if "loss_tolerance" in raw else DEFAULT_LOSS_TOLERANCE),
        min_accuracy=number(where.at("min_accuracy"), raw.get("min_accuracy", DEFAULT_MIN_ACCURACY), nonneg=True),
        trajectory=trajectory)


def _hyperparameters(where, raw, spec):
    if not isinstance(raw, dict):
        where.fail("a mapping of names to numbers, e.g. {lr: 0.5, steps: 100}", raw)
    for name, value in raw.items():
        if name in spec.dims or name in spec.names():
            raise SpecError(f"{where.at(name)}: {name!r} is already a dimension or an argument.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            where.at(name).fail("a number (an integer stays an int: a step count)", value)
    return dict(raw)


def exercised(cfg):
    out = scenario.exercised(cfg.setup)
    return out + [n for n in scenario.exercised(cfg.steps) if n not in out]


def trajectory(target, cfg, env, ref, along=None):
    """-> (list of losses, the accuracy reached, the marks): per_iteration, the loss after each
    iteration (and the loss before the first, with loss_steps); whole_loop, the returned history
    (with `trajectory`) and the loss the returned values reach. The accuracy: whole_loop with
    loss_steps. The marks (the reference's run only): a fingerprint of the values each loss was
    computed on, and the loss and accuracy found there.

    `along`: the marks of the reference's own run on this example. While the submission's values
    equal, bit for bit, the values the reference's loss was computed on at the same point, that
    loss is the one kept; once they differ, every loss is computed from then on."""
    is_ref = target is ref
    env = _run(target, cfg.setup, env, is_ref) if cfg.setup else dict(env)
    losses = []
    last = {}
    marks = []
    exact = [not is_ref]

    def loss_of(e):
        if not cfg.loss_steps:
            return _scalar(e[cfg.loss])
        at = len(marks)
        mark = _fingerprint(e) if is_ref or exact[0] else None
        if exact[0]:
            kept = along[at] if along is not None and at < len(along) else None
            if kept is not None and mark is not None and kept[0] == mark:
                marks.append(kept)
                last["accuracy"] = kept[2]
                return kept[1]
            exact[0] = False
        # On the submission's trajectory the reference's loss runs on what the submission
        # returned: when that is not numbers, it is the submission's failure (caught in run).
        loss_env = _run(ref, cfg.loss_steps, e, is_ref)
        loss, accuracy = _scalar(loss_env["loss"]), loss_env.get("accuracy")
        marks.append((mark, loss, accuracy))
        last["accuracy"] = accuracy
        return loss

    if cfg.mode == "whole_loop":
        env = _run(target, cfg.steps, env, is_ref)
        if cfg.trajectory:
            losses += [float(x) for x in np.asarray(env[cfg.trajectory], dtype=np.float64).reshape(-1)]
        losses.append(loss_of(env))
        return losses, last.get("accuracy"), tuple(marks) if is_ref else ()
    if cfg.loss_steps:
        losses.append(loss_of(env))
    for _ in range(cfg.iterations):
        env = _run(target, cfg.steps, env, is_ref)
        losses.append(loss_of(env))
    return losses, last.get("accuracy"), tuple(marks) if is_ref else ()


def _fingerprint(env):
    """The values a loss is computed on, bit for bit (names, types, dtypes, shapes, layouts and
    bytes); None when they are not all plain numbers and arrays."""
    out = []
    for name in sorted(env):
        v = env[name]
        if type(v) is np.ndarray and v.dtype.kind in "biuf":
            out.append((name, v.dtype.str, v.shape, v.strides, v.tobytes()))
        elif v is None or type(v) in (bool, int, float, str):
            out.append((name, type(v).__name__, repr(v)))
        else:
            return None
    return tuple(out)


def _kept(run):
    """A reference run as it is kept and shared between uses (read only): tuples, numbers, bytes."""
    losses, accuracy, marks = run
    if isinstance(accuracy, np.ndarray):
        accuracy = accuracy.copy()
        accuracy.setflags(write=False)
    return tuple(losses), accuracy, marks


def _run(target, steps, env, is_ref):
    return search.run_reference(target, steps, env) if is_ref else scenario.run(target, steps, env)


def _scalar(v):
    return float(np.asarray(v, dtype=np.float64).reshape(-1)[0])


def run(check, ctx):
    cfg = check.config
    ref = ctx.reference()
    # The reference's runs are kept, and read along the submission's, only for the plain
    # reference: a bundle's recorded or replayed one must see every loss asked of it, in order.
    kept = type(ref) is ReferenceTarget

    def reference(env):
        """The reference's run on the example, made once per process (every submission meets the
        same examples) -> (losses, accuracy, marks)."""
        try:
            if not kept:
                return trajectory(ref, cfg, env, ref)
            return memo.REFERENCES.computed(check, ref.module, env, ("trajectory", ref.setting()),
                                            lambda: _kept(trajectory(ref, cfg, env, ref)), shared=True)
        except (LookupError, TypeError, ValueError) as exc:
            raise HarnessBug(f"{check.where}: the reference's own training run failed: {type(exc).__name__}: "
                             f"{exc}. The spec does not fit the reference.") from exc

    misses = []         # examples where the reference itself misses the expectation

    prefetch = search.Prefetch(ctx.student, cfg.inputs, cfg.steps, repeat=_repeats(cfg))

    def one(draw):
        env = prefetch.inputs(draw)
        judged = cfg.expect in ("match_reference", "reach_reference")
        # Judged against the reference's run: made first, so that the submission's losses where
        # its values are the reference's are read from it (`trajectory`'s `along`).
        want = reference(env) if judged and kept else None
        got, problem = _student(ctx, cfg, env, draw, ref, want[2] if want else None)
        if got is not None:     # the first example's losses: a batch's class figure, a student's plot
            ctx.memo.setdefault(("loss_curve", check.name), (dict(draw["dims"]), draw["seed"], list(got[0])))
        if problem is None:
            if judged and want is None:
                want = reference(env)
            problem = _judge(env, draw, got, want, cfg)
        if problem is None:
            return None
        # Before the submission is blamed, the reference must run these steps here (else the spec
        # is at fault) and meet the same expectation: where it does not, a loss or accuracy the
        # submission misses too cannot count against it (a failure or a wrong structure still does).
        want = want or reference(env)
        own = _judge(env, draw, want, want, cfg)
        if own is not None and problem.failure is None and not problem.structure:
            misses.append((draw, env, own))
            return None
        return problem

    problem = search.search(cfg.inputs, check.seed, check.max_examples, one, prefetch)
    if problem is None and misses:
        draw, env, own = misses[0]
        shown = "".join(f"; {k} = {env[k]!r}" for k in cfg.hyperparameters)
        raise HarnessBug(f"{check.where}: the reference itself does not meet this check on the example "
                         f"{draw.get('dims')} (seed {draw.get('seed')}{shown}): {own.note.splitlines()[0]}. "
                         "The spec (its data, hyperparameters, iterations or expectation) does not fit "
                         "the reference; `python grader.py validate` dry-runs every check on it.")
    checked = f"checked: {_what(cfg)}, on up to {check.max_examples} generated examples (seed {check.seed})"
    names = cfg.inputs.names()

    def detail(p, hidden):
        return [p.note] if hidden else feedback.describe_example(p, names, show_values=False) + [p.note]
    return feedback.outcome(check, checked, problem, names, detail)


def _repeats(cfg):
    """How often `trajectory` runs the steps on the submission, each iteration on what the last
    returned (0: a setup comes first, whose calls are not planned)."""
    if cfg.setup:
        return 0
    return 1 if cfg.mode == "whole_loop" else cfg.iterations


def _student(ctx, cfg, env, draw, ref, along):
    """-> ((losses, accuracy), None) or (None, the submission's Problem)."""
    try:
        return trajectory(ctx.student, cfg, env, ref, along)[:2], None
    except scenario.StepFailure as exc:
        return None, search.Problem(env=env, draw=draw, failure=exc.failure, step=exc.step)
    except scenario.ShapeOfReturn as exc:
        return None, search.Problem(env=env, draw=draw, structure=exc.message, step=exc.step)
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # the reference's loss steps on what the submission returned (names are resolved at load)
        return None, search.Problem(env=env, draw=draw, structure=f"the values returned could not be "
                                                                   f"trained on: {type(exc).__name__}: {exc}")
    finally:
        ctx.student.release()


def _what(cfg):
    calls = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new"))
    hyper = ", ".join(f"{k} = {v!r}" for k, v in cfg.hyperparameters.items())
    if cfg.mode == "whole_loop":
        judged = {"reach_reference": "the loss the returned values reach is at most the reference's "
                                     f"(within {cfg.loss_tolerance.describe()})",
                  "accuracy": f"the returned values reach an accuracy of at least {cfg.min_accuracy:.0%}",
                  "match_reference": f"the loss {'history and the loss ' if cfg.trajectory else ''}reached "
                                     f"equal to the reference's within {cfg.trajectory_tolerance.describe()}",
                  "decrease": f"the returned loss history falls by at least {cfg.min_decrease:.0%} and "
                              "never becomes NaN"}[cfg.expect]
        return f"{calls} called once" + (f" with {hyper}" if hyper else "") + f" — {judged}"
    what = ("loss trajectory equal to the reference's within " + cfg.trajectory_tolerance.describe()
            if cfg.expect == "match_reference" else
            f"loss falls by at least {cfg.min_decrease:.0%} and never becomes NaN")
    return f"{cfg.iterations} iterations of {calls}" + (f" with {hyper}" if hyper else "") + f" — {what}"


def _judge(env, draw, got, want, cfg):
    """got, want: (losses, accuracy, ...) of trajectory() -> Problem | None, by the expectation."""
    (got, accuracy) = got[:2]
    if cfg.expect == "match_reference":
        return _match(env, draw, want[0], got, cfg)
    if cfg.expect == "decrease":
        return _decrease(env, draw, got[:-1] if cfg.mode == "whole_loop" else got, cfg)
    if cfg.expect == "accuracy":
        return _accuracy(env, draw, got, accuracy, cfg)
    return _reach(env, draw, got, want[0], cfg)


def _fmt(xs, n=8):
    return ", ".join(f"{x:.6g}" for x in xs[:n]) + (" ..." if len(xs) > n else "")


def _passed(env, cfg):
    return "".join(f"\n  passed: {k} = {env[k]!r}" for k in cfg.hyperparameters)


def _match(env, draw, want, got, cfg):
    tol = cfg.trajectory_tolerance
    w, g = np.asarray(want), np.asarray(got)
    if w.shape != g.shape:
        return search.Problem(env=env, draw=draw, note=(
            f"the loss history has {g.size - (cfg.mode == 'whole_loop')} entries; the reference's has "
            f"{w.size - (cfg.mode == 'whole_loop')}: {_fmt(got)}" + _passed(env, cfg)))
    bad = ~(np.abs(g - w) <= tol.atol + tol.rtol * np.abs(w))
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    if cfg.mode == "whole_loop":
        when = "reached" if i == len(w) - 1 else f"at entry {i} of the returned history"
        note = (f"loss {when}: expected {w[i]:.10g}, received {g[i]:.10g} (tolerance {tol.describe()})"
                f"\n  expected: {_fmt(want)}\n  yours:    {_fmt(got)}" + _passed(env, cfg))
        return search.Problem(env=env, draw=draw, note=note)
    first = 1 if cfg.loss_steps else 0          # with loss_steps, entry 0 is the loss before training
    when = "before training" if i < first else f"after iteration {i + 1 - first}"
    note = (f"loss {when}: expected {w[i]:.10g}, received {g[i]:.10g} "
            f"(tolerance {tol.describe()})\n  expected trajectory: {_fmt(want)}\n  your trajectory:     {_fmt(got)}")
    if i <= first:
        note += "\n  hint: the very first update already differs: the update itself is wrong, not its repetition"
    else:
        note += f"\n  the first {i - first} update(s) agree with the reference's; the next one differs"
    return search.Problem(env=env, draw=draw, note=note + _passed(env, cfg))


def _decrease(env, draw, got, cfg):
    g = np.asarray(got, dtype=np.float64)
    if g.size < 2:
        return search.Problem(env=env, draw=draw, note=f"the returned loss history has {g.size} entries: it "
                                                         "cannot show the loss falling" + _passed(env, cfg))
    if not np.isfinite(g).all():
        return search.Problem(env=env, draw=draw, note=f"the loss became NaN/inf: {_fmt(got)}\n"
                                                         "  hint: the learning step diverges" + _passed(env, cfg))
    if g[-1] <= (1 - cfg.min_decrease) * g[0]:
        return None
    fact = ("the loss rises" if g[-1] > g[0] else
            f"the loss fell by {1 - g[-1] / g[0]:.1%}; at least {cfg.min_decrease:.0%} is asked" if g[0] > 0 else
            f"a fall of at least {cfg.min_decrease:.0%} is asked")
    over = f"{cfg.iterations} iterations" if cfg.mode == "per_iteration" else f"{g.size} recorded steps"
    return search.Problem(env=env, draw=draw, note=f"the loss went from {g[0]:.6g} to {g[-1]:.6g} over "
                                                     f"{over}: {_fmt(got)}\n  {fact}" + _passed(env, cfg))


def _reach(env, draw, got, want, cfg):
    tol = cfg.loss_tolerance
    g, w = got[-1], want[-1]
    if np.isfinite(g) and g <= w + tol.atol + tol.rtol * abs(w):
        return None
    hint = ("the loss became NaN/inf: the learning step diverges" if not np.isfinite(g) else
            "the loss rises" if len(got) > 1 and g > got[0] else
            "a gradient is wrong or too small, the step is not applied, or the hyperparameters are not used")
    return search.Problem(env=env, draw=draw, note=(
        f"the returned values reach a loss of {g:.6g}; the reference's reach {w:.6g} (allowed: at most "
        f"{w + tol.atol + tol.rtol * abs(w):.6g}, {tol.describe()})\n  hint: {hint}" + _passed(env, cfg)))


def _accuracy(env, draw, got, accuracy, cfg):
    try:
        acc = float(np.asarray(accuracy, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        acc = float("nan")
    if acc >= cfg.min_accuracy:
        return None
    return search.Problem(env=env, draw=draw, note=(
        f"the returned values reach an accuracy of {acc:.2%} (at least {cfg.min_accuracy:.0%} is asked), "
        f"with a loss of {got[-1]:.6g}\n  hint: a gradient is wrong, or the trainer does not apply its "
        f"updates" + _passed(env, cfg)))


KIND = Kind(name="training", fields=FIELDS, parse=parse, exercised=exercised, run=run)
