"""Real-world packaging does not change a verdict: each case of tests/realworld/ (see
tests/realworld_tools.py) gets exactly the score a fair TA would give, and the notes say what was
done with what surrounds the functions."""
import importlib.util
import re

import pytest

from nngrader.engine import grading
from nngrader.frontends import assignments
from realworld_tools import build, cases

# Slow (every case graded in a worker): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

CASES = cases()
_SPECS = {}


def _spec(aid):
    if aid not in _SPECS:
        _SPECS[aid] = assignments.load(aid)
    return _SPECS[aid]


def test_the_corpus_covers_every_assignment_and_is_large():
    assert {a for a, _, _ in CASES} == set(assignments.available())
    assert len(CASES) >= 40


@pytest.mark.parametrize("assignment,name,spec", CASES, ids=[f"{a}/{n}" for a, n, _ in CASES])
def test_realworld_case(assignment, name, spec, tmp_path):
    path = build(assignment, name, spec, str(tmp_path))
    run = grading.grade(_spec(assignment), path, label=name)
    assert not run.errors, run.errors
    notes = "\n".join(run.notes)
    lost = [f"{r.check.name}: {r.score:g}/{r.check.points:g}: {r.outcome.lines[:2]}" for r in run.results
            if not r.outcome.passed]
    assert run.score == spec["score"], f"{name} ({spec.get('why', '')}): {run.score:g}, lost:\n" + "\n".join(lost) \
        + f"\nnotes:\n{notes}"
    for text in spec.get("notes", []):
        missing = re.match(r"the grader does not have (\w+)", text)
        if missing and importlib.util.find_spec(missing.group(1)) is not None:
            continue        # this machine has the package (e.g. torch for a benchmark): nothing is stood in
        assert text in notes, f"no {text!r} in the notes:\n{notes}"
