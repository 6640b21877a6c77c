"""`item` steps pick entries of a returned structure (e.g. the dict of worked-backprop's
two_layer_grads): a missing entry is the submission's wrong structure, never a harness error;
a gradient check may name a picked entry as the gradient it verifies."""
import types

import pytest

from nngrader.engine import scenario
from nngrader.kinds import gradient
from nngrader.core.model import Where
from nngrader.engine.targets import ReferenceTarget

WHERE = Where("checks/x.yaml", "c")
STEPS = [{"call": "grads", "args": [], "returns": {"name": "g"}},
         {"item": "g", "index": "W1", "as": "dW1"}]


def _target(monkeypatch, returned):
    mod = types.ModuleType("fake_item_module")
    mod.grads = lambda: returned
    return ReferenceTarget(mod)


def test_item_picks_a_dict_entry(monkeypatch):
    env = scenario.run(_target(monkeypatch, {"W1": 1.5}), scenario.parse_steps(WHERE, STEPS), {})
    assert env["dW1"] == 1.5


@pytest.mark.parametrize("returned, says", [
    ({"dW1": 1.0, "db1": 2.0}, "it has no entry 'W1': it is a dict with keys ['dW1', 'db1']"),
    ((1.0, 2.0), "it has no entry 'W1': it is a tuple of length 2"),
])
def test_a_missing_entry_is_a_wrong_return_structure(monkeypatch, returned, says):
    with pytest.raises(scenario.ShapeOfReturn, match=says.replace("[", r"\[").replace("]", r"\]")):
        scenario.run(_target(monkeypatch, returned), scenario.parse_steps(WHERE, STEPS), {})


def test_gradient_check_may_verify_an_entry_picked_by_item():
    raw = {"dims": {"n": 2}, "args": {"W1": {"shape": ["n"], "normal": 1.0}}, "steps": STEPS,
           "loss_steps": [{"call": "loss", "args": ["W1"], "returns": {"name": "loss"}}],
           "wrt": {"W1": "dW1"}}
    cfg = gradient.parse(WHERE, raw, None)
    assert cfg.wrt == [("W1", "dW1")]
