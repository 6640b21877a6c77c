"""Every corpus variant is graded; correct ones keep every point, buggy ones lose points exactly on
the function holding the bug (see tests/corpus_tools.py for the rules)."""
import os

import pytest

from corpus_tools import CORPUS, materialize, variants, verdict_problems
from nngrader.engine import grading
from nngrader.frontends import assignments

# Slow (every corpus variant graded in a worker: minutes): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted(d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "manifest.yaml")))
CASES = [(a, n, s or {}) for a in ASSIGNMENTS for n, s in variants(a)]
_SPECS = {}


def _spec(aid):
    if aid not in _SPECS:
        _SPECS[aid] = assignments.load(aid)
    return _SPECS[aid]


@pytest.mark.parametrize("assignment,name,variant", CASES, ids=[f"{a}/{n}" for a, n, _ in CASES])
def test_variant(assignment, name, variant, tmp_path):
    sub = materialize(assignment, name, str(tmp_path / "submission"))
    run = grading.grade(_spec(assignment), sub, label=f"{assignment}/{name}")
    assert not run.errors, run.errors
    problems = verdict_problems(run, variant)
    assert not problems, "\n".join(problems)


def test_corpus_size():
    """The issue's floor: at least 6 correct and 20 single-bug variants per assignment."""
    for a in ASSIGNMENTS:
        vs = [s or {} for _, s in variants(a)]
        correct = sum(1 for s in vs if s.get("expect") == "full")
        bugs = sum(1 for s in vs if "bug_in" in s)
        assert correct >= 6 and bugs >= 20, f"{a}: {correct} correct, {bugs} bug variants"
