"""Hints from the numbers of one example are facts, never guesses at a cause: each appears where
its fact holds and not elsewhere."""
import os
import re

import numpy as np
import pytest

from corpus_tools import materialize
from nngrader.core.errors import SpecError
from nngrader.core.model import Where
from nngrader.engine import comparison, feedback, grading, hints, scenario
from nngrader.frontends import assignments


def _hint(exp, got):
    exp, got = np.asarray(exp, dtype=float), np.asarray(got, dtype=float)
    bad = ~np.isclose(got, exp, rtol=1e-6, atol=1e-9)
    return hints.value_hint(exp, got, bad, {"N": 3}, {})


def test_ratio_is_stated_on_several_entries_only():
    assert _hint([[1.0, 2.0, -3.0]], [[3.0, 6.0, -9.0]]) == "received / expected = 3 on all 3 non-zero entries"
    # on a single entry a ratio fits anything ("everywhere" means nothing): no hint at all
    assert _hint([[2.0]], [[6.0]]) == ""


def test_no_ratio_hint_names_a_cause():
    text = _hint([[1.0, 2.0]], [[3.0, 6.0]])
    assert "batch" not in text and "missing" not in text and "[mistake:" not in text


def test_all_zeros_only_where_every_expected_value_is_non_zero():
    assert _hint([1.0, -2.0], [0.0, 0.0]) == "received all zeros, where every expected value is non-zero"
    assert _hint([1.0, 0.0], [0.0, 0.0]) == ""


def test_expected_zeros_get_no_speculation():
    assert _hint([0.0, 0.0], [1.0, 2.0]) == ""


def test_nan_is_stated_without_a_cause():
    assert _hint([1.0, 2.0], [np.nan, 2.0]) == "the received values contain NaN or inf"
    assert "NaN" not in _hint([1.0, 2.0], [1.5, 2.0])


def test_a_single_differing_column_is_located_without_a_guess():
    assert _hint([[1.0, 2.0], [3.0, 4.0]], [[5.0, 2.0], [7.0, 4.0]]) == "only column 0 differs"
    assert "column" not in _hint([[1.0, 2.0], [3.0, 4.0]], [[5.0, 7.0], [7.0, 9.0]])


def test_shape_facts():
    assert hints.shape_hint((2, 3), (3, 2), {}) == "the received shape is the transpose of the expected one"
    assert hints.shape_hint((2, 2), (2, 2, 1), {}) == ""
    # keepdims / lost axes are causes: named only by the diagnosis, with N >= 2
    assert hints.shape_hint((3, 1), (3,), {"N": 3}) == ""


def test_broadcast_shape_names_its_mistake_only_for_n_at_least_2():
    assert "[mistake: broadcast_row_column]" in hints.shape_hint((4,), (4, 4), {})
    assert hints.shape_hint((1,), (1, 1), {}) == ""


# ---- hints that rely on a structure: only where the check declares it --------------------------

def _mismatch(name, exp, got):
    exp, got = np.asarray(exp, dtype=float), np.asarray(got, dtype=float)
    bad = ~np.isclose(got, exp, rtol=1e-6, atol=1e-9)
    return comparison.Mismatch(name, f"{name}: differs", [], hints.value_hint(exp, got, bad, {}, {}))


def test_upstream_gradient_hint_only_where_declared():
    env, ref = {"dout": np.zeros((2, 3))}, {"dW": np.zeros((3, 2))}
    m = _mismatch("dW", ref["dW"], np.ones((3, 2)))
    hints.structure_hints([m], {"upstream": "dout"}, env, ref)
    assert m.hint.startswith("the upstream gradient dout is all zeros here, so dW must be zero")
    undeclared = _mismatch("dW", ref["dW"], np.ones((3, 2)))
    hints.structure_hints([undeclared], {}, env, ref)
    assert undeclared.hint == ""
    # declared, but the upstream gradient of this example is not zero: nothing to say
    nonzero = _mismatch("dW", ref["dW"], np.ones((3, 2)))
    hints.structure_hints([nonzero], {"upstream": "dout"}, {"dout": np.ones((2, 3))}, ref)
    assert nonzero.hint == ""


def test_bias_column_hint_only_where_declared():
    exp, got = [[1.0, 2.0], [3.0, 4.0]], [[5.0, 2.0], [7.0, 4.0]]
    m = _mismatch("dw", exp, got)
    hints.structure_hints([m], {"bias_column": {"dw": 0}}, {}, {"dw": np.array(exp)})
    assert m.hint == "only column 0 differs: column 0 of dw holds the bias terms"
    other = _mismatch("dx", exp, got)
    hints.structure_hints([other], {"bias_column": {"dw": 0}}, {}, {"dx": np.array(exp)})
    assert other.hint == "only column 0 differs"


def test_structure_is_validated():
    where = Where("checks/x.yaml", "c")
    assert hints.parse_structure(where, {"upstream": "dout", "bias_column": {"dw": 0}}) == {
        "upstream": "dout", "bias_column": {"dw": 0}}
    with pytest.raises(SpecError):
        hints.parse_structure(where, {"mask": "x"})
    with pytest.raises(SpecError):
        hints.parse_structure(where, {"bias_column": {"dw": "first"}})


# ---- the example as the function received it --------------------------------------------------

def test_an_example_is_shown_as_the_function_received_it():
    steps = scenario.parse_steps(Where("checks/x.yaml", "c"), [
        {"eval": "y_row.T", "as": "y_onehot"},
        {"call": "two_layer_grads", "args": ["x", "y_onehot"], "returns": {"name": "grads"}}])
    env = {"x": np.ones((2, 1)), "y_row": np.array([[0.0, 1.0, 0.0]])}
    names, shown = feedback.as_received(steps, env, ["x", "y_row"])
    assert names == ["x", "y_onehot"] and shown["y_onehot"].shape == (3, 1)
    # arguments passed as they are generated are shown as they are
    direct = scenario.parse_steps(Where("checks/x.yaml", "c"), [
        {"call": "f", "args": ["x", "y_row"], "returns": {"name": "out"}}])
    assert feedback.as_received(direct, env, ["x", "y_row"])[0] == ["x", "y_row"]


# ---- a name the contract asks for and the submission spells otherwise ---------------------------

def test_missing_names_are_told_with_what_is_defined_instead():
    assert feedback.missing_text("Linear.w; it defines `weight`") == (
        "your Linear has no attribute `w`, which the contract asks for; it defines `weight`.")
    assert feedback.missing_text("gradients") == (
        "your submission does not define gradients, which the contract asks for.")


def test_the_worker_names_a_close_function_and_attribute(tmp_path):
    sub = materialize("modules-lab", "correct_vectorized", str(tmp_path / "s"))
    path = os.path.join(sub, "nn_lab.py")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"self\.W\b", "self.weight", text).replace("def relu_backward(", "def relu_backwards(")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    run = grading.grade(assignments.load("modules-lab"), sub, only=["linear_forward", "relu_backward_mask", "relu_values"])
    lines = {r.check.name: r.outcome.lines for r in run.results}
    assert lines["linear_forward"][0] == ("your Linear has no attribute `W`, which the contract asks for; "
                                          "it defines `weight`.")
    assert lines["relu_backward_mask"][0] == ("your submission does not define relu_backward, which the contract "
                                              "asks for; it defines `relu_backwards`.")
    assert lines["relu_values"] == []                    # relu itself is there: it passes


def test_a_missing_name_with_nothing_like_it_gets_no_suggestion(tmp_path):
    sub = materialize("modules-lab", "correct_vectorized", str(tmp_path / "s"))
    path = os.path.join(sub, "nn_lab.py")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("def l2_penalty_grad(", "def _unrelated_helper("))
    run = grading.grade(assignments.load("modules-lab"), sub, only=["l2_penalty_grad_value"])
    assert run.results[0].outcome.lines[0] == ("your submission does not define l2_penalty_grad, which the "
                                               "contract asks for.")


def test_mask_hint_only_where_declared():
    x = np.array([[1.0, -1.0, 2.0, -0.5]])
    exp = np.array([[3.0, 0.0, 4.0, 0.0]])
    got = np.array([[3.0, 5.0, 4.0, 6.0]])              # right where x > 0, wrong where the mask blocks
    m = comparison.Mismatch("dx", "dx: differs", [], "")
    hints.structure_hints([m], {"mask": {"dx": "x"}}, {"x": x}, {"dx": exp}, {"dx": got})
    assert m.hint == "dx differs only where x <= 0, where the mask must give 0"
    undeclared = comparison.Mismatch("dx", "dx: differs", [], "")
    hints.structure_hints([undeclared], {}, {"x": x}, {"dx": exp}, {"dx": got})
    assert undeclared.hint == ""
    # wrong on both sides of the mask: the mask says nothing about where
    both = comparison.Mismatch("dx", "dx: differs", [], "")
    hints.structure_hints([both], {"mask": {"dx": "x"}}, {"x": x}, {"dx": exp}, {"dx": got + 1})
    assert both.hint == ""
