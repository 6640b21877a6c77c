"""Verdicts on numbers: exact shapes, dtype-chosen tolerance, intervals, and hints from the numbers."""
import numpy as np
import pytest

from nngrader.engine import comparison
from nngrader.engine import hints
from nngrader.boundary import wire
from nngrader.core.model import Tolerance

TOL = {"float64": Tolerance(rtol=1e-6, atol=1e-9), "float32": Tolerance(rtol=2e-4, atol=1e-5)}
rng = np.random.default_rng(0)


def test_equal_values_pass_and_float32_gets_the_loose_tolerance():
    e = rng.normal(size=(3, 4))
    assert comparison.compare("x", e, e.copy(), TOL) is None
    assert comparison.compare("x", e, e.astype(np.float32), TOL) is None
    near = e * (1 + 1e-5)                       # fine for a float32 output, not for a float64 one
    assert comparison.compare("x", e, near.astype(np.float32), TOL) is None
    m = comparison.compare("x", e, near, TOL)
    assert m is not None and "tolerance (float64 output)" in "\n".join(m.lines)


def test_no_broadcasting_keepdims_bias_is_wrong_shape():
    e = rng.normal(size=(4,))
    m = comparison.compare("db1", e, e.reshape(1, 4), TOL)
    assert m.summary == "db1: wrong shape: expected (4,), received (1, 4)"
    assert m.hint == ""          # keepdims is a cause: named only by the diagnosis, with N >= 2


def test_transposed_shape_hint():
    e = rng.normal(size=(2, 3))
    m = comparison.compare("dW", e, e.T, TOL)
    assert "transpose" in m.hint


def test_accepted_alternative_shapes_and_scalars():
    e = rng.normal(size=(5,))
    assert comparison.compare("y", e, e.reshape(1, 5), TOL, dims={"N": 5}, accept=[[1, "N"]]) is None
    assert comparison.compare("L", np.array(0.3), [0.3], TOL) is None          # size-1 where a scalar is asked
    assert comparison.compare("L", np.array(0.3), np.float32(0.3), TOL) is None
    assert comparison.compare("y", np.array([0.3]), np.array(0.3), TOL) is not None   # (1,) asked: () is wrong


@pytest.mark.parametrize("factor,expected", [(3.0, "missing division by N"), (1 / 3, "once too often"),
                                             (2.0, "factor 2"), (-1.0, "sign")])
def test_ratio_hints(factor, expected):
    e = rng.normal(size=(3, 2)) + 0.5
    m = comparison.compare("g", e, e * factor, TOL, dims={"N": 3, "d": 2})
    # a fact in numbers; the cause (`expected`) is named only by the diagnosis, on evidence
    assert m.hint == f"received / expected = {factor:.6g} on all 6 non-zero entries"
    assert expected not in m.hint


def test_only_column_zero_differs():
    e = rng.normal(size=(3, 4))
    g = e.copy()
    g[:, 0] += 1.0
    assert "only column 0 differs" in comparison.compare("w", e, g, TOL).hint


def test_nan_and_zero_hints():
    e = rng.normal(size=(3,))
    assert "NaN or inf" in comparison.compare("x", e, np.array([np.nan, 1, 2]), TOL).hint
    assert "all zeros" in comparison.compare("x", e, np.zeros(3), TOL).hint


def test_worst_index_and_values_reported():
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = e.copy()
    g[1, 0] = 3.5
    m = comparison.compare("A", e, g, TOL)
    text = "\n".join(m.lines)
    assert "worst at A[1, 0]: expected 3, received 3.5" in text and "1 of 4 entries differ" in text


def test_interval_accepts_any_subgradient():
    lo, hi = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    assert comparison.compare("d", lo, np.array([0.5, 1.0]), TOL, upper=hi) is None
    assert comparison.compare("d", lo, np.array([1.5, 1.0]), TOL, upper=hi) is not None


def test_non_numeric_received_values():
    m = comparison.compare("x", np.ones(2), wire.Opaque("LyingArray", ""), TOL)
    assert "LyingArray object, not numbers" in m.summary
    assert "None" in comparison.compare("x", np.ones(2), None, TOL).summary


def test_shape_hint_broadcast_accident():
    assert "[mistake: broadcast_row_column]" in hints.shape_hint((4,), (4, 4), {})


_SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, 1.7e308, float("nan"), float("inf"), -float("inf")]


@pytest.mark.parametrize("scalar", [float, np.float64])
def test_the_quick_paths_decide_as_the_full_comparison(scalar):
    """Equal arrays and float scalars are decided before the full comparison when they pass: the
    verdict is the full comparison's (an interval [e, e] always takes the long way), NaN,
    infinities, -0.0 and overflow included."""
    from hypothesis import given, settings, strategies as st
    value = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_SPECIAL))
    tol = st.builds(Tolerance, rtol=st.sampled_from([0.0, 1e-9, 1e-6, 0.5]), atol=st.sampled_from([0.0, 1e-12, 1e-6]))

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(st.lists(value, min_size=0, max_size=6), st.lists(value, min_size=0, max_size=6), tol, st.booleans())
    def agree(a, b, t, same):
        tols = {"float64": t, "float32": t}
        e = np.array(a, dtype=np.float64)
        r = e.copy() if same else np.array((b + a)[:len(a)], dtype=np.float64)
        for exp, got in ((e, r), *(((scalar(x), scalar(y)) for x, y in zip(a, (b + a)[:len(a)])))):
            with np.errstate(all="ignore"):
                quick = comparison.compare("x", exp, got, tols) is None
                full = comparison.compare("x", exp, got, tols, upper=exp) is None
            assert quick == full, (exp, got, t)
    agree()
