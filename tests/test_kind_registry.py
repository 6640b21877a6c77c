"""The check-kind contract (nngrader/engine/kind.py): every shipped kind implements it, the
registry refuses what does not, and an unknown `kind:` names the registered ones."""
import pytest

from nngrader.core.errors import SpecError
from nngrader.core.model import Where
from nngrader.engine.kind import CheckKind, Kind, Registry
from nngrader.kinds import REGISTRY

SHIPPED = ["compare", "composition", "gradient", "fixture", "stability", "training", "support",
           "submitted_pickle", "answers", "program", "outputs", "initializer"]


def test_every_shipped_kind_implements_the_protocol():
    assert REGISTRY.names() == SHIPPED
    for name in SHIPPED:
        kind = REGISTRY.get(name)
        assert isinstance(kind, CheckKind) and kind.name == name
        assert kind.fields and all(isinstance(f, str) for f in kind.fields)
    # only the kinds whose expected values live in a pickle fixture make one
    assert [n for n in SHIPPED if REGISTRY.get(n).keeps_fixture] == ["fixture", "program"]


def test_an_unknown_kind_lists_the_registered_ones():
    with pytest.raises(SpecError) as exc:
        REGISTRY.get("comprae", Where("checks/x.yaml", "dW1").at("kind"))
    assert str(exc.value) == ("checks/x.yaml › dW1 › kind: unknown kind 'comprae'; registered kinds: "
                              + ", ".join(SHIPPED) + ".")


def test_the_registry_refuses_a_duplicate_and_a_non_kind():
    def noop(*a):
        return None
    registry = Registry([Kind(name="k", fields=("x",), parse=noop, exercised=noop, run=noop)])
    with pytest.raises(ValueError, match="check kind 'k' is registered twice"):
        registry.register(Kind(name="k", fields=(), parse=noop, exercised=noop, run=noop))
    with pytest.raises(TypeError, match="does not implement the CheckKind protocol"):
        registry.register(object())
