"""External truth for reference/ocr_neuralnet.py (assignment `ocr-neuralnet`, handout 003).

Truth used: the handout's published outputs for `2 4 2 0.1` on the small data (small_out/),
the handout's unit-test vectors (unittest_data.pk), the contract in
shared/specs/ocr-neuralnet.md, and central differences.
"""
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from reference import ocr_neuralnet as R

try:
    from tests.helpers_reference import (REPO_ROOT, DATA as COURSE_DATA, assert_grad_close, hyp,
                                         numeric_grad, rng_array)
except ImportError:  # tests/ not importable as a package
    from helpers_reference import (REPO_ROOT, DATA as COURSE_DATA, assert_grad_close, hyp,
                                   numeric_grad, rng_array)

DATA = COURSE_DATA / "ocr-neuralnet"
TIGHT = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def unit():
    with open(DATA / "unittest_data.pk", "rb") as f:
        return pickle.load(f)


# --------------------------------------------------------------------------- the program


@pytest.fixture(scope="module")
def program_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ocr")
    out = {"train": tmp / "train.labels", "val": tmp / "val.labels", "metrics": tmp / "metrics.txt"}
    cmd = [sys.executable, "-m", "reference.ocr_neuralnet",
           str(DATA / "small_train.csv"), str(DATA / "small_validation.csv"),
           str(out["train"]), str(out["val"]), str(out["metrics"]), "2", "4", "2", "0.1"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def test_program_train_labels_byte_identical(program_run):
    assert program_run["train"].read_bytes() == (DATA / "small_out" / "small_train_output.labels").read_bytes()


def test_program_validation_labels_byte_identical(program_run):
    assert program_run["val"].read_bytes() == (DATA / "small_out" / "small_validation_out.labels").read_bytes()


LOSS_LINE = re.compile(r"^epoch=(\d+) crossentropy\((train|validation)\): (\S+)$")


def test_program_metrics_match_published(program_run):
    got_text = program_run["metrics"].read_text()
    want_text = (DATA / "small_out" / "small_metrics_out.txt").read_text()
    assert got_text.endswith("\n") and "\r" not in got_text
    got, want = got_text.splitlines(), want_text.splitlines()
    assert len(got) == len(want) == 6
    for g, w in zip(got[:4], want[:4]):
        mg, mw = LOSS_LINE.match(g), LOSS_LINE.match(w)
        assert mg and mw, (g, w)
        assert mg.group(1, 2) == mw.group(1, 2)                  # same epoch, same split, same order
        assert abs(float(mg.group(3)) - float(mw.group(3))) <= 1e-12, (g, w)
    assert got[4:] == want[4:] == ["error(train): 0.73", "error(validation): 0.72"]


def test_published_losses_are_what_the_readme_says():
    """Guards the data itself: the README's external values are the ones in small_out/."""
    text = (DATA / "small_out" / "small_metrics_out.txt").read_text()
    vals = [float(m.group(3)) for m in map(LOSS_LINE.match, text.splitlines()[:4])]
    assert vals == [2.141567091095015, 2.1502231738985627, 1.864262996391707, 1.8780601379038742]


# --------------------------------------------------------------------------- unit-test vectors


@pytest.mark.parametrize("case", [0, 1])
def test_linear_forward_vectors(unit, case):
    w, x_bias, expected = unit["linear_forward"][case]
    layer = R.Linear(x_bias.size - 1, w.shape[0], R.zero_init, 0.0)
    assert layer.w.shape == w.shape
    # forward() folds in a bias input of 1; the vector's x[0] is not always 1, so fold it into w.
    layer.w = w.astype(np.float64).copy()
    layer.w[:, 0] = w[:, 0] * x_bias[0]
    got = layer.forward(x_bias[1:].copy())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TIGHT)


def test_linear_backward_vector(unit):
    x_bias, w, dx_expected, dw_expected = unit["linear_backward"]
    layer = R.Linear(x_bias.size - 1, w.shape[0], R.zero_init, 0.0)
    layer.w = w.copy()
    z = layer.forward(x_bias[1:].copy())
    dx = layer.backward(np.ones_like(z))
    assert dx.shape == dx_expected.shape == (7,)
    np.testing.assert_allclose(dx, dx_expected, **TIGHT)
    assert layer.dw.shape == dw_expected.shape == (3, 8)
    np.testing.assert_allclose(layer.dw, dw_expected, **TIGHT)
    np.testing.assert_array_equal(layer.w, w)                 # backward does not touch w


@pytest.mark.parametrize("case", [0, 1])
def test_sigmoid_forward_vectors(unit, case):
    x, expected = unit["sigmoid_forward"][case]
    np.testing.assert_allclose(R.Sigmoid().forward(x.copy()), expected, **TIGHT)


def test_sigmoid_backward_vector(unit):
    x, expected = unit["sigmoid_backward"]
    s = R.Sigmoid()
    s.forward(x.copy())
    np.testing.assert_allclose(s.backward(np.ones_like(x)), expected, **TIGHT)


@pytest.mark.parametrize("case", [0, 1])
def test_softmax_forward_vectors(unit, case):
    z, expected = unit["softmax_forward"][case]
    got = R.SoftMaxCrossEntropy()._softmax(z.copy())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TIGHT)


def test_cross_entropy_forward_vector(unit):
    y_hat, label, expected = unit["ce_forward"]
    assert abs(float(R.SoftMaxCrossEntropy()._cross_entropy(label, y_hat.copy())) - expected) <= 1e-12


def test_cross_entropy_backward_vector(unit):
    label, y_hat, expected = unit["ce_backward"]
    np.testing.assert_allclose(R.SoftMaxCrossEntropy().backward(label, y_hat.copy()), expected, **TIGHT)


def _check_forward_backward(nn, case):
    x_bias, label, yhat_expected, dw1_expected, dw2_expected = case
    y_hat, loss = nn.forward(x_bias[1:].copy(), label)
    np.testing.assert_allclose(y_hat, yhat_expected, **TIGHT)
    assert abs(loss - (-np.log(yhat_expected[label]))) <= 1e-12
    nn.backward(label, y_hat)
    assert nn.linear1.dw.shape == dw1_expected.shape == (4, 6)
    assert nn.linear2.dw.shape == dw2_expected.shape == (10, 5)
    np.testing.assert_allclose(nn.linear1.dw, dw1_expected, **TIGHT)
    np.testing.assert_allclose(nn.linear2.dw, dw2_expected, **TIGHT)


def test_forward_backward_vector_zero_init(unit):
    """Case 1 is the handout's tests.py TestNN case: NN(5, 4, 10, zero_init, 1)."""
    _check_forward_backward(R.NN(5, 4, 10, R.zero_init, 1.0), unit["forward_backward"][0])


def test_forward_backward_vector_random_weights(unit):
    """Case 2 (not used by the handout's tests.py) is reproduced neither by zero_init nor by the
    canonical starter's random_init((out, in + 1)); it is reproduced exactly by the weights
    [0 | random_init((out, in))] (the other-random-values variant the contract mentions).
    Set those weights explicitly so that the vector still checks forward and backward."""
    nn = R.NN(5, 4, 10, R.zero_init, 1.0)
    nn.linear1.w = np.hstack([np.zeros((4, 1)), R.random_init((4, 5))])
    nn.linear2.w = np.hstack([np.zeros((10, 1)), R.random_init((10, 4))])
    _check_forward_backward(nn, unit["forward_backward"][1])


def test_random_init_network_follows_canonical_starter():
    """Contract: Linear calls weight_init_fn((out, in + 1)) and then zeroes column 0."""
    nn = R.NN(5, 4, 10, R.random_init, 1.0)
    for layer, shape in ((nn.linear1, (4, 6)), (nn.linear2, (10, 5))):
        np.random.seed(shape[0] * shape[1])
        want = np.random.uniform(-0.1, 0.1, shape)
        want[:, 0] = 0.0
        np.testing.assert_array_equal(layer.w, want)
        np.testing.assert_array_equal(layer.dw, np.zeros(shape))


# --------------------------------------------------------------------------- contract details


@pytest.mark.parametrize("shape", [(4, 6), (10, 5), (1, 20), (20, 1), (7, 129)])
def test_random_init_seeds_with_M_times_D(shape):
    got = R.random_init(shape)
    np.random.seed(shape[0] * shape[1])
    want = np.random.uniform(-0.1, 0.1, shape)
    np.testing.assert_array_equal(got, want)
    assert got.shape == shape and (np.abs(got) <= 0.1).all()


def test_zero_init():
    z = R.zero_init((3, 5))
    assert z.shape == (3, 5) and not z.any()


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_shuffle_matches_contract(epoch):
    X = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.arange(10) * 7
    Xs, ys = R.shuffle(X, y, epoch)
    np.random.seed(epoch)
    p = np.random.permutation(len(y))
    np.testing.assert_array_equal(Xs, X[p])
    np.testing.assert_array_equal(ys, y[p])


def test_linear_backward_keeps_w_and_step_is_sgd():
    rng = np.random.default_rng(7)
    layer = R.Linear(3, 2, R.zero_init, 0.3)
    layer.w = rng_array(rng, (2, 4))
    w0 = layer.w.copy()
    layer.forward(rng_array(rng, 3))
    layer.backward(rng_array(rng, 2))
    np.testing.assert_array_equal(layer.w, w0)
    dw = layer.dw.copy()
    assert np.abs(dw).min() > 0
    layer.step()
    np.testing.assert_allclose(layer.w, w0 - 0.3 * dw, rtol=0, atol=1e-15)


def test_test_ties_go_to_smallest_index_and_error_rate():
    nn = R.NN(3, 2, 10, R.zero_init, 0.1)       # all outputs equal -> every label 0
    X = np.ones((4, 3))
    labels, err = nn.test(X, np.array([0, 1, 0, 3]))
    np.testing.assert_array_equal(labels, [0, 0, 0, 0])
    assert err == 0.5


# --------------------------------------------------------------------------- central differences


@hyp(25)
@given(M=st.integers(1, 5), D=st.integers(1, 4), K=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_nn_backward_matches_central_differences(M, D, K, seed):
    rng = np.random.default_rng(seed)
    nn = R.NN(M, D, K, R.zero_init, 0.1)
    nn.linear1.w = rng_array(rng, (D, M + 1))
    nn.linear2.w = rng_array(rng, (K, D + 1))
    x = rng_array(rng, M)
    y = int(rng.integers(K))
    y_hat, loss = nn.forward(x, y)
    nn.backward(y, y_hat)
    dw1, dw2 = nn.linear1.dw.copy(), nn.linear2.dw.copy()

    def f():
        return nn.forward(x, y)[1]

    assert_grad_close(dw1, numeric_grad(f, nn.linear1.w), "linear1.dw")
    assert_grad_close(dw2, numeric_grad(f, nn.linear2.w), "linear2.dw")


@hyp(25)
@given(M=st.integers(1, 6), K=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_modules_backward_match_central_differences(M, K, seed):
    """Each module's backward against central differences of <forward(x), upstream>."""
    rng = np.random.default_rng(seed)
    up = rng_array(rng, K)
    # Linear: dL/dx and dw
    lin = R.Linear(M, K, R.zero_init, 0.0)
    lin.w = rng_array(rng, (K, M + 1))
    x = rng_array(rng, M)
    lin.forward(x)
    dx = lin.backward(up)
    assert_grad_close(dx, numeric_grad(lambda: lin.forward(x) @ up, x), "Linear dx")
    assert_grad_close(lin.dw, numeric_grad(lambda: R.Linear.forward(lin, x) @ up, lin.w), "Linear dw")
    # Sigmoid
    s = R.Sigmoid()
    a = rng_array(rng, K, 2.0)
    s.forward(a)
    ds = s.backward(up)
    assert_grad_close(ds, numeric_grad(lambda: R.Sigmoid().forward(a) @ up, a), "Sigmoid")
    # Softmax + cross-entropy (K >= 1; a single class has zero gradient)
    z = rng_array(rng, K, 2.0)
    y = int(rng.integers(K))
    sce = R.SoftMaxCrossEntropy()
    y_hat, _ = sce.forward(z, y)
    assert_grad_close(sce.backward(y, y_hat), numeric_grad(lambda: sce.forward(z, y)[1], z), "softmax-CE")
