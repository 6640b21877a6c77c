"""Float64 results computed in float32: held to the float32 tolerance only on evidence that the
submission computes in float32 (its values are float32 numbers, or the worker sees its functions
hold float32 arrays), with a note; a float64 bug of float32 size is still caught."""
import os

import numpy as np
import pytest

from corpus_tools import materialize
from nngrader.engine import comparison, grading
from nngrader.frontends import assignments

STABLE = ("    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), "
          "np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))")


def _sentiment(tmp_path, body):
    folder = materialize("sentiment-2layer", "correct_vectorized", str(tmp_path / "sub"))
    path = os.path.join(folder, "assignment2.py")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert STABLE in text
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(STABLE, body))
    return folder


def _grade(folder, only):
    run = grading.grade(assignments.load("sentiment-2layer"), folder, only=only)
    assert not run.errors, run.errors
    return {r.check.name: r for r in run.results}


def test_float32_numbers_in_float64_are_evidence_only_when_not_trivial():
    x32 = np.array([0.1, 0.7, 1.3], dtype=np.float32).astype(np.float64)
    assert comparison.float32_exact([x32])
    assert not comparison.float32_exact([np.array([0.1, 0.7, 1.3])])           # float64 numbers
    assert not comparison.float32_exact([np.array([0.0, 1.0, 0.5, 0.25])])     # trivially float32
    assert comparison.float32_exact([[x32[:2], x32[2:]]], min_nontrivial=3)    # lists of arrays
    assert comparison.bitwise_equal([x32], [x32.copy()]) and not comparison.bitwise_equal([x32], [x32 + 1e-12])


@pytest.mark.slow
def test_exp_in_float32_returned_as_float64_gets_the_float32_tolerance_with_a_note(tmp_path):
    folder = _sentiment(tmp_path, "    with np.errstate(over='ignore'):\n"
                                  "        e = np.exp(-x.astype(np.float32)).astype(np.float64)\n"
                                  "    return 1 / (1 + e)")
    results = _grade(folder, ["sigmoid_matrix", "gradients_dW2", "gradients_regression", "gradients_finite_differences"])
    assert all(r.outcome.passed for r in results.values()), {n: r.outcome.lines for n, r in results.items()}
    note = "\n".join(results["gradients_dW2"].outcome.lines)
    assert "held to the float32 tolerance" in note and "sigmoid holds float32 numbers in a float64 array (e)" in note


@pytest.mark.slow
def test_a_sigmoid_computed_wholly_in_float32_is_seen_from_what_it_returns(tmp_path):
    folder = _sentiment(tmp_path, "    with np.errstate(over='ignore'):\n"
                                  "        return (1 / (1 + np.exp(-x.astype(np.float32)))).astype(np.float64)")
    results = _grade(folder, ["gradients_dW1", "gradients_regression"])
    assert all(r.outcome.passed for r in results.values()), {n: r.outcome.lines for n, r in results.items()}
    assert "sigmoid returns float32 numbers in float64 arrays" in "\n".join(results["gradients_dW1"].outcome.lines)


@pytest.mark.slow
def test_a_float64_bug_of_float32_size_is_still_caught(tmp_path):
    folder = _sentiment(tmp_path, STABLE + " * (1 + 3e-6)")
    results = _grade(folder, ["sigmoid_matrix", "gradients_dW2"])
    assert not results["sigmoid_matrix"].outcome.passed
    assert not results["gradients_dW2"].outcome.passed
    assert "float32 tolerance" not in "\n".join(results["gradients_dW2"].outcome.lines)


@pytest.mark.slow
def test_a_correct_float64_submission_gets_no_precision_note(tmp_path):
    folder = _sentiment(tmp_path, STABLE)
    results = _grade(folder, ["sigmoid_matrix", "gradients_dW2"])
    assert all(r.outcome.passed and not r.outcome.lines for r in results.values())
