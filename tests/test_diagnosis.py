"""The diagnosis names a mistake only when one catalog variant reproduces the student's output on at
least two non-degenerate examples; otherwise the report stays with the numbers."""
import os
from collections import Counter

import numpy as np
import pytest

from corpus_tools import CORPUS, check_mistake_field, diagnosis_class, materialize, variants
from nngrader.core.errors import SpecError
from nngrader.core.model import Tolerance, Where
from nngrader.engine import diagnosis, grading, inputs, mistakes
from nngrader.frontends import assignments

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
_SPECS = {}
TOL = Tolerance(rtol=1e-6, atol=1e-9)


def _spec(aid):
    if aid not in _SPECS:
        _SPECS[aid] = assignments.load(aid)
    return _SPECS[aid]


def _lines(run, check):
    return next(r.outcome.lines for r in run.results if r.check.name == check)


def _grade_variant(aid, name, tmp_path, only=None):
    sub = materialize(aid, name, str(tmp_path / "s"))
    return grading.grade(_spec(aid), sub, only=only)


def test_examples_are_non_degenerate_and_distinct():
    spec = inputs.InputSpec(dims={"d": (1, 4), "N": (1, 5), "H": (1, 4)})
    exs = diagnosis.examples(spec, 1)
    assert len(exs) >= 2
    assert all(min(ex["dims"].values()) >= 2 for ex in exs)
    assert len(set(exs[0]["dims"].values())) == 3           # distinct where the ranges allow
    assert len({ex["dims"]["N"] for ex in exs}) == len(exs)


def test_named_needs_two_examples_and_one_mistake():
    dims = [{"N": 2}, {"N": 3}]
    assert "[mistake: missing_mean]" in diagnosis._named("dW", [{"missing_mean"}, {"missing_mean", "factor_2"}], dims)
    assert diagnosis._named("dW", [{"missing_mean"}], dims[:1]) == ""                   # one example
    assert diagnosis._named("dW", [{"missing_mean", "factor_2"}] * 2, dims) == ""       # ambiguous
    assert diagnosis._named("dW", [{"missing_mean"}, set()], dims) == ""               # not reproduced


def test_generic_variants_of_a_step_use_the_learning_rate():
    before, exp = np.array([1.0, 2.0]), np.array([0.9, 2.2])          # step (-0.1, 0.2) with lr 0.5
    ctx = mistakes.Context(name="W", env={}, dims={}, before=before, lr=0.5)
    ignored = mistakes.get("lr_ignored").make(exp, ctx)
    assert any(np.allclose(c, before + (exp - before) / 0.5) for c in ignored)
    assert np.allclose(mistakes.get("ascent").make(exp, ctx)[0], before - (exp - before))
    # not an update: no step variants
    assert mistakes.get("ascent").make(exp, mistakes.Context(name="W", env={})) == []


def test_declared_variants_are_checked():
    where = Where("checks/x.yaml", "c")
    ok = diagnosis.parse_variants(where, [{"mistake": "derivative_missing", "use": {"f": "g"}}])
    assert ok == [{"mistake": "derivative_missing", "use": {"f": "g"}}]
    with pytest.raises(SpecError, match="not in the catalog"):
        diagnosis.parse_variants(where, [{"mistake": "made_up", "use": {"f": "g"}}])


def test_missing_mean_is_named_on_the_bundled_example():
    run = grading.grade(_spec("sentiment-2layer"), os.path.join(EXAMPLES, "sentiment-2layer", "missing_mean"),
                        only=["gradients_dW1"])
    text = "\n".join(_lines(run, "gradients_dW1"))
    assert "[mistake: missing_mean]" in text and "on 3 of 3 examples" in text


def test_a_declared_reference_variant_names_the_derivative_at_the_preactivation(tmp_path):
    run = _grade_variant("sentiment-2layer", "gradients_derivative_of_preactivation", tmp_path, ["gradients_dW1"])
    assert "[mistake: derivative_at_preactivation]" in "\n".join(_lines(run, "gradients_dW1"))


def test_a_mistake_is_not_named_where_it_was_not_made(tmp_path):
    run = _grade_variant("sentiment-2layer", "gradients_sign_flipped", tmp_path, ["gradients_dW1"])
    text = "\n".join(_lines(run, "gradients_dW1"))
    assert "[mistake: sign]" in text
    assert "missing_mean" not in text and "derivative_at_preactivation" not in text


def test_update_checks_are_diagnosed_by_their_step(tmp_path):
    run = _grade_variant("sentiment-2layer", "update_params_ascends", tmp_path, ["update_params_step"])
    text = "\n".join(_lines(run, "update_params_step"))
    assert "[mistake: ascent]" in text
    # a rate typed in (0.01 for lr) reproduces the step on every example whatever lr was drawn
    run = _grade_variant("sentiment-2layer", "update_params_ignores_lr", tmp_path / "b", ["update_params_step"])
    text = "\n".join(_lines(run, "update_params_step"))
    assert "your b1_new equals" in text and "[mistake: lr_ignored]" in text
    assert "W1_new equals" not in text                  # the other three outputs are right


def test_a_step_wrong_through_its_gradient_is_not_called_a_typed_in_rate(tmp_path):
    run = _grade_variant("sentiment-2layer", "gradients_missing_mean", tmp_path, ["update_params_step"])
    text = "\n".join(_lines(run, "update_params_step"))
    assert "[mistake: lr_ignored]" not in text and "[mistake: ascent]" not in text


def test_swapped_returns_of_other_shapes_are_named(tmp_path):
    run = _grade_variant("sentiment-2layer", "update_params_order", tmp_path, ["update_params_step"])
    assert "[mistake: swapped_returns]" in "\n".join(_lines(run, "update_params_step"))


def test_a_value_read_from_another_step_is_not_a_swapped_return(tmp_path):
    # dw after a zero upstream keeps the first call's dw: it equals the `dw` the scenario read
    # earlier, but no call returned the two together, so only the accumulation is named
    run = _grade_variant("ocr-neuralnet", "linear_dw_accumulates", tmp_path, ["linear_backward"])
    text = "\n".join(_lines(run, "linear_backward"))
    assert "[mistake: accumulated]" in text and "swapped_returns" not in text


def test_all_zeros_received_is_no_evidence(tmp_path):
    run = _grade_variant("ocr-neuralnet", "dw_never_set", tmp_path, ["linear_backward"])
    text = "\n".join(_lines(run, "linear_backward"))
    assert "received all zeros" in text and "[mistake:" not in text


def test_a_variant_without_eps_matches_the_same_infinity():
    tol = TOL
    assert diagnosis._matches([np.inf, 1.0], np.array([np.inf, 1.0]), tol)
    assert not diagnosis._matches([np.inf, 1.0], np.array([5.0, 1.0]), tol)
    assert not diagnosis._matches([1.0, 1.0], np.array([np.inf, 1.0]), tol)


def test_fixed_inputs_are_one_example_not_three():
    fixed = inputs.InputSpec(args=[inputs.ArgSpec(name="x", gen="value", param=[1.0, 2.0])])
    assert len(diagnosis.examples(fixed, 1)) == 1
    drawn = inputs.InputSpec(args=[inputs.ArgSpec(name="lam", gen="uniform", param=[0.0, 1.0])])
    assert len(diagnosis.examples(drawn, 1)) == diagnosis.EXAMPLES


def test_answers_are_named_only_when_one_mistake_reproduces_them_all():
    tol = TOL
    want = {"a": 1.0, "b": -2.0, "c": 0.5}
    assert "[mistake: sign]" in diagnosis.name_answers({"a": -1.0, "b": 2.0, "c": -0.5}, want, tol)
    assert diagnosis.name_answers({"a": -1.0, "b": -2.0, "c": 0.5}, want, tol) == ""     # one wrong
    assert diagnosis.name_answers({"a": -1.0, "b": 2.0, "c": 0.5}, want, tol) == ""      # c right: not all
    declared = [("ascent", {"a": 3.0, "b": -2.0, "c": 7.0})]
    assert "[mistake: ascent]" in diagnosis.name_answers({"a": 3.0, "b": -2.0, "c": 7.0}, want, tol, declared)


def test_hand_computed_answers_name_their_mistake(tmp_path):
    run = _grade_variant("worked-backprop", "p1_gradient_ascent", tmp_path, ["problem1_updates"])
    assert "[mistake: ascent]" in "\n".join(_lines(run, "problem1_updates"))
    run = _grade_variant("worked-backprop", "p1_sigmoid_derivative_of_net", tmp_path / "b", ["problem1_gradients"])
    assert "[mistake: derivative_at_preactivation]" in "\n".join(_lines(run, "problem1_gradients"))
    # a single wrong answer (E_total halved) is one number: nothing is named from it
    run = _grade_variant("worked-backprop", "p1_E_total_averaged", tmp_path / "c", ["problem1_forward"])
    assert "[mistake:" not in "\n".join(_lines(run, "problem1_forward"))


def test_the_mistake_field_is_checked():
    assert check_mistake_field("v", {"bug_in": "f", "mistake": "missing_mean"}) == ""
    assert check_mistake_field("v", {"bug_in": "f", "mistake": "none"}) == ""
    assert "names its mistake" in check_mistake_field("v", {"bug_in": "f"})
    assert "not in the catalog" in check_mistake_field("v", {"bug_in": "f", "mistake": "made_up"})
    assert check_mistake_field("v", {"expect": "full"}) == ""


def test_reading_a_report_as_a_student():
    spec = {"bug_in": "gradients", "mistake": "sign"}
    named = [("g", ["gradients"], ["  hint: ... [mistake: sign]"])]
    assert diagnosis_class(named, spec) == "named"
    # a step "taken up the gradient" names both places a flipped sign can be
    assert diagnosis_class(named + [("u", ["update"], ["  hint: ... [mistake: ascent]"])], spec) == "named"
    assert diagnosis_class(named + [("u", ["update"], ["  hint: ... [mistake: factor_2]"])], spec) == "misleading"
    assert diagnosis_class([("g", ["gradients"], ["dW1: 1 of 1 entries outside tolerance"])], spec) == "numbers"


ASSIGNMENTS = sorted(d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "manifest.yaml")))


@pytest.mark.slow
def test_corpus_diagnosis(tmp_path):
    """Every bug variant's report, read as a student would: named / misleading / numbers only.
    Of the variants whose mistake is in the catalog, at least 80 % are named; none misleads (a
    `none` variant's report names no mistake at all)."""
    tally = Counter()
    misleading = []
    for aid in ASSIGNMENTS:
        for name, spec in variants(aid):
            if not spec or "bug_in" not in spec:
                continue
            run = _grade_variant(aid, name, tmp_path / aid / name)
            failing = [(r.check.name, r.check.exercises, r.outcome.lines) for r in run.results if not r.outcome.passed]
            verdict = diagnosis_class(failing, spec)
            tally[(aid, spec["mistake"] != "none", verdict)] += 1
            if verdict == "misleading":
                misleading.append(f"{aid}/{name}")
    figures = {aid: {f"{'nameable' if k else 'none'} {v}": n for (a, k, v), n in sorted(tally.items()) if a == aid}
               for aid in ASSIGNMENTS}
    named = sum(n for (_, k, v), n in tally.items() if k and v == "named")
    nameable = sum(n for (_, k, _), n in tally.items() if k)
    assert not misleading, (misleading, figures)
    assert named >= 0.8 * nameable, (named, nameable, figures)
