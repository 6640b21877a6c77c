"""Grading one submission against one assignment: staging the files, starting the worker once,
running every check, and scoring. Student failures become results; harness failures are
errors with a traceback.
"""
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field

import yaml

from nngrader import kinds
from nngrader.evaluate import HarnessBug
from nngrader.outcome import Outcome
from nngrader.sandbox import Limits, StudentFailure, StudentProcess
from nngrader.targets import ReferenceTarget, StudentTarget

REFERENCE_SUBMISSION = "reference"


@dataclass
class CheckResult:
    check: object
    outcome: Outcome

    @property
    def score(self):
        return round(self.check.points * self.outcome.fraction, 6)


@dataclass
class GradeRun:
    assignment: object
    submission: str
    results: list = field(default_factory=list)
    notes: list = field(default_factory=list)       # submission-level messages (missing files, import errors)
    errors: list = field(default_factory=list)      # harness errors (tracebacks)
    seconds: float = 0.0

    @property
    def score(self):
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_score(self):
        return sum(r.check.points for r in self.results)


class Context:
    """What a check kind may use: the submission (through StudentTarget only) and the reference."""

    def __init__(self, asg, process, submission_label, staged_dir):
        self.asg = asg
        self.process = process
        self.student = StudentTarget(process)
        self.student.warnings_log = []
        self.submission_label = submission_label
        self.staged_dir = staged_dir
        self.limits = process.limits
        self.files = {os.path.basename(p): p for p in asg.support}

    def reference(self, overrides=None):
        return ReferenceTarget(self.asg.reference, self.files, overrides)

    def rerun(self, check):
        return (f"pytest checks --submission {self.submission_label} --assignment {self.asg.id} "
                f"-k {check.name}")

    def submitted_file(self, name):
        """Path of a submitted file on the grading side (for data files: never imported here)."""
        path = os.path.join(self.staged_dir, name)
        return path if os.path.isfile(path) else None


def stage(asg, submission):
    """Copy the submission's files into a fresh folder -> (folder, notes about missing files)."""
    staged = tempfile.mkdtemp(prefix="nngrader-submission-")
    notes = []
    if submission == REFERENCE_SUBMISSION:
        _stage_reference(asg, staged)
        return staged, notes
    if not os.path.exists(submission):
        raise FileNotFoundError(f"submission {submission!r} does not exist")
    wanted = asg.files + asg.optional_files
    if os.path.isfile(submission):
        name = os.path.basename(submission)
        target = name if name in wanted or len(asg.files) != 1 else asg.files[0]
        if target != name:
            notes.append(f"graded the file {name} as {target}")
        shutil.copy(submission, os.path.join(staged, target))
    else:
        found = {}
        for root, dirs, files in os.walk(submission):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
            for f in sorted(files):
                if f in wanted and f not in found:
                    found[f] = os.path.join(root, f)
        for f, p in found.items():
            shutil.copy(p, os.path.join(staged, f))
    present = set(os.listdir(staged))
    for f in asg.files:
        if f not in present:
            listing = _listing(submission)
            notes.append(f"the submission has no {f} (it contains: {listing}); "
                         f"checks that need it score 0")
    return staged, notes


def _listing(submission):
    if os.path.isfile(submission):
        return os.path.basename(submission)
    names = []
    for root, _, files in os.walk(submission):
        names += [os.path.relpath(os.path.join(root, f), submission) for f in files]
    return ", ".join(sorted(names)[:12]) or "nothing"


def _stage_reference(asg, staged):
    """The reference as if it were a submission (for `--submission reference`)."""
    import importlib
    ref = importlib.import_module(asg.reference)
    src = ref.__file__
    module_file = asg.module + ".py"
    shutil.copy(src, os.path.join(staged, module_file))
    pkg = os.path.join(staged, "reference")
    os.makedirs(pkg)
    numerics = importlib.import_module("reference.numerics")
    shutil.copy(numerics.__file__, os.path.join(pkg, "numerics.py"))
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write("")
    for name in asg.files:
        if name.endswith(".yaml") and hasattr(ref, "answers"):
            with open(os.path.join(staged, name), "w") as f:
                yaml.safe_dump(ref.answers(), f, sort_keys=False)


def grade(asg, submission, limits=None, only=None, label=None, on_result=None, overrides=None):
    """Grade `submission` (folder, single file, or "reference") -> GradeRun.

    Limits: `limits` (default: the documented defaults), then the assignment's `limits:` block,
    then `overrides` (the command line's --limit). If grading stops part-way (a signal, a harness
    exception), the exception carries the run so far as `exc.partial_run`."""
    from nngrader import fixtures
    fixtures.verify(asg)            # a missing or stale fixture stops grading before anyone is scored
    started = time.monotonic()
    run = GradeRun(assignment=asg, submission=label or submission)
    limits = (limits or Limits()).with_overrides(asg.limits).with_overrides(overrides or {})
    staged, run.notes = stage(asg, submission)
    present = [m for m in [asg.module] if os.path.exists(os.path.join(staged, m + ".py"))]
    process = StudentProcess(staged, present or [asg.module], limits=limits, support_files=asg.support)
    ctx = Context(asg, process, label or submission, staged)
    try:
        process.start(wait=False)   # the worker boots while this process loads hypothesis
        import hypothesis  # noqa: F401
        _note_import(process, run)
        for check in asg.checks:
            if only and check.name not in only:
                continue
            result = CheckResult(check, run_check(check, ctx, run))
            run.results.append(result)
            if on_result:
                on_result(result)
    except BaseException as exc:
        exc.partial_run = run       # what was graded before it stopped (see cli.cmd_grade)
        raise
    finally:
        process.close()
        shutil.rmtree(staged, ignore_errors=True)
        run.seconds = time.monotonic() - started
    return run


def _note_import(process, run):
    try:
        process.ensure()
    except StudentFailure as exc:
        run.notes.append(f"your submission could not be imported: {exc.type_name}: {exc.message}"
                         if exc.category not in ("timeout", "died", "memory", "protocol")
                         else f"importing your submission failed: {exc.message}")
        if exc.type_name == "SystemExit":
            run.notes.append("your module ends the program while it is being imported: put the code "
                             "that runs the program (argument parsing, training) under "
                             "`if __name__ == \"__main__\":` so the functions can be imported and tested")


def run_kind(check, ctx):
    """Run the check's kind with the check's own call time limit, if it sets one."""
    kind = kinds.get(check.kind)
    saved = ctx.process.limits.call_timeout
    if check.timeout:
        ctx.process.limits.call_timeout = check.timeout
    try:
        return kind.run(check, ctx)
    finally:
        ctx.process.limits.call_timeout = saved


def run_check(check, ctx, run=None):
    """One check -> Outcome; a harness failure becomes an error outcome (never a silent zero)."""
    try:
        out = run_kind(check, ctx)
    except StudentFailure as exc:
        out = Outcome(False, f"checked: {check.name}", lines=[exc.message], short=exc.message)
    except (HarnessBug, Exception):
        tb = traceback.format_exc()
        if run is not None:
            run.errors.append(f"{check.name}: {tb}")
        out = Outcome(False, f"checked: {check.name}",
                      lines=["the grader itself failed on this check (not your fault); the course staff "
                             "have the details"], short="grader error", error=tb)
    if not out.passed and check.visibility != "hidden" and not out.error:
        out.lines.append(f"rerun only this check: {ctx.rerun(check)}")
    return out
