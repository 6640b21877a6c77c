"""grader.py as instructors use it: exit codes, results.json validity, determinism."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "tests", "corpus", "sentiment-2layer", "correct_vectorized")


def grader(*args, cwd=ROOT):
    return subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def validate(path):
    """Gradescope's results format, checked as an instructor would: `grader.py check-results`."""
    out = grader("check-results", str(path), "--require-tags")
    assert out.returncode == 0, out.stdout
    assert out.stdout.strip() == f"{path}: valid Gradescope results"
    return out.stdout


def test_list_shows_assignments_with_points():
    out = grader("list")
    assert out.returncode == 0
    assert "sentiment-2layer" in out.stdout and "points" in out.stdout


def test_grade_reference_full_marks_and_valid_results(tmp_path):
    res = tmp_path / "r.json"
    out = grader("grade", "reference", "--assignment", "sentiment-2layer", "--results", str(res))
    assert out.returncode == 0, out.stderr
    doc = json.loads(res.read_text())
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0
    assert "valid" in validate(res)
    assert all(t["tags"] for t in doc["tests"])


def test_template_scores_zero_with_plain_messages(tmp_path):
    res = tmp_path / "r.json"
    out = grader("grade", os.path.join(ROOT, "student_impl", "sentiment-2layer"), "--assignment",
                 "sentiment-2layer", "--results", str(res))
    assert out.returncode == 0
    doc = json.loads(res.read_text())
    code_tests = [t for t in doc["tests"] if "assignment2_pkl" not in t["name"]]
    assert all(t["score"] == 0 for t in code_tests)
    assert "sigmoid is not implemented yet (it raises NotImplementedError)." in doc["tests"][0]["output"]
    validate(res)


def test_single_file_submission_and_missing_file_note(tmp_path):
    res = tmp_path / "r.json"
    out = grader("grade", os.path.join(EXAMPLE, "assignment2.py"), "--assignment", "sentiment-2layer",
                 "--results", str(res))
    assert out.returncode == 0 and json.loads(res.read_text())["score"] > 0
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hi")
    out = grader("grade", str(empty), "--assignment", "sentiment-2layer", "--results", str(res))
    doc = json.loads(res.read_text())
    assert out.returncode == 0 and doc["score"] == 0          # the optional pickle check too
    assert doc["output"] == ("sentiment-2layer: 0 / 100 points\nnothing was submitted: the submission has none "
                             "of assignment2.py, assignment2.pkl (it contains: notes.txt); every check scores 0")
    validate(res)
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(os.path.join(ROOT, "examples", "worked-backprop", "correct", "answers.yaml"), partial)
    out = grader("grade", str(partial), "--assignment", "worked-backprop", "--results", str(res))
    doc = json.loads(res.read_text())
    assert out.returncode == 0 and 0 < doc["score"] < 100     # the answers still count
    assert "the submission has no worked.py (it contains: answers.yaml); checks that need it score 0" in doc["output"]


def test_bad_usage_exits_2(tmp_path):
    assert grader("grade", "reference", "--assignment", "nope").returncode == 2
    assert grader("grade", str(tmp_path / "missing"), "--assignment", "sentiment-2layer").returncode == 2
    out = grader("grade", "reference", "--assignment", "sentiment-2layer", "--only", "no_such_check")
    assert out.returncode == 2 and "unknown check" in out.stderr


@pytest.mark.slow
def test_same_submission_graded_10_times_is_byte_identical(tmp_path):
    """Apart from execution_time, results do not change between runs."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from corpus_tools import materialize
    sub = materialize("sentiment-2layer", "gradients_missing_mean", str(tmp_path / "sub"))
    docs = set()
    for i in range(10):
        res = tmp_path / f"r{i}.json"
        assert grader("grade", sub, "--assignment", "sentiment-2layer", "--results", str(res), "--quiet").returncode == 0
        doc = json.loads(res.read_text())
        doc.pop("execution_time")
        docs.add(json.dumps(doc, sort_keys=True))
    assert len(docs) == 1
