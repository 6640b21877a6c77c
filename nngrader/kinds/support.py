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
"""
from dataclasses import dataclass, field

import numpy as np

from nngrader import comparison, evaluate, scenario
from nngrader.outcome import Outcome
from nngrader.spec import SpecError, integer, number

FIELDS = ("steps", "shapes", "dims", "score_steps", "min_accuracy")


@dataclass
class Config:
    steps: list
    shapes: dict
    dims: dict
    score_steps: list
    min_accuracy: float
    compare: list = field(default_factory=list)


def parse_shapes(where, raw, dims):
    if not isinstance(raw, dict):
        where.fail("a mapping name -> shape (or list of accepted shapes)", raw)
    out = {}
    for name, sh in raw.items():
        alts = sh if (isinstance(sh, list) and sh and isinstance(sh[0], list)) or sh == [[]] else [sh]
        for j, a in enumerate(alts):
            if not isinstance(a, list) or not all(isinstance(d, int) or d in dims or isinstance(d, str) for d in a):
                where.at(name).fail("a shape like [H, 3] or a list of accepted shapes", sh)
        out[name] = alts
    return out


def parse_score(where, raw):
    score = scenario.parse_steps(where.at("score_steps"), raw["score_steps"]) if "score_steps" in raw else []
    if score and "accuracy" not in scenario.result_names(score):
        raise SpecError(f"{where.at('score_steps')}: the score steps must return a value named `accuracy`.")
    return score, number(where.at("min_accuracy"), raw.get("min_accuracy", 0.0), nonneg=True)


def parse(where, raw, asg):
    if "steps" not in raw:
        raise SpecError(f"{where}: a support check needs `steps`.")
    dims = {k: integer(where.at("dims", k), v, minimum=0) for k, v in (raw.get("dims") or {}).items()}
    score, min_acc = parse_score(where, raw)
    return Config(steps=scenario.parse_steps(where.at("steps"), raw["steps"]),
                  shapes=parse_shapes(where.at("shapes"), raw.get("shapes", {}), dims),
                  dims=dims, score_steps=score, min_accuracy=min_acc)


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def check_shapes(values, shapes, dims):
    """-> list of problems; free symbols (not in dims) bind to the first size they meet."""
    bound = dict(dims)
    problems = []
    for name, alts in shapes.items():
        arr, bad = comparison.coerce(values.get(name))
        if bad:
            problems.append(f"{name}: expected an array, received {bad}")
            continue
        ok = False
        for alt in alts:
            if len(alt) != arr.ndim:
                continue
            trial = dict(bound)
            if all((trial.setdefault(d, s) == s) if isinstance(d, str) else d == s for d, s in zip(alt, arr.shape)):
                bound, ok = trial, True
                break
        if not ok:
            text = " or ".join(str(tuple(bound.get(d, d) for d in a)) for a in alts)
            problems.append(f"{name}: shape {arr.shape}, expected {text}")
        elif not np.isfinite(arr).all():
            problems.append(f"{name}: contains NaN or inf")
    return problems


def score(ctx, cfg, values):
    env = evaluate.run_reference(ctx.reference(), cfg.score_steps, values)
    acc = float(np.asarray(env["accuracy"]).reshape(-1)[0])
    if not 0.0 <= acc <= 1.0:
        raise evaluate.HarnessBug(f"the reference's score steps returned accuracy {acc!r}, not a fraction in [0, 1]")
    return acc


def run(check, ctx):
    cfg = check.config
    calls = ", ".join(s.describe() for s in cfg.steps if s.op == "call")
    checked = (f"checked: {calls} on the assignment's data files — shapes "
               + ", ".join(f"{k} {' or '.join(str(tuple(a)) for a in v)}" for k, v in cfg.shapes.items())
               + (f"; accuracy of the returned parameters on the held-back part >= {cfg.min_accuracy:.0%}"
                  if cfg.score_steps else ""))
    env, problem = evaluate.run_student(ctx.student, cfg.steps, dict(cfg.dims), None)
    if problem:
        lines = evaluate.failure_lines(problem, [], check.visibility == "hidden")
        return Outcome(False, checked, lines=lines, short=lines[0])
    problems = check_shapes(env, cfg.shapes, cfg.dims)
    if problems:
        return Outcome(False, checked, lines=problems, short=problems[0])
    if cfg.score_steps:
        acc = score(ctx, cfg, env)
        if not acc >= cfg.min_accuracy:
            line = (f"accuracy on the held-back part is {acc:.1%}, below the required {cfg.min_accuracy:.0%}: "
                    "the trained parameters do not separate the classes (check the update, the learning rate, "
                    "and that features are built with extract_features)")
            return Outcome(False, checked, lines=[line], short=line)
        return Outcome(True, checked + f" (yours: {acc:.1%})")
    return Outcome(True, checked)
