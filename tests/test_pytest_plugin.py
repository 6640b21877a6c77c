"""The pytest mode as students use it, asserted on the lines they see."""
import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKS = os.path.join(ROOT, "checks")
pytest_plugins = ["pytester"]


@pytest.fixture
def buggy(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from corpus_tools import materialize
    return materialize("sentiment-2layer", "gradients_missing_mean", str(tmp_path / "sub"))


def run(pytester, *args):
    return pytester.runpytest_subprocess(CHECKS, "-p", "no:cacheprovider", *args)


def test_reference_passes_every_check(pytester):
    result = run(pytester, "--submission", "reference", "--assignment", "sentiment-2layer")
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes["passed"] >= 15 and "failed" not in outcomes


def test_template_fails_with_not_implemented(pytester):
    result = run(pytester, "--submission", os.path.join(ROOT, "student_impl", "sentiment-2layer"),
                 "--assignment", "sentiment-2layer", "-k", "sigmoid")
    result.stdout.fnmatch_lines(["*sigmoid is not implemented yet (it raises NotImplementedError).*"])
    assert result.parseoutcomes()["failed"] == 2


def test_feedback_names_worst_index_hint_and_rerun_command(pytester, buggy):
    result = run(pytester, "--submission", buggy, "--assignment", "sentiment-2layer", "-k", "gradients_dW2")
    result.stdout.fnmatch_lines([
        "gradients_dW2 ?gradients?",
        "*smallest failing example: d=*",
        "*worst at dW2?0, *?: expected *, received *",
        "*tolerance (float64 output): atol 1e-09 + rtol 1e-06*",
        "*hint: your dW2 equals the reference's dW2 computed with the 1/N of the mean over the batch left out*",
        f"*rerun only this check: pytest checks --submission {buggy} --assignment sentiment-2layer -k gradients_dW2*",
    ])
    assert result.parseoutcomes() == {"failed": 1, "deselected": result.parseoutcomes()["deselected"]}


def test_k_selects_by_function_name_and_marker_by_assignment(pytester, buggy):
    result = run(pytester, "--submission", buggy, "--assignment", "sentiment-2layer", "-k", "bce_forward",
                 "-m", "sentiment_2layer")
    outcomes = result.parseoutcomes()
    # bce_forward_value and bce_forward_near_saturation pass; gradients_finite_differences also runs
    # bce_forward (selected) and fails on the gradients bug, pointing at the backward
    assert outcomes["passed"] == 2 and outcomes["failed"] == 1
    result.stdout.fnmatch_lines(["*self-consistency: * the values of dW1, dW2, db1, db2 also disagree with "
                                 "central differences of your own inference_2layers, bce_forward.*"])


def test_without_submission_no_yaml_is_collected(pytester):
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 5


def test_pytest_mode_gives_the_same_import_advice_and_leaves_nothing_behind(pytester, tmp_path, monkeypatch):
    """One grading path: the notes `grader.py grade` gives (here: the module exits while imported,
    so its definitions are graded, with the `__main__`-guard advice) reach the pytest items too,
    and pytest's end removes the staged copy and the worker's scratch folder."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "assignment2.py").write_text("import sys\n\ndef sigmoid(x):\n    return x\n\nsys.exit(0)\n")
    # a temporary folder of its own, reachable by the unprivileged user when grading as root
    scratch = tempfile.mkdtemp(prefix="plugin-tmp-")
    os.chmod(scratch, 0o755)
    monkeypatch.setenv("TMPDIR", scratch)
    try:
        result = run(pytester, "--submission", str(sub), "--assignment", "sentiment-2layer", "-k", "sigmoid_vector")
        result.stdout.fnmatch_lines([
            "s: 1 of 1 entries outside tolerance",
            "*note: importing assignment2.py failed (SystemExit: sys.exit(0) was called), so its top-level "
            "statements were run again one at a time, skipping those that fail; the functions are graded as they "
            "are. 1 module-level statement(s) were skipped: line 6: sys.exit(0) (SystemExit: 0). Put the code "
            "that runs the program (training, plots, reading data) under `if __name__ == \"__main__\":`*",
        ])
        assert result.parseoutcomes()["failed"] == 1
        assert [n for n in os.listdir(scratch) if n.startswith("nngrader-")] == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_regen_fixtures_writes_then_fails_loudly(pytester, tmp_path):
    """`pytest --regen-fixtures` remakes the fixtures, then stops with a failure so the change is
    reviewed, not silently taken."""
    course = tmp_path / "course"
    for rel in ("checks/sentiment-2layer", "fixtures/sentiment-2layer", "reference"):
        shutil.copytree(os.path.join(ROOT, rel), course / rel, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "checks", "sentiment-2layer.yaml"), course / "checks")
    fixture = course / "fixtures" / "sentiment-2layer" / "gradients_regression.pkl"
    fixture.unlink()
    # a course outside the project loads the plugin by name
    result = pytester.runpytest_subprocess(str(course / "checks"), "-p", "no:cacheprovider", "-p",
                                           "nngrader.frontends.pytest_plugin", "--course", str(course),
                                           "--regen-fixtures")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*fixtures regenerated from the reference (review the diff*",
                                 "wrote fixtures/sentiment-2layer/gradients_regression.pkl (6 cases)*"])
    assert fixture.exists()
