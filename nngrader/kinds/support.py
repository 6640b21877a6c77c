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
from dataclasses import dataclass

from nngrader.core.errors import SpecError
from nngrader.core.model import integer
from nngrader.core.outcome import Outcome
from nngrader.engine import feedback, scenario, search
from nngrader.engine.kind import Kind
from nngrader.engine.parameters import check_shapes, parse_score, parse_shapes, score

FIELDS = ("steps", "shapes", "dims", "score_steps", "min_accuracy")


@dataclass
class Config:
    steps: list
    shapes: dict
    dims: dict
    score_steps: list
    min_accuracy: float


def parse(where, raw, asg):
    if "steps" not in raw:
        raise SpecError(f"{where}: a support check needs `steps`.")
    dims = {k: integer(where.at("dims", k), v, minimum=0) for k, v in (raw.get("dims") or {}).items()}
    score_steps, min_acc = parse_score(where, raw)
    return Config(steps=scenario.parse_steps(where.at("steps"), raw["steps"]),
                  shapes=parse_shapes(where.at("shapes"), raw.get("shapes", {}), dims),
                  dims=dims, score_steps=score_steps, min_accuracy=min_acc)


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def run(check, ctx):
    cfg = check.config
    calls = ", ".join(s.describe() for s in cfg.steps if s.op == "call")
    checked = (f"checked: {calls} on the assignment's data files — shapes "
               + ", ".join(f"{k} {' or '.join(str(tuple(a)) for a in v)}" for k, v in cfg.shapes.items())
               + (f"; accuracy of the returned parameters on the held-back part >= {cfg.min_accuracy:.0%}"
                  if cfg.score_steps else ""))
    env, problem = search.run_student(ctx.student, cfg.steps, dict(cfg.dims), None)
    if problem:
        lines = feedback.failure_lines(problem, [], check.visibility == "hidden")
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


KIND = Kind(name="support", fields=FIELDS, parse=parse, exercised=exercised, run=run)
