"""submitted_pickle: a data file the student submits (e.g. assignment2.pkl), loaded on the grading
side with the restricted unpickler (arrays, dtypes and builtins only; nothing executes), then
checked for its keys, their shapes, and a score the reference computes from it.

    - name: assignment2_pkl
      kind: submitted_pickle
      file: assignment2.pkl
      if_absent: pass              # the contract makes the file optional: no deduction when absent
      shapes: {W1: [H, 3], b1: [[H], [H, 1]], W2: [1, H], b2: [[1], [], [1, 1]]}
      score_steps: [...]           # as in `support`, must return `accuracy`
      min_accuracy: 0.75
"""
from dataclasses import dataclass

from nngrader.boundary import safe_pickle
from nngrader.core.errors import SpecError
from nngrader.core.model import string
from nngrader.core.outcome import Outcome
from nngrader.engine.kind import Kind
from nngrader.engine.parameters import check_shapes, parse_score, parse_shapes, score

FIELDS = ("file", "if_absent", "shapes", "score_steps", "min_accuracy")


@dataclass
class Config:
    file: str
    if_absent: str
    shapes: dict
    score_steps: list
    min_accuracy: float


def parse(where, raw, asg):
    if "file" not in raw:
        raise SpecError(f"{where}: a submitted_pickle check needs `file`.")
    f = string(where.at("file"), raw["file"])
    if f not in asg.files + asg.optional_files:
        raise SpecError(f"{where.at('file')}: {f!r} is not among the assignment's files or optional_files.")
    score_steps, min_acc = parse_score(where, raw)
    if "exercises" not in raw:
        raise SpecError(f"{where}: a submitted_pickle check needs `exercises` (the contract names it stands for).")
    return Config(file=f, if_absent=string(where.at("if_absent"), raw.get("if_absent", "fail"), ("pass", "fail")),
                  shapes=parse_shapes(where.at("shapes"), raw.get("shapes", {}), {}),
                  score_steps=score_steps, min_accuracy=min_acc)


def exercised(cfg):
    return []


def run(check, ctx):
    cfg = check.config
    checked = (f"checked: your {cfg.file} — keys and shapes "
               + ", ".join(f"{k} {' or '.join(str(tuple(a)) for a in v)}" for k, v in cfg.shapes.items())
               + (f"; accuracy on the held-back data >= {cfg.min_accuracy:.0%}" if cfg.score_steps else ""))
    path = ctx.submitted_file(cfg.file)
    if path is None:
        if cfg.if_absent == "pass":
            return Outcome(True, checked + " — not submitted (optional: no deduction)")
        line = f"{cfg.file} was not submitted"
        return Outcome(False, checked, lines=[line], short=line)
    try:
        data = safe_pickle.restricted_load(path)
    except safe_pickle.UnsafePickle as exc:
        line = f"{cfg.file} was refused: {exc}"
        return Outcome(False, checked, lines=[line, "  save plain NumPy arrays in a dict, e.g. "
                                                    "pickle.dump({'W1': W1, 'W2': W2, 'b1': b1, 'b2': b2}, f)"],
                       short=line)
    if not isinstance(data, dict):
        line = f"{cfg.file} holds a {type(data).__name__}; expected a dict with keys {', '.join(cfg.shapes)}"
        return Outcome(False, checked, lines=[line], short=line)
    missing = [k for k in cfg.shapes if k not in data]
    if missing:
        line = f"{cfg.file} lacks the key(s) {', '.join(missing)} (it has: {', '.join(map(str, data)) or 'none'})"
        return Outcome(False, checked, lines=[line], short=line)
    problems = check_shapes(data, cfg.shapes, {})
    if problems:
        return Outcome(False, checked, lines=problems, short=problems[0])
    if cfg.score_steps:
        acc = score(ctx, cfg, {k: data[k] for k in cfg.shapes})
        if not acc >= cfg.min_accuracy:
            line = f"the parameters in {cfg.file} reach {acc:.1%} accuracy, below the required {cfg.min_accuracy:.0%}"
            return Outcome(False, checked, lines=[line], short=line)
        return Outcome(True, checked + f" (yours: {acc:.1%})")
    return Outcome(True, checked)


KIND = Kind(name="submitted_pickle", fields=FIELDS, parse=parse, exercised=exercised, run=run)
