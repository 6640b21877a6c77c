"""The bundled examples grade as their names say, and every results file validates."""
import json
import os

import pytest

from nngrader.engine import grading
from nngrader.frontends import assignments
from nngrader.frontends import results_schema
from nngrader.frontends.results import to_gradescope

# Slow (every bundled example graded in a worker): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
CASES = sorted((a, n) for a in os.listdir(EXAMPLES) for n in os.listdir(os.path.join(EXAMPLES, a)))


def test_every_assignment_has_a_correct_and_a_buggy_example():
    for aid in assignments.available():
        names = [n for a, n in CASES if a == aid]
        assert any(n.startswith("correct") for n in names), aid
        assert any(not n.startswith("correct") for n in names), aid


@pytest.mark.parametrize("assignment,name", CASES, ids=[f"{a}/{n}" for a, n in CASES])
def test_example(assignment, name, tmp_path):
    run = grading.grade(assignments.load(assignment), os.path.join(EXAMPLES, assignment, name), label=name)
    assert not run.errors
    if name.startswith("correct"):
        assert run.score == run.max_score
    else:
        assert 0 < run.score < run.max_score
    path = tmp_path / "results.json"
    path.write_text(json.dumps(to_gradescope(run)))
    assert results_schema.problems_in_file(str(path), require_tags=True) == []
