"""A class downloaded from Canvas: every student's files in one flat folder, renamed
`<name>[_LATE]_<user id>_<attachment id>_<own name>`, graded one submission per student with the
files under their own names (`nngrader/frontends/canvas.py`)."""
import csv
import json
import os

import pytest

from nngrader.frontends import assignments, batch, canvas

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENT = "sentiment-2layer"
LIMITS = {"call_timeout": "2", "submission_timeout": "40"}


def _correct_source():
    with open(os.path.join(REPO, "tests", "hostile", "honest.py"), encoding="utf-8") as f:
        return f.read()


def _write(folder, files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_a_canvas_download_is_grouped_by_student(tmp_path):
    d = _write(tmp_path / "dl", {
        "smithbob_340934_208490284_assignment2.py": "a",
        "smithbob_340934_208490285_my_helpers.py": "b",
        "leeann_LATE_77_91_assignment2.py": "c",
        "leeann_78_92_assignment2.py": "d",         # another Ann Lee, another user id
        ".DS_Store": "",
    })
    students = canvas.group(str(d))
    assert list(students) == ["leeann_77", "leeann_78", "smithbob"]
    bob = students["smithbob"]
    assert bob.user == "340934" and not bob.late
    assert [own for _, own in bob.files] == ["assignment2.py", "my_helpers.py"]
    assert students["leeann_77"].late and not students["leeann_78"].late


@pytest.mark.parametrize("entries", [
    {"alice.py": "x"},                                                  # a student's own file
    {"smithbob_340934_208490284_assignment2.py": "a", "notes.txt": "n"},  # one file that is not Canvas's
])
def test_a_folder_that_is_not_a_canvas_download_is_left_as_it_is(tmp_path, entries):
    assert canvas.group(str(_write(tmp_path / "dl", entries))) is None


def test_a_folder_of_folders_is_not_a_canvas_download(tmp_path):
    d = tmp_path / "dl"
    (d / "smithbob_340934_208490284_assignment2").mkdir(parents=True)
    assert canvas.group(str(d)) is None
    assert canvas.group(str(_write(tmp_path / "empty", {}))) is None


MYLIB = """import numpy as np


def helper_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
"""


@pytest.mark.slow
def test_a_canvas_class_is_graded_one_student_at_a_time_with_their_helper_modules(tmp_path):
    """alice's assignment2.py imports her own mylib.py, a file of its own in the download: graded
    alone it could not be imported; bob handed in late, and again (assignment2-1.py)."""
    source = _correct_source()
    hers = "from mylib import helper_sigmoid\n" + source.replace(
        "def sigmoid(x):\n    return _sig(x)\n", "def sigmoid(x):\n    return helper_sigmoid(x)\n")
    assert hers != "from mylib import helper_sigmoid\n" + source
    d = _write(tmp_path / "dl", {
        "alicesmith_1001_5001_assignment2.py": hers,
        "alicesmith_1001_5002_mylib.py": MYLIB,
        "bobjones_LATE_1002_5003_assignment2-1.py": source,
    })
    asg = assignments.load(ASSIGNMENT)
    out = tmp_path / "out"
    summary = batch.run(asg, str(d), str(out), jobs=1, overrides=LIMITS, stream=open(os.devnull, "w"))
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert [(r["student"], r["canvas_user_id"], r["late"], r["total"]) for r in rows] == [
        ("alicesmith", "1001", "no", f"{asg.max_points:g}"), ("bobjones", "1002", "yes", f"{asg.max_points:g}")]
    assert list(rows[0])[:5] == ["student", "canvas_user_id", "late", "total", "max"]
    assert summary["canvas"]["students"] == 2 and summary["canvas"]["files"] == 3
    assert summary["canvas"]["late"] == ["bobjones"]
    laid = out / canvas.FOLDER
    assert sorted(os.listdir(laid / "alicesmith")) == ["assignment2.py", "mylib.py"]
    assert sorted(os.listdir(laid / "bobjones")) == ["assignment2-1.py"]      # as handed in
    assert json.load(open(out / "alicesmith" / "results.json", encoding="utf-8"))["score"] == asg.max_points
    # Canvas's name for a file handed in again is the assignment's file, as in any submission
    assert "graded assignment2-1.py as assignment2.py" in (out / "bobjones" / "report.txt").read_text()
    # the same command again grades nothing: the students' files did not change
    again = batch.run(asg, str(d), str(out), jobs=1, overrides=LIMITS, stream=open(os.devnull, "w"))
    assert again["graded"] == 0 and again["reused"] == 2


def test_a_canvas_download_with_something_else_in_it_is_named(tmp_path):
    """An instructor's own file among Canvas's: not a Canvas download any more (each entry is a
    submission, as before), and the entries that broke it are named."""
    d = _write(tmp_path / "dl", {
        "smithbob_340934_208490284_assignment2.py": "a",
        "leeann_77_91_assignment2.py": "c",
        "gradebook_export.csv": "x",
    })
    others = []
    assert canvas.group(str(d), others=others) is None
    assert others == ["gradebook_export.csv"]
    others = []
    assert canvas.group(str(_write(tmp_path / "mine", {"alice.py": "", "bob.py": ""})), others=others) is None
    assert others == []                     # a class folder of its own: nothing to say


@pytest.mark.slow
def test_the_command_says_what_kept_a_canvas_download_from_being_grouped(tmp_path):
    import subprocess
    import sys
    d = _write(tmp_path / "dl", {
        "smithbob_340934_208490284_assignment2.py": _correct_source(),
        "notes.txt": "remember to regrade",
    })
    done = subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), "batch", str(d), "--assignment", ASSIGNMENT,
                           "--out", str(tmp_path / "out"), "--jobs", "1", "--limit", "call_timeout=2"],
                          capture_output=True, text=True, cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "named as Canvas names the files of its downloads, but 1 are not (notes.txt)" in done.stderr
    summary = json.load(open(tmp_path / "out" / "summary.json", encoding="utf-8"))
    assert summary["not_canvas"] == ["notes.txt"] and "canvas" not in summary
