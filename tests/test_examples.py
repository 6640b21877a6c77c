"""The bundled examples grade as their names say, and every results file validates."""
import json
import os
import subprocess
import sys

import pytest

from nngrader import runner, spec
from nngrader.results import to_gradescope

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
VALIDATE = os.path.join(os.path.dirname(ROOT), "shared", "tools", "validate_results.py")
CASES = sorted((a, n) for a in os.listdir(EXAMPLES) for n in os.listdir(os.path.join(EXAMPLES, a)))


def test_every_assignment_has_a_correct_and_a_buggy_example():
    for aid in spec.available():
        names = [n for a, n in CASES if a == aid]
        assert any(n.startswith("correct") for n in names), aid
        assert any(not n.startswith("correct") for n in names), aid


@pytest.mark.parametrize("assignment,name", CASES, ids=[f"{a}/{n}" for a, n in CASES])
def test_example(assignment, name, tmp_path):
    run = runner.grade(spec.load(assignment), os.path.join(EXAMPLES, assignment, name), label=name)
    assert not run.errors
    if name.startswith("correct"):
        assert run.score == run.max_score
    else:
        assert 0 < run.score < run.max_score
    path = tmp_path / "results.json"
    path.write_text(json.dumps(to_gradescope(run)))
    out = subprocess.run([sys.executable, VALIDATE, str(path), "--require-tags"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
