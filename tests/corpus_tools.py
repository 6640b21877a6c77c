"""The corpus of correct and deliberately broken submissions, and the rules they are held to.

tests/corpus/<assignment>/manifest.yaml lists variants. A variant is either a folder
tests/corpus/<assignment>/<name>/ holding submission files, or derived from another variant:

    bug_missing_mean:
      from: correct_vectorized          # a folder variant
      replace: [["dz2 = (yhat - y) / n", "dz2 = (yhat - y)"]]   # each `old` must occur
      bug_in: gradients                 # the contract name holding the bug
      also: [update_params]             # contract names that legitimately depend on it
      why: forgets the 1/N of the mean BCE

    correct_float32: {from: ..., replace: [...], expect: full}

A derived variant that also has a folder of its own (e.g. holding only a submitted pickle) gets
that folder's files copied over its base's.

Rules: an `expect: full` variant passes every check (so scores 100 %). A bug variant fails at
least one check, every failing check exercises `bug_in` or one of `also`, and every other check
passes and keeps its points.
"""
import os
import shutil

import yaml

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def manifest(assignment):
    with open(os.path.join(CORPUS, assignment, "manifest.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def variants(assignment):
    return list(manifest(assignment).items())


def materialize(assignment, name, dest):
    """Write variant `name` into folder dest (created) and return dest."""
    spec = manifest(assignment)[name] or {}
    base = spec.get("from", name)
    src = os.path.join(CORPUS, assignment, base)
    if not os.path.isdir(src):
        raise FileNotFoundError(f"variant {name}: no folder {src}")
    shutil.copytree(src, dest)
    own = os.path.join(CORPUS, assignment, name)
    if base != name and os.path.isdir(own):          # the variant's own files go over the base's
        shutil.copytree(own, dest, dirs_exist_ok=True)
    for old, new, *where in spec.get("replace", []):
        target = where[0] if where else _main_file(dest)
        path = os.path.join(dest, target)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if old not in text:
            raise AssertionError(f"variant {name}: {old!r} does not occur in {base}/{target}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new))
    return dest


def _main_file(folder):
    py = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    if len(py) != 1:
        raise AssertionError(f"{folder}: name the file to patch as a third element of `replace`")
    return py[0]


def verdict_problems(run, spec):
    """-> list of reasons the graded run breaks the corpus rules (empty when it holds)."""
    problems = []
    # A check fails when it does not pass: a 0-point check of given code still catches a bug there.
    failing = [r for r in run.results if not r.outcome.passed]
    if spec.get("expect") == "full":
        for r in failing:
            problems.append(f"failed {r.check.name} ({r.check.points - r.score:g} points lost): "
                            + " | ".join(r.outcome.lines[:3]))
        return problems
    allowed = [spec["bug_in"]] + list(spec.get("also", []))
    if not failing:
        problems.append(f"the bug in {spec['bug_in']} was not caught: every check passed")
    for r in failing:
        if not any(e.split(".")[0] in allowed or e in allowed for e in r.check.exercises):
            problems.append(f"{r.check.name} (exercises {r.check.exercises}) failed, but the bug is in "
                            f"{allowed}: " + " | ".join(r.outcome.lines[:3]))
    return problems
