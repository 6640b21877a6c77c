"""answers: numeric answers in a submitted YAML file (e.g. worked-backprop's answers.yaml) against
the reference's values. Partial credit: the fraction of keys within tolerance. Feedback says how
far off each wrong answer is (relative error, sign, factor), not the expected number itself, so
feedback teaches without handing out the answer sheet.

    - name: problem1_forward
      kind: answers
      file: answers.yaml
      reference: answers                # reference function returning the nested answers
      keys: [problem1.net_h1, problem1.out_h1, "problem1.E_*"]    # glob patterns allowed

The patterns are matched against the reference's answer keys when the check runs (loading a
spec never imports reference code); a pattern that matches nothing is the spec's error.
"""
import fnmatch
from dataclasses import dataclass

import numpy as np
import yaml

from nngrader.core.errors import SpecError
from nngrader.core.model import str_list, string
from nngrader.core.outcome import Outcome
from nngrader.engine.kind import Kind

FIELDS = ("file", "reference", "keys")


@dataclass
class Config:
    file: str
    reference: str            # the reference function returning the nested answers
    patterns: list            # answer keys, glob patterns allowed


def flatten(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = d
    return out


def parse(where, raw, asg):
    for k in ("file", "reference", "keys"):
        if k not in raw:
            raise SpecError(f"{where}: an answers check needs `{k}`.")
    return Config(file=string(where.at("file"), raw["file"]),
                  reference=string(where.at("reference"), raw["reference"]),
                  patterns=str_list(where.at("keys"), raw["keys"]))


def reference_answers(check, module):
    """-> (the keys the patterns name, in order; {key: reference value})."""
    cfg = check.config
    fn = getattr(module, cfg.reference, None)
    if not callable(fn):
        raise SpecError(f"{check.where.at('reference')}: {module.__name__} has no function {cfg.reference!r}.")
    known = flatten(fn())
    keys = []
    for i, pat in enumerate(cfg.patterns):
        hits = [k for k in known if fnmatch.fnmatchcase(k, pat)]
        if not hits:
            raise SpecError(f"{check.where.at('keys', i)}: {pat!r} matches no answer key of {cfg.reference}() "
                            f"(keys look like {next(iter(known))}).")
        keys += [h for h in hits if h not in keys]
    return keys, known


def exercised(cfg):
    return []


def _describe(got, want):
    if want != 0 and np.isclose(got, -want, rtol=1e-6):
        return "the sign is flipped"
    if want != 0 and got != 0:
        r = got / want
        for k, text in ((2.0, "twice the right value"), (0.5, "half the right value")):
            if np.isclose(r, k, rtol=1e-6):
                return text
        return f"relative error {abs(got - want) / abs(want):.2g}"
    return f"absolute error {abs(got - want):.2g}"


def run(check, ctx):
    cfg = check.config
    tol = check.tolerance["float64"]
    keys, want_all = reference_answers(check, ctx.reference_module())
    checked = (f"checked: {len(keys)} answer(s) in your {cfg.file} ({', '.join(keys[:4])}"
               + (", ..." if len(keys) > 4 else "") + f") against the reference, tolerance {tol.describe()}")
    path = ctx.submitted_file(cfg.file)
    if path is None:
        line = f"{cfg.file} was not submitted"
        return Outcome(False, checked, lines=[line], short=line, score_fraction=0.0)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        line = f"{cfg.file} is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        return Outcome(False, checked, lines=[line], short=line, score_fraction=0.0)
    got_all = flatten(data) if isinstance(data, dict) else {}
    wrong = []
    for key in keys:
        want = float(want_all[key])
        got = got_all.get(key)
        if got is None:
            wrong.append(f"{key}: missing (no value given)")
            continue
        if isinstance(got, str):
            try:
                got = float(got)            # YAML 1.1 reads 1e-5 as a string: accept it here
            except ValueError:
                wrong.append(f"{key}: {got!r} is not a number")
                continue
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            wrong.append(f"{key}: {got!r} is not a number")
            continue
        if not abs(got - want) <= tol.atol + tol.rtol * abs(want):
            wrong.append(f"{key}: your {got!r} is wrong ({_describe(float(got), want)})")
    fraction = 1 - len(wrong) / len(keys)
    if not wrong:
        return Outcome(True, checked)
    lines = [f"{len(wrong)} of {len(keys)} answers wrong:"] + ["  " + w for w in wrong]
    if check.visibility == "hidden":
        lines = lines[:1]
    return Outcome(False, checked, lines=lines, short=lines[0], score_fraction=fraction)


KIND = Kind(name="answers", fields=FIELDS, parse=parse, exercised=exercised, run=run)
