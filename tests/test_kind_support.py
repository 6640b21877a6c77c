"""The support kind's runs of a trainer that starts from random parameters (sentiment-2layer's
train_nn_accuracy): the random generators a submission draws from without a seed of its own are
seeded by the grader, so a grading is reproducible and does not depend on the checks before it;
a run that misses the accuracy from an unlucky start is followed by runs from other seeds
(`attempts`), and only when another seed can change what the code returns."""
import os
import textwrap

import pytest
import yaml

from nngrader.boundary.process import StudentProcess
from nngrader.core.errors import SpecError
from nngrader.core.limits import Limits
from nngrader.engine import grading
from nngrader.engine.targets import StudentTarget
from nngrader.frontends import assignments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORRECT = os.path.join(ROOT, "examples", "sentiment-2layer", "correct", "assignment2.py")
SEEDED_START = """    rng = np.random.default_rng(1)
    W1 = rng.normal(0, 0.1, (hidden_layer_size, X.shape[0]))
    b1 = np.zeros(hidden_layer_size)
    W2 = rng.normal(0, 0.1, (1, hidden_layer_size))
    b2 = np.zeros(1)
"""
# N(0, 1) weights and zero biases, as many students write it: after np.random.seed(20260211) at
# the top of the file the start's sigmoids saturate, and 500 steps end at 50 %; the grader's
# next seed for train_nn_accuracy (its seed 20260209 + 1) gives a start that trains.
RANDN_START = """    W1 = np.random.randn(hidden_layer_size, X.shape[0])
    b1 = np.zeros(hidden_layer_size)
    W2 = np.random.randn(1, hidden_layer_size)
    b2 = np.zeros(1)
"""
UNLUCKY_SEED = "np.random.seed(20260211)\n"
ASCENT = ("    W1 = W1 - lr * dW1\n", "    W1 = W1 + lr * dW1\n")      # a real bug: it never learns


def _source(start=RANDN_START, bug=None):
    text = open(CORRECT).read()
    assert SEEDED_START in text
    text = text.replace(SEEDED_START, start)
    if bug:
        assert bug[0] in text
        text = text.replace(*bug)
    return text


def _submission(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "assignment2.py").write_text(source)
    return str(folder)


def _assignment(tmp_path, **fields):
    """sentiment-2layer with train_nn_accuracy's fields changed."""
    from nngrader.core.course import default_course
    spec = yaml.safe_load(open(default_course().spec_path("sentiment-2layer")))
    spec["assignment"]["support"] = [os.path.join(ROOT, "checks", s) for s in spec["assignment"]["support"]]
    for check in spec["checks"]:
        if check["name"] == "train_nn_accuracy":
            check.update(fields)
    path = tmp_path / "checks" / "sentiment-2layer.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    asg = assignments.load(str(path))
    asg.fixture_path = assignments.load("sentiment-2layer").fixture_path
    return asg


def _train_nn(asg, submission):
    run = grading.grade(asg, submission, only=["train_nn_accuracy"])
    (result,) = run.results
    return result.outcome


def test_a_correct_train_nn_from_an_unlucky_start_passes_on_the_next_seed(tmp_path):
    sub = _submission(tmp_path, "randn", _source() + UNLUCKY_SEED)
    one = _train_nn(_assignment(tmp_path, attempts=1), sub)
    assert not one.passed
    assert one.lines[0].startswith("accuracy on the held-back part is 50.0%, below the required 75%")
    three = _train_nn(assignments.load("sentiment-2layer"), sub)
    assert three.passed
    assert three.checked.endswith("(yours: 88.8%, in run 2 of up to 5, each from another seed of your random "
                                  "generators; the run before reached 50.0%)")


def test_a_train_nn_that_never_learns_fails_after_every_run(tmp_path):
    sub = _submission(tmp_path, "ascent", _source(bug=ASCENT))
    out = _train_nn(assignments.load("sentiment-2layer"), sub)
    assert not out.passed
    assert " in 5 runs from different seeds of your random generators, below the required 75%" in out.lines[0]
    assert not any(line.startswith("  only one run") for line in out.lines)
    assert not any("in the order" in line for line in out.lines)           # no order makes it learn


def test_parameters_returned_in_another_order_are_named(tmp_path):
    source = _source(start=SEEDED_START).replace(
        "        W1, b1, W2, b2 = update_params(X, y, W1, b1, W2, b2, lr)\n    return W1, b1, W2, b2",
        "        W1, b1, W2, b2 = update_params(X, y, W1, b1, W2, b2, lr)\n    return W1, W2, b1, b2")
    out = _train_nn(assignments.load("sentiment-2layer"), _submission(tmp_path, "order", source))
    assert not out.passed
    assert out.lines[:2] == [
        "b1: shape (1, 4), expected (4,) or (4, 1)",
        "  hint: your train_nn returns its values in the order (W1, W2, b1, b2): in that order they have the shapes "
        "asked and reach 88.8% on the held-back part; the expected order is (W1, b1, W2, b2) [mistake: swapped_returns]"]


def test_a_train_nn_that_seeds_numpy_itself_is_run_twice_at_most(tmp_path):
    own_seed = "    np.random.seed(3)\n" + RANDN_START.replace("X.shape[0])", "X.shape[0]) * 0.1").replace(
        "(1, hidden_layer_size)\n", "(1, hidden_layer_size) * 0.1\n")
    sub = _submission(tmp_path, "own_seed", _source(start=own_seed, bug=ASCENT))
    out = _train_nn(assignments.load("sentiment-2layer"), sub)
    assert not out.passed and ", below the required 75%" in out.lines[0] and " runs " not in out.lines[0]
    assert out.lines[1] == ("  only one run of up to 5: from the grader's next seed your code returned the very "
                            "same parameters")


@pytest.mark.parametrize("start", [SEEDED_START, SEEDED_START.replace(
    "rng.normal(0, 0.1, (hidden_layer_size, X.shape[0]))", "np.zeros((hidden_layer_size, X.shape[0]))").replace(
    "rng.normal(0, 0.1, (1, hidden_layer_size))", "np.zeros((1, hidden_layer_size))")], ids=["own_generator", "zeros"])
def test_a_train_nn_that_draws_nothing_from_the_seeded_generators_is_run_once(tmp_path, start):
    sub = _submission(tmp_path, "no_draws", _source(start=start, bug=ASCENT))
    out = _train_nn(assignments.load("sentiment-2layer"), sub)
    assert not out.passed
    assert out.lines[1] == ("  only one run of up to 5: your code drew nothing from the random generators the "
                            "grader seeds, so another seed would not change what it returns")


@pytest.mark.parametrize("attempts,message", [
    (0, "an integer >= 1"), ("3", "an integer >= 1"), (True, "an integer >= 1")])
def test_attempts_is_a_positive_integer(tmp_path, attempts, message):
    with pytest.raises(SpecError, match=message):
        _assignment(tmp_path, attempts=attempts)


# ---- the worker's generators ---------------------------------------------------------------------

DRAWS = """
    import random
    import numpy as np

    def nothing(*_):
        return 0.0

    def legacy(*_):
        return float(np.random.rand())

    def stdlib(*_):
        return random.random()

    def unseeded(*_):
        return float(np.random.default_rng().random())

    def sabotage(*_):
        np.random.seed = lambda *a, **k: None
        random.seed = lambda *a, **k: None
        random._inst.seed = lambda *a, **k: None
        random.Random.seed = lambda *a, **k: None
        return 0.0
"""


@pytest.fixture
def target(tmp_path):
    made = []

    def make():
        folder = tmp_path / f"w{len(made)}"
        folder.mkdir()
        (folder / "mod.py").write_text(textwrap.dedent(DRAWS))
        made.append(StudentProcess(str(folder), ["mod"], Limits()))
        return StudentTarget(made[-1])

    yield make
    for proc in made:
        proc.close()


def test_reseeding_says_whether_the_code_drew_and_repeats_the_numbers(target):
    """(Each call passes a list: a call with only numbers is answered once per grading.)"""
    t = target()
    t.reseed(7)
    assert t.call("nothing", [[0]]) == 0.0 and t.reseed(7) is False
    t.call("legacy", [[0]])
    assert t.reseed(None) is True and t.reseed(None) is False      # a mark: it drew, then nothing since
    t.reseed(7)
    for name in ("legacy", "stdlib", "unseeded"):
        first = t.call(name, [[0]])
        assert t.reseed(7) is True, name
        assert t.call(name, [[0]]) == first, name          # the same seed, the same numbers
        t.reseed(8)
        assert t.call(name, [[0]]) != first, name          # another seed, other numbers
        t.reseed(7)


def test_an_unseeded_generator_starts_alike_in_every_worker(target):
    assert len({target().call("unseeded", [[0]]) for _ in range(3)}) == 1


def test_a_call_answered_before_is_made_again_after_reseeding(target):
    t = target()
    t.reseed(7)
    first = t.call("legacy", [1])
    assert t.call("legacy", [1]) == first           # answered once per grading...
    t.reseed(8)
    assert t.call("legacy", [1]) != first           # ...until the generators are seeded again


def test_a_submission_replacing_the_seed_functions_does_not_change_reseeding(target):
    t = target()
    t.reseed(7)
    first = t.call("legacy", [[0]]), t.call("stdlib", [[0]])
    t.call("sabotage", [[0]])
    t.reseed(7)
    assert (t.call("legacy", [[0]]), t.call("stdlib", [[0]])) == first


def test_string_hashing_is_the_same_in_every_worker(tmp_path):
    """A set of words iterated in hash order (a vocabulary built with set()) gives the same order
    in every worker, started or forked from a batch's server: grades do not change between runs."""
    from nngrader.boundary import forkserver
    folder = tmp_path / "vocab"
    folder.mkdir()
    (folder / "mod.py").write_text("def vocabulary(words):\n    return list(set(words))\n")
    words = [["happy", "sad", "great", "awful", "movie", "today", "love", "hate", "fun", "boring"]]
    orders = []
    for forked in (False, False, True, True):
        if forked:
            forkserver.enable()
        try:
            proc = StudentProcess(str(folder), ["mod"], Limits())
            try:
                orders.append(tuple(StudentTarget(proc).call("vocabulary", words)))
            finally:
                proc.close()
        finally:
            if forked:
                forkserver.disable()
    assert len(set(orders)) == 1, orders
