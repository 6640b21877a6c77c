"""The engine grades any course folder: one assignment copied to a course folder outside the
project (checks, support files, fixtures, reference) is validated, listed, graded and has its
fixtures remade by the installed `nngrader` command, run from outside the project, exactly as
the project grades its own copy."""
import json
import pickle
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AID = "sentiment-2layer"
EXAMPLE = os.path.join(ROOT, "examples", AID, "missing_mean")
COURSE_FILES = [f"checks/{AID}.yaml", f"checks/{AID}", f"fixtures/{AID}", "reference/__init__.py",
                "reference/numerics.py", "reference/sentiment_2layer.py", "reference/sentiment_2layer_mistakes.py"]


def installed_command():
    found = shutil.which("nngrader") or os.path.join(os.path.dirname(sys.executable), "nngrader")
    assert os.path.exists(found), "the `nngrader` command is not installed: run the README's install step"
    return found


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder holding one assignment, far from the project."""
    base = tmp_path_factory.mktemp("elsewhere")
    course = base / "my-course"
    for rel in COURSE_FILES:
        src, dst = os.path.join(ROOT, rel), course / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dst)
    return course


def nngrader(*args, cwd):
    return subprocess.run([installed_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def without_time(path):
    doc = json.loads(open(path, encoding="utf-8").read())
    doc.pop("execution_time")
    return doc


def test_the_installed_command_grades_a_course_folder_like_the_project(course, tmp_path):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    mine = nngrader("grade", EXAMPLE, "--assignment", AID, "--course", str(course),
                    "--results", str(tmp_path / "course.json"), cwd=elsewhere)
    assert mine.returncode == 0, mine.stderr
    project = subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), "grade", EXAMPLE, "--assignment",
                              AID, "--results", str(tmp_path / "project.json"), "--quiet"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert project.returncode == 0, project.stderr
    got, want = without_time(tmp_path / "course.json"), without_time(tmp_path / "project.json")
    assert got == want
    assert 0 < got["score"] < 100           # the example forgets the 1/N of the mean
    assert "score: " in mine.stdout and "gradients_dW1" in mine.stdout


def test_list_and_validate_see_only_the_course(course, tmp_path):
    out = nngrader("list", "--course", str(course), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == AID and len(out.stdout.strip().splitlines()) == 1
    out = nngrader("validate", "--course", str(course), cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith(f"{AID}: ok"), out.stdout


def test_fixtures_are_remade_identically_in_the_course(course, tmp_path):
    before = {p: p.read_bytes() for p in (course / "fixtures" / AID).iterdir()}
    out = nngrader("fixtures", "--assignment", AID, "--course", str(course), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"wrote fixtures/{AID}/gradients_regression.pkl" in out.stdout
    assert {p: p.read_bytes() for p in (course / "fixtures" / AID).iterdir()} == before


def test_a_folder_that_is_not_a_course_is_a_clear_error(tmp_path):
    out = nngrader("list", "--course", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"spec error: --course {tmp_path}: not a course folder (it has no checks/ folder)"


def test_a_missing_or_stale_fixture_stops_grading_before_anyone_is_scored(course, tmp_path):
    """Exit code 2, the command that fixes it, and no results file: nobody gets a zero for it."""
    broken = tmp_path / "course"
    shutil.copytree(course, broken)
    fixture = broken / "fixtures" / AID / "gradients_regression.pkl"
    fixture.unlink()
    results = tmp_path / "r.json"
    out = nngrader("grade", EXAMPLE, "--assignment", AID, "--course", str(broken), "--results", str(results),
                   cwd=tmp_path)
    assert out.returncode == 2 and not results.exists()
    assert out.stderr.strip() == (f"spec error: fixtures/{AID}/gradients_regression.pkl: missing fixture for check "
                                  f"gradients_regression; regenerate it with `python grader.py fixtures "
                                  f"--assignment {AID}`.")
    assert nngrader("fixtures", "--assignment", AID, "--course", str(broken), cwd=tmp_path).returncode == 0
    spec = broken / "checks" / f"{AID}.yaml"
    spec.write_text(spec.read_text().replace("    cases: 6\n", "    cases: 5\n", 1))
    out = nngrader("grade", EXAMPLE, "--assignment", AID, "--course", str(broken), "--results", str(results),
                   cwd=tmp_path)
    assert out.returncode == 2 and not results.exists()
    assert "fixture is out of date (check gradients_regression changed since it was made)" in out.stderr


def test_fixtures_check_names_a_stale_fixture_and_regen_fixes_it(course, tmp_path):
    """One number changed in the reference: `fixtures check` fails naming the fixture, the case
    and the entries; `fixtures regen` remakes it and the check passes again."""
    changed = tmp_path / "course"
    shutil.copytree(course, changed)
    assert nngrader("fixtures", "regen", "--course", str(changed), cwd=tmp_path).returncode == 0
    ok = nngrader("fixtures", "check", "--course", str(changed), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip() == f"{AID}: 1 fixture(s) and the stored draws ok"
    assert json.loads((changed / "fixtures" / AID / "draws.json").read_text())["sequences"]
    manifest = json.loads((changed / "fixtures" / AID / "manifest.json").read_text())
    assert manifest["gradients_regression.pkl"]["check"] == "gradients_regression"
    assert manifest["gradients_regression.pkl"]["seed"] == 20260209
    reference = changed / "reference" / "sentiment_2layer.py"
    reference.write_text(reference.read_text().replace("    db1 = dA1.sum(axis=1)", "    db1 = 1.5 * dA1.sum(axis=1)"))
    stale = nngrader("fixtures", "check", "--course", str(changed), cwd=tmp_path)
    assert stale.returncode == 1
    first = stale.stdout.splitlines()[0]
    assert first.startswith(f"fixtures/{AID}/gradients_regression.pkl: stale: the reference no longer makes it "
                            "(check gradients_regression, case 1 of 6, ")
    assert "entries of expected.db1 differ: expected.db1[0]: stored " in first
    assert stale.stdout.splitlines()[-1].startswith("1 fixture problem(s); remake them with")
    assert nngrader("fixtures", "regen", "--course", str(changed), cwd=tmp_path).returncode == 0
    assert nngrader("fixtures", "check", "--course", str(changed), cwd=tmp_path).returncode == 0


def test_a_fixture_changed_by_hand_is_caught(course, tmp_path):
    changed = tmp_path / "course"
    shutil.copytree(course, changed)
    assert nngrader("fixtures", "regen", "--course", str(changed), cwd=tmp_path).returncode == 0
    fixture = changed / "fixtures" / AID / "gradients_regression.pkl"
    data = pickle.loads(fixture.read_bytes())
    dW2 = data["cases"][2]["expected"]["dW2"]
    right = float(dW2[0, 0])
    dW2[0, 0] = 7.5
    fixture.write_bytes(pickle.dumps(data, protocol=4))
    out = nngrader("fixtures", "check", "--course", str(changed), cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines()[:2] == [
        f"fixtures/{AID}/gradients_regression.pkl: its sha256 differs from manifest.json's: the file was changed by hand",
        f"fixtures/{AID}/gradients_regression.pkl: stale: the reference no longer makes it (check gradients_regression, "
        f"case 3 of 6, 1 of {dW2.size} entries of expected.dW2 differ: expected.dW2[0, 0]: stored 7.5, now {right!r})"]


def test_every_shipped_fixture_is_current():
    """What CI holds: the project's fixtures match their manifest and the current reference."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), "fixtures", "check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout
