"""Grading one submission against one assignment: the one orchestration path that the command
line, the pytest plugin and the tests all use.

    with Grading(asg, submission) as grading:       # stages the files, starts the worker
        for check in grading.checks():
            result = grading.run(check)             # -> CheckResult
    run = grading.run_all()                         # or everything at once -> GradeRun

Student failures become results; harness failures are errors with a traceback (recorded on the
run, or raised for the pytest plugin to show). Leaving the block kills everything the submission
started and removes the staged copy.
"""
import filecmp
import importlib.util
import os
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field

import yaml

from nngrader.boundary import containment
from nngrader.boundary.process import StudentProcess
from nngrader.core.errors import HarnessBug, SpecError, StudentFailure
from nngrader.core.limits import Limits
from nngrader.core.outcome import Outcome
from nngrader.core.protocol import FailureKind
from nngrader.engine import draws, fixtures, memo, replay, submission_files
from nngrader.engine.targets import ReferenceTarget, StudentTarget

REFERENCE_SUBMISSION = "reference"
# Staging policy: the folder holding the graded module comes whole (helper modules, data files),
# within these bounds; hidden entries and caches are left out.
MAX_STAGED_FILES = 500
MAX_STAGED_BYTES = 64 * 1024 ** 2
SKIPPED_DIRS = ("__pycache__", "__MACOSX", "node_modules")


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
    penalties: list = field(default_factory=list)   # [(points taken off, why)] by the assignment's policies
    seconds: float = 0.0
    # {training check: (dims, seed, losses)}: the submission's losses on the check's first example
    loss_curves: dict = field(default_factory=dict)

    @property
    def score(self):
        earned = sum(r.score for r in self.results) - sum(p for p, _ in self.penalties)
        return round(max(0.0, earned), 6)

    @property
    def max_score(self):
        return sum(r.check.points for r in self.results)


class Context:
    """What a check kind may use: the submission (through StudentTarget only), the reference,
    the support files, and a memo for what is computed once per submission (a program's run)."""

    def __init__(self, asg, process, submission_label, staged_dir, reference_source=None):
        self.asg = asg
        self.process = process
        self.student = StudentTarget(process)
        self.submission_label = submission_label
        self.staged_dir = staged_dir
        self.limits = process.limits
        self.files = {os.path.basename(p): p for p in asg.support}
        self.memo = {}                  # (purpose, key) -> value, for this submission only
        self._programs = None
        # None: the course's reference module; else a stand-in for it (nngrader.engine.replay):
        # a bundle's recorded reference, or the recorder that makes one
        self.reference_source = reference_source if reference_source is not None else replay.stored(asg)
        if self.reference_source is not None:
            self.reference_source.attach(self)

    def programs(self):
        """The target that runs the submission as a program: a worker of its own that never
        imports the submission (a fork server), so every run starts as `python FILE ARGS` would,
        whatever the module checks did before it."""
        if self._programs is None:
            process = StudentProcess(self.staged_dir, [], limits=self.process.limits,
                                     support_files=self.process.support_files,
                                     course_root=self.process.course_root)
            process.started_at = self.process.started_at    # one time budget for the submission
            self._programs = StudentTarget(process)
        return self._programs

    def close(self):
        """Kill everything the submission started (both workers) and remove what it left."""
        try:
            self.process.close()
        finally:
            if self._programs is not None:
                self._programs.process.close()

    def reference_module(self, name=None):
        """The assignment's reference module, or another reference-side module of the course."""
        if self.reference_source is not None:
            return self.reference_source.module(name)
        return self.asg.course.import_reference(name or self.asg.reference)

    def reference(self, overrides=None):
        if self.reference_source is not None:
            return self.reference_source.target(self.files, overrides)
        return ReferenceTarget(self.reference_module(), self.files, overrides)

    def rerun(self, check):
        return (f"pytest checks --submission {self.submission_label} --assignment {self.asg.id} "
                f"-k {check.name}")

    def submitted_file(self, name):
        """Path of a submitted file on the grading side (for data files: never imported here)."""
        path = os.path.join(self.staged_dir, name)
        return path if os.path.isfile(path) else None


def stage(asg, submission):
    """Copy the submission's files into a fresh folder -> (folder, notes about missing files).

    The contract's files are found at any depth (Gradescope nests folders). The folder holding
    the graded module comes with everything in it, so a submission may import its own helper
    modules and read its own data files; the contract's module is still the one graded."""
    if submission != REFERENCE_SUBMISSION and not os.path.exists(submission):
        raise FileNotFoundError(f"submission {submission!r} does not exist")
    staged = tempfile.mkdtemp(prefix="nngrader-submission-")
    try:
        return staged, _stage_into(asg, submission, staged)
    except BaseException:           # e.g. a signal stopping the grading: the folder goes with it
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _stage_into(asg, submission, staged):
    notes = []
    if submission == REFERENCE_SUBMISSION:
        _stage_reference(asg, staged)
        return notes
    archive = (submission_files.lone_archive(submission, asg.files + asg.optional_files)
               if os.path.isdir(submission) else None)
    if archive:
        notes.append(f"graded the archive {os.path.relpath(archive, submission)} as the submission folder "
                     "(the folder holds no other submission files)")
        submission = archive
    if os.path.isfile(submission) and submission.endswith(".zip"):
        unpacked = tempfile.mkdtemp(prefix="nngrader-unpacked-")
        try:
            notes += submission_files.unpack_archive(submission, unpacked)
            _, more = _stage_from(asg, unpacked, staged)
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
        return notes + more
    _, more = _stage_from(asg, submission, staged)
    return notes + more


def _stage_from(asg, submission, staged):
    notes = []
    wanted = asg.files + asg.optional_files
    if os.path.isfile(submission) and submission.endswith(".ipynb"):
        notes += _stage_notebook(asg, submission, staged)
    elif os.path.isfile(submission):
        name = os.path.basename(submission)
        target = name if name in wanted or len(asg.files) != 1 else asg.files[0]
        if target != name:
            notes.append(f"graded the file {name} as {target}")
        shutil.copy(submission, os.path.join(staged, target))
    else:
        found, links, others, copies = {}, set(), [], {}
        for root, dirs, files in os.walk(submission):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
            for f in sorted(files):
                path = os.path.join(root, f)
                if f in wanted:
                    if not _regular(path):
                        links.add(path)
                        continue
                    copies.setdefault(f, []).append(os.path.relpath(path, submission))
                    found.setdefault(f, path)
                elif not f.startswith(".") and _regular(path):
                    others.append(path)
        for f, places in copies.items():
            if len(places) > 1:             # which one is meant is the student's to say: the note says which was taken
                notes.append(f"{f} is in {len(places)} places ({', '.join(places[:5])}"
                             f"{', ...' if len(places) > 5 else ''}): graded {places[0]}, the first in the "
                             f"folder's order; hand in one {f}")
        if asg.policies.accept_renamed_files:
            notes += _renamed_files(wanted, found, others, submission)
        home = os.path.dirname(next((found[f] for f in wanted if f in found), os.path.join(submission, "-")))
        notes += _stage_folder(home, staged, links)
        if links:
            names = sorted(os.path.relpath(p, submission) for p in links)
            notes.append(f"{len(names)} entr{'y' if len(names) == 1 else 'ies'} of the submission left out, not being "
                         f"regular files or folders (symbolic links, which the grader does not follow, or "
                         f"devices): {', '.join(names[:5])}")
        for f, p in found.items():          # a contract file found in another folder
            if not os.path.exists(os.path.join(staged, f)):
                shutil.copy(p, os.path.join(staged, f))
    notes += _notebook_for_missing_module(asg, staged)
    present = set(os.listdir(staged))
    if not any(f in present for f in wanted):
        notes.append(f"nothing was submitted: the submission has none of {', '.join(wanted)} "
                     f"(it contains: {_listing(submission)}); every check scores 0")
        return staged, notes
    for f in asg.files:
        if f not in present:
            listing = _listing(submission)
            notes.append(f"the submission has no {f} (it contains: {listing}); "
                         f"checks that need it score 0")
    return staged, notes


def _copy_name(wanted):
    """A pattern of the names a computer or a course site gives a copy of the file `wanted`:
    another letter case, `name (1).ext`, `name-1.ext`, `name copy.ext`, `name copy 2.ext`."""
    stem, ext = os.path.splitext(wanted)
    return re.compile(re.escape(stem) + r"(?:\s?\(\d+\)|-\d+| copy(?: \d+)?)?" + re.escape(ext),
                      re.IGNORECASE)


def _renamed_files(wanted, found, others, submission):
    """Contract files absent under their names but handed in once under a copy's name
    (`policies › accept_renamed_files`): taken into `found` -> notes. Two candidates or more:
    none is taken (which one is meant is not for the grader to guess)."""
    notes = []
    for f in wanted:
        if f in found:
            continue
        pattern = _copy_name(f)
        candidates = [p for p in others if pattern.fullmatch(os.path.basename(p))
                      and os.path.basename(p) not in wanted]
        names = [os.path.relpath(p, submission) for p in candidates]
        if len(candidates) == 1:
            found[f] = candidates[0]
            notes.append(f"graded {names[0]} as {f}: its name differs from {f} only as a copy's name does "
                         f"(letter case, a number, 'copy'), as a computer or a course site may rename a file")
        elif candidates:
            notes.append(f"{len(names)} files could be {f} under a copy's name ({', '.join(names[:5])}); none "
                         f"was graded as {f}: hand in one file named {f}")
    return notes


def _stage_notebook(asg, notebook, staged):
    """The notebook's code cells as the assignment's module -> notes."""
    module = asg.module + ".py"
    try:
        source, notes = submission_files.notebook_source(notebook)
    except Exception as exc:                # nbformat's errors for a file that is not a notebook
        return [f"{os.path.basename(notebook)} could not be read as a notebook "
                f"({type(exc).__name__}: {str(exc)[:200]})"]
    with open(os.path.join(staged, module), "w", encoding="utf-8") as f:
        f.write(source)
    return [f"graded the notebook {os.path.basename(notebook)} as {module} (its code cells, in order)"] + notes


def _notebook_for_missing_module(asg, staged):
    """The module is absent but a notebook was handed in: grade the notebook (one named like the
    module first, else the first in name order)."""
    module = asg.module + ".py"
    if module not in asg.files or os.path.exists(os.path.join(staged, module)):
        return []
    notebooks = sorted(os.path.relpath(os.path.join(r, f), staged) for r, _, fs in os.walk(staged)
                       for f in fs if f.endswith(".ipynb"))
    if not notebooks:
        return []
    named = [n for n in notebooks if os.path.basename(n) == asg.module + ".ipynb"]
    return _stage_notebook(asg, os.path.join(staged, (named or notebooks)[0]), staged)


def _regular(path):
    """A file staging may copy: a regular file, not a link. A link is never followed: staging
    runs with the grader's rights, and a link to a file the sandbox may not read (the reference,
    say) would hand its content to the student's code."""
    return not os.path.islink(path) and os.path.isfile(path)


def _stage_folder(home, staged, links):
    """Copy the files below `home` (not hidden, not caches, no links) within the staging bounds
    -> notes about what was left out; the links and devices met are added to `links`."""
    count = size = 0
    left_out = []
    for root, dirs, files in os.walk(home):
        links.update(os.path.join(root, d) for d in dirs
                     if not d.startswith(".") and os.path.islink(os.path.join(root, d)))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not os.path.islink(os.path.join(root, d)))
        for f in sorted(files):
            src = os.path.join(root, f)
            rel = os.path.relpath(src, home)
            if f.startswith("."):
                continue
            if not _regular(src):
                links.add(src)
                continue
            n = os.path.getsize(src)
            if count + 1 > MAX_STAGED_FILES or size + n > MAX_STAGED_BYTES:
                left_out.append(rel)
                continue
            os.makedirs(os.path.dirname(os.path.join(staged, rel)), exist_ok=True)
            shutil.copy(src, os.path.join(staged, rel))
            count, size = count + 1, size + n
    notes = []
    if left_out:
        notes.append(f"{len(left_out)} file(s) of the submission were not staged (beyond {MAX_STAGED_FILES} files "
                     f"or {MAX_STAGED_BYTES // 1024 ** 2} MiB): {', '.join(left_out[:5])}")
    return notes


def _listing(submission):
    if os.path.isfile(submission):
        return os.path.basename(submission)
    names = []
    for root, _, files in os.walk(submission):
        names += [os.path.relpath(os.path.join(root, f), submission)
                  + (" (a link, not followed)" if os.path.islink(os.path.join(root, f)) else "") for f in files]
    return ", ".join(sorted(names)[:12]) or "nothing"


def _stage_reference(asg, staged):
    """The reference as if it were a submission (for `--submission reference`): its module under
    the submitted name, beside a copy of the reference package's own modules it may import."""
    ref = asg.course.import_reference(asg.reference)
    shutil.copy(ref.__file__, os.path.join(staged, asg.module + ".py"))
    package = asg.reference.split(".")[0]
    source = os.path.join(asg.course.root, package)
    if os.path.isdir(source) and asg.reference != package:
        os.makedirs(os.path.join(staged, package))
        for name in sorted(os.listdir(source)):
            if name.endswith(".py"):
                shutil.copy(os.path.join(source, name), os.path.join(staged, package, name))
    for name in asg.files:
        if name.endswith(".yaml") and hasattr(ref, "answers"):
            with open(os.path.join(staged, name), "w") as f:
                yaml.safe_dump(ref.answers(), f, sort_keys=False)


def _replaced_support(asg, staged):
    """Notes for submitted files that a support file of the assignment replaces (when they differ)."""
    notes = []
    for path in asg.support:
        mine = os.path.join(staged, os.path.basename(path))
        if os.path.isfile(mine) and not filecmp.cmp(mine, path, shallow=False):
            notes.append(f"your {os.path.basename(path)} was replaced by the course's copy (a file the "
                         "assignment hands out)")
    return notes


SHOWN_SKIPPED = 5          # skipped module-level statements listed in the note


def load_notes(module, info):
    """Notes on how the submission was imported: packages stood in for, and module-level
    statements skipped because importing the file failed (`info` comes from the worker)."""
    notes = []
    stood_in = info.get("stood_in") or {}
    if isinstance(stood_in, dict) and stood_in:
        names = sorted(str(k) for k in stood_in)
        notes.append(f"the grader does not have {', '.join(names)}: while your file was imported "
                     f"{'they were' if len(names) > 1 else 'it was'} stood in for ("
                     + "; ".join(f"{k}: {str(stood_in[k])[:300]}" for k in names)
                     + "); a graded call that uses " + ("them" if len(names) > 1 else "it")
                     + " fails with ModuleNotFoundError, and the functions that do not use "
                     + ("them" if len(names) > 1 else "it") + " keep their points")
    failure = info.get("failure")
    skipped = info.get("skipped") or []
    if isinstance(failure, dict) and failure:
        why = ": ".join(str(failure.get(k, "")) for k in ("type", "message") if failure.get(k))
        lines = [str(s)[:100] for s in skipped[:SHOWN_SKIPPED]] if isinstance(skipped, list) else []
        how = ("its functions, classes, imports and plain assignments were run again, and nothing that "
               "trains, loops or loads" if info.get("cautious") else
               "its top-level statements were run again one at a time, skipping those that fail")
        notes.append(f"importing {module}.py failed ({why}), so {how}; the functions are graded as they are. "
                     f"{len(skipped)} module-level statement(s) were skipped"
                     + (": " + " | ".join(lines) if lines else "")
                     + (" ..." if len(skipped) > SHOWN_SKIPPED else "")
                     + ". Put the code that runs the program (training, plots, reading data) under "
                       "`if __name__ == \"__main__\":`")
    return notes


def import_notes(failure):
    """What a student reads when the submission cannot be imported."""
    notes = [f"your submission could not be imported: {failure.type_name}: {failure.message}"
             if failure.category not in (FailureKind.TIMEOUT, FailureKind.DIED, FailureKind.MEMORY,
                                         FailureKind.PROTOCOL)
             else f"importing your submission failed: {failure.message}"]
    if failure.type_name == "SystemExit":
        notes.append("your module ends the program while it is being imported: put the code "
                     "that runs the program (argument parsing, training) under "
                     "`if __name__ == \"__main__\":` so the functions can be imported and tested")
    return notes


class Grading:
    """One submission graded against one assignment: a context manager that verifies the
    fixtures, stages the files, starts the worker, runs checks and cleans up.

    Limits: `limits` (default: the documented defaults), then the assignment's `limits:` block,
    then `overrides` (the command line's --limit)."""

    def __init__(self, asg, submission, limits=None, overrides=None, label=None, reference_source=None):
        self.asg = asg
        self.reference_source = reference_source
        self.submission = submission
        self.limits = (limits or Limits()).with_overrides(asg.limits).with_overrides(overrides or {})
        self.run_record = GradeRun(assignment=asg, submission=label or submission)
        self.label = label or submission
        self.ctx = None
        self.nothing_submitted = False
        self._staged = None
        self._started = None

    @property
    def notes(self):
        return self.run_record.notes

    def __enter__(self):
        fixtures.verify(self.asg)       # a missing or stale fixture stops grading before anyone is scored
        missing = [p for p in self.asg.packages if importlib.util.find_spec(p) is None]
        if missing:
            raise SpecError(f"{self.asg.course.relative(self.asg.path)} › assignment › packages: grading "
                            f"{self.asg.id} needs {', '.join(missing)}, which this machine does not have; "
                            f"install {'them' if len(missing) > 1 else 'it'} (pip install {' '.join(missing)})")
        self._started = time.monotonic()
        # A termination signal waits until the staged folder is recorded (then `close` removes it).
        blocked = containment.block_termination()
        try:
            self._staged, notes = stage(self.asg, self.submission)
        except BaseException:
            containment.unblock(blocked)
            raise
        try:
            containment.unblock(blocked)        # a signal that came meanwhile is raised here
            self.run_record.notes.extend(notes)
            wanted = self.asg.files + self.asg.optional_files
            self.nothing_submitted = not any(os.path.exists(os.path.join(self._staged, f)) for f in wanted)
            self.run_record.notes.extend(_replaced_support(self.asg, self._staged))
            present = [m for m in [self.asg.module] if os.path.exists(os.path.join(self._staged, m + ".py"))]
            process = StudentProcess(self._staged, present or [self.asg.module], limits=self.limits,
                                     support_files=self.asg.support, course_root=self.asg.course.root)
            self.ctx = Context(self.asg, process, self.label, self._staged, self.reference_source)
            if not self.nothing_submitted:
                process.start(wait=False)   # the worker boots while this process reads the examples
                if not draws.preload(self.asg):
                    import hypothesis  # noqa: F401  (to record them: loaded while the worker starts)
                try:
                    process.ensure()
                except StudentFailure as exc:
                    self.run_record.notes.extend(import_notes(exc))
                self.run_record.notes.extend(load_notes(self.asg.module, process.load_info))
                self.run_record.notes.extend(resolve_aliases(self.asg, process.names, self.ctx.student))
                penalty = self.asg.policies.top_level_code_penalty
                if penalty and process.load_info.get("failure"):
                    self.run_record.penalties.append(
                        (penalty, f"{penalty:g} point(s) off: importing {self.asg.module}.py failed because of its "
                                  "module-level statements (policies › top_level_code_penalty)"))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        # whole: a termination signal (a batch being stopped) waits until everything is removed
        blocked = containment.block_termination()
        try:
            if self.ctx is not None:
                self.ctx.close()
                self.run_record.loss_curves = {key: value for (purpose, key), value in self.ctx.memo.items()
                                               if purpose == "loss_curve"}
        finally:
            if self._staged is not None:
                shutil.rmtree(self._staged, ignore_errors=True)
                self._staged = None
            if self._started is not None:
                self.run_record.seconds = time.monotonic() - self._started
            containment.unblock(blocked)

    def checks(self, only=None):
        return [c for c in self.asg.checks if not only or c.name in only]

    def run(self, check, harness_errors="record"):
        """One check -> CheckResult (also kept on the run). A harness failure becomes an error
        outcome (never a silent zero), or is raised with harness_errors="raise"."""
        ctx = self.ctx
        if self.nothing_submitted:          # no check may pass on an empty submission
            line = "nothing was submitted"
            result = CheckResult(check, Outcome(False, f"checked: {check.name}", lines=[line], short=line))
            self.run_record.results.append(result)
            return result
        try:
            with ctx.process.call_timeout(check.timeout), replay.around(ctx, check):
                try:
                    out = check.kind_impl.run(check, ctx)
                finally:
                    ctx.process.drain_ahead()   # calls sent ahead that this check did not make
        except StudentFailure as exc:
            out = Outcome(False, f"checked: {check.name}", lines=[exc.message], short=exc.message)
        except (HarnessBug, Exception) as exc:
            if harness_errors == "raise":
                raise
            tb = traceback.format_exc()
            # the spec's or the reference's mistake names its place first (file › check › field)
            head = f"{exc}\n" if isinstance(exc, (HarnessBug, SpecError)) else ""
            self.run_record.errors.append(f"{check.name}: {head}{tb}")
            out = Outcome(False, f"checked: {check.name}",
                          lines=["the grader itself failed on this check (not your fault); the course staff "
                                 "have the details"], short="grader error", error=tb)
        if not out.passed and check.visibility != "hidden" and not out.error:
            out.lines.append(f"rerun only this check: {ctx.rerun(check)}")
        result = CheckResult(check, out)
        self.run_record.results.append(result)
        return result

    def run_all(self, only=None, on_result=None):
        """Every check (or those named in `only`) -> the GradeRun."""
        for check in self.checks(only):
            result = self.run(check)
            if on_result:
                on_result(result)
        return self.run_record


def resolve_aliases(asg, names, student):
    """A contract function the submission defines only under an accepted alias (`policies ›
    aliases`, where the handout itself uses that name) is graded under the alias -> notes."""
    notes = []
    defined = set(names)
    for name, others in asg.policies.aliases.items():
        if name in defined:
            continue
        found = next((o for o in others if o in defined), None)
        if found:
            student.renames[name] = found
            notes.append(f"`{found}` is graded as `{name}` (an accepted name for it)")
    return notes


def record_draws(asg, overrides=None):
    """Grade the reference with hypothesis recording every search's draws (nothing stored is
    read) -> {memo key: what it is made of and the draws}, for `draws.write` and `draws.check`."""
    before = memo.ACTIVE
    memo.ACTIVE = memo.Memo()
    memo.ACTIVE.preloaded[None] = 0
    try:
        grade(asg, REFERENCE_SUBMISSION, label="reference", overrides=overrides)
        return memo.ACTIVE.recorded_keys
    finally:
        memo.ACTIVE = before


def grade(asg, submission, limits=None, only=None, label=None, on_result=None, overrides=None):
    """Grade `submission` (folder, single file, or "reference") -> GradeRun. If grading stops
    part-way (a signal, a harness exception), the exception carries the run so far as
    `exc.partial_run`."""
    grading = Grading(asg, submission, limits=limits, overrides=overrides, label=label)
    try:
        with grading:
            grading.run_all(only, on_result)
    except BaseException as exc:
        exc.partial_run = grading.run_record        # what was graded before it stopped
        raise
    return grading.run_record
