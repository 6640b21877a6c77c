"""Hypothesis's draws stored beside the fixtures (fixtures/<id>/draws.json, engine/draws.py): they
are hypothesis's own, a grading reading them gives the results recording gives, and a file that is
stale, damaged or from another hypothesis is never believed."""
import json
import os

import pytest

from corpus_tools import materialize, variants
from nngrader.engine import draws, grading, memo
from nngrader.frontends import assignments, results

ASSIGNMENTS = ["mnist-backprop", "sentiment-2layer", "modules-lab", "ocr-neuralnet", "worked-backprop"]


@pytest.fixture
def fresh_memo(monkeypatch):
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
    return memo.ACTIVE


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_the_stored_draws_are_what_hypothesis_draws_now(aid, fresh_memo):
    """Every search of the reference's grading finds its sequence in the file, equal to what
    hypothesis records today (else: `python grader.py fixtures --assignment ID`)."""
    asg = assignments.load(aid)
    with open(draws.path(asg), encoding="utf-8") as f:
        stored = {s["key"]: s["draws"] for s in json.load(f)["sequences"]}
    sequences = grading.record_draws(asg)       # hypothesis records every search
    recorded = {k: v["draws"] for k, v in sequences.items()}
    assert recorded and fresh_memo.stored == 0 and fresh_memo.examples == {}
    assert recorded == stored, f"fixtures/{aid}/draws.json is stale: python grader.py fixtures --assignment {aid}"
    assert draws.check(asg, sequences) == []
    sequences[next(iter(sequences))]["draws"][0]["seed"] += 1
    assert "1 of" in draws.check(asg, sequences)[0]


def _graded(asg, folder):
    run = grading.grade(asg, folder, label="s")
    out = results.to_gradescope(run)
    out.pop("execution_time", None)
    return out


def test_a_grading_from_the_stored_draws_gives_the_results_recording_gives(tmp_path, monkeypatch):
    asg = assignments.load("sentiment-2layer")
    buggy = next(n for n, s in variants("sentiment-2layer") if "bug_in" in (s or {}))
    folders = [materialize("sentiment-2layer", buggy, str(tmp_path / "buggy")), os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "examples", "sentiment-2layer", "correct")]
    for folder in folders:
        monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
        from_file = _graded(asg, folder)
        assert memo.ACTIVE.stored > 0 and memo.ACTIVE.recorded == 0
        monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
        memo.ACTIVE.preloaded[None] = 0
        recorded = _graded(asg, folder)
        assert memo.ACTIVE.stored == 0 and memo.ACTIVE.recorded > 0
        assert from_file == recorded


def _file(tmp_path, monkeypatch, data):
    where = tmp_path / "draws.json"
    where.write_text(data if isinstance(data, str) else json.dumps(data))
    monkeypatch.setattr(draws, "path", lambda asg: str(where))


def _good():
    with open(draws.path(assignments.load("sentiment-2layer")), encoding="utf-8") as f:
        return json.load(f)


def _damaged(kind):
    data = _good()
    s = data["sequences"][0]
    if kind == "empty":
        s["draws"] = []                                     # a search of no examples would pass anything
    elif kind == "out of range":
        name, lo, hi = s["dims"][0]
        s["draws"][0]["dims"][name] = hi + 1
    elif kind == "other key":
        s["max_examples"] += 1                              # the fields no longer make its key
    elif kind == "too many":
        s["draws"] = s["draws"] * (s["max_examples"] + 1)
    elif kind == "bool seed":
        s["draws"][0]["seed"] = True
    elif kind == "extra field":
        s["draws"][0]["note"] = "hand-edited"
    return data


@pytest.mark.parametrize("kind", ["empty", "out of range", "other key", "too many", "bool seed", "extra field",
                                  "not json", "no sequences"])
def test_a_damaged_file_is_left_aside_with_a_warning(kind, tmp_path, monkeypatch, fresh_memo, capsys):
    data = {"not json": "{draws", "no sequences": {"format": 1, "hypothesis": draws.hypothesis_version()}}.get(kind)
    _file(tmp_path, monkeypatch, data if data is not None else _damaged(kind))
    asg = assignments.load("sentiment-2layer")
    assert draws.preload(asg) == 0
    assert fresh_memo.examples == {} and fresh_memo.stored == 0
    err = capsys.readouterr().err
    assert "is left aside" in err and "python grader.py fixtures --assignment sentiment-2layer" in err
    assert draws.preload(asg) == 0 and capsys.readouterr().err == ""     # read once per memo


def test_a_file_from_another_hypothesis_is_not_read(tmp_path, monkeypatch, fresh_memo, capsys):
    data = _good()
    data["hypothesis"] = "0.0.1"
    _file(tmp_path, monkeypatch, data)
    assert draws.preload(assignments.load("sentiment-2layer")) == 0
    assert fresh_memo.examples == {} and capsys.readouterr().err == ""


def test_a_good_file_fills_the_memo_and_hypothesis_is_not_needed(tmp_path, monkeypatch, fresh_memo):
    data = _good()
    _file(tmp_path, monkeypatch, data)
    assert draws.preload(assignments.load("sentiment-2layer")) == len(data["sequences"])
    assert fresh_memo.examples == {s["key"]: s["draws"] for s in data["sequences"]}


def test_a_process_grading_many_submissions_never_loads_hypothesis(tmp_path):
    """The stored draws cover every search: a grading process (a batch's) grades one submission
    after another without importing hypothesis (0.15 s), not only the first time."""
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sub = materialize("sentiment-2layer", next(n for n, s in variants("sentiment-2layer")
                                               if (s or {}).get("expect") == "full"), str(tmp_path / "sub"))
    code = ("import sys\n"
            "from nngrader.engine import grading, memo\n"
            "from nngrader.frontends import assignments\n"
            "memo.ACTIVE = memo.Memo()\n"
            "asg = assignments.load('sentiment-2layer')\n"
            f"scores = [grading.grade(asg, {sub!r}, overrides={{'call_timeout': 5}}).score for _ in range(3)]\n"
            "print(scores, 'hypothesis' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[100.0,", "100.0,", "100.0]", "False"]
