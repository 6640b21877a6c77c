"""Command line: parses arguments and hands off, one function per subcommand. Installed as
`nngrader`; `python grader.py` is the same.

    nngrader grade SUBMISSION --assignment ID [--results PATH] [--only CHECK ...] [--loss-curve PNG]
    nngrader batch SUBMISSIONS_DIR --assignment ID --out OUT_DIR [--jobs N]
    nngrader list
    nngrader fixtures --assignment ID [--check NAME]
    nngrader validate [ID ...] [--static]
    nngrader new ID [--module NAME] [--function NAME ...]
    nngrader check-results RESULTS.json [--require-tags]
    nngrader bundle --assignment ID -o DIR
    nngrader export-gradescope --assignment ID -o autograder.zip

Every subcommand takes `--course DIR` (a course folder: checks/, fixtures/, data/, reference/;
default: the project's own).

Exit codes: 0 grading completed (whatever the score); 1 the grader itself failed on some
check, or grading was stopped part-way (SIGTERM, SIGINT, SIGHUP, a harness exception): results
are still written, with what was graded; 2 bad usage or a broken spec (for `grade reference`,
also a reference scoring below 100 %). validate: 0 every spec loads and the reference passes
every check, 2 not. check-results: 0 valid, 1 not valid.
"""
import argparse
import os
import signal
import sys
import threading
import traceback

from nngrader.core.course import course_at
from nngrader.core.errors import Interrupted, SpecError
from nngrader.core.limits import Limits
from nngrader.core.outcome import Outcome
from nngrader.engine import draws, fixtures, grading
from nngrader.frontends import (assignments, batch, bundle, figures, gradescope_export, results, results_schema,
                                roster, scaffold)


def _parser():
    p = argparse.ArgumentParser(prog="grader.py", description="Grade neural-network assignments.")
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course", metavar="DIR",
                        help="course folder with checks/, fixtures/, data/, reference/ (default: the project's own)")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", parents=[course], help="grade one submission and write results.json")
    g.add_argument("submission", help="a folder (as Gradescope gives it), a single file, or 'reference'")
    g.add_argument("--assignment", required=True, help="assignment id (see `grader.py list`)")
    g.add_argument("--results", default="results.json", help="where to write results (default results.json)")
    g.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks")
    g.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help=f"override a sandbox limit ({', '.join(Limits.names())})")
    g.add_argument("--quiet", action="store_true", help="do not print the report")
    g.add_argument("--loss-curve", metavar="PNG",
                   help="also draw the submission's loss against the reference's (training checks)")
    bt = sub.add_parser("batch", parents=[course],
                        help="grade every submission of a folder in parallel: results, grades.csv, summary, figures")
    bt.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                    help="one submission per entry (a folder, a file, a .ipynb or a .zip), named by the student id; "
                         "a Gradescope export, or a Canvas download (one submission per student)")
    bt.add_argument("--assignment", required=True, help="assignment id (see `grader.py list`)")
    bt.add_argument("--out", required=True, metavar="OUT_DIR", help="where results, grades.csv and figures go")
    bt.add_argument("--jobs", type=int, default=None, help="parallel gradings (default: the cores this command may use, at most its container's CPU quota)")
    bt.add_argument("--no-pin", dest="pin", action="store_false",
                    help="let the system move the grading processes between cores (default: each grading on its "
                         "slot's core)")
    bt.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                    help=f"override a sandbox limit ({', '.join(Limits.names())})")
    sub.add_parser("list", parents=[course], help="list the assignments and their points")
    f = sub.add_parser("fixtures", parents=[course],
                       help="regen: remake pickle fixtures from the reference; check: verify them")
    f.add_argument("action", nargs="?", choices=("regen", "check"), default="regen")
    f.add_argument("--assignment", help="one assignment (default: all of the course)")
    f.add_argument("--check", action="append", help="regen: only this fixture check (repeatable)")
    v = sub.add_parser("validate", parents=[course],
                       help="resolve every name of the specs, then dry-run every check on the reference")
    v.add_argument("ids", nargs="*")
    v.add_argument("--static", action="store_true", help="only load and resolve; do not run the reference")
    n = sub.add_parser("new", parents=[course], help="write the files a new assignment starts from")
    n.add_argument("id", help="the new assignment's id (lower-case, digits, '-')")
    n.add_argument("--module", help="the student's module name (default: the id with '_')")
    n.add_argument("--function", action="append", dest="functions", metavar="NAME",
                   help="a contract function (repeatable; default: forward)")
    r = sub.add_parser("check-results", help="validate a results.json against Gradescope's format")
    r.add_argument("path")
    r.add_argument("--require-tags", action="store_true", help="every test must carry a tag")
    b = sub.add_parser("bundle", parents=[course],
                       help="write a folder students grade themselves in with `pytest` (no reference code)")
    b.add_argument("--assignment", required=True, help="assignment id (see `grader.py list`)")
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="a new (or empty) folder")
    e = sub.add_parser("export-gradescope", parents=[course],
                       help="write a Gradescope autograder zip (setup.sh, run_autograder)")
    e.add_argument("--assignment", required=True, help="assignment id (see `grader.py list`)")
    e.add_argument("-o", "--output", default="autograder.zip", metavar="ZIP",
                   help="where to write the zip (default autograder.zip)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return {"grade": cmd_grade, "batch": cmd_batch, "list": cmd_list, "fixtures": cmd_fixtures,
                "validate": cmd_validate, "new": cmd_new, "check-results": cmd_check_results,
                "bundle": cmd_bundle, "export-gradescope": cmd_export_gradescope}[args.command](args)
    except SpecError as exc:
        print(f"spec error: {exc}", file=sys.stderr)
        return 2


def _limits(pairs):
    """--limit NAME=VALUE pairs -> {name: value}, checked against the known limits."""
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"--limit expects NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        overrides[k] = v
    try:
        Limits().with_overrides(overrides)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2)
    return overrides


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _stop_on_signals():
    """The first SIGTERM/SIGINT/SIGHUP stops grading (Interrupted); later ones are ignored so that
    cleaning up and writing the results are not cut short. -> the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    def stop(signum, frame):
        _ignore_signals()
        raise Interrupted(signum)
    previous = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    for sig in _STOP_SIGNALS:
        signal.signal(sig, stop)
    return previous


def _ignore_signals():
    if threading.current_thread() is threading.main_thread():
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _restore_signals(previous):
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _partial_results(asg, run, exc, only):
    """results.json for a grading that stopped part-way: the checks graded, the others marked
    'not run' with no points, and a message saying what happened."""
    if isinstance(exc, Interrupted):
        why = f"grading was stopped by {exc} (e.g. the platform's time limit)"
    elif isinstance(exc, KeyboardInterrupt):
        why = "grading was interrupted (SIGINT)"
    else:
        why = "the grader itself failed part-way; the staff have the details"
    if run is None:
        return {"score": 0.0, "output": f"{why} before any check was graded. This is not a grade.",
                "tests": [], "visibility": "visible"}
    done = {r.check.name for r in run.results}
    pending = [c for c in asg.checks if c.name not in done and (not only or c.name in only)]
    for check in pending:
        line = "not run: grading stopped before this check"
        run.results.append(grading.CheckResult(check, Outcome(False, f"checked: {check.name}", lines=[line],
                                                                  short=line)))
    run.results.sort(key=lambda r: asg.checks.index(r.check))
    return results.to_gradescope(run, extra_output=(
        f"{why}: {len(done)} of {len(done) + len(pending)} checks were graded; the {len(pending)} "
        "marked 'not run' earned nothing. This is not a final grade: ask the staff to regrade."))


def cmd_grade(args):
    previous = _stop_on_signals()
    try:
        return _grade(args)
    finally:
        _restore_signals(previous)


def _grade(args):
    asg = assignments.load(args.assignment, course_at(args.course))
    overrides = _limits(args.limit)
    if args.only:
        unknown = [c for c in args.only if c not in [k.name for k in asg.checks]]
        if unknown:
            print(f"error: unknown check(s) {', '.join(unknown)}; checks of {asg.id}: "
                  f"{', '.join(c.name for c in asg.checks)}", file=sys.stderr)
            return 2
    try:
        run = grading.grade(asg, args.submission, only=args.only, overrides=overrides)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        # a missing, stale or corrupt fixture (or a package the assignment needs): found before
        # any check ran, so nobody is scored and no results file is written
        print(f"spec error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:
        # Stopped part-way (a signal, or the grader itself failed outside any one check): still
        # leave valid results behind, with what was graded.
        _ignore_signals()
        if not isinstance(exc, (Interrupted, KeyboardInterrupt)):
            print(traceback.format_exc(), file=sys.stderr)
        results.write_atomic(args.results, _partial_results(asg, getattr(exc, "partial_run", None),
                                                            exc, args.only))
        print(f"grading stopped ({exc.__class__.__name__}: {exc}); partial results written to "
              f"{args.results}", file=sys.stderr)
        return 1
    _ignore_signals()                   # graded: nothing may cut the writing short now
    results.write_atomic(args.results, results.to_gradescope(run))
    if not args.quiet:
        print(results.report(run))
        print(f"\nresults written to {args.results}")
    if args.loss_curve:
        _loss_curves(asg, run, args.loss_curve, overrides)
    if run.errors:
        print("\n".join(run.errors), file=sys.stderr)
        return 1
    if args.submission == grading.REFERENCE_SUBMISSION and run.score < run.max_score:
        print(f"the reference scores {run.score:g} of {run.max_score:g}: the spec does not fit it; "
              f"`python grader.py validate {asg.id}` names each check and why", file=sys.stderr)
        return 2
    return 0


def _loss_curves(asg, run, path, overrides):
    """One PNG per training check the submission ran: its losses against the reference's, on the
    check's first example (PATH, or PATH-CHECK.png for several checks)."""
    mine = batch.curves_of(run)
    if not mine:
        print(f"no loss curve: {asg.id} has no training check the submission completed an example of",
              file=sys.stderr)
        return
    theirs = batch.reference_curves(asg, overrides)
    stem, ext = os.path.splitext(path)
    for check, curve in mine.items():
        out = path if len(mine) == 1 else f"{stem}-{check}{ext or '.png'}"
        figures.write_loss_curve(out, asg, check, curve, theirs.get(check), "your submission")
        print(f"loss curve of {check} written to {out}")


def cmd_batch(args):
    """Grade a folder of submissions; exit 0 when every one was graded, 1 when the grader failed
    on some (marked in grades.csv) or the batch was stopped part-way (SIGINT, SIGTERM, SIGHUP:
    what was graded is kept, the rest marked 'not graded'), 2 bad usage or a broken spec."""
    asg = assignments.load(args.assignment, course_at(args.course))
    overrides = _limits(args.limit)
    if not os.path.isdir(args.submissions):
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    previous = _stop_on_signals()
    try:
        # graded (or stopped): writing the gradebook, the summary and the figures is not cut short
        summary = batch.run(asg, args.submissions, args.out, jobs=args.jobs, overrides=overrides, pin=args.pin,
                            when_graded=_ignore_signals)
    except (Interrupted, KeyboardInterrupt) as exc:
        # stopped before the submissions' turn (reading them, grading the reference)
        print(f"stopped by {exc if isinstance(exc, Interrupted) else 'SIGINT'}: no gradebook was written; "
              f"run the same command again (what was graded is kept)", file=sys.stderr)
        return 1
    except batch.ClassFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except roster.RosterError as exc:
        print(f"error: {exc}; nothing was graded (fix the file, or move it out of the folder to grade "
              f"without names)", file=sys.stderr)
        return 2
    finally:
        _restore_signals(previous)
    if "export_folder" in summary:
        print(f"graded the Gradescope export in {summary['export_folder']}")
    for left in summary.get("left_out", []):
        if "roster" in summary and left["entry"] == roster.ROSTER_FILE:
            continue                    # said below
        print(f"not a submission: {left['entry']} ({left['why']})")
    if "canvas" in summary:
        c = summary["canvas"]
        print(f"Canvas download: {c['students']} student(s) from {c['files']} file(s), each graded with all of "
              f"their files (laid out in {c['folder']})" + (f"; late: {', '.join(c['late'][:10])}" if c["late"] else ""))
    if "roster" in summary:
        r = summary["roster"]
        print(f"roster: {r['submitters']} submitter(s) named in grades.csv, from {r['file']}")
        if r["not_in_roster"]:
            print(f"warning: {len(r['not_in_roster'])} submission(s) not in {r['file']} (no name in "
                  f"grades.csv): {', '.join(r['not_in_roster'][:10])}", file=sys.stderr)
        if r["missing_submissions"]:
            print(f"warning: {len(r['missing_submissions'])} submission(s) listed in {r['file']} are not in "
                  f"the folder (not graded, not in grades.csv): {', '.join(r['missing_submissions'][:10])}",
                  file=sys.stderr)
    scores = summary["scores"]
    timing = summary["timing"]
    rate = f", {timing['graded_per_second']:g}/s" if timing["graded_per_second"] else ""
    print(f"{asg.id}: {summary['submissions']} submissions ({summary['graded']} graded, {summary['reused']} "
          f"unchanged since the last run) in {timing['seconds']:g} s with {timing['jobs']} job(s){rate}")
    if scores:
        print(f"scores out of {summary['max_score']:g}: mean {scores['mean']:g}, median {scores['median']:g}, "
              f"min {scores['min']:g}, max {scores['max']:g}; full marks: {summary['full_marks']}")
    if summary["errors"]:
        print(f"the grader failed on {summary['errors']} submission(s): status '{batch.STATUS_ERROR}' in "
              f"grades.csv; their reports hold the tracebacks", file=sys.stderr)
    print(f"wrote {os.path.join(args.out, 'grades.csv')}, summary.json, {', '.join(summary['figures'])} "
          f"and one folder per student in {args.out}")
    if summary.get("interrupted"):
        print(f"stopped by {summary['interrupted']}: {summary['not_graded']} submission(s) not graded "
              f"(status '{batch.STATUS_NOT_GRADED}' in grades.csv); run the same command again to grade "
              f"them: the ones graded are kept", file=sys.stderr)
        return 1
    return 1 if summary["errors"] else 0


def cmd_list(args):
    course = course_at(args.course)
    for aid in course.available():
        try:
            asg = assignments.load(aid, course)
        except SpecError as exc:
            print(f"{aid:<20} BROKEN SPEC: {exc}")
            continue
        print(f"{asg.id:<20} {asg.max_points:>6g} points  {len(asg.checks):>3} checks  "
              f"submit: {', '.join(asg.files)}  — {asg.title}")
    return 0


def cmd_fixtures(args):
    """regen: write the fixtures and their manifest; check: exit 1 naming every fixture that is
    missing, changed by hand, or would not be remade identically from the current reference."""
    course = course_at(args.course)
    bad = 0
    for aid in [args.assignment] if args.assignment else course.available():
        asg = assignments.load(aid, course)
        if args.action == "check":
            problems = fixtures.check_all(asg) + draws.check(asg, grading.record_draws(asg))
            bad += len(problems)
            for line in problems:
                print(line)
            if not problems:
                print(f"{asg.id}: {len(fixtures.fixture_checks(asg))} fixture(s) and the stored draws ok")
            continue
        written = fixtures.regenerate(asg, only=args.check)
        for path, n in written:
            print(f"wrote {path} ({n} cases)")
        if not written:
            print(f"{asg.id} has no fixture checks" + (f" named {', '.join(args.check)}" if args.check else ""))
        if not args.check:
            path, n = draws.write(asg, grading.record_draws(asg))
            print(f"wrote {course.relative(path)} ({n} sequences of hypothesis's draws)")
    if bad:
        print(f"{bad} fixture problem(s); remake them with `python grader.py fixtures regen` and review the diff")
    return 1 if bad else 0


def cmd_validate(args):
    """Load every spec (each name resolved), then grade the reference against it: a check the
    reference does not pass in full is the spec's error, named with its reason (exit code 2)."""
    course = course_at(args.course)
    ids = args.ids or course.available()
    bad = 0
    for aid in ids:
        try:
            asg = assignments.load(aid, course)
            problems = [] if args.static else _dry_run(asg)
        except SpecError as exc:
            bad += 1
            print(f"{aid}: {exc}")
            continue
        if problems:
            bad += 1
            print(f"{aid}: the reference does not pass {len(problems)} of {len(asg.checks)} checks; the spec "
                  f"does not fit it:")
            print("\n".join(f"  {line}" for line in problems))
            continue
        ran = "" if args.static else "; the reference passes every check"
        print(f"{aid}: ok ({len(asg.checks)} checks, {asg.max_points:g} points{ran})")
    return 2 if bad else 0


def _dry_run(asg):
    """Every check run on the reference (as a submission, through the same grading) -> one line
    per check it does not pass in full: the check, its points, and why."""
    run = grading.grade(asg, grading.REFERENCE_SUBMISSION, label="reference")
    errors = {e.split(":", 1)[0]: e for e in run.errors}
    out = []
    for r in run.results:
        if r.outcome.passed and r.score >= r.check.points:
            continue
        if r.check.name in errors:
            text = errors[r.check.name][len(r.check.name) + 2:]
            first = text.splitlines()[0] if text.strip() else ""
            why = (first if not first.startswith("Traceback") else
                   "the grader failed: " + [ln for ln in text.splitlines() if ln.strip()][-1])
        else:
            why = " | ".join(ln.strip() for ln in r.outcome.lines[:4] if not ln.startswith("rerun only"))
        out.append(f"{r.check.name} ({r.check.kind}, {r.score:g} of {r.check.points:g} points): {why}")
    if out and run.notes:
        out.append("notes on the reference as a submission: " + " | ".join(run.notes))
    return out


def cmd_new(args):
    """Write a new assignment's starting files into the course folder."""
    # a new course folder may start here: it need not hold checks/ yet
    root = os.path.abspath(args.course) if args.course else course_at(None).root
    flag = f" --course {args.course}" if args.course else ""
    written = scaffold.create(root, args.id, module=args.module, functions=args.functions or ["forward"],
                              course_flag=flag)
    for rel in written:
        print(f"wrote {rel}")
    print(f"next: write the reference and the checks, then `python grader.py validate {args.id}{flag}` "
          f"(README.md, \"Adding an assignment\", lists every requirement and the command that checks it)")
    return 0


def cmd_check_results(args):
    problems = results_schema.problems_in_file(args.path, require_tags=args.require_tags)
    if problems:
        print(f"{args.path}: not valid Gradescope results ({len(problems)} problem(s)):")
        for line in problems:
            print(f"  {line}")
        return 1
    print(f"{args.path}: valid Gradescope results")
    return 0


def cmd_bundle(args):
    summary = bundle.main(args.assignment, args.output, course_at(args.course),
                          progress=lambda c, why: print(f"{c.name}: graded only on submission ({why})" if why
                                                        else f"recorded {c.name}"))
    print(f"wrote {args.output}: {len(summary['bundled'])} checks; graded only on submission: "
          f"{', '.join(summary['submission_only']) or 'none'}; hidden checks left out: {summary['hidden']}; "
          f"recorded reference {summary['store_bytes'] / 1024 ** 2:.1f} MiB")
    return 0


def cmd_export_gradescope(args):
    asg = assignments.load(args.assignment, course_at(args.course))
    names = gradescope_export.write(asg, args.output)
    print(f"wrote {args.output} ({len(names)} files): upload it as the assignment's autograder "
          "(setup.sh and run_autograder at its root)")
    return 0
