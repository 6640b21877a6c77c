"""A course folder: where an assignment's checks, fixtures, data and reference code live.

    COURSE/
      checks/<assignment-id>.yaml     the specs (and their support files, beside them)
      fixtures/<assignment-id>/       pickle fixtures made from the reference
      data/                           course data and published outputs (paths in specs start here)
      reference/                      the reference implementations (a package)

The engine grades any course folder (`--course DIR`); the default is the project's own. Nothing
the engine reads lies outside the course folder and the submission.
"""
import importlib
import os
import sys
from dataclasses import dataclass

from nngrader.core.errors import SpecError

# The folder holding the `nngrader` package: the project's own course when run from a checkout.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Course:
    root: str

    @property
    def checks_dir(self):
        return os.path.join(self.root, "checks")

    @property
    def fixtures_dir(self):
        return os.path.join(self.root, "fixtures")

    def path(self, relative):
        """A path written in a spec (relative to the course folder) -> an absolute path."""
        return os.path.normpath(os.path.join(self.root, relative))

    def relative(self, path):
        """An absolute path inside the course -> as written from the course folder."""
        return os.path.relpath(path, self.root) if os.path.isabs(path) else path

    def spec_path(self, assignment_id):
        return os.path.join(self.checks_dir, f"{assignment_id}.yaml")

    def available(self):
        """The assignment ids of the course (one YAML file each)."""
        if not os.path.isdir(self.checks_dir):
            return []
        return sorted(f[:-5] for f in os.listdir(self.checks_dir) if f.endswith(".yaml"))

    def import_reference(self, module_name):
        """Import a reference module of this course (from the course folder, by name).

        The engine reaches reference code only through here, by the name a spec gives."""
        if self.root not in sys.path:
            sys.path.insert(0, self.root)
        return importlib.import_module(module_name)


def default_course():
    """The project's own course when run from its checkout; else the current folder."""
    if os.path.isdir(os.path.join(PACKAGE_PARENT, "checks")):
        return Course(PACKAGE_PARENT)
    return Course(os.path.abspath(os.getcwd()))


def course_at(path=None):
    """`--course DIR` -> a Course (None: the default); a folder without checks/ is an error."""
    if path is None:
        return default_course()
    root = os.path.abspath(path)
    if not os.path.isdir(os.path.join(root, "checks")):
        raise SpecError(f"--course {path}: not a course folder (it has no checks/ folder)")
    return Course(root)
