"""Check kinds: one small module each, registered by name.

A kind module defines FIELDS (its own YAML keys), parse(where, raw, assignment) -> config,
exercised(config) -> contract names, and run(check, ctx) -> Outcome.
"""
import importlib

KINDS = ("compare", "composition", "gradient", "fixture", "stability", "training", "support",
         "submitted_pickle", "answers", "program", "outputs", "initializer")
_loaded = {}


class UnknownKind(Exception):
    pass


def get(name, where=None):
    """The kind module registered as `name`; a spec error lists the registered kinds."""
    from nngrader.spec import SpecError
    if name not in KINDS:
        msg = f"unknown kind {name!r}; registered kinds: {', '.join(KINDS)}"
        raise SpecError(f"{where}: {msg}." if where is not None else msg)
    if name not in _loaded:
        _loaded[name] = importlib.import_module(f"nngrader.kinds.{name}")
    return _loaded[name]
