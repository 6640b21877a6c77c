"""Pickle fixtures: made from the reference on demand by the kind that keeps them
(`CheckKind.make_fixture`), loaded with the restricted unpickler.

A fixture records a digest of the check that made it; a fixture whose check changed (or that is
missing) stops grading with the command that regenerates it, instead of scoring anyone.
"""
import hashlib
import json
import os
import pickle
import platform

import numpy as np

from nngrader.boundary import safe_pickle
from nngrader.core.errors import SpecError

MANIFEST = "manifest.json"      # beside the fixtures of an assignment: what made each file
SHOWN_ENTRIES = 5               # differing entries named per stale fixture

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
    """Write every fixture of the assignment and its manifest -> [(path from the course folder,
    number of cases)]."""
    written = []
    manifest = read_manifest(asg)
    for check in fixture_checks(asg):
        if only and check.name not in only:
            continue
        cases = build_cases(asg, check)
        path = path_for(asg, check)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump({"assignment": asg.id, "check": check.name, "digest": digest(check),
                         "regenerate": regenerate_command(asg), "cases": cases}, f, protocol=4)
        manifest[os.path.basename(path)] = {"check": check.name, "seed": check.seed, "sha256": _sha256(path),
                                            "numpy": np.__version__, "python": platform.python_version()}
        written.append((_shown(asg, path), len(cases)))
    if written:
        with open(_manifest_path(asg), "w", encoding="utf-8") as f:
            json.dump(dict(sorted(manifest.items())), f, indent=1)
            f.write("\n")
    return written


def _manifest_path(asg):
    return os.path.join(asg.course.fixtures_dir, asg.id, MANIFEST)


def read_manifest(asg):
    try:
        with open(_manifest_path(asg), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_all(asg):
    """Every fixture exists, matches its manifest's hash, and would be remade identically from
    the current reference -> [problem lines] (empty: all good)."""
    problems = []
    manifest = read_manifest(asg)
    for check in fixture_checks(asg):
        path = path_for(asg, check)
        name, shown = os.path.basename(path), _shown(asg, path)
        if not os.path.exists(path):
            problems.append(f"{shown}: missing (check {check.name})")
            continue
        if name not in manifest:
            problems.append(f"{shown}: not in {MANIFEST} (check {check.name})")
        elif manifest[name].get("sha256") != _sha256(path):
            problems.append(f"{shown}: its sha256 differs from {MANIFEST}'s: the file was changed by hand")
        try:
            stored = load(asg, check)
        except SpecError as exc:
            problems.append(str(exc))
            continue
        if stored.get("digest") != digest(check):
            problems.append(f"{shown}: check {check.name} changed since the fixture was made")
            continue
        remade = build_cases(asg, check)
        difference = _first_difference(stored["cases"], remade)
        if difference:
            problems.append(f"{shown}: stale: the reference no longer makes it (check {check.name}, {difference})")
    return problems


def _first_difference(stored, remade):
    """Where two fixtures' cases first differ -> 'case K, VALUE: ...', or '' when identical."""
    if len(stored) != len(remade):
        return f"{len(stored)} cases stored, {len(remade)} made now"
    for k, (a, b) in enumerate(zip(stored, remade), start=1):
        where = _diff(a, b, "")
        if where:
            return f"case {k} of {len(stored)}, {where}"
    return ""


def _diff(a, b, at):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{at or 'the case'} has keys {sorted(map(str, a))} stored, {sorted(map(str, b))} now"
        for k in a:
            d = _diff(a[k], b[k], f"{at}.{k}" if at else str(k))
            if d:
                return d
        return ""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, f"{at}[{i}]")
            if d:
                return d
        return ""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return f"{at}: shape {x.shape} stored, {y.shape} now"
        bad = np.argwhere(~((x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y))
        if len(bad) == 0:
            return ""
        entries = "; ".join(f"{at}[{', '.join(map(str, i))}]: stored {x[tuple(i)].item()!r}, "
                            f"now {y[tuple(i)].item()!r}" for i in bad[:SHOWN_ENTRIES])
        return f"{len(bad)} of {x.size} entries of {at} differ: {entries}"
    return "" if a == b else f"{at}: {a!r} stored, {b!r} now"
