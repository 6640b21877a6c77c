"""A class downloaded from Canvas ("Download Submissions"): one flat folder holding every file
each student handed in, renamed

    <name>[_LATE]_<user id>_<attachment id>_<the file's own name>

(`smithbob_340934_208490284_assignment2.py`, `smithbob_340934_208490285_mylib.py`), where
`<name>` is the student's sortable name, lower case, without spaces or punctuation, and `_LATE`
marks a submission made after the due date.

Each loose file taken for a submission of its own would split a student's work (an
`assignment2.py` graded without the `mylib.py` it imports loses every check of what it imports,
and `mylib.py` gets a gradebook row of its own). `batch` groups the files by
student instead (`group`) and lays each student's out under their own names in a folder of
their own (`lay_out`), graded as any submission folder is.
"""
import os
import re
import shutil

FILE = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
FOLDER = ".canvas"              # in OUT_DIR: one folder per student, their files under their own names


class Student:
    """One student's files of a Canvas download: [(path in the download, the file's own name)]."""

    def __init__(self, name, user):
        self.name, self.user = name, user
        self.files = []
        self.late = False

    def __repr__(self):
        return f"Student({self.name!r}, {self.user!r}, {len(self.files)} files)"


def group(folder, exclude=(), others=None):
    """The students of `folder` when it is a Canvas download -> {student id: Student}; None when it
    is not one: every entry (apart from hidden ones and `exclude`) must be a file named as Canvas
    names them. The id is the sortable name, or `<name>_<user id>` for two students who share one.
    `others`: a list that receives the entries not named so when at least as many are (a Canvas
    download with something else put in it, which is then not graded as one)."""
    excluded = {os.path.realpath(p) for p in exclude}
    by_user, odd = {}, []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if entry.startswith(".") or os.path.realpath(path) in excluded:
            continue
        m = FILE.match(entry)
        if m is None or not os.path.isfile(path) or os.path.islink(path):
            odd.append(entry)
            continue
        who = by_user.setdefault(m["user"], Student(m["name"], m["user"]))
        who.files.append((path, m["file"]))
        who.late = who.late or bool(m["late"])
    if odd:
        if others is not None and sum(len(s.files) for s in by_user.values()) >= len(odd):
            others.extend(odd)
        return None
    if not by_user:
        return None
    names = {}
    for s in by_user.values():
        names.setdefault(s.name, []).append(s)
    return {(s.name if len(names[s.name]) == 1 else f"{s.name}_{s.user}"): s
            for s in sorted(by_user.values(), key=lambda s: (s.name, int(s.user)))}


def lay_out(students, into):
    """Copy each student's files into `into/<student id>/` under their own names (the folder is
    made anew) -> {student id: its folder}. A name Canvas gave a file handed in again
    (`assignment2-1.py`) is kept: grading takes it for the assignment's file, as it does for any
    submission, by the assignment's `accept_renamed_files` policy, with a note saying so."""
    if os.path.isdir(into):
        shutil.rmtree(into)
    os.makedirs(into)
    out = {}
    for sid, s in students.items():
        home = os.path.join(into, sid)
        os.makedirs(home)
        for path, name in s.files:
            target = os.path.join(home, name)
            if not os.path.exists(target):      # two files of one name: the first in name order
                shutil.copyfile(path, target)
        out[sid] = home
    return out
