"""What the handouts allow in more than one way: return orders (named from the values, accepted
only where the handout gives both), input layouts a submission asserts on, squeezed outputs,
aliases, and harness activations called by keyword. Each test asserts what the student reads."""
import os

import numpy as np
import pytest

from corpus_tools import materialize
from nngrader.core.errors import SpecError
from nngrader.core.protocol import PROBE_FACTORIES
from nngrader.engine import comparison, grading
from nngrader.frontends import assignments

MODULES = {"sentiment-2layer": "assignment2.py", "mnist-backprop": "hw2.py", "ocr-neuralnet": "neuralnet.py"}


def _variant(tmp_path, aid, base, replace):
    folder = materialize(aid, base, str(tmp_path / "sub"))
    path = os.path.join(folder, MODULES[aid])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return folder


def _grade(aid, folder, only):
    run = grading.grade(assignments.load(aid), folder, only=only)
    assert not run.errors, run.errors
    return {r.check.name: r for r in run.results}


def _text(result):
    return "\n".join(result.outcome.lines)


@pytest.mark.slow
def test_a_swapped_return_order_is_named_from_the_values(tmp_path):
    folder = _variant(tmp_path, "mnist-backprop", "correct_vectorized",
                      [("    return grad_Ws, grad_bs\n", "    return grad_bs, grad_Ws\n")])
    results = _grade("mnist-backprop", folder, ["backward_grad_Ws", "backward_grad_bs"])
    for name in ("backward_grad_Ws", "backward_grad_bs"):
        assert not results[name].outcome.passed
        assert ("your backward_pass returns its values in the order (grad_bs, grad_Ws): with that order every "
                "value matches the reference; the expected order is (grad_Ws, grad_bs)") in _text(results[name])


@pytest.mark.slow
def test_a_wrong_value_is_not_called_a_wrong_order(tmp_path):
    folder = _variant(tmp_path, "mnist-backprop", "correct_vectorized",
                      [("    upstream = dL_dg / n\n", "    upstream = dL_dg\n")])
    results = _grade("mnist-backprop", folder, ["backward_grad_Ws"])
    assert not results["backward_grad_Ws"].outcome.passed
    assert "order" not in _text(results["backward_grad_Ws"])


@pytest.mark.slow
def test_the_docstring_order_of_gradients_is_accepted_and_said(tmp_path):
    folder = _variant(tmp_path, "sentiment-2layer", "correct_vectorized",
                      [("    return dW1, dW2, db1, db2, L\n", "    return dW1, db1, dW2, db2, L\n"),
                       ("    dW1, dW2, db1, db2, _ = gradients(", "    dW1, db1, dW2, db2, _ = gradients(")])
    only = ["gradients_dW2", "gradients_db1", "gradients_finite_differences", "gradients_regression"]
    results = _grade("sentiment-2layer", folder, only)
    assert all(results[n].outcome.passed for n in only), {n: _text(r) for n, r in results.items()}


@pytest.mark.slow
def test_an_order_the_handout_does_not_give_still_fails(tmp_path):
    folder = _variant(tmp_path, "sentiment-2layer", "correct_vectorized",
                      [("    return dW1, dW2, db1, db2, L\n", "    return dW2, dW1, db1, db2, L\n")])
    results = _grade("sentiment-2layer", folder, ["gradients_dW1"])
    assert not results["gradients_dW1"].outcome.passed


@pytest.mark.slow
def test_a_submission_asserting_its_loss_shapes_is_graded_on_another_layout(tmp_path):
    folder = _variant(tmp_path, "mnist-backprop", "correct_vectorized",
                      [("    y = np.reshape(y, g.shape)\n", "    assert g.shape == y.shape, (g.shape, y.shape)\n")])
    results = _grade("mnist-backprop", folder, ["logistic_loss_values", "logistic_loss_derivative"])
    assert all(r.outcome.passed for r in results.values())


@pytest.mark.slow
def test_a_layout_does_not_hide_a_wrong_loss(tmp_path):
    folder = _variant(tmp_path, "mnist-backprop", "correct_vectorized",
                      [("    y = np.reshape(y, g.shape)\n", "    assert g.shape == y.shape, (g.shape, y.shape)\n"),
                       ("    dL_dg = (g - y) / (g * (1 - g))\n", "    dL_dg = (g - y) / g\n")])
    results = _grade("mnist-backprop", folder, ["logistic_loss_values", "logistic_loss_derivative"])
    assert results["logistic_loss_values"].outcome.passed
    text = _text(results["logistic_loss_derivative"])
    assert not results["logistic_loss_derivative"].outcome.passed
    assert "it was graded on g (" in text and "a layout the handout also allows" in text


def test_squeeze_accepts_axes_of_length_one_only():
    assert comparison.shape_accepted((3,), (1, 3), ["squeeze"], {})
    assert comparison.shape_accepted((3,), (3, 1), ["squeeze"], {})
    assert not comparison.shape_accepted((3,), (1, 3), [], {})
    assert not comparison.shape_accepted((3,), (3, 3), ["squeeze"], {})
    tol = {"float64": assignments.load("ocr-neuralnet").defaults.tolerance["float64"]}
    assert comparison.compare("dx", np.arange(3.0), np.arange(3.0).reshape(1, 3), tol, {}, ["squeeze"]) is None
    m = comparison.compare("dx", np.arange(3.0), np.arange(3.0).reshape(1, 3) + 1, tol, {}, ["squeeze"])
    assert m is not None and "entries outside tolerance" in m.summary


def test_an_alternative_shape_applies_only_where_it_holds_the_same_entries():
    assert comparison.accepted_shapes((4, 1), [["n"]], {"n": 4}) == [(4, 1), (4,)]
    assert comparison.accepted_shapes((4, 3), [["n"]], {"n": 4}) == [(4, 3)]


def test_harness_activations_take_their_argument_by_position_or_keyword():
    for name, factory in PROBE_FACTORIES.items():
        f = factory(np)
        a = f(np.array([0.5, -1.0]))
        b = f(z=np.array([0.5, -1.0]))
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), name
        with pytest.raises(TypeError, match="exactly one array"):
            f(np.ones(2), np.ones(2))


def test_an_alias_must_name_a_contract_function(tmp_path):
    import shutil
    import yaml
    from nngrader.core.course import Course
    src = assignments.load("mnist-backprop").course.root
    root = tmp_path / "course"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("tests", ".git", "examples", "*.egg-info", "build"))
    path = root / "checks" / "mnist-backprop.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["policies"]["aliases"] = {"finite_difference_check": ["my_checker"]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(SpecError, match="policies.aliases.finite_difference_check.*not in the assignment's contract"):
        assignments.load("mnist-backprop", Course(str(root)))


def test_significant_digits_are_counted_in_the_text_as_written():
    from nngrader.kinds.answers import significant_digits
    cases = {"0.1498": 4, "0.1500": 4, "0.15": 2, "4.386e-4": 4, "-0.02260": 4, "120": 2, "120.": 3,
             "0": 0, "1e-3": 1, "abc": None, "": None}
    assert {t: significant_digits(t) for t in cases} == cases


def _answers_submission(tmp_path, changes):
    folder = materialize("worked-backprop", "correct_vectorized", str(tmp_path / "sub"))
    path = os.path.join(folder, "answers.yaml")
    import reference.worked_backprop as ref
    lines = []
    for problem, values in ref.answers().items():
        lines.append(f"{problem}:")
        lines += [f"  {k}: {changes.get(f'{problem}.{k}', repr(float(v)))}" for k, v in values.items()]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return folder


@pytest.mark.slow
def test_hand_rounded_answers_are_graded_at_the_precision_written(tmp_path):
    # atol 1e-5 on updated parameters: 0.1498 (4 digits) is 2.2e-5 off, the 4-digit rounding of
    # 0.1497807; a 5-digit answer is always within the tolerance once correctly rounded
    folder = _answers_submission(tmp_path, {
        "problem1.w1_new": "0.14978",        # 5 digits, correctly rounded: right
        "problem1.w2_new": "0.1996",         # 4 digits, correctly rounded, below the minimum 5: half credit
        "problem1.w3_new": "0.2497",         # 4 digits, not the rounded value (0.2498): wrong
        "problem1.w4_new": "0.29950",        # 5 digits, correctly rounded (0.2995023): right
        "problem1.dE_db1": "0.01873",        # 4 digits: 2.3e-4 relative off, past rtol 1e-4, yet the rounded value
    })
    results = _grade("worked-backprop", folder, ["problem1_gradients", "problem1_updates"])
    assert results["problem1_gradients"].outcome.passed
    text = _text(results["problem1_updates"])
    assert "problem1.w2_new: your 0.1996 is rounded to 4 significant digits; give at least 5" in text
    assert "problem1.w3_new: your 0.2497 is wrong" in text
    assert "w1_new" not in text and "w4_new" not in text
    assert results["problem1_updates"].score == pytest.approx(10 * (1 - (1 + 0.5) / 10))
