"""Central differences: accurate on smooth losses, an interval at kinks (any subgradient passes)."""
import numpy as np

from nngrader.engine import comparison
from nngrader.kinds import gradient
from nngrader.core.model import Tolerance

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
