"""Pickle fixtures: made from the reference on demand by the kind that keeps them
(`CheckKind.make_fixture`), loaded with the restricted unpickler.

A fixture records a digest of the check that made it; a fixture whose check changed (or that is
missing) stops grading with the command that regenerates it, instead of scoring anyone.
"""
import hashlib
import json
import os
import pickle

from nngrader.boundary import safe_pickle
from nngrader.core.errors import SpecError

# Keys that do not change a fixture's cases (editing them must not make fixtures stale).
_NOT_IN_DIGEST = ("points", "visibility", "description", "exercises", "timeout", "max_examples")


def digest(check):
    raw = {k: v for k, v in check.raw.items() if k not in _NOT_IN_DIGEST}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def path_for(asg, check):
    return asg.fixture_path(check.config.fixture)


def regenerate_command(asg):
    return f"python grader.py fixtures --assignment {asg.id}"


def fixture_checks(asg):
    """Checks whose expected values live in a fixture (their kind keeps one)."""
    return [c for c in asg.checks if c.kind_impl.keeps_fixture]


def _shown(asg, path):
    return asg.course.relative(path)


def verify(asg):
    """Raise SpecError if a fixture is missing or was made by a different version of its check."""
    for check in fixture_checks(asg):
        path = path_for(asg, check)
        if not os.path.exists(path):
            raise SpecError(f"{_shown(asg, path)}: missing fixture for check {check.name}; "
                            f"regenerate it with `{regenerate_command(asg)}`.")
        data = load(asg, check)
        if data.get("digest") != digest(check):
            raise SpecError(f"{_shown(asg, path)}: fixture is out of date (check {check.name} changed "
                            f"since it was made); regenerate it with `{regenerate_command(asg)}` and review the diff.")


def load(asg, check):
    path = path_for(asg, check)
    try:
        data = safe_pickle.restricted_load(path)
    except FileNotFoundError:
        raise SpecError(f"{_shown(asg, path)}: missing fixture; run `{regenerate_command(asg)}`.") from None
    except safe_pickle.UnsafePickle as exc:
        raise SpecError(f"{_shown(asg, path)}: refused ({exc}); regenerate it.") from None
    if not isinstance(data, dict) or "cases" not in data:
        raise SpecError(f"{_shown(asg, path)}: not a fixture file; regenerate it.")
    return data


def build_cases(asg, check):
    """The cases a fixture check's fixture holds, made from the reference now (nothing written)."""
    return check.kind_impl.make_fixture(asg, check)


def regenerate(asg, only=None):
    """Write every fixture of the assignment -> [(path from the course folder, number of cases)]."""
    written = []
    for check in fixture_checks(asg):
        if only and check.name not in only:
            continue
        cases = build_cases(asg, check)
        path = path_for(asg, check)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump({"assignment": asg.id, "check": check.name, "digest": digest(check),
                         "regenerate": regenerate_command(asg), "cases": cases}, f, protocol=4)
        written.append((_shown(asg, path), len(cases)))
    return written
