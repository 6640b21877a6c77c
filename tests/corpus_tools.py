"""The corpus of correct and deliberately broken submissions, and the rules they are held to.

tests/corpus/<assignment>/manifest.yaml lists variants. A variant is either a folder
tests/corpus/<assignment>/<name>/ holding submission files, or derived from another variant:

    bug_missing_mean:
      from: correct_vectorized          # a folder variant
      replace: [["dz2 = (yhat - y) / n", "dz2 = (yhat - y)"]]   # each `old` must occur
      bug_in: gradients                 # the contract name holding the bug
      also: [update_params]             # contract names that legitimately depend on it
      mistake: missing_mean             # its id in nngrader/engine/mistakes.py, or `none`
      why: forgets the 1/N of the mean BCE

    correct_float32: {from: ..., replace: [...], expect: full}

A derived variant that also has a folder of its own (e.g. holding only a submitted pickle) gets
that folder's files copied over its base's.

Rules: an `expect: full` variant passes every check (so scores 100 %). A bug variant fails at
least one check, every failing check exercises `bug_in` or one of `also`, and every other check
passes and keeps its points.

Every bug variant names its mistake (`mistake:`, a catalog id or `none`). `diagnosis_class` reads
a graded bug variant's report the way a student would and classifies it: `named` (the hints name
the planted mistake and nothing else), `misleading` (a hint names another mistake), or `numbers`
(located with numbers only, no hint naming a mistake). A hint names a mistake by its tag
`[mistake: ID]`, or, untagged, by what its words say (`HINT_WORDS`).
"""
import os
import re
import shutil

import yaml

from nngrader.engine import mistakes

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def corpus_of(course):
    """The corpus folder of a course folder of its own (`COURSE/tests/corpus`), laid out like
    this project's; None: the project's."""
    return os.path.join(course, "tests", "corpus") if course else CORPUS


def manifest(assignment, corpus=CORPUS):
    with open(os.path.join(corpus, assignment, "manifest.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def variants(assignment, corpus=CORPUS):
    return list(manifest(assignment, corpus).items())


def materialize(assignment, name, dest, corpus=CORPUS):
    """Write variant `name` into folder dest (created) and return dest."""
    spec = manifest(assignment, corpus)[name] or {}
    base = spec.get("from", name)
    src = os.path.join(corpus, assignment, base)
    if not os.path.isdir(src):
        raise FileNotFoundError(f"variant {name}: no folder {src}")
    shutil.copytree(src, dest)
    own = os.path.join(corpus, assignment, name)
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


MIN_CORRECT = 6         # `expect: full` variants per assignment, in different styles
MIN_BUGS = 20           # single-bug variants per assignment


def size_problem(variants):
    """-> why a corpus (its (name, spec) variants) is too small, or ''."""
    vs = [s or {} for _, s in variants]
    correct = sum(1 for s in vs if s.get("expect") == "full")
    bugs = sum(1 for s in vs if "bug_in" in s)
    if correct >= MIN_CORRECT and bugs >= MIN_BUGS:
        return ""
    return (f"{correct} correct and {bugs} bug variants; at least {MIN_CORRECT} correct and {MIN_BUGS} "
            f"single-bug variants are needed")


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


def check_mistake_field(name, spec):
    """-> a problem with a bug variant's `mistake:` field, or ''."""
    if "bug_in" not in spec:
        return ""
    if "mistake" not in spec:
        return f"{name}: a bug variant names its mistake (`mistake:` a catalog id or `none`)"
    if spec["mistake"] not in mistakes.CATALOG_IDS:
        return f"{name}: mistake {spec['mistake']!r} is not in the catalog ({', '.join(mistakes.CATALOG_IDS)})"
    return ""


# What an untagged hint's words name (a student reads "a constant factor is wrong" as a factor
# mistake, "lost axes" as a missing keepdims, ...). FACTOR hints fit any factor mistake.
FACTOR = {"missing_mean", "extra_mean", "wrong_divisor", "factor_2", "missing_factor_2", "lr_ignored", "lr_twice"}
HINT_WORDS = [
    (r"every sign is flipped|the loss rises: a gradient sign", {"sign", "ascent"}),
    (r"a missing division by", {"missing_mean"}),
    (r"once too often", {"extra_mean"}),
    (r"a factor 2 too large", {"factor_2"}),
    (r"missing factor 2", {"missing_factor_2"}),
    (r"a constant factor is wrong", FACTOR),
    (r"transpose|wrong orientation", {"transpose"}),
    (r"lost axes|keep the 2-D shape", {"lost_axis"}),
    (r"extra axes of length 1", {"keepdims"}),
    (r"broadcasting accident", {"broadcast_row_column"}),
    (r"different layout", {"wrong_axis", "transpose", "lost_axis"}),
    (r"an overflow|numerically stable", {"unstable_formula", "missing_clip", "wrong_eps"}),
    (r"never computed or set", {"never_computed"}),
    (r"zero upstream gradient", {"upstream_ignored"}),
    (r"constant offset", {"missing_bias"}),
    (r"the bias column", {"bias_column"}),
    (r"a mask zeroes too many", {"mask_inverted"}),
    (r"close but outside the tolerance", {"wrong_eps", "missing_clip"}),
    (r"something carried between iterations", {"accumulated", "wrong_cache"}),
    (r"the spread is", {"init_scale"}),
    (r"np.random.rand draws|not centred", {"init_distribution"}),
]
TAG = re.compile(r"\[mistake: ([a-z0-9_]+)\]")


def named_mistakes(lines):
    """-> [set of ids] one per hint or diagnosis line of a report (tagged, or read from its words)."""
    out = []
    for line in lines:
        for part in str(line).split("\n"):
            tags = TAG.findall(part)
            if tags:
                out.append(set(tags))
                continue
            if "hint:" not in part:
                continue
            for pattern, ids in HINT_WORDS:
                if re.search(pattern, part):
                    out.append(set(ids))
                    break
    return out


# Ids whose words also cover another planted mistake: an update's step "taken up the gradient"
# names both places a flipped sign can be (the update, or the gradient it uses).
COVERS = {"ascent": {"sign"}}


def _fits(planted, ids):
    return planted in ids or any(planted in COVERS.get(i, ()) for i in ids)


def diagnosis_class(failing, spec):
    """failing: [(check name, exercises, report lines)] of a graded bug variant -> 'named' |
    'misleading' | 'numbers'. The decisive check is the first failing one exercising `bug_in`."""
    planted = spec["mistake"]
    bug = spec["bug_in"]

    def exercises_bug(ex):
        return any(e == bug or e.split(".")[0] == bug for e in ex)
    decisive = next((f for f in failing if exercises_bug(f[1])), failing[0] if failing else None)
    if decisive is None:
        return "numbers"
    for _, _, lines in failing:          # a hint anywhere naming another mistake misleads
        if any(not _fits(planted, ids) for ids in named_mistakes(lines)):
            return "misleading"
    return "named" if named_mistakes(decisive[2]) else "numbers"


def check_course(course, assignment):
    """Grade every corpus variant of a course folder of its own (`COURSE/tests/corpus/<id>/`)
    -> lines breaking the rules (empty: the corpus holds). In a process of its own: the course's
    `reference` package must not meet the project's."""
    import tempfile
    from nngrader.core.course import course_at
    from nngrader.engine import grading
    from nngrader.frontends import assignments
    asg = assignments.load(assignment, course_at(course))
    corpus = corpus_of(course)
    found = variants(assignment, corpus)
    problems = [f"{assignment}: {size_problem(found)}"] if size_problem(found) else []
    for name, spec in found:
        spec = spec or {}
        problems += [p for p in [check_mistake_field(name, spec)] if p]
        with tempfile.TemporaryDirectory() as tmp:
            run = grading.grade(asg, materialize(assignment, name, os.path.join(tmp, "s"), corpus), label=name)
        problems += [f"{name}: the grader failed: {e.splitlines()[0]}" for e in run.errors]
        problems += [f"{name}: {p}" for p in verdict_problems(run, spec)]
        print(f"{name}: {run.score:g} / {run.max_score:g}", flush=True)
    return problems


if __name__ == "__main__":
    # python tests/corpus_tools.py --course DIR ID: the corpus rules for a course folder's assignment
    import argparse
    import sys
    parser = argparse.ArgumentParser(description="hold a course folder's corpus to the rules")
    parser.add_argument("--course", required=True)
    parser.add_argument("assignment")
    args = parser.parse_args()
    broken = check_course(args.course, args.assignment)
    print("\n".join(broken) or f"{args.assignment}: the corpus holds to the rules")
    sys.exit(1 if broken else 0)


HOSTILE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile")


def materialize_hostile(name, dest, subs):
    """honest.py + the case's attack.py as assignment2.py, the case's other files beside it;
    placeholders replaced (as bytes: some cases are deliberately not UTF-8)."""
    os.makedirs(dest)
    src = os.path.join(HOSTILE_DIR, name)

    def fill(data):
        for key, value in subs.items():
            data = data.replace(key.encode(), value.encode())
        return data

    with open(os.path.join(HOSTILE_DIR, "honest.py"), "rb") as f:
        body = f.read()
    with open(os.path.join(src, "attack.py"), "rb") as f:
        body += f"\n\n# ---- the attack: tests/hostile/{name}/attack.py ----\n".encode() + f.read()
    with open(os.path.join(dest, "assignment2.py"), "wb") as f:
        f.write(fill(body))
    for other in sorted(os.listdir(src)):
        if other != "attack.py":
            with open(os.path.join(src, other), "rb") as f, open(os.path.join(dest, other), "wb") as g:
                g.write(fill(f.read()))
    return dest
