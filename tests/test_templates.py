"""The student templates in student_impl/ against the reference modules.

For each assignment: the template imports cleanly and does nothing at import time; it has every
contract name with the reference's signature; everything the student writes raises
NotImplementedError; and the code the handout gives behaves like the reference.
"""
import ast
import contextlib
import functools
import importlib
import importlib.util
import inspect
import io
import pickle
import subprocess
import sys
import warnings
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "student_impl"
OCR_DATA = Path(__file__).resolve().parents[1] / "data" / "ocr-neuralnet"

# assignment id -> (template file, reference module)
ASSIGNMENTS = {
    "sentiment-2layer": ("assignment2.py", "reference.sentiment_2layer"),
    "modules-lab": ("nn_lab.py", "reference.modules_lab"),
    "worked-backprop": ("worked.py", "reference.worked_backprop"),
    "ocr-neuralnet": ("neuralnet.py", "reference.ocr_neuralnet"),
    "mnist-backprop": ("hw2.py", "reference.mnist_backprop"),
}

# The contract's names, from the tables in shared/specs/. "Cls" stands for the constructor
# (compared through inspect.signature(Cls)), "Cls.meth" for a method.
CONTRACT = {
    "sentiment-2layer": [
        "sigmoid", "inference_layer", "inference_2layers", "bce_forward", "gradients",
        "update_params", "train_nn",
    ],
    "modules-lab": [
        "Linear", "Linear.forward", "Linear.backward", "relu", "relu_backward", "tanh",
        "tanh_backward", "softmax", "cross_entropy", "softmax_cross_entropy_backward",
        "l2_penalty", "l2_penalty_grad", "MLP", "MLP.forward", "MLP.backward",
    ],
    "worked-backprop": ["softmax_jacobian", "elu_grad", "two_layer_grads"],
    "ocr-neuralnet": [
        # args2data is the handout's given loader; it keeps the reference's signature.
        "args2data", "shuffle", "zero_init", "random_init",
        "SoftMaxCrossEntropy", "SoftMaxCrossEntropy._softmax",
        "SoftMaxCrossEntropy._cross_entropy", "SoftMaxCrossEntropy.forward",
        "SoftMaxCrossEntropy.backward",
        "Sigmoid", "Sigmoid.forward", "Sigmoid.backward",
        "Linear", "Linear.forward", "Linear.backward", "Linear.step",
        "NN", "NN.forward", "NN.backward", "NN.step", "NN.compute_loss", "NN.train", "NN.test",
    ],
    "mnist-backprop": [
        "sigmoid_activation", "logistic_loss", "relu_activation", "layer_forward",
        "create_weight_matrices", "create_bias_vectors", "forward_pass", "backward_pass",
        "finite_difference_checker",
    ],
}

# Functions and classes the reference defines that are not part of the contract, so a template
# need not have them. Constants are never compared (only functions and classes are collected).
EXCLUDED = {
    "sentiment-2layer": {
        "features_matrix": "reference helper stacking the handed-out utils.extract_features rows",
        "test_accuracy": "grading helper: accuracy of returned parameters on the held-back tweets",
    },
    "modules-lab": {
        "relu_backward_subgradient_one": "grading helper: the other end of the subgradient interval at x == 0",
    },
    "worked-backprop": {
        "problem1": "Problems 1 and 2 are answered in answers.yaml, not in code",
        "problem2": "Problems 1 and 2 are answered in answers.yaml, not in code",
        "answers": "produces the numbers answers.yaml is compared with",
        "two_layer_loss": "reference helper for checking two_layer_grads",
        "elu_grad_left_at_zero": "grading helper: the other accepted value (alpha) at x == 0 (alternatives)",
        "two_layer_grads_slope_one_at_zero": "grading helper: LeakyReLU's other accepted slope (1) at z1 == 0 (alternatives)",
    },
    "ocr-neuralnet": {
        "build_parser": "program plumbing: the contract is the command line, checked by running the program",
        "write_outputs": "program plumbing: the contract is the output files' format",
        "main": "program plumbing: the contract is the command line and the output files",
        "main_init_without_bias_column": "grading helper: the program with a known init mistake, to recognise it",
        "unittest_linear_forward": "fixture converter of the handout's unittest_data.pk",
        "unittest_linear_backward": "fixture converter of the handout's unittest_data.pk",
        "unittest_sigmoid_forward": "fixture converter of the handout's unittest_data.pk",
        "unittest_sigmoid_backward": "fixture converter of the handout's unittest_data.pk",
        "unittest_softmax_forward": "fixture converter of the handout's unittest_data.pk",
        "unittest_ce_forward": "fixture converter of the handout's unittest_data.pk",
        "unittest_ce_backward": "fixture converter of the handout's unittest_data.pk",
        "unittest_forward_backward": "fixture converter of the handout's unittest_data.pk",
    },
    "mnist-backprop": {
        "relu_activation_at_kink_one": "grading helper: the other accepted subgradient at 0 (alternatives)",
        "published_test_batch": "fixture converter: the handout's test batch with its published values",
        "published_test_batch_gradients": "fixture converter: the handout's test batch, published gradients only",
    },
}

# Contract names whose code the handout gives (filled in by the template); all others raise.
GIVEN = {
    "sentiment-2layer": set(),
    "modules-lab": {"Linear", "tanh", "softmax", "softmax_cross_entropy_backward",
                    "MLP", "MLP.forward", "MLP.backward"},
    "worked-backprop": set(),
    "ocr-neuralnet": {"args2data", "shuffle", "SoftMaxCrossEntropy", "Sigmoid", "Linear"},
    "mnist-backprop": set(),
}

ANSWERS_YAML = TEMPLATES / "worked-backprop" / "answers.yaml"
OCR_ARGS = ["small_train.csv", "small_validation.csv"]


def template_path(aid):
    return TEMPLATES / aid / ASSIGNMENTS[aid][0]


def import_template(aid, suffix=""):
    """Execute a template under a module name of its own, without registering it in sys.modules,
    so no two templates (nor a template and a student's real module) can collide."""
    name = "student_template_" + aid.replace("-", "_") + suffix
    spec = importlib.util.spec_from_file_location(name, template_path(aid))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def template(aid):
    return import_template(aid)


def reference(aid):
    return importlib.import_module(ASSIGNMENTS[aid][1])


def members(module):
    """Public functions and classes defined in module, and every non-dunder method of those
    classes (single-underscore methods such as `_softmax` are part of the ocr contract)."""
    out = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            out[name] = obj
        elif inspect.isclass(obj):
            out[name] = obj
            for meth, fn in vars(obj).items():
                if inspect.isfunction(fn) and not (meth.startswith("__") and meth.endswith("__")):
                    out[f"{name}.{meth}"] = fn
    return out


def lookup(module, dotted):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def parameters(obj):
    """What the grader relies on: parameter names, kinds and defaults (annotations ignored)."""
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(obj).parameters.values()]


@pytest.fixture(autouse=True)
def _keep_global_rng():
    """Several templates and reference functions seed np.random: restore it for other tests."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


# --------------------------------------------------------------------------- import

ALLOWED_TOP_LEVEL = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_main_guard(node):
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and len(node.test.comparators) == 1
            and isinstance(node.test.comparators[0], ast.Constant)
            and node.test.comparators[0].value == "__main__")


def _is_literal_assignment(node):
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def _imported_roots(node):
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return ["." if node.level else node.module.split(".")[0]]
    return []


@pytest.mark.parametrize("aid", list(ASSIGNMENTS))
def test_template_does_no_work_at_import_and_imports_only_numpy_and_stdlib(aid):
    tree = ast.parse(template_path(aid).read_text(), filename=str(template_path(aid)))
    for i, node in enumerate(tree.body):
        docstring = (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                     and isinstance(node.value.value, str))
        assert (docstring or isinstance(node, ALLOWED_TOP_LEVEL) or _is_main_guard(node)
                or _is_literal_assignment(node)), (
            f"{aid}: line {node.lineno} runs code at import time ({type(node).__name__}); "
            "only imports, definitions, literal constants and the __main__ guard belong at top level")
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        for root in _imported_roots(node):
            # The course's utils.py may only be imported lazily (inside train_nn), so the module
            # still imports where utils.py is absent.
            nested_utils_ok = aid == "sentiment-2layer" and root == "utils" and id(node) not in top_level
            assert root in allowed or nested_utils_ok, (
                f"{aid}: line {node.lineno} imports {root!r}; templates import only numpy and the "
                "standard library")


@pytest.mark.parametrize("aid", list(ASSIGNMENTS))
def test_template_imports_cleanly(aid):
    rng_before = np.random.get_state()
    out, err = io.StringIO(), io.StringIO()
    modules_before = set(sys.modules)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            module = import_template(aid, suffix="_fresh")
    assert out.getvalue() == "" and err.getvalue() == "", f"{aid}: importing printed something"
    after = np.random.get_state()
    assert rng_before[0] == after[0] and np.array_equal(rng_before[1], after[1]) \
        and rng_before[2:] == after[2:], f"{aid}: importing touched np.random"
    assert module.__name__ not in sys.modules
    new = {m.split(".")[0] for m in set(sys.modules) - modules_before}
    assert not new & {"reference", "nngrader", "utils"}, f"{aid}: importing pulled in {new}"


# --------------------------------------------------------------------------- names and signatures

@pytest.mark.parametrize("aid", list(ASSIGNMENTS))
def test_reference_names_are_all_contract_or_excluded(aid):
    """Keeps the two lists above honest: every reference function/class is classified once."""
    contract, excluded = set(CONTRACT[aid]), set(EXCLUDED[aid])
    assert not contract & excluded
    ref = set(members(reference(aid)))
    assert ref - contract - excluded == set(), (
        f"{aid}: reference defines {sorted(ref - contract - excluded)}, neither in CONTRACT nor EXCLUDED")
    assert contract - ref == set(), f"{aid}: reference lacks contract names {sorted(contract - ref)}"
    assert excluded - ref == set(), f"{aid}: stale exclusions {sorted(excluded - ref)}"


SIGNATURE_CASES = [(aid, name) for aid in ASSIGNMENTS for name in CONTRACT[aid]]


@pytest.mark.parametrize("aid,name", SIGNATURE_CASES, ids=[f"{a}::{n}" for a, n in SIGNATURE_CASES])
def test_template_signature_matches_reference(aid, name):
    ref_obj = lookup(reference(aid), name)
    try:
        tpl_obj = lookup(template(aid), name)
    except AttributeError:
        pytest.fail(f"{aid}: template {ASSIGNMENTS[aid][0]} has no {name}")
    assert inspect.isclass(tpl_obj) == inspect.isclass(ref_obj), f"{aid}: {name} is the wrong kind of object"
    if "." in name:
        owner, meth = name.split(".")
        assert meth in vars(lookup(template(aid), owner)), f"{aid}: {name} is inherited, not defined"
    assert parameters(tpl_obj) == parameters(ref_obj), (
        f"{aid}: {name}{inspect.signature(tpl_obj)} in the template, "
        f"{name}{inspect.signature(ref_obj)} in the reference")


# --------------------------------------------------------------------------- student code raises

X3 = np.array([[0.5, -1.0], [2.0, 0.0], [-0.3, 1.5]])            # (d=3, N=2), examples as columns
SENT = dict(W1=np.full((4, 3), 0.1), b1=np.zeros(4), W2=np.full((1, 4), 0.2), b2=np.zeros(1))
FAKE_UTILS = '''
import numpy as np

def extract_features(tweet, freqs):
    return np.array([[1.0, float(len(tweet)), 0.0]])
'''


def _call_train_nn(mod, tmp_path):
    """train_nn with a valid pickle and a stand-in utils.py on sys.path, cleaned up afterwards."""
    (tmp_path / "utils.py").write_text(FAKE_UTILS)
    data = {"train_x": ["good day", "bad day"], "train_y": np.array([[1.0], [0.0]]),
            "test_x": ["fine"], "test_y": np.array([[1.0]]),
            "freqs": {("good", 1.0): 2, ("bad", 0.0): 3}}
    pkl = tmp_path / "twitter_data.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(data, f)
    saved = sys.modules.pop("utils", None)
    sys.path.insert(0, str(tmp_path))
    try:
        mod.train_nn(str(pkl), 2, iters=3, lr=0.1)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("utils", None)
        if saved is not None:
            sys.modules["utils"] = saved


def _relu_pair(s):
    return np.maximum(0.0, s), (s > 0).astype(float)


def _ocr_linear(m):
    return m.Linear(3, 2, lambda shape: np.full(shape, 0.05), 0.1)


def _bare(cls):
    """An instance whose __init__ (itself student code) has not run."""
    return object.__new__(cls)


MB_X = np.array([[0.1, -0.2, 0.3, 0.4], [0.0, 0.5, -0.1, 0.2]])   # (n=2, d_in=4)
MB_W = [np.full((4, 2), 0.1), np.full((2, 1), -0.2)]
MB_B = [np.zeros((1, 2)), np.zeros((1, 1))]
MB_Y = np.array([1.0, 0.0])
W1_7, b1_7 = np.full((2, 3), 0.1), np.zeros((2, 1))
W2_7, b2_7 = np.full((4, 2), -0.1), np.zeros((4, 1))
ONEHOT4 = np.array([[0.0], [1.0], [0.0], [0.0]])

STUDENT_CALLS = {
    "sentiment-2layer": {
        "sigmoid": lambda m, t: m.sigmoid(np.array([-1.0, 0.0, 2.0])),
        "inference_layer": lambda m, t: m.inference_layer(X3, SENT["W1"], SENT["b1"]),
        "inference_2layers": lambda m, t: m.inference_2layers(X3, SENT["W1"], SENT["W2"], SENT["b1"], SENT["b2"]),
        "bce_forward": lambda m, t: m.bce_forward(np.array([0.2, 0.7]), np.array([0.0, 1.0])),
        "gradients": lambda m, t: m.gradients(X3, np.array([0.0, 1.0]), SENT["W1"], SENT["W2"], SENT["b1"], SENT["b2"]),
        "update_params": lambda m, t: m.update_params(X3, np.array([0.0, 1.0]), SENT["W1"], SENT["b1"],
                                                      SENT["W2"], SENT["b2"], lr=0.1),
        "train_nn": _call_train_nn,
    },
    "modules-lab": {
        "Linear.forward": lambda m, t: m.Linear(3, 2).forward(np.ones((4, 3))),
        "Linear.backward": lambda m, t: _linear_backward_after_forward(m),
        "relu": lambda m, t: m.relu(np.array([-2.0, 0.0, 3.0])),
        "relu_backward": lambda m, t: m.relu_backward(np.array([-2.0, 0.5, 3.0]), np.full(3, 10.0)),
        "tanh_backward": lambda m, t: m.tanh_backward(np.array([-2.0, 0.5]), np.ones(2)),
        "cross_entropy": lambda m, t: m.cross_entropy(np.array([[0.5, 0.5, 0.0]]), np.array([[1.0, 0.0, 0.0]])),
        "l2_penalty": lambda m, t: m.l2_penalty(np.ones((2, 3)), 0.01),
        "l2_penalty_grad": lambda m, t: m.l2_penalty_grad(np.ones((2, 3)), 0.01),
    },
    "worked-backprop": {
        "softmax_jacobian": lambda m, t: m.softmax_jacobian(np.array([1.0, 2.0, 0.5])),
        "elu_grad": lambda m, t: m.elu_grad(np.array([-1.0, 0.0, 2.0]), 1.0),
        "two_layer_grads": lambda m, t: m.two_layer_grads(np.array([[1.0], [0.5], [-1.0]]), ONEHOT4,
                                                          W1_7, b1_7, W2_7, b2_7),
    },
    "ocr-neuralnet": {
        "zero_init": lambda m, t: m.zero_init((3, 5)),
        "random_init": lambda m, t: m.random_init((3, 5)),
        "SoftMaxCrossEntropy._softmax": lambda m, t: m.SoftMaxCrossEntropy()._softmax(np.array([1.0, 2.0, 0.0])),
        "SoftMaxCrossEntropy._cross_entropy": lambda m, t: m.SoftMaxCrossEntropy()._cross_entropy(
            1, np.array([0.2, 0.5, 0.3])),
        "SoftMaxCrossEntropy.forward": lambda m, t: m.SoftMaxCrossEntropy().forward(np.array([1.0, 2.0, 0.0]), 1),
        "SoftMaxCrossEntropy.backward": lambda m, t: m.SoftMaxCrossEntropy().backward(1, np.array([0.2, 0.5, 0.3])),
        "Sigmoid.forward": lambda m, t: m.Sigmoid().forward(np.array([-1.0, 0.0, 1.0])),
        "Sigmoid.backward": lambda m, t: m.Sigmoid().backward(np.array([0.1, 0.2, 0.3])),
        "Linear.forward": lambda m, t: _ocr_linear(m).forward(np.array([1.0, 0.0, 1.0])),
        "Linear.backward": lambda m, t: _ocr_linear(m).backward(np.array([0.5, -0.5])),
        "Linear.step": lambda m, t: _ocr_linear(m).step(),
        "NN": lambda m, t: m.NN(3, 2, 10, lambda shape: np.zeros(shape), 0.1),
        "NN.forward": lambda m, t: _bare(m.NN).forward(np.array([1.0, 0.0, 1.0]), 4),
        "NN.backward": lambda m, t: _bare(m.NN).backward(4, np.full(10, 0.1)),
        "NN.step": lambda m, t: _bare(m.NN).step(),
        "NN.compute_loss": lambda m, t: _bare(m.NN).compute_loss(np.eye(3), np.array([0, 1, 2])),
        "NN.train": lambda m, t: _bare(m.NN).train(np.eye(3), np.array([0, 1, 2]), np.eye(3),
                                                   np.array([2, 1, 0]), 1),
        "NN.test": lambda m, t: _bare(m.NN).test(np.eye(3), np.array([0, 1, 2])),
    },
    "mnist-backprop": {
        "sigmoid_activation": lambda m, t: m.sigmoid_activation(np.array([1.0, 0.0, -1.0])),
        "logistic_loss": lambda m, t: m.logistic_loss(np.array([[0.3], [0.8]]), MB_Y),
        "relu_activation": lambda m, t: m.relu_activation(MB_X),
        "layer_forward": lambda m, t: m.layer_forward(MB_X, MB_W[0], MB_B[0], _relu_pair),
        "create_weight_matrices": lambda m, t: m.create_weight_matrices([4, 2, 1]),
        "create_bias_vectors": lambda m, t: m.create_bias_vectors([4, 2, 1]),
        "forward_pass": lambda m, t: m.forward_pass(MB_X, MB_W, MB_B, [_relu_pair, _relu_pair]),
        "backward_pass": lambda m, t: m.backward_pass(np.array([[0.5], [-0.5]]), _reference_mnist_caches()),
        "finite_difference_checker": lambda m, t: m.finite_difference_checker(
            MB_X, MB_Y, [w.copy() for w in MB_W], [b.copy() for b in MB_B], [_relu_pair, _relu_pair]),
    },
}


def _linear_backward_after_forward(m):
    layer = m.Linear(3, 2)
    layer.x = np.ones((4, 3))      # what a forward call would have kept
    return layer.backward(np.ones((4, 2)))


def _reference_mnist_caches():
    ref = reference("mnist-backprop")
    _, caches = ref.forward_pass(MB_X, MB_W, MB_B, [ref.relu_activation, ref.sigmoid_activation])
    return caches


@pytest.mark.parametrize("aid", list(ASSIGNMENTS))
def test_every_contract_name_is_either_given_or_raises(aid):
    student, given = set(STUDENT_CALLS[aid]), GIVEN[aid]
    assert not student & given
    assert student | given == set(CONTRACT[aid]), (
        f"{aid}: unclassified {sorted(set(CONTRACT[aid]) - student - given)}, "
        f"unknown {sorted((student | given) - set(CONTRACT[aid]))}")


RAISE_CASES = [(aid, name) for aid in ASSIGNMENTS for name in STUDENT_CALLS[aid]]


@pytest.mark.parametrize("aid,name", RAISE_CASES, ids=[f"{a}::{n}" for a, n in RAISE_CASES])
def test_student_code_raises_not_implemented(aid, name, tmp_path):
    with pytest.raises(NotImplementedError):
        STUDENT_CALLS[aid][name](template(aid), tmp_path)


def test_sentiment_template_imports_without_utils(monkeypatch):
    """train_nn's import of the course's utils.py is lazy: without it, only train_nn fails."""
    monkeypatch.setitem(sys.modules, "utils", None)     # makes `import utils` fail, whatever is installed
    module = import_template("sentiment-2layer", suffix="_no_utils")
    with pytest.raises(ModuleNotFoundError):
        module.train_nn("unused.pkl", 2)


# --------------------------------------------------------------------------- given code

def test_modules_lab_given_functions_match_reference():
    tpl, ref = template("modules-lab"), reference("modules-lab")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 4)) * 3
    logits[0] += 800.0                    # the handout's max-subtraction keeps this finite
    np.testing.assert_allclose(tpl.softmax(logits), ref.softmax(logits), rtol=1e-12, atol=0)
    np.testing.assert_allclose(tpl.tanh(logits), ref.tanh(logits), rtol=1e-12, atol=0)
    Y = np.eye(4)[[0, 3, 1, 2, 2]]
    probs = ref.softmax(logits)
    np.testing.assert_allclose(tpl.softmax_cross_entropy_backward(probs, Y),
                               ref.softmax_cross_entropy_backward(probs, Y), rtol=1e-12, atol=0)


def test_modules_lab_given_linear_init_matches_reference():
    tpl, ref = template("modules-lab"), reference("modules-lab")
    np.random.seed(7)
    t = tpl.Linear(5, 3)
    np.random.seed(7)
    r = ref.Linear(5, 3)
    for attr in ("W", "b", "dW", "db"):
        np.testing.assert_array_equal(getattr(t, attr), getattr(r, attr), err_msg=attr)
    assert t.W.shape == (3, 5) and t.b.shape == (3,)


@pytest.mark.parametrize("nonlin", ["relu", "tanh"])
def test_modules_lab_given_mlp_matches_reference(nonlin, monkeypatch):
    """The given MLP, wired to the reference's versions of the student's pieces, computes what the
    reference MLP computes (so the transcription of Stage 3.2 is right)."""
    tpl, ref = template("modules-lab"), reference("modules-lab")
    np.random.seed(3)
    t = tpl.MLP(4, 6, 2, nonlin=nonlin)
    np.random.seed(3)
    r = ref.MLP(4, 6, 2, nonlin=nonlin)
    assert isinstance(t.l1, tpl.Linear) and isinstance(t.l2, tpl.Linear) and t.nonlin == nonlin
    np.testing.assert_array_equal(t.l1.W, r.l1.W)
    np.testing.assert_array_equal(t.l2.W, r.l2.W)

    with pytest.raises(NotImplementedError):    # until the student writes Linear.forward
        t.forward(np.ones((2, 4)))

    monkeypatch.setattr(tpl.Linear, "forward", ref.Linear.forward)
    monkeypatch.setattr(tpl.Linear, "backward", ref.Linear.backward)
    for fn in ("relu", "relu_backward", "tanh_backward"):
        monkeypatch.setattr(tpl, fn, getattr(ref, fn))
    x = np.random.default_rng(0).normal(size=(3, 4))
    (ty, th), (ry, rh) = t.forward(x), r.forward(x)
    np.testing.assert_allclose(ty, ry, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(th, rh, rtol=1e-12, atol=1e-15)
    dy = np.random.default_rng(1).normal(size=(3, 2))
    np.testing.assert_allclose(t.backward(dy, th), r.backward(dy, rh), rtol=1e-12, atol=1e-15)
    for layer in ("l1", "l2"):
        np.testing.assert_allclose(getattr(t, layer).dW, getattr(r, layer).dW, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(getattr(t, layer).db, getattr(r, layer).db, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_ocr_given_shuffle_matches_reference(epoch):
    tpl, ref = template("ocr-neuralnet"), reference("ocr-neuralnet")
    X = np.arange(24.0).reshape(8, 3)
    y = np.arange(8)
    for got, want in zip(tpl.shuffle(X, y, epoch), ref.shuffle(X, y, epoch)):
        np.testing.assert_array_equal(got, want)


def test_ocr_given_args2data_and_parser_match_reference(tmp_path):
    tpl, ref = template("ocr-neuralnet"), reference("ocr-neuralnet")
    argv = [str(OCR_DATA / OCR_ARGS[0]), str(OCR_DATA / OCR_ARGS[1]), "tr.labels", "va.labels",
            "metrics.txt", "2", "4", "2", "0.1"]
    args = tpl.build_parser().parse_args(argv)
    assert args == ref.build_parser().parse_args(argv)
    got, want = tpl.args2data(args), ref.args2data(Namespace(**vars(args)))
    assert len(got) == len(want) == 11
    for g, w in zip(got, want):
        if isinstance(w, np.ndarray):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        else:
            assert g == w and type(g) is type(w)


@pytest.mark.parametrize("init", ["random_init", "zero_init", "recording"])
def test_ocr_given_linear_init_matches_reference(init):
    tpl, ref = template("ocr-neuralnet"), reference("ocr-neuralnet")
    shapes = []

    def recording(shape):
        shapes.append(tuple(shape))
        return np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)

    fn = recording if init == "recording" else getattr(ref, init)
    t = tpl.Linear(6, 4, fn, 0.25)
    r = ref.Linear(6, 4, fn, 0.25)
    np.testing.assert_array_equal(t.w, r.w)
    np.testing.assert_array_equal(t.dw, r.dw)
    assert t.w.shape == t.dw.shape == (4, 7) and not t.w[:, 0].any() and not t.dw.any()
    assert t.lr == r.lr == 0.25
    if init == "recording":
        assert shapes == [(4, 7), (4, 7)]   # one call each, (output_size, input_size + 1)


def test_ocr_given_classes_construct():
    tpl = template("ocr-neuralnet")
    tpl.Sigmoid()
    tpl.SoftMaxCrossEntropy()


def test_ocr_given_write_outputs_matches_reference(tmp_path):
    tpl, ref = template("ocr-neuralnet"), reference("ocr-neuralnet")
    # Float labels too: a label must be written as "6", never "6.0".
    outputs = (np.array([6.0, 0.0, 9.0]), [np.int64(2), 3], [2.141567091095015, 1.864262996391707],
               [2.1502231738985627, np.float64(1.8780601379038742)], 0.73, np.float64(0.72))
    for who, mod in (("tpl", tpl), ("ref", ref)):
        paths = [tmp_path / f"{who}_{n}" for n in ("tr.labels", "va.labels", "metrics.txt")]
        mod.write_outputs(*outputs, *map(str, paths))
    for n in ("tr.labels", "va.labels", "metrics.txt"):
        assert (tmp_path / f"tpl_{n}").read_bytes() == (tmp_path / f"ref_{n}").read_bytes(), n
    assert (tmp_path / "tpl_tr.labels").read_bytes() == b"6\n0\n9\n"


def _run_ocr_template(args, cwd):
    return subprocess.run([sys.executable, str(template_path("ocr-neuralnet")), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_ocr_template_program_reaches_student_code(tmp_path):
    """Run as the grader runs it: the given plumbing parses and loads, then the first piece of
    student code stops the program with NotImplementedError and nothing is written."""
    outs = [tmp_path / "train_out.labels", tmp_path / "validation_out.labels", tmp_path / "metrics_out.txt"]
    args = [str(OCR_DATA / OCR_ARGS[0]), str(OCR_DATA / OCR_ARGS[1]), *map(str, outs), "2", "4", "2", "0.1"]
    proc = _run_ocr_template(args, tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("NotImplementedError"), proc.stderr
    assert not any(p.exists() for p in outs)


def test_ocr_template_program_help(tmp_path):
    proc = _run_ocr_template(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("train_input", "validation_input", "train_out", "validation_out", "metrics_out",
                 "num_epoch", "hidden_units", "init_flag", "learning_rate"):
        assert name in proc.stdout


# --------------------------------------------------------------------------- answers.yaml

def test_answers_yaml_names_every_reference_key_with_null():
    with open(ANSWERS_YAML) as f:
        doc = yaml.safe_load(f)
    want = reference("worked-backprop").answers()
    assert isinstance(doc, dict) and set(doc) == set(want)
    for problem, values in want.items():
        got = doc[problem]
        assert isinstance(got, dict), problem
        assert set(got) == set(values), (
            f"{problem}: missing {sorted(set(values) - set(got))}, extra {sorted(set(got) - set(values))}")
        filled = {k: v for k, v in got.items() if v is not None}
        assert not filled, f"{problem}: the template must not give answers: {filled}"
