"""Every corpus variant is graded; correct ones keep every point, buggy ones lose points exactly on
the function holding the bug (see tests/corpus_tools.py for the rules)."""
import os

import pytest

from corpus_tools import CORPUS, check_mistake_field, materialize, size_problem, variants, verdict_problems
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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_corpus_size(assignment):
    """The floor: at least MIN_CORRECT correct and MIN_BUGS single-bug variants per assignment
    (`-k <id>` selects it with the assignment's variants)."""
    assert size_problem(variants(assignment)) == "", assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bug_variants_name_their_mistake(assignment):
    """Every bug variant names its mistake: an id of the catalog (nngrader/engine/mistakes.py) or
    `none`, which tests/test_diagnosis.py holds the grader's diagnosis to."""
    problems = [p for name, spec in variants(assignment) for p in [check_mistake_field(name, spec or {})] if p]
    assert not problems, "\n".join(problems)
