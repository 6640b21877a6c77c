"""A Gradescope export graded as a class: its roster (submission_metadata.yml) names the students
in grades.csv, one row per submitter, and neither the roster nor macOS's `__MACOSX` folder is
graded as a submission."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from nngrader.frontends import batch, roster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples", "sentiment-2layer")

# as Gradescope writes it: Ruby symbols for keys, a timestamp, a Ruby-tagged score, a group
METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '100'
    :email: ada@example.edu
  :created_at: 2026-11-30 23:58:01.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :history: []
submission_1002:
  :submitters:
  - :name: Pair One
    :sid: 200
    :email: one@example.edu
  - :name: "=HYPERLINK(\\"http://x\\")"
    :sid: '201'
    :email: two@example.edu
  :created_at: 2026-11-30 21:00:00.000000000 -08:00
"""


def _export(root, metadata=METADATA, nested=True, extra=("submission_1001", "submission_1002")):
    """An export as unzipped: assignment_77_export/ (when nested) with the roster, one folder per
    submission, and the `__MACOSX` folder a Mac adds to a zip it makes."""
    top = os.path.join(root, "export")
    folder = os.path.join(top, "assignment_77_export") if nested else top
    os.makedirs(folder)
    for name, example in zip(extra, ["correct", "missing_mean", "correct"]):
        shutil.copytree(os.path.join(EXAMPLES, example), os.path.join(folder, name))
    os.makedirs(os.path.join(folder, "__MACOSX", "submission_1001"))
    with open(os.path.join(folder, "__MACOSX", "submission_1001", "._assignment2.py"), "wb") as f:
        f.write(b"\x00\x05\x16\x07")
    with open(os.path.join(folder, roster.ROSTER_FILE), "w", encoding="utf-8") as f:
        f.write(metadata)
    return top, folder


def _cli(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), *args], capture_output=True,
                          text=True, cwd=REPO, stdin=subprocess.DEVNULL)


def test_the_roster_is_read_as_gradescope_writes_it(tmp_path):
    _, folder = _export(str(tmp_path), nested=False)
    people = roster.load(folder)
    assert people == {
        "submission_1001": [{"name": "Ada Lovelace", "sid": "100", "email": "ada@example.edu"}],
        "submission_1002": [{"name": "Pair One", "sid": "200", "email": "one@example.edu"},
                            {"name": '=HYPERLINK("http://x")', "sid": "201", "email": "two@example.edu"}]}
    assert roster.load(str(tmp_path)) is None       # no roster: none


@pytest.mark.parametrize("text,said", [
    ("submission_1: [unclosed\n", "is not readable YAML"),
    ("- just\n- a list\n", "should map each submission folder to its submitters; it holds list"),
    ("", "it holds nothing"),
    ("submission_1:\n  :created_at: 2026-11-30\n", "entry 'submission_1': no ':submitters:' list"),
    ("submission_1:\n  :submitters:\n  - Ada\n", "a submitter is str, not a mapping"),
], ids=["broken", "a list", "empty", "no submitters", "submitter not a mapping"])
def test_a_roster_that_is_not_one_is_a_clear_error(tmp_path, text, said):
    (tmp_path / roster.ROSTER_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(roster.RosterError) as err:
        roster.load(str(tmp_path))
    assert str(tmp_path / roster.ROSTER_FILE) in str(err.value)
    assert said in str(err.value)


def test_an_export_unzipped_with_its_top_folder_is_found(tmp_path):
    top, folder = _export(str(tmp_path))
    (tmp_path / "export" / ".DS_Store").write_bytes(b"\x00")
    os.makedirs(os.path.join(top, "__MACOSX"))
    assert roster.export_folder(top) == folder
    assert roster.export_folder(folder) == folder
    # a class folder holding one student's folder (no roster in it) is graded as it is
    (tmp_path / "one" / "alice").mkdir(parents=True)
    assert roster.export_folder(str(tmp_path / "one")) == str(tmp_path / "one")


def test_neither_the_roster_nor_macos_folders_are_submissions(tmp_path):
    _, folder = _export(str(tmp_path), nested=False)
    left_out = []
    assert [e.student for e in batch.discover(folder, left_out=left_out)] == ["submission_1001", "submission_1002"]
    assert [name for name, _ in left_out] == ["__MACOSX", roster.ROSTER_FILE]


def test_each_submitter_gets_the_row_of_their_submission(tmp_path):
    class Check:
        name, kind, points = "a", "compare", 5.0

    class Asg:
        max_points, checks = 5.0, [Check()]

    def state(student, total):
        return {"student": student, "submission": os.path.join("class", student),
                "row": {"total": total, "max": 5.0, "status": "graded", "checks": {"a": total}, "passed": {}}}

    people = {"submission_1001": [{"name": "Ada", "sid": "100", "email": "a@x"}],
              "submission_1002": [{"name": "B", "sid": "200", "email": "b@x"},
                                  {"name": "@C", "sid": "201", "email": "c@x"}],
              "submission_1004": [{"name": "D", "sid": "400", "email": "d@x"}]}
    states = [state("submission_1001", 5.0), state("submission_1002", 2.0), state("submission_1003", 0.0)]
    batch.write_csv(str(tmp_path / "grades.csv"), Asg, states, people)
    rows = list(csv.reader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert rows == [["student", "name", "sid", "email", "total", "max", "a", "status"],
                    ["submission_1001", "Ada", "100", "a@x", "5", "5", "5", "graded"],
                    ["submission_1002", "B", "200", "b@x", "2", "5", "2", "graded"],
                    ["submission_1002", "'@C", "201", "c@x", "2", "5", "2", "graded"],
                    ["submission_1003", "", "", "", "0", "5", "0", "graded"]]
    assert batch.roster_summary(people, states) == {
        "file": roster.ROSTER_FILE, "submitters": 4, "not_in_roster": ["submission_1003"],
        "missing_submissions": ["submission_1004"]}


@pytest.mark.slow
def test_a_gradescope_export_is_graded_with_its_students_named(tmp_path):
    top, folder = _export(str(tmp_path), extra=("submission_1001", "submission_1002", "submission_1003"))
    out = str(tmp_path / "out")
    done = _cli("batch", top, "--assignment", "sentiment-2layer", "--out", out, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert f"graded the Gradescope export in {folder}" in done.stdout
    assert "not a submission: __MACOSX (the resource forks macOS adds" in done.stdout
    assert "roster: 3 submitter(s) named in grades.csv, from submission_metadata.yml" in done.stdout
    assert "3 submissions (3 graded" in done.stdout
    assert "warning: 1 submission(s) not in submission_metadata.yml (no name in grades.csv): submission_1003" \
        in done.stderr
    rows = list(csv.DictReader(open(os.path.join(out, "grades.csv"), encoding="utf-8")))
    assert [(r["student"], r["name"], r["sid"], r["total"]) for r in rows] == [
        ("submission_1001", "Ada Lovelace", "100", "100"),
        ("submission_1002", "Pair One", "200", "41"),
        ("submission_1002", "'=HYPERLINK(\"http://x\")", "201", "41"),
        ("submission_1003", "", "", "100")]
    summary = json.load(open(os.path.join(out, "summary.json"), encoding="utf-8"))
    assert summary["submissions"] == 3 and summary["scores"]["mean"] == 80.3333     # per submission, not per row
    assert summary["roster"]["not_in_roster"] == ["submission_1003"]
    assert sorted(os.listdir(out)) == [".batch.lock", "diagnoses.png", "grades.csv", "loss_curves.png",
                                       "pass_rate.png", "reference_curves.json", "scores.png", "submission_1001",
                                       "submission_1002", "submission_1003", "summary.json"]


def test_a_broken_roster_stops_the_batch_before_anything_is_graded(tmp_path):
    top, folder = _export(str(tmp_path), metadata="submission_1001: [unclosed\n")
    out = str(tmp_path / "out")
    done = _cli("batch", top, "--assignment", "sentiment-2layer", "--out", out)
    assert done.returncode == 2
    assert f"error: {os.path.join(folder, roster.ROSTER_FILE)} is not readable YAML" in done.stderr
    assert "nothing was graded (fix the file, or move it out of the folder to grade without names)" in done.stderr
    assert not os.path.exists(out)
