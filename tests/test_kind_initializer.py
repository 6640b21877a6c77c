"""The `initializer` kind: exact shapes against the reference, values judged by their statistics.

Graded end to end on a small spec (against reference.mnist_backprop): the reference's own
initializers pass; broken ones fail with a message that names the array and the numbers.
"""
import textwrap

import numpy as np
import pytest

from nngrader.engine import grading
from nngrader.frontends import assignments
from nngrader.kinds import initializer
from nngrader.core.errors import SpecError

SPEC = """\
assignment:
  id: init-demo
  module: hw2
  reference: reference.mnist_backprop
  contract: [create_weight_matrices, create_bias_vectors]
checks:
  - name: weights
    kind: initializer
    points: 1
    steps:
      - {call: create_weight_matrices, args: [[300, 200, 1]], returns: {name: Ws}}
    distributions:
      Ws: [{normal: {mean: 0.0, std: 0.01}}]
  - name: biases
    kind: initializer
    points: 1
    steps:
      - {call: create_bias_vectors, args: [[300, 200, 1]], returns: {name: bs}}
    distributions:
      bs: [{constant: 0.0}, {normal: {mean: 0.0, std: 0.01}}]
"""

CORRECT_WEIGHTS = "np.random.normal(0, 0.01, (a, b))"
CORRECT_BIASES = "np.zeros((1, d))"


def submission(tmp_path, weights=CORRECT_WEIGHTS, biases=CORRECT_BIASES, weights_list=None):
    folder = tmp_path / "sub"
    folder.mkdir()
    ws = weights_list or f"[{weights} for a, b in zip(layer_dims[:-1], layer_dims[1:])]"
    (folder / "hw2.py").write_text(textwrap.dedent(f"""\
        import numpy as np

        def create_weight_matrices(layer_dims):
            return {ws}

        def create_bias_vectors(layer_dims):
            return [{biases} for d in layer_dims[1:]]
        """))
    return str(folder)


@pytest.fixture
def asg(tmp_path):
    path = tmp_path / "init-demo.yaml"
    path.write_text(SPEC)
    return assignments.load(str(path))


def grade(asg, folder):
    run = grading.grade(asg, folder)
    assert not run.errors, run.errors
    return {r.check.name: r.outcome for r in run.results}


def test_reference_passes(asg):
    out = grade(asg, "reference")
    assert out["weights"].passed and out["biases"].passed
    assert "within 6 standard errors" in out["weights"].checked


def test_correct_alternatives_pass(asg, tmp_path):
    out = grade(asg, submission(tmp_path, weights="0.01 * np.random.randn(a, b).astype(np.float32)",
                                biases="np.random.normal(0, 0.01, (1, d))"))
    assert out["weights"].passed and out["biases"].passed


@pytest.mark.parametrize("weights,expected", [
    ("np.random.normal(0, 0.1, (a, b))", "sample std"),
    ("np.random.normal(0, 0.01 ** 2, (a, b))", "np.random.normal takes the standard deviation, not the variance"),
    ("0.01 * np.random.rand(a, b)", "np.random.rand draws from U[0, 1)"),
    ("np.zeros((a, b))", "every entry is 0"),
])
def test_wrong_distribution_fails_with_numbers(asg, tmp_path, weights, expected):
    out = grade(asg, submission(tmp_path, weights=weights))["weights"]
    assert not out.passed
    text = "\n".join(out.lines)
    assert "Ws[0]: shape (300, 200) ok, but the values are not N(0, 0.01^2)" in text
    assert expected in text


def test_transposed_shape_fails(asg, tmp_path):
    out = grade(asg, submission(tmp_path, weights="np.random.normal(0, 0.01, (b, a))"))["weights"]
    assert not out.passed
    assert out.short == "Ws[0]: wrong shape: expected (300, 200), received (200, 300)"
    assert any("transpose" in line for line in out.lines)


def test_wrong_list_length_fails(asg, tmp_path):
    folder = submission(tmp_path, weights_list="[np.random.normal(0, 0.01, (a, 1)) for a in layer_dims]")
    out = grade(asg, folder)["weights"]
    assert out.short == "Ws: expected a list of 2 arrays, received a list of length 3"


def test_biases_neither_zero_nor_normal_fail(asg, tmp_path):
    out = grade(asg, submission(tmp_path, biases="np.ones((1, d))"))["biases"]
    assert not out.passed
    text = "\n".join(out.lines)
    assert "not all 0 or N(0, 0.01^2)" in text
    assert "as all 0: 200 of 200 entries differ from 0" in text


def test_not_implemented_is_reported_plainly(asg, tmp_path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "hw2.py").write_text("def create_weight_matrices(layer_dims):\n    raise NotImplementedError\n\n"
                                   "def create_bias_vectors(layer_dims):\n    raise NotImplementedError\n")
    out = grade(asg, str(folder))["weights"]
    assert out.short == "create_weight_matrices is not implemented yet (it raises NotImplementedError)."


# ---- the statistics, without a worker --------------------------------------------------------

CFG = initializer.Config(steps=[], distributions={}, max_z=6.0, constant_atol=0.0)


def test_fit_bounds_are_in_standard_errors():
    x = np.full(10000, 0.01)          # rms exactly 0.01; mean 0.01 = 100 standard errors off
    assert "sample mean 0.01, expected 0 ± 0.0006" in initializer.fit(x, ("normal", 0.0, 0.01), CFG)
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 1000):
        assert initializer.fit(rng.normal(0, 0.01, n), ("normal", 0.0, 0.01), CFG) is None


def test_spec_errors_name_the_field(tmp_path):
    bad = SPEC.replace("Ws: [{normal: {mean: 0.0, std: 0.01}}]", "W: [{normal: {mean: 0.0, std: 0.01}}]")
    path = tmp_path / "init-demo.yaml"
    path.write_text(bad)
    with pytest.raises(SpecError, match=r"weights › distributions.W: 'W' is not returned by any step"):
        assignments.load(str(path))
    path.write_text(SPEC.replace("std: 0.01}}]\n  - name: biases", "sd: 0.01}}]\n  - name: biases"))
    with pytest.raises(SpecError, match="unknown key 'sd'"):
        assignments.load(str(path))
