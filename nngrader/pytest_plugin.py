"""pytest plugin: the same YAML checks as test items, for students and TAs.

    pytest checks --submission PATH --assignment ID [-k gradients] [-m sentiment_2layer]

Each check is one item named after it; -k also matches the contract names it exercises. A
failing check shows the grader's feedback; a failure of the harness itself shows pytest's own
traceback, so a harness bug never looks like a student's mistake.
"""
import os

import pytest

from nngrader import runner, spec
from nngrader.outcome import Outcome
from nngrader.sandbox import Limits, StudentFailure, StudentProcess

_SESSIONS = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("nngrader", "grading with YAML checks")
    group.addoption("--submission", help="submission folder or file to grade ('reference' for the reference)")
    group.addoption("--assignment", help="assignment id (the YAML file name under checks/)")


def marker_name(assignment_id):
    return assignment_id.replace("-", "_")


def pytest_configure(config):
    config.stash[_SESSIONS] = {}
    for aid in spec.available():
        config.addinivalue_line("markers", f"{marker_name(aid)}: checks of the {aid} assignment")


def pytest_unconfigure(config):
    for ctx in config.stash.get(_SESSIONS, {}).values():
        ctx.process.close()


def pytest_collect_file(file_path, parent):
    config = parent.config
    if file_path.suffix != ".yaml" or not config.getoption("submission"):
        return None
    if os.path.dirname(str(file_path)) != spec.CHECKS_DIR:
        return None
    wanted = config.getoption("assignment")
    if wanted and file_path.stem != wanted:
        return None
    return ChecksFile.from_parent(parent, path=file_path)


class ChecksFile(pytest.File):
    def collect(self):
        from nngrader import fixtures
        try:
            asg = spec.load(str(self.path))
            fixtures.verify(asg)
        except spec.SpecError as exc:
            raise self.CollectError(str(exc)) from None
        for check in asg.checks:
            item = CheckItem.from_parent(self, name=check.name, assignment=asg, check=check)
            item.add_marker(getattr(pytest.mark, marker_name(asg.id)))
            item.extra_keyword_matches.update(check.exercises)
            item.extra_keyword_matches.update(e.split(".")[0] for e in check.exercises)
            yield item


class CheckFailed(Exception):
    """A check failed for the submission (the domain failure pytest shows as feedback)."""

    def __init__(self, outcome):
        super().__init__(outcome.short)
        self.outcome = outcome


class CheckItem(pytest.Item):
    def __init__(self, *, assignment, check, **kw):
        super().__init__(**kw)
        self.assignment = assignment
        self.check = check

    def _context(self):
        sessions = self.config.stash[_SESSIONS]
        ctx = sessions.get(self.assignment.id)
        if ctx is None:
            submission = self.config.getoption("submission")
            staged, notes = runner.stage(self.assignment, submission)
            limits = Limits().with_overrides(self.assignment.limits)
            process = StudentProcess(staged, [self.assignment.module], limits=limits,
                                     support_files=self.assignment.support)
            ctx = runner.Context(self.assignment, process, submission, staged)
            ctx.notes = notes
            sessions[self.assignment.id] = ctx
        return ctx

    def runtest(self):
        __tracebackhide__ = True
        ctx = self._context()
        try:
            out = runner.run_kind(self.check, ctx)
        except StudentFailure as exc:
            raise CheckFailed(Outcome(False, f"checked: {self.check.name}", lines=[exc.message],
                                             short=exc.message)) from None
        if not out.passed:
            out.lines.append(f"rerun only this check: {ctx.rerun(self.check)}")
            notes = getattr(ctx, "notes", [])
            out.lines += [f"note: {n}" for n in notes]
            raise CheckFailed(out)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            out = excinfo.value.outcome
            if self.check.visibility == "hidden":
                return f"{self.check.name} (hidden check): {out.short}"
            return "\n".join([f"{self.check.name} [{', '.join(self.check.exercises)}]", out.checked] + out.lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.assignment.id}::{self.check.name}"
