"""The pytest mode as students use it, asserted on the lines they see."""
import os
import sys

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
        "*hint: received / expected = * = the batch size N=*: a missing division by N*",
        f"*rerun only this check: pytest checks --submission {buggy} --assignment sentiment-2layer -k gradients_dW2*",
    ])
    assert result.parseoutcomes() == {"failed": 1, "deselected": result.parseoutcomes()["deselected"]}


def test_k_selects_by_function_name_and_marker_by_assignment(pytester, buggy):
    result = run(pytester, "--submission", buggy, "--assignment", "sentiment-2layer", "-k", "bce_forward",
                 "-m", "sentiment_2layer")
    outcomes = result.parseoutcomes()
    # bce_forward_value passes; gradients_finite_differences also runs bce_forward (selected) and
    # fails on the gradients bug, saying the backward is wrong
    assert outcomes["passed"] == 1 and outcomes["failed"] == 1
    result.stdout.fnmatch_lines(["*self-consistency: * also disagree with central differences of your own "
                                 "inference_2layers, bce_forward: the backward (gradient) code is wrong.*"])


def test_without_submission_no_yaml_is_collected(pytester):
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 5
