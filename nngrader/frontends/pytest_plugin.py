"""pytest plugin: the same YAML checks as test items, for students and TAs.

    pytest checks --submission PATH --assignment ID [-k gradients] [-m sentiment_2layer] [--course DIR]

Each check is one item named after it; -k also matches the contract names it exercises. A
failing check shows the grader's feedback; a failure of the harness itself shows pytest's own
traceback, so a harness bug never looks like a student's mistake. Items grade through the same
`Grading` object as `grader.py grade` (one per assignment and session, closed at the end).
"""
import os

import pytest

from nngrader.core.course import course_at
from nngrader.core.errors import SpecError
from nngrader.engine import fixtures, grading
from nngrader.frontends import assignments

_GRADINGS = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("nngrader", "grading with YAML checks")
    group.addoption("--submission", help="submission folder or file to grade ('reference' for the reference)")
    group.addoption("--assignment", help="assignment id (the YAML file name under checks/)")
    group.addoption("--course", help="course folder with checks/, fixtures/, data/, reference/ "
                                     "(default: the project's own)")
    group.addoption("--regen-fixtures", action="store_true",
                    help="remake the fixtures of the course (or of --assignment) from the reference, then stop "
                         "with a failure so the change is reviewed")


def marker_name(assignment_id):
    return assignment_id.replace("-", "_")


def _course(config):
    try:
        return course_at(config.getoption("course"))
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config):
    config.stash[_GRADINGS] = {}
    for aid in _course(config).available():
        config.addinivalue_line("markers", f"{marker_name(aid)}: checks of the {aid} assignment")


def pytest_sessionstart(session):
    config = session.config
    if not config.getoption("regen_fixtures"):
        return
    course = _course(config)
    wanted = config.getoption("assignment")
    lines = []
    for aid in [wanted] if wanted else course.available():
        try:
            asg = assignments.load(aid, course)
        except SpecError as exc:
            raise pytest.UsageError(str(exc)) from None
        lines += [f"wrote {path} ({n} cases)" for path, n in fixtures.regenerate(asg)]
    pytest.exit("fixtures regenerated from the reference (review the diff, e.g. `git diff fixtures/`, then run "
                "pytest without --regen-fixtures):\n" + "\n".join(lines or ["no fixture checks"]), returncode=1)


def pytest_unconfigure(config):
    for g in config.stash.get(_GRADINGS, {}).values():
        g.close()


def pytest_collect_file(file_path, parent):
    config = parent.config
    if file_path.suffix != ".yaml" or not config.getoption("submission"):
        return None
    if os.path.dirname(str(file_path)) != _course(config).checks_dir:
        return None
    wanted = config.getoption("assignment")
    if wanted and file_path.stem != wanted:
        return None
    return ChecksFile.from_parent(parent, path=file_path)


class ChecksFile(pytest.File):
    def collect(self):
        try:
            asg = assignments.load(str(self.path), _course(self.config))
            fixtures.verify(asg)
        except SpecError as exc:
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

    def _grading(self):
        gradings = self.config.stash[_GRADINGS]
        g = gradings.get(self.assignment.id)
        if g is None:
            g = grading.Grading(self.assignment, self.config.getoption("submission"))
            gradings[self.assignment.id] = g.__enter__()     # closed in pytest_unconfigure
        return g

    def runtest(self):
        __tracebackhide__ = True
        g = self._grading()
        out = g.run(self.check, harness_errors="raise").outcome
        if not out.passed:
            out.lines += [f"note: {n}" for n in g.notes]
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
