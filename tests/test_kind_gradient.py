"""Central differences: accurate on smooth losses, an interval at kinks (any subgradient passes);
arguments above `verify_above` entries go to random-direction probes (nngrader.engine.gradverify)."""
import numpy as np
import pytest

from nngrader.core.errors import SpecError
from nngrader.core.model import Tolerance
from nngrader.engine import comparison
from nngrader.frontends import assignments
from nngrader.kinds import gradient

CFG = gradient.Config(inputs=None, steps=[], loss_steps=[], wrt=[], fd_step=gradient.DEFAULT_FD_STEP,
                      fd_tolerance=gradient.DEFAULT_FD_TOLERANCE, max_entries=100,
                      kink_threshold=gradient.DEFAULT_KINK_THRESHOLD)
TOL = {"float64": Tolerance(1e-5, 1e-8), "float32": Tolerance(2e-4, 1e-5)}


def test_smooth_loss_matches_the_analytic_gradient():
    x = np.random.default_rng(0).normal(size=(3, 4))
    lo, hi, _ = gradient.finite_differences(lambda e: float(np.sum(np.tanh(e["x"]) ** 2)), {"x": x}, "x", CFG, 0)
    exact = 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
    # Where curvature makes the one-sided slopes differ beyond the tolerance the interval is
    # kept; it is only h·|f''| wide and contains the derivative.
    assert np.all(hi - lo < 1e-4)
    assert np.all((lo - 1e-8 <= exact) & (exact <= hi + 1e-8))


def test_relu_kink_accepts_any_subgradient_and_nothing_else():
    x = np.array([-1.0, 0.0, 2.0, 0.0])
    lo, hi, _ = gradient.finite_differences(lambda e: float(np.sum(np.maximum(e["x"], 0))), {"x": x}, "x", CFG, 0)
    assert np.allclose(lo, [0, 0, 1, 0]) and np.allclose(hi, [0, 1, 1, 1])
    for sub in (0.0, 0.5, 1.0):
        assert comparison.compare("dx", lo, np.array([0, sub, 1, sub]), TOL, upper=hi) is None
    assert comparison.compare("dx", lo, np.array([0, 1.5, 1, 0]), TOL, upper=hi) is not None
    assert comparison.compare("dx", lo, np.array([1, 0, 1, 0]), TOL, upper=hi) is not None


def test_clipping_edge_is_a_kink_too():
    x = np.array([1.0, 0.3])
    lo, hi, _ = gradient.finite_differences(lambda e: float(np.sum(np.clip(e["x"], -1, 1))), {"x": x}, "x", CFG, 0)
    assert (lo[0], hi[0]) == (0.0, 1.0) or np.allclose([lo[0], hi[0]], [0, 1])
    assert np.isclose(lo[1], 1) and np.isclose(hi[1], 1)


def test_list_arguments_are_differentiated_by_index():
    Ws = [np.ones((2, 2)), np.full((2,), 3.0)]
    lo, _, _ = gradient.finite_differences(lambda e: float(np.sum(e["Ws"][1] ** 2)), {"Ws": Ws}, "Ws[1]", CFG, 0)
    assert np.allclose(lo, [6, 6])


def test_large_arguments_are_subsampled_deterministically():
    cfg = gradient.Config(**{**CFG.__dict__, "max_entries": 5})
    x = np.zeros(50)
    a = gradient.finite_differences(lambda e: float(np.sum(e["x"])), {"x": x}, "x", cfg, 7)[2]
    b = gradient.finite_differences(lambda e: float(np.sum(e["x"])), {"x": x}, "x", cfg, 7)[2]
    assert len(a) == 5 and list(a) == list(b)


# ---- large arguments: random-direction probes (nngrader.engine.gradverify) -------------------
BIG = gradient.Config(**{**CFG.__dict__, "verify_above": 1000})
CHECK = type("Check", (), {"tolerance": TOL})()


def _big_case():
    rng = np.random.default_rng(3)
    x, c = rng.normal(size=(50, 60)), rng.normal(size=(50, 60))

    def loss(env):
        return float(np.sum(c * np.tanh(env["x"])))
    return loss, {"x": x}, c * (1 - np.tanh(x) ** 2)


def test_a_large_argument_with_the_right_gradient_passes():
    loss, env, g = _big_case()
    assert gradient.check_argument(loss, env, "x", "dx", g, BIG, CHECK, {}, 0) is None
    assert gradient.check_argument(loss, env, "x", "dx", g.astype(np.float32), BIG, CHECK, {}, 0) is None


def test_one_wrong_entry_of_a_large_argument_is_named_with_both_values():
    loss, env, g = _big_case()
    bad = g.copy()
    bad[17, 42] += 1e-3
    m = gradient.check_argument(loss, env, "x", "dx", bad, BIG, CHECK, {}, 0)
    text = "\n".join([m.summary] + m.lines)
    assert "1 of 3000 entries differ" in text
    assert f"worst at dx[17, 42]: expected {g[17, 42]:.10g}, received {bad[17, 42]:.10g}" in text
    assert "random-direction probes over all entries: rejected" in text


def test_an_error_within_the_tolerance_passes_though_the_probes_see_it():
    loss, env, g = _big_case()
    bad = g.copy()
    bad[3, 4] += 1e-9 + 1e-6 * abs(g[3, 4])        # below atol + rtol |g| of the float64 tolerance
    assert gradient.check_argument(loss, env, "x", "dx", bad, BIG, CHECK, {}, 0) is None


def test_a_wrong_factor_everywhere_fails_through_the_entries():
    loss, env, g = _big_case()
    m = gradient.check_argument(loss, env, "x", "dx", 2 * g, BIG, CHECK, {}, 0)
    assert m is not None and "entries differ" in m.lines[0]


def test_a_large_argument_of_the_wrong_shape_is_a_shape_mismatch():
    loss, env, g = _big_case()
    m = gradient.check_argument(loss, env, "x", "dx", g.T, BIG, CHECK, {}, 0)
    assert "wrong shape" in m.summary


def test_small_arguments_keep_per_entry_differences():
    """Up to verify_above entries nothing changes: the per-entry differences decide."""
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    loss = lambda e: float(np.sum(e["x"] ** 3))                             # noqa: E731
    m = gradient.check_argument(loss, {"x": x}, "x", "dx", 3 * x ** 2 + (x == x[1, 2]) * 1e-3, BIG, CHECK, {}, 0)
    assert "worst at dx[1, 2]" in "\n".join(m.lines)
    assert not any("probes" in line for line in m.lines)


SPEC = """
assignment:
  id: toy
  module: assignment2
  reference: reference.sentiment_2layer
  contract: [inference_2layers, bce_forward, gradients]
checks:
  - name: fd
    kind: gradient
    points: 1
    VERIFY
    dims: {d: [1, 2], N: [1, 2], H: [1, 2]}
    args:
      X: {shape: [d, N], normal: 1.0}
      y: {shape: [N], binary: true}
      W1: {shape: [H, d], normal: 1.0}
      W2: {shape: [1, H], normal: 1.0}
      b1: {shape: [H], normal: 1.0}
      b2: {shape: [1], normal: 1.0}
    steps:
      - {call: gradients, args: [X, y, W1, W2, b1, b2],
         returns: [{name: dW1}, {name: dW2}, {name: db1}, {name: db2}, {name: L}]}
    loss_steps:
      - {call: inference_2layers, args: [X, W1, W2, b1, b2], returns: {name: yhat}}
      - {call: bce_forward, args: [yhat, y], returns: {name: loss}}
    wrt: {W1: dW1}
"""


def _load(tmp_path, verify):
    path = tmp_path / "toy.yaml"
    path.write_text(SPEC.replace("VERIFY", verify))
    return assignments.load(str(path)).checks[0].config


def test_verify_above_is_a_named_field_with_a_default(tmp_path):
    assert _load(tmp_path, "").verify_above == gradient.DEFAULT_VERIFY_ABOVE == 1000
    assert _load(tmp_path, "verify_above: 200").verify_above == 200


def test_verify_above_must_be_a_positive_integer(tmp_path):
    with pytest.raises(SpecError) as exc:
        _load(tmp_path, "verify_above: 0")
    assert "fd" in str(exc.value) and "verify_above" in str(exc.value)
