"""A broken spec fails at load with a message naming file, check, field, value and fix."""
import textwrap

import pytest

from nngrader.frontends import assignments
from nngrader.core.errors import SpecError

GOOD = """
assignment:
  id: toy
  module: assignment2
  reference: reference.sentiment_2layer
  contract: [sigmoid, gradients]
checks:
  - name: sigmoid_values
    kind: compare
    points: 2
    dims: {N: [1, 3]}
    args:
      x: {shape: [N], normal: 1.0}
    call: sigmoid
    returns: {name: s}
"""


def load_text(tmp_path, text, name="toy"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return assignments.load(str(path))


def error(tmp_path, text, name="toy"):
    with pytest.raises(SpecError) as exc:
        load_text(tmp_path, text, name)
    return str(exc.value)


def test_good_spec_loads_into_typed_objects(tmp_path):
    asg = load_text(tmp_path, GOOD)
    check = asg.checks[0]
    assert (asg.id, check.name, check.kind, check.points, check.exercises) == ("toy", "sigmoid_values", "compare", 2.0, ["sigmoid"])
    assert check.number == "1" and check.visibility == "visible"


def test_yaml_1_1_float_string_gets_the_fix(tmp_path):
    msg = error(tmp_path, GOOD + "    tolerance: {float64: {rtol: 1e-5}}\n")
    assert "toy.yaml › sigmoid_values › tolerance.float64.rtol" in msg
    assert "'1e-5' (str)" in msg and "write 1.0e-5" in msg


def test_unknown_key_is_an_error_listing_allowed_keys(tmp_path):
    msg = error(tmp_path, GOOD + "    pionts: 3\n")
    assert "sigmoid_values › pionts: unknown key 'pionts'" in msg and "points" in msg


def test_unknown_kind_lists_registered_kinds(tmp_path):
    msg = error(tmp_path, GOOD.replace("kind: compare", "kind: comprae"))
    assert "unknown kind 'comprae'" in msg and "compare, composition, gradient" in msg


def test_broken_yaml_names_the_line(tmp_path):
    msg = error(tmp_path, GOOD.replace("contract: [sigmoid, gradients]", "contract: [sigmoid, gradients"))
    assert "toy.yaml: not valid YAML (line" in msg


def test_unknown_dimension_in_a_shape(tmp_path):
    msg = error(tmp_path, GOOD.replace("shape: [N]", "shape: [M]"))
    assert "args.x.shape[0]: unknown dimension 'M'" in msg


def test_exercised_name_must_be_in_contract(tmp_path):
    msg = error(tmp_path, GOOD.replace("contract: [sigmoid, gradients]", "contract: [gradients]"))
    assert "'sigmoid' is not in the assignment's contract" in msg


def test_duplicate_check_name(tmp_path):
    body = GOOD.split("checks:\n")[1]
    msg = error(tmp_path, GOOD + body)
    assert "duplicate check name 'sigmoid_values'" in msg


def test_id_must_match_file_name(tmp_path):
    msg = error(tmp_path, GOOD, name="other")
    assert "must equal the file name 'other.yaml'" in msg


def test_compare_names_must_be_returned(tmp_path):
    msg = error(tmp_path, GOOD + "    compare: [t]\n")
    assert "compare[0]: 't' is not returned by any step" in msg


def test_negative_points(tmp_path):
    msg = error(tmp_path, GOOD.replace("points: 2", "points: -1"))
    assert "points: expected a number >= 0, got -1 (int)" in msg


def test_eval_expressions_are_restricted(tmp_path):
    text = GOOD.replace("    call: sigmoid\n    returns: {name: s}\n",
                        "    steps:\n      - {eval: \"__import__('os')\", as: z}\n")
    msg = error(tmp_path, text)
    assert "eval: only these functions are allowed" in msg or "is not allowed" in msg


def test_every_shipped_spec_loads():
    for aid in assignments.available():
        asg = assignments.load(aid)
        assert asg.checks and asg.max_points > 0
