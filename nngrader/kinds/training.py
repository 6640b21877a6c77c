"""training: run a training step (or loop body) for several iterations; the loss must fall, or
follow the reference's trajectory within a tolerance.

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
"""
from dataclasses import dataclass

import numpy as np

from nngrader.core.errors import SpecError
from nngrader.core.model import Tolerance, integer, number, read_tolerance, string
from nngrader.engine import feedback, inputs, scenario, search
from nngrader.engine.kind import Kind

FIELDS = ("dims", "args", "setup", "steps", "loss_steps", "loss", "iterations", "expect",
          "min_decrease", "trajectory_tolerance")
DEFAULT_TRAJECTORY_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
DEFAULT_MIN_DECREASE = 0.1


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


def parse(where, raw, asg):
    spec = inputs.parse_inputs(where, raw.get("dims"), raw.get("args"))
    if "steps" not in raw:
        raise SpecError(f"{where}: a training check needs `steps`.")
    if ("loss_steps" in raw) == ("loss" in raw):
        raise SpecError(f"{where}: give either `loss_steps` (run on the reference) or `loss` (a name the steps produce).")
    return Config(
        inputs=spec,
        setup=scenario.parse_steps(where.at("setup"), raw["setup"]) if "setup" in raw else [],
        steps=scenario.parse_steps(where.at("steps"), raw["steps"]),
        loss_steps=scenario.parse_steps(where.at("loss_steps"), raw["loss_steps"]) if "loss_steps" in raw else [],
        loss=string(where.at("loss"), raw["loss"]) if "loss" in raw else "loss",
        iterations=integer(where.at("iterations"), raw.get("iterations", 10), minimum=1),
        expect=string(where.at("expect"), raw.get("expect", "decrease"), ("decrease", "match_reference")),
        min_decrease=number(where.at("min_decrease"), raw.get("min_decrease", DEFAULT_MIN_DECREASE), nonneg=True),
        trajectory_tolerance=(read_tolerance(where.at("trajectory_tolerance"), raw["trajectory_tolerance"],
                                             DEFAULT_TRAJECTORY_TOLERANCE)
                              if "trajectory_tolerance" in raw else DEFAULT_TRAJECTORY_TOLERANCE))


def exercised(cfg):
    out = scenario.exercised(cfg.setup)
    return out + [n for n in scenario.exercised(cfg.steps) if n not in out]


def trajectory(target, cfg, env, ref):
    """-> list of losses after each iteration (and the loss before the first)."""
    env = scenario.run(target, cfg.setup, env) if cfg.setup else dict(env)
    losses = []

    def loss_of(e):
        if cfg.loss_steps:
            # On the submission's trajectory the reference's loss runs on what the submission
            # returned: when that is not numbers, it is the submission's failure (caught in run).
            loss_env = (search.run_reference(ref, cfg.loss_steps, e) if target is ref
                        else scenario.run(ref, cfg.loss_steps, e))
            return float(np.asarray(loss_env["loss"]).reshape(-1)[0])
        return float(np.asarray(e[cfg.loss], dtype=np.float64).reshape(-1)[0])

    if cfg.loss_steps:
        losses.append(loss_of(env))
    for _ in range(cfg.iterations):
        env = scenario.run(target, cfg.steps, env)
        losses.append(loss_of(env))
    return losses


def run(check, ctx):
    cfg = check.config
    ref = ctx.reference()

    def one(draw):
        env = inputs.build(cfg.inputs, draw)
        try:
            got = trajectory(ctx.student, cfg, env, ref)
        except scenario.StepFailure as exc:
            return search.Problem(env=env, draw=draw, failure=exc.failure, step=exc.step)
        except scenario.ShapeOfReturn as exc:
            return search.Problem(env=env, draw=draw, structure=exc.message, step=exc.step)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            return search.Problem(env=env, draw=draw, structure=f"the values returned could not be "
                                                                  f"trained on: {type(exc).__name__}: {exc}")
        finally:
            ctx.student.release()
        if cfg.expect == "match_reference":
            want = trajectory(ref, cfg, env, ref)
            return _match(env, draw, want, got, cfg)
        return _decrease(env, draw, got, cfg)

    problem = search.search(cfg.inputs, check.seed, check.max_examples, one)
    what = ("loss trajectory equal to the reference's within " + cfg.trajectory_tolerance.describe()
            if cfg.expect == "match_reference" else
            f"loss falls by at least {cfg.min_decrease:.0%} and never becomes NaN")
    steps = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new"))
    checked = (f"checked: {cfg.iterations} iterations of {steps} — {what}, on up to {check.max_examples} "
               f"generated examples (seed {check.seed})")
    names = cfg.inputs.names()

    def detail(p, hidden):
        return [p.note] if hidden else feedback.describe_example(p, names, show_values=False) + [p.note]
    return feedback.outcome(check, checked, problem, names, detail)


def _fmt(xs, n=8):
    return ", ".join(f"{x:.6g}" for x in xs[:n]) + (" ..." if len(xs) > n else "")


def _match(env, draw, want, got, cfg):
    tol = cfg.trajectory_tolerance
    w, g = np.asarray(want), np.asarray(got)
    bad = ~(np.abs(g - w) <= tol.atol + tol.rtol * np.abs(w))
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    first = 1 if cfg.loss_steps else 0          # with loss_steps, entry 0 is the loss before training
    when = "before training" if i < first else f"after iteration {i + 1 - first}"
    note = (f"loss {when}: expected {w[i]:.10g}, received {g[i]:.10g} "
            f"(tolerance {tol.describe()})\n  expected trajectory: {_fmt(want)}\n  your trajectory:     {_fmt(got)}")
    if i <= first:
        note += "\n  hint: the very first update already differs: the update itself is wrong, not its repetition"
    else:
        note += (f"\n  hint: the first {i - first} update(s) agree: something carried between iterations "
                 "goes wrong (arguments modified in place, a stale cache, accumulated gradients)")
    return search.Problem(env=env, draw=draw, note=note)


def _decrease(env, draw, got, cfg):
    g = np.asarray(got, dtype=np.float64)
    if not np.isfinite(g).all():
        return search.Problem(env=env, draw=draw, note=f"the loss became NaN/inf: {_fmt(got)}\n"
                                                         "  hint: the learning step diverges or a gradient has the wrong sign")
    if g[-1] <= (1 - cfg.min_decrease) * g[0]:
        return None
    hint = "the loss rises: a gradient sign is flipped?" if g[-1] > g[0] else "the loss hardly moves: gradients too small or never applied?"
    return search.Problem(env=env, draw=draw, note=f"the loss went from {g[0]:.6g} to {g[-1]:.6g} over "
                                                     f"{cfg.iterations} iterations: {_fmt(got)}\n  hint: {hint}")


KIND = Kind(name="training", fields=FIELDS, parse=parse, exercised=exercised, run=run)
