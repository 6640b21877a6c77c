"""The errors every layer shares. Student failures are results; the others are the harness's or
the spec author's problems and are never scored as the student's."""
import signal

from nngrader.core.protocol import FailureKind


class SpecError(Exception):
    """A broken assignment spec or course folder (a bad YAML, a missing or stale fixture): it
    fails at load or before anyone is scored, never as a student's zero."""


class HarnessBug(BaseException):
    """The reference or the harness itself failed: an error with a traceback, never a score."""


class Interrupted(BaseException):
    """A termination signal (SIGTERM, SIGINT, SIGHUP) arrived while grading: what was graded is
    kept and said to be incomplete."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class WorkerStartError(RuntimeError):
    """The worker did not start (before any student code ran): a harness or machine problem."""


class StudentFailure(Exception):
    """Student code did not produce a value: it raised, hung, died, or broke a limit."""

    def __init__(self, category, message, type_name="", traceback="", output=""):
        super().__init__(message)
        self.category = FailureKind(category)
        self.message = message
        self.type_name = type_name
        self.traceback = traceback
        self.output = output

    def copy(self):
        return StudentFailure(self.category, self.message, self.type_name, self.traceback, self.output)
