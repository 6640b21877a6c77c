"""The check-kind contract, written as code: what a kind module provides, and how it is
registered. The engine runs checks only through this protocol; it never imports a kind.

A kind turns one YAML check into a typed config once, at load time, and later runs it:

    KIND = Kind(name="compare", fields=FIELDS, parse=parse, exercised=exercised, run=run)

and `nngrader.kinds` registers every KIND by name (an unknown `kind:` lists them).
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, runtime_checkable

from nngrader.core.errors import SpecError

if TYPE_CHECKING:
    from nngrader.core.model import Assignment, Check, Where
    from nngrader.core.outcome import Outcome
    from nngrader.engine.grading import Context


@runtime_checkable
class CheckKind(Protocol):
    """One kind of check. Implemented by `Kind` below (one instance per kind module)."""

    name: str
    """The `kind:` value in the YAML."""

    fields: tuple
    """The YAML keys this kind reads, beside the common ones (name, points, ...): any other key
    is a spec error, and `checks/schema.json` lists these."""

    def parse(self, where: "Where", raw: dict, asg: "Assignment") -> Any:
        """The check as written -> the kind's typed config; raise SpecError naming the field.
        Runs at load time; must not import reference code (`grader.py validate` runs it)."""

    def exercised(self, config: Any) -> list:
        """The contract names the check exercises (its tags, and `pytest -k` matches)."""

    def run(self, check: "Check", ctx: "Context") -> "Outcome":
        """Grade one submission. Student failures are results (an Outcome, or a StudentFailure
        raised); anything else raised is a harness error, never a score."""

    def make_fixture(self, asg: "Assignment", check: "Check") -> Optional[list]:
        """The cases of the check's fixture, made from the reference now; None: the kind keeps
        no fixture."""


@dataclass(frozen=True)
class Kind:
    """A check kind assembled from a module's functions."""

    name: str
    fields: tuple
    parse: Callable
    exercised: Callable
    run: Callable
    fixture: Optional[Callable] = None     # (asg, check) -> cases, for kinds that keep a fixture

    def make_fixture(self, asg, check):
        return self.fixture(asg, check) if self.fixture else None

    @property
    def keeps_fixture(self):
        return self.fixture is not None


class Registry:
    """Kinds by name, in registration order."""

    def __init__(self, kinds=()):
        self._kinds = {}
        for k in kinds:
            self.register(k)

    def register(self, kind):
        if not isinstance(kind, CheckKind):
            raise TypeError(f"{kind!r} does not implement the CheckKind protocol")
        if kind.name in self._kinds:
            raise ValueError(f"check kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind
        return kind

    def names(self):
        return list(self._kinds)

    def get(self, name, where=None):
        """The kind registered as `name`; a spec error lists the registered kinds."""
        if name not in self._kinds:
            msg = f"unknown kind {name!r}; registered kinds: {', '.join(self._kinds)}"
            raise SpecError(f"{where}: {msg}." if where is not None else msg)
        return self._kinds[name]
