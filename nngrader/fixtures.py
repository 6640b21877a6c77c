"""Pickle fixtures: generated from the reference on demand, loaded with the restricted unpickler.

A fixture records a digest of the check that made it; a fixture whose check changed (or that is
missing) stops grading with the command that regenerates it, instead of scoring anyone.
"""
import hashlib
import importlib
import json
import os
import pickle

import numpy as np

from nngrader import evaluate, inputs, kinds, wire
from nngrader.spec import ROOT, SpecError
from nngrader.targets import ReferenceTarget


# Keys that do not change a fixture's cases (editing them must not make fixtures stale).
_NOT_IN_DIGEST = ("points", "visibility", "description", "exercises", "timeout", "max_examples")


def _digest(check):
    raw = {k: v for k, v in check.raw.items() if k not in _NOT_IN_DIGEST}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def path_for(asg, check):
    return asg.fixture_path(check.config.fixture)


def regenerate_command(asg):
    return f"python grader.py fixtures --assignment {asg.id}"


def fixture_checks(asg):
    """Checks whose expected values live in a fixture: the `fixture` kind, and any kind that makes
    its own cases (a module-level `make_fixture(asg, check) -> cases`, e.g. `program`)."""
    return [c for c in asg.checks if c.kind == "fixture" or hasattr(kinds.get(c.kind), "make_fixture")]


def verify(asg):
    """Raise SpecError if a fixture is missing or was made by a different version of its check."""
    for check in fixture_checks(asg):
        path = path_for(asg, check)
        if not os.path.exists(path):
            raise SpecError(f"{os.path.relpath(path, ROOT)}: missing fixture for check {check.name}; "
                            f"regenerate it with `{regenerate_command(asg)}`.")
        data = load(asg, check)
        if data.get("digest") != _digest(check):
            raise SpecError(f"{os.path.relpath(path, ROOT)}: fixture is out of date (check {check.name} changed "
                            f"since it was made); regenerate it with `{regenerate_command(asg)}` and review the diff.")


def load(asg, check):
    path = path_for(asg, check)
    try:
        data = wire.restricted_load(path)
    except FileNotFoundError:
        raise SpecError(f"{os.path.relpath(path, ROOT)}: missing fixture; run `{regenerate_command(asg)}`.") from None
    except wire.UnsafePickle as exc:
        raise SpecError(f"{os.path.relpath(path, ROOT)}: refused ({exc}); regenerate it.") from None
    if not isinstance(data, dict) or "cases" not in data:
        raise SpecError(f"{os.path.relpath(path, ROOT)}: not a fixture file; regenerate it.")
    return data


def _cases(asg, check, ref):
    cfg = check.config
    if cfg.source == "generated":
        rng = np.random.default_rng(check.seed)
        out = []
        for _ in range(cfg.cases):
            dims = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in cfg.inputs.dims.items()}
            env = inputs.build(cfg.inputs, {"dims": dims, "seed": int(rng.integers(0, 2 ** 32 - 1))})
            out.append({"inputs": env})
        return out
    module = importlib.import_module(asg.reference)
    data_path = os.path.normpath(os.path.join(ROOT, cfg.source["data"]))
    convert = getattr(module, cfg.source["convert"], None)
    if convert is None:
        raise SpecError(f"{check.where}: {asg.reference} has no converter {cfg.source['convert']!r}.")
    return convert(wire.restricted_load(data_path))


def _reference_cases(asg, check):
    """A fixture check's cases: its inputs run through the reference's steps."""
    ref = ReferenceTarget(asg.reference, {os.path.basename(p): p for p in asg.support})
    cases = []
    for case in _cases(asg, check, ref):
        env = evaluate.run_reference(ref, check.config.steps, case["inputs"])
        expected = {n: env[n] for n in check.config.compare}
        for name, value in case.get("published", {}).items():
            mism = evaluate.compare_envs([name], {name: value}, env, check, {})
            if mism:
                raise SpecError(f"{check.where}: the reference no longer reproduces the published {name}: "
                                f"{mism[0].summary}; {' '.join(mism[0].lines)}")
        cases.append({"inputs": case["inputs"], "expected": expected})
    return cases


def build_cases(asg, check):
    """The cases a fixture check's fixture holds, made from the reference now (nothing written)."""
    make = getattr(kinds.get(check.kind), "make_fixture", None)
    return make(asg, check) if make else _reference_cases(asg, check)


def regenerate(asg, only=None):
    """Write every fixture of the assignment -> [(path, number of cases)]."""
    written = []
    for check in fixture_checks(asg):
        if only and check.name not in only:
            continue
        cases = build_cases(asg, check)
        path = path_for(asg, check)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump({"assignment": asg.id, "check": check.name, "digest": _digest(check),
                         "regenerate": regenerate_command(asg), "cases": cases}, f, protocol=4)
        written.append((os.path.relpath(path, ROOT), len(cases)))
    return written
