"""Loading a course's assignments with the registered check kinds: what every frontend (the
command line, the pytest plugin, the tools and the tests) calls."""
from nngrader.core.course import course_at
from nngrader.engine import loader
from nngrader.kinds import REGISTRY


def load(assignment, course=None):
    """An assignment id (or a spec file's path) of `course` (default: the project's own) ->
    the validated Assignment; SpecError with a precise message otherwise."""
    return loader.load(assignment, REGISTRY, course or course_at())


def available(course=None):
    return (course or course_at()).available()
