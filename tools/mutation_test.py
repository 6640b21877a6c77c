"""Mutation testing of the checks: mutate one reference function at a time and grade correct
submissions against the mutant. A mutant is killed when a check fails for a correct submission (or the
mutated reference crashes on the check), or, since grading reads pinned fixtures, when remaking
the fixtures with the mutant is refused (a published value no longer reproduced) or changes them;
a survivor means neither the checks nor the fixtures can see that bug.

    python tools/mutation_test.py [ASSIGNMENT ...] [--list] [--only SUBSTRING] [--jobs 2] [--course DIR]

Equivalent mutants (a mutation that changes no observable behaviour the contract fixes, e.g.
ReLU `x > 0` -> `x >= 0`) are listed with a reason in tools/mutation_equivalent.yaml (for a
course folder of its own, COURSE/tools/mutation_equivalent.yaml). A key is one site,
FUNCTION:LINE:COLUMN:MUTATION; a glob pattern (`train_nn:*`) may only cover functions that
grading never runs (checked: the correct submissions are graded once with the reference's calls
traced), so a pattern can never hide a mutant of code a check consults. A key that matches no
site (the reference changed) is an error too.
Prints killed / survived / equivalent per assignment and every survivor; exits 1 if a
non-equivalent mutant survives. Not part of the quick test command: it grades hundreds of times.
"""
import argparse
import ast
import copy
import importlib
import os
import sys
import tempfile
import time
import types
from concurrent.futures import ProcessPoolExecutor

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

EQUIVALENT = os.path.join(ROOT, "tools", "mutation_equivalent.yaml")
SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
SWAP_CMP = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq}
SWAP_FUNC = {"sum": "mean", "mean": "sum", "maximum": "minimum", "minimum": "maximum", "max": "min",
             "min": "max", "exp": "log", "log": "exp", "zeros": "ones", "ones": "zeros",
             "zeros_like": "ones_like", "outer": "multiply", "tanh": "sin"}


class Site:
    """One mutation: where, what, and how to apply it to a fresh copy of the tree."""

    def __init__(self, func, node, label):
        self.func = func
        self.line = node.lineno
        self.col = node.col_offset
        self.label = label

    @property
    def key(self):
        return f"{self.func}:{self.line}:{self.col}:{self.label}"


def _functions(tree):
    """(qualified name, node) for every function and method."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    yield f"{node.name}.{sub.name}", sub


def _mutations(node):
    """(label, mutate(node_copy) -> replacement node) for one AST node."""
    out = []
    if isinstance(node, ast.BinOp) and type(node.op) in SWAP_BIN:
        new = SWAP_BIN[type(node.op)]
        out.append((f"{type(node.op).__name__}->{new.__name__}", lambda n, new=new: _set(n, "op", new())))
        out.append(("drop-right-operand", lambda n: n.left))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("drop-minus", lambda n: n.operand))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_CMP:
        new = SWAP_CMP[type(node.ops[0])]
        out.append((f"{type(node.ops[0]).__name__}->{new.__name__}", lambda n, new=new: _set(n, "ops", [new()])))
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        v = node.value
        news = {0: [1], 1: [0, 2]}.get(v, [v * 2, v + 1]) if isinstance(v, int) else [v * 2, -v if v else 1.0]
        for new in [n for n in news if n != v]:          # 0.0 * 2 is no mutant at all
            out.append((f"const {v!r}->{new!r}", lambda n, new=new: _set(n, "value", new)))
    if isinstance(node, ast.Attribute) and node.attr == "T":
        out.append(("drop-.T", lambda n: n.value))
    if isinstance(node, ast.Attribute) and node.attr in SWAP_FUNC and isinstance(node.value, ast.Name) and node.value.id == "np":
        new = SWAP_FUNC[node.attr]
        out.append((f"np.{node.attr}->np.{new}", lambda n, new=new: _set(n, "attr", new)))
    if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant):
        v = node.value.value
        if isinstance(v, int):
            out.append((f"axis {v}->{1 - v if v in (0, 1) else 0}",
                        lambda n, v=v: _set(n, "value", ast.Constant(1 - v if v in (0, 1) else 0))))
    if isinstance(node, ast.keyword) and node.arg == "keepdims":
        out.append(("keepdims-flip", lambda n: _set(n, "value", ast.Constant(not n.value.value))))
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
        v = node.slice.value
        out.append((f"index {v}->{v + 1}", lambda n, v=v: _set(n, "slice", ast.Constant(v + 1))))
    return out


def _set(node, attr, value):
    setattr(node, attr, value)
    return node


def sites(source):
    tree = ast.parse(source)
    found = []
    for qual, fn in _functions(tree):
        body = fn.body[1:] if (fn.body and isinstance(fn.body[0], ast.Expr)
                               and isinstance(getattr(fn.body[0], "value", None), ast.Constant)) else fn.body
        for stmt in body:
            for node in ast.walk(stmt):
                for label, _ in _mutations(node):
                    found.append(Site(qual, node, label))
    return found


def mutate(source, site):
    """Source tree with exactly `site` applied."""
    tree = ast.parse(source)

    class T(ast.NodeTransformer):
        def generic_visit(self, node):
            node = super().generic_visit(node)
            if getattr(node, "lineno", None) == site.line and getattr(node, "col_offset", None) == site.col:
                for label, fn in _mutations(node):
                    if label == site.label:
                        return fn(copy.deepcopy(node))
            return node
    return ast.fix_missing_locations(T().visit(tree))


def _correct_submissions(aid, work, course=None):
    """The reference itself plus every `expect: full` corpus variant (different styles and
    accepted alternatives, e.g. the other subgradient at a kink), materialized under `work`."""
    subs = ["reference"]
    try:
        from corpus_tools import corpus_of, manifest, materialize
        corpus = corpus_of(course)
        full = [n for n, s in manifest(aid, corpus).items() if (s or {}).get("expect") == "full"]
        for n in full:
            subs.append(materialize(aid, n, os.path.join(work, aid, n, "s"), corpus))
    except (FileNotFoundError, OSError):
        pass
    return subs


def run_mutant(args):
    import warnings
    warnings.simplefilter("ignore")       # mutants overflow and divide by zero; only verdicts matter
    aid, site_key, submissions, course = args
    from nngrader.core.course import course_at
    from nngrader.engine import grading
    from nngrader.frontends import assignments
    asg = assignments.load(aid, course_at(course))
    ref_name = asg.reference
    original = asg.course.import_reference(ref_name)
    with open(original.__file__) as f:
        source = f.read()
    site = next(s for s in sites(source) if s.key == site_key)
    module = types.ModuleType(ref_name)
    module.__file__ = original.__file__
    try:
        exec(compile(mutate(source, site), original.__file__, "exec"), module.__dict__)
    except Exception as exc:              # a mutant that does not even import is killed
        return site_key, "killed", f"does not import: {exc}"
    sys.modules[ref_name] = module
    try:
        for sub in submissions:
            run = grading.grade(asg, sub, label="mutant")
            lost = [r.check.name for r in run.results if not r.outcome.passed]
            if lost or run.errors:
                return site_key, "killed", ", ".join(lost[:3]) or "reference crashed"
        # Grading reads pinned fixtures, so a mutant may only show when fixtures are remade: the
        # published-value guards refuse it, or the remade fixture differs from the committed one.
        from nngrader.engine import fixtures
        from nngrader.core.errors import HarnessBug
        for check in fixtures.fixture_checks(asg):
            try:
                cases = fixtures.build_cases(asg, check)
            except (Exception, HarnessBug, SystemExit) as exc:   # argparse exits on a mutated parser
                return site_key, "killed", f"fixture {check.name} refused: {str(exc)[:80]}"
            if not _same(cases, fixtures.load(asg, check)["cases"]):
                return site_key, "killed", f"fixture {check.name} would change"
        return site_key, "survived", ""
    finally:
        sys.modules[ref_name] = original


def _same(a, b):
    import numpy as np
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-12, atol=1e-15, equal_nan=True)
    return a == b


def executed_functions(asg, submissions):
    """The reference's functions (qualified names) that grading the correct submissions, and
    remaking the fixtures, runs at all."""
    import warnings
    from nngrader.engine import fixtures, grading
    module = asg.course.import_reference(asg.reference)
    path = os.path.realpath(module.__file__)
    seen = set()

    def profile(frame, event, arg):
        if event == "call" and os.path.realpath(frame.f_code.co_filename) == path:
            seen.add(getattr(frame.f_code, "co_qualname", frame.f_code.co_name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.setprofile(profile)
        try:
            for sub in submissions:
                grading.grade(asg, sub, label="trace")
            for check in fixtures.fixture_checks(asg):
                fixtures.build_cases(asg, check)
        finally:
            sys.setprofile(None)
    return seen


def equivalent_problems(aid, patterns, all_sites, executed):
    """-> (the keys of the listed equivalent mutants, problems with the listing): a key that
    matches no site, or a glob pattern covering a function grading runs."""
    import fnmatch
    problems, eq = [], set()
    for pattern in patterns:
        matched = [s for s in all_sites if fnmatch.fnmatchcase(s.key, pattern)]
        if not matched:
            problems.append(f"{aid}: equivalent key {pattern!r} matches no mutation site (the reference "
                            f"changed?): remove it, or list the new key (`--list` prints them)")
            continue
        if any(c in pattern for c in "*?["):
            ran = sorted({s.func for s in matched if s.func in executed})
            if ran:
                problems.append(f"{aid}: the pattern {pattern!r} covers {', '.join(ran)}, which grading runs: "
                                f"it would hide real mutants ({len(matched)} sites); list the equivalent ones "
                                f"one by one, each with its reason")
                continue
        eq.update(s.key for s in matched)
    return eq, problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("assignments", nargs="*")
    p.add_argument("--list", action="store_true", help="only list the mutation sites")
    p.add_argument("--only", help="only sites whose key contains this")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--course", metavar="DIR", help="a course folder of its own (default: the project's)")
    args = p.parse_args(argv)
    from nngrader.core.course import course_at
    from nngrader.frontends import assignments
    course = course_at(args.course)
    listing = (os.path.join(course.root, "tools", "mutation_equivalent.yaml") if args.course else EQUIVALENT)
    equivalent = {}
    if os.path.exists(listing):
        with open(listing) as f:
            equivalent = yaml.safe_load(f) or {}
    ids = args.assignments or course.available()
    with tempfile.TemporaryDirectory(prefix="mutation-") as work:
        return _mutate_all(args, course, equivalent, ids, work)


def _mutate_all(args, course, equivalent, ids, work):
    """Grades every assignment's mutants; the correct submissions live in `work`. -> exit code."""
    from nngrader.frontends import assignments
    bad = 0
    for aid in ids:
        asg = assignments.load(aid, course)
        with open(course.import_reference(asg.reference).__file__) as f:
            all_sites = sites(f.read())
        chosen = [s for s in all_sites if not args.only or args.only in s.key]
        if args.list:
            for s in chosen:
                print(f"{aid} {s.key}")
            continue
        patterns = (equivalent.get(aid) or {})
        subs = _correct_submissions(aid, work, args.course)
        executed = (executed_functions(asg, subs) if any(any(c in k for c in "*?[") for k in patterns)
                    else set())
        eq_all, problems = equivalent_problems(aid, patterns, all_sites, executed)
        for line in problems:
            print(f"  LISTING {line}")
        bad += len(problems)
        eq = {s.key for s in chosen if s.key in eq_all}
        todo = [s for s in chosen if s.key not in eq]
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run_mutant, [(aid, s.key, subs, args.course) for s in todo]))
        killed = [r for r in results if r[1] == "killed"]
        survived = [r for r in results if r[1] == "survived"]
        print(f"{aid}: {len(chosen)} mutants — killed {len(killed)}, survived {len(survived)}, "
              f"equivalent {len(eq)} ({time.monotonic() - started:.0f} s)")
        for key, _, _ in survived:
            print(f"  SURVIVED {key}")
        bad += len(survived)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
