"""Check kinds: one small module each, registered here by name.

Each module defines `KIND`, an `engine.kind.Kind` implementing the `CheckKind` protocol (its
YAML fields, parse, exercised, run, and for kinds that keep a fixture, make_fixture). The
module docstring is the kind's manual. To add a kind, write its module and list it below.
"""
from nngrader.engine.kind import Registry
from nngrader.kinds import (answers, compare, composition, fixture, gradient, initializer, outputs, program,
                            stability, submitted_pickle, support, training)

REGISTRY = Registry(m.KIND for m in (compare, composition, gradient, fixture, stability, training, support,
                                     submitted_pickle, answers, program, outputs, initializer))
