"""The random-direction gradient verifier (nngrader.engine.gradverify): properties on losses with
known gradients, planted errors above the reported detection limit, localisation, kinks, float32,
batching and the Taylor test. Every example is seeded; nothing is timed."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nngrader.engine import gradverify

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def linear(n, seed):
    rng = np.random.default_rng(seed)
    c, b = rng.normal(size=n), float(rng.normal())
    return (lambda t: float(c @ t + b)), (lambda t: c.copy()), rng.normal(size=n)


def quadratic(n, seed):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n)) / np.sqrt(n)
    A, b = M.T @ M + np.eye(n) * 0.1, rng.normal(size=n)
    return (lambda t: float(0.5 * t @ A @ t + b @ t)), (lambda t: A @ t + b), rng.normal(size=n)


def smooth(n, seed):
    """A small tanh network's loss in its weights: curvature in every direction."""
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(8, n)), rng.normal(size=8)

    def loss(t):
        return float(w @ np.tanh(X @ t) + 0.1 * np.sum(t ** 2))

    def grad(t):
        return X.T @ (w * (1 - np.tanh(X @ t) ** 2)) + 0.2 * t
    return loss, grad, rng.normal(size=n) * 0.5


LOSSES = {"linear": linear, "quadratic": quadratic, "smooth": smooth}
cases = st.tuples(st.sampled_from(sorted(LOSSES)), st.integers(1, 300), st.integers(0, 10 ** 6))


@SETTINGS
@given(cases)
def test_a_correct_gradient_is_accepted(case):
    name, n, seed = case
    loss, grad, theta = LOSSES[name](n, seed)
    rep = gradverify.verify(loss, grad(theta), theta, seed=seed)
    assert rep.ok, rep.describe()
    assert rep.wrong == [] and not rep.spread


@SETTINGS
@given(cases, st.integers(1, 5), st.floats(10.0, 1e4), st.integers(0, 10 ** 6))
def test_errors_above_the_detection_limit_are_caught_and_localised(case, count, factor, where):
    """The limit is the one the verifier reports for the correct gradient (|e|₂ missed with
    probability 1e-3); errors of `factor` times it, on 1 to 5 entries, are caught and found."""
    name, n, seed = case
    loss, grad, theta = LOSSES[name](n, seed)
    g = grad(theta)
    limit = gradverify.verify(loss, g, theta, seed=seed, localise=False).limits["θ"][0]
    rng = np.random.default_rng(where)
    idx = rng.choice(n, min(count, n), replace=False)
    e = np.zeros(n)
    e[idx] = rng.choice([-1.0, 1.0], idx.size) * rng.uniform(0.5, 1.0, idx.size)
    # every planted entry alone is `factor` times the limit (so localisable one by one)
    e *= factor * limit / np.min(np.abs(e[idx]))
    rep = gradverify.verify(loss, g + e, theta, seed=seed)
    assert not rep.ok
    assert {w.index for w in rep.wrong} == set(int(i) for i in idx), rep.describe()
    worst = rep.worst
    assert worst.claimed == (g + e)[worst.index]
    assert abs(worst.numerical - g[worst.index]) <= gradverify.TOLERANCE_MULTIPLE * worst.error


@SETTINGS
@given(cases, st.floats(10.0, 1e4))
def test_a_scaled_gradient_above_the_limit_is_rejected(case, factor):
    name, n, seed = case
    loss, grad, theta = LOSSES[name](n, seed)
    g = grad(theta)
    limit = gradverify.verify(loss, g, theta, seed=seed, localise=False).limits["θ"][0]
    scale = factor * limit / np.linalg.norm(g)
    rep = gradverify.verify(loss, g * (1 + scale), theta, seed=seed, localise=False)
    assert not rep.ok


def test_the_reported_limit_is_small_in_float64():
    loss, grad, theta = smooth(200, 3)
    g = grad(theta)
    rep = gradverify.verify(loss, g, theta, seed=0)
    limit, relative = rep.limits["θ"]
    assert rep.precision == "float64"
    assert 0 < relative < 1e-6, relative


def test_one_wrong_entry_among_many_is_localised_with_both_values():
    n = 20_000
    rng = np.random.default_rng(1)
    c = rng.normal(size=n)
    theta = rng.normal(size=n)

    def loss(t):
        return float(np.sum(np.log1p(np.exp(c * t))))

    g = c / (1 + np.exp(-c * theta))
    bad = g.copy()
    bad[12_345] += 1e-4 * np.max(np.abs(g))
    rep = gradverify.verify(loss, bad, theta, seed=5, blocks=[("W", (100, 200))])
    assert not rep.ok
    assert [w.index for w in rep.wrong] == [12_345]
    assert rep.worst.name == "W[61, 145]"
    assert rep.worst.claimed == bad[12_345]
    planted = bad[12_345] - g[12_345]
    assert abs(rep.worst.numerical - g[12_345]) <= gradverify.TOLERANCE_MULTIPLE * rep.worst.error < 1e-2 * planted
    text = "\n".join(rep.describe())
    assert "rejected" in text and "W[61, 145]: claimed" in text
    # localisation went by halves: far fewer evaluations than two per entry
    assert rep.evaluations < 200


def test_several_wrong_entries_in_several_blocks_are_all_found():
    loss, grad, theta = smooth(240, 11)
    g = grad(theta)
    bad = g.copy()
    planted = [3, 77, 78, 150, 239]
    bad[planted] += np.array([1e-3, -2e-3, 1e-3, 5e-4, -1e-3])
    rep = gradverify.verify(loss, bad, theta, seed=2, blocks=[("A", (10, 12)), ("B", (120,))])
    assert sorted(w.index for w in rep.wrong) == planted
    assert {w.name for w in rep.wrong} == {"A[0, 3]", "A[6, 5]", "A[6, 6]", "B[30]", "B[119]"}


def test_an_error_spread_over_every_entry_is_rejected_but_not_localised():
    loss, grad, theta = smooth(4000, 2)
    g = grad(theta)
    rep = gradverify.verify(loss, g * 1.01, theta, seed=0, max_wrong=8)
    assert not rep.ok and rep.spread
    assert "spread" in "\n".join(rep.describe())


def test_any_subgradient_at_a_kink_passes_and_a_wrong_slope_does_not():
    rng = np.random.default_rng(4)
    theta = rng.normal(size=30)
    theta[[2, 9, 17]] = 0.0                       # ReLU kinks exactly at the point
    c = rng.uniform(0.5, 2.0, size=30)

    def loss(t):
        return float(c @ np.maximum(t, 0))

    for sub in (0.0, 0.5, 1.0):
        g = c * (theta > 0) + sub * c * (theta == 0)
        rep = gradverify.verify(loss, g, theta, seed=1)
        assert rep.ok, rep.describe()
    # Every direction crosses the three kinks: a probe is then judged against the interval the
    # one-sided slopes span (as wide as the kinks' jumps), so only errors beyond it are seen.
    g = c * (theta > 0)
    g[5] += 30.0                                  # a wrong slope away from the kinks
    g[9] = -30.0                                  # outside [0, c] at a kink
    rep = gradverify.verify(loss, g, theta, seed=1)
    assert not rep.ok and rep.kinked
    assert sorted(w.index for w in rep.wrong) == [5, 9]
    at_kink = next(w for w in rep.wrong if w.index == 9)
    assert at_kink.low == 0 and abs(at_kink.high - c[9]) < 1e-6 and "a kink" in at_kink.describe()
    assert "crossed a kink" in "\n".join(rep.describe())


def test_a_float32_loss_widens_the_bound_and_says_so():
    loss64, grad, theta = smooth(100, 7)
    g = grad(theta)

    def loss32(t):
        return np.float32(loss64(t.astype(np.float32).astype(np.float64)))
    ok = gradverify.verify(loss32, g.astype(np.float32), theta, seed=0)
    assert ok.ok and ok.precision == "float32"
    assert any("float32" in n for n in ok.notes)
    limit64 = gradverify.verify(loss64, g, theta, seed=0).limits["θ"][0]
    assert ok.limits["θ"][0] > 100 * limit64
    bad = g.copy()
    bad[40] += 100 * ok.limits["θ"][0]
    assert not gradverify.verify(loss32, bad.astype(np.float32), theta, seed=0).ok


def test_noise_behind_a_float64_interface_is_measured():
    loss64, grad, theta = smooth(100, 8)
    g = grad(theta)
    # float32 arithmetic, then a float64 term: the values are not float32 numbers, their noise is
    g = g + 1e-3 * (np.arange(100) == 0)
    rep = gradverify.verify(lambda t: float(np.float32(loss64(t))) + 1e-3 * float(t[0]), g, theta, seed=0)
    assert rep.ok, rep.describe()
    assert "noise" in rep.precision


def test_a_round_of_probes_is_one_call_of_the_batched_loss():
    loss, grad, theta = smooth(50, 1)
    calls = []

    def batch(thetas):
        calls.append(len(thetas))
        return [loss(t) for t in thetas]
    rep = gradverify.verify(batch, grad(theta), theta, batched=True, seed=0)
    assert rep.ok
    assert calls[0] == 1 and calls[1] == 4 * gradverify.PROBES       # L(θ), then the whole round
    assert len(calls) == rep.calls <= 3 and sum(calls) == rep.evaluations


def test_the_same_seed_gives_the_same_report():
    loss, grad, theta = smooth(300, 9)
    bad = grad(theta)
    bad[[10, 200]] += 1e-3
    a = gradverify.verify(loss, bad, theta, seed=42)
    b = gradverify.verify(loss, bad, theta, seed=42)
    assert a.describe() == b.describe() and a.evaluations == b.evaluations


def test_taylor_remainders_shrink_as_h_squared_only_for_the_right_gradient():
    loss, grad, theta = smooth(60, 5)
    g = grad(theta)
    right = gradverify.taylor_test(loss, g, theta, seed=0)
    assert right.ok and abs(np.median(right.orders) - 2) < 0.2
    wrong = gradverify.taylor_test(loss, g + 1e-2 * np.abs(g).max() * (np.arange(60) == 7), theta, seed=0)
    assert not wrong.ok and abs(np.median(wrong.orders) - 1) < 0.3
    rep = gradverify.verify(loss, g, theta, seed=0, taylor=True)
    assert rep.taylor.ok


def test_a_gradient_of_the_wrong_size_is_a_usage_error():
    loss, grad, theta = linear(10, 0)
    try:
        gradverify.verify(loss, np.zeros(9), theta)
    except ValueError as exc:
        assert "9 entries" in str(exc)
    else:
        raise AssertionError("no error")
