"""Command line: parses arguments and hands off, one function per subcommand.

    python grader.py grade SUBMISSION --assignment ID [--results PATH] [--only CHECK ...]
    python grader.py list
    python grader.py fixtures --assignment ID [--check NAME]
    python grader.py validate [ID ...]

Exit codes: 0 grading completed (whatever the score); 1 the grader itself failed on some
check (results are still written); 2 bad usage or a broken spec.
"""
import argparse
import sys
import traceback

from nngrader import results, runner, spec
from nngrader.sandbox import Limits


def _parser():
    p = argparse.ArgumentParser(prog="grader.py", description="Grade neural-network assignments.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission and write results.json")
    g.add_argument("submission", help="a folder (as Gradescope gives it), a single file, or 'reference'")
    g.add_argument("--assignment", required=True, help="assignment id (see `grader.py list`)")
    g.add_argument("--results", default="results.json", help="where to write results (default results.json)")
    g.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks")
    g.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help=f"override a sandbox limit ({', '.join(Limits.names())})")
    g.add_argument("--quiet", action="store_true", help="do not print the report")
    sub.add_parser("list", help="list the assignments and their points")
    f = sub.add_parser("fixtures", help="regenerate pickle fixtures from the reference")
    f.add_argument("--assignment", required=True)
    f.add_argument("--check", action="append", help="only this fixture check (repeatable)")
    v = sub.add_parser("validate", help="load and validate assignment specs")
    v.add_argument("ids", nargs="*")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return {"grade": cmd_grade, "list": cmd_list, "fixtures": cmd_fixtures,
                "validate": cmd_validate}[args.command](args)
    except spec.SpecError as exc:
        print(f"spec error: {exc}", file=sys.stderr)
        return 2


def _limits(pairs):
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"--limit expects NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        overrides[k] = v
    try:
        return Limits().with_overrides(overrides)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2)


def cmd_grade(args):
    asg = spec.load(args.assignment)
    limits = _limits(args.limit)
    if args.only:
        unknown = [c for c in args.only if c not in [k.name for k in asg.checks]]
        if unknown:
            print(f"error: unknown check(s) {', '.join(unknown)}; checks of {asg.id}: "
                  f"{', '.join(c.name for c in asg.checks)}", file=sys.stderr)
            return 2
    try:
        run = runner.grade(asg, args.submission, limits=limits, only=args.only)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        # The grader itself failed outside any one check: still leave valid results behind.
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        results.write_atomic(args.results, {
            "score": 0.0, "output": "the grader failed before finishing; the staff have the details. "
                                    "This is not a grade.", "tests": [], "visibility": "visible"})
        return 1
    results.write_atomic(args.results, results.to_gradescope(run))
    if not args.quiet:
        print(results.report(run))
        print(f"\nresults written to {args.results}")
    if run.errors:
        print("\n".join(run.errors), file=sys.stderr)
        return 1
    return 0


def cmd_list(args):
    for aid in spec.available():
        try:
            asg = spec.load(aid)
        except spec.SpecError as exc:
            print(f"{aid:<20} BROKEN SPEC: {exc}")
            continue
        print(f"{asg.id:<20} {asg.max_points:>6g} points  {len(asg.checks):>3} checks  "
              f"submit: {', '.join(asg.files)}  — {asg.title}")
    return 0


def cmd_fixtures(args):
    from nngrader import fixtures
    asg = spec.load(args.assignment)
    written = fixtures.regenerate(asg, only=args.check)
    for path, n in written:
        print(f"wrote {path} ({n} cases)")
    if not written:
        print(f"{asg.id} has no fixture checks" + (f" named {', '.join(args.check)}" if args.check else ""))
    return 0


def cmd_validate(args):
    ids = args.ids or spec.available()
    bad = 0
    for aid in ids:
        try:
            asg = spec.load(aid)
            print(f"{aid}: ok ({len(asg.checks)} checks, {asg.max_points:g} points)")
        except spec.SpecError as exc:
            bad += 1
            print(f"{aid}: {exc}")
    return 2 if bad else 0
