"""The student bundle (`grader.py bundle`): made into a temporary folder and used from there, with
plain `pytest` in a subprocess whose environment does not point at this repository, by the
engine inside the bundle.

For every assignment: the template fails every check ("not implemented"), a correct corpus
solution passes every check, and a single-bug variant fails the same checks as the grader, with
the same words. The bundle holds no reference function body and no hidden check or value.
"""
import ast
import inspect
import os
import pickle
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

import corpus_tools
from nngrader.boundary import safe_pickle
from nngrader.core.course import Course, course_at
from nngrader.engine import grading, replay
from nngrader.frontends import assignments, bundle, cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENTS = ["sentiment-2layer", "modules-lab", "worked-backprop", "ocr-neuralnet", "mnist-backprop"]
SUBMISSION_ONLY = {"sentiment-2layer": {"update_params_descends", "train_nn_accuracy", "assignment2_pkl"}}


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    """assignment id -> a freshly made bundle folder (made once, through the command line)."""
    root = tmp_path_factory.mktemp("bundles")
    made = {}

    def get(aid):
        if aid not in made:
            out = str(root / aid)
            assert cli.main(["bundle", "--assignment", aid, "-o", out]) == 0
            made[aid] = out
        return made[aid]
    return get


def _clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "COV_CORE"))}
    return env


def run_bundle(made, submission_files, tmp_path, *args):
    """In a copy of the bundle `made`, put `submission_files` (a folder) into submission/ and run
    plain pytest there -> {check name: None if it passed, else the failure text}, and pytest's output."""
    folder = str(tmp_path / f"bundle-{len(os.listdir(tmp_path))}")
    shutil.copytree(made, folder)
    sub = os.path.join(folder, bundle.SUBMISSION)
    for name in os.listdir(sub):
        path = os.path.join(sub, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    shutil.copytree(submission_files, sub, dirs_exist_ok=True)
    report = str(tmp_path / f"report-{len(os.listdir(tmp_path))}.xml")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *args],
                          cwd=folder, env=_clean_env(), capture_output=True, text=True, timeout=900)
    assert os.path.exists(report), proc.stdout + proc.stderr
    out = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        assert error is None, f"{case.get('name')}: {error.text}"
        out[case.get("name")] = None if failure is None else (failure.text or failure.get("message"))
    return out, proc.stdout + proc.stderr


def template(aid, tmp_path):
    dest = tmp_path / f"template-{aid}"
    shutil.copytree(os.path.join(REPO, "student_impl", aid), dest)
    return str(dest)


def variant(aid, name, tmp_path):
    return corpus_tools.materialize(aid, name, str(tmp_path / f"variant-{aid}-{name}"))


def test_bundle_uses_its_own_engine_and_has_no_reference(bundles):
    folder = bundles("sentiment-2layer")
    probe = ("import runpy; runpy.run_path('conftest.py'); import importlib.util, nngrader; print(nngrader.__file__); "
             "print(importlib.util.find_spec('reference'))")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=folder, env=_clean_env(), capture_output=True,
                          text=True, check=True)
    engine_file, reference = proc.stdout.split()
    assert engine_file == os.path.join(os.path.realpath(folder), "engine", "nngrader", "__init__.py")
    assert reference == "None"
    assert not any("reference" in d for _, dirs, _ in os.walk(folder) for d in dirs)


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_template_fails_every_check_it_should_as_not_implemented(aid, bundles, tmp_path):
    folder = bundles(aid)
    asg = assignments.load(aid, Course(folder))
    files = template(aid, tmp_path)
    got, output = run_bundle(folder, files, tmp_path)
    assert sorted(got) == sorted(c.name for c in asg.checks), output
    # the code the handout gives (e.g. modules-lab's Linear.__init__) passes, as on the grader
    given = {r.check.name for r in grading.grade(assignments.load(aid), files).results if r.outcome.passed}
    assert {name for name, text in got.items() if text is None} == given & set(got)
    for check in asg.checks:
        if check.name in given:
            continue
        text = got[check.name]
        # an answers check reads the template's empty answers.yaml: its words for that are "missing"
        # (a program run says what the interpreter printed: NotImplementedError)
        words = r"missing \(no value given\)" if check.kind == "answers" else r"not implemented|NotImplementedError"
        assert re.search(words, text), f"{check.name}:\n{text}"


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_correct_solution_passes_every_check(aid, bundles, tmp_path):
    folder = bundles(aid)
    got, output = run_bundle(folder, variant(aid, "correct_vectorized", tmp_path), tmp_path)
    assert got and all(v is None for v in got.values()), output
    assert len(got) == len(assignments.load(aid, Course(folder)).checks)


def _numbers_out(text):
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", text)


def _first_bug(aid, bundled, tmp_path):
    """The first single-bug variant of the corpus that fails a bundled check -> (name, spec, folder, run)."""
    asg = assignments.load(aid)
    for name, spec in corpus_tools.variants(aid):
        spec = spec or {}
        if "bug_in" not in spec:
            continue
        folder = variant(aid, name, tmp_path)
        run = grading.grade(asg, folder, label=bundle.SUBMISSION)
        if any(not r.outcome.passed and r.check.name in bundled for r in run.results):
            return name, spec, folder, run
    raise AssertionError(f"{aid}: no bug variant fails a bundled check")


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_single_bug_is_caught_like_the_grader(aid, bundles, tmp_path):
    folder = bundles(aid)
    bundled = {c.name for c in assignments.load(aid, Course(folder)).checks}
    name, spec, files, run = _first_bug(aid, bundled, tmp_path)
    got, output = run_bundle(folder, files, tmp_path)
    grader_failed = {r.check.name: r for r in run.results if not r.outcome.passed and r.check.name in bundled}
    assert {k for k, v in got.items() if v is not None} == set(grader_failed), output
    allowed = [spec["bug_in"]] + list(spec.get("also", []))
    for check_name, result in grader_failed.items():
        text = got[check_name]
        assert any(e.split(".")[0] in allowed or e in allowed for e in result.check.exercises)
        lines = text.splitlines()
        # the same check, the same function, what was checked, the same kind of message, the same rerun
        assert lines[0] == f"{check_name} [{', '.join(result.check.exercises)}]"
        assert lines[1] == result.outcome.checked
        assert _numbers_out(result.outcome.lines[0]) in _numbers_out(text), f"{name}:\n{text}"
        assert (f"rerun only this check: pytest checks --submission {bundle.SUBMISSION} --assignment {aid} "
                f"-k {check_name}") in lines


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_bug_variants_across_the_corpus_fail_in_the_bundle_as_on_the_grader(aid, bundles, tmp_path):
    """Every fourth single-bug variant: the bundle fails exactly the grader's failing bundled checks,
    and never with a harness error (the help a failure gets, e.g. the diagnosis or the float32
    evidence, may need reference values a bundle does not hold: then that help is left out)."""
    folder = bundles(aid)
    bundled = {c.name for c in assignments.load(aid, Course(folder)).checks}
    asg = assignments.load(aid)
    bugs = [n for n, spec in corpus_tools.variants(aid) if "bug_in" in (spec or {})][::4]
    for name in bugs:
        files = variant(aid, name, tmp_path)
        run = grading.grade(asg, files, label=bundle.SUBMISSION)
        got, output = run_bundle(folder, files, tmp_path)
        failed = {r.check.name for r in run.results if not r.outcome.passed and r.check.name in bundled}
        assert {k for k, v in got.items() if v is not None} == failed, f"{name}:\n{output[-3000:]}"
        assert "HarnessBug" not in output and "NotRecorded" not in output, f"{name}:\n{output[-3000:]}"


def _reference_bodies(module_name):
    """Every function's and method's body (docstring left out), whitespace removed."""
    module = course_at().import_reference(module_name)
    source = inspect.getsource(module)
    bodies = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
            text = "\n".join(ast.get_source_segment(source, stmt) for stmt in body)
            bodies.append((node.name, re.sub(r"\s+", "", text)))
    return bodies


def _bundle_text(folder):
    """Every file of the bundle (and the recorded reference's values, unpickled) as one text."""
    parts = []
    for root, _, files in os.walk(folder):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                parts.append(re.sub(r"\s+", "", fh.read().decode("latin-1")))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_bundle_holds_no_reference_function_body(aid, bundles):
    text = _bundle_text(bundles(aid))
    given = _bundle_text(os.path.join(REPO, "student_impl", aid))      # the handout's own code
    asg = assignments.load(aid)
    module_names = {asg.reference, "reference.numerics"}
    bodies = [(f"{m}.{name}", body) for m in sorted(module_names) for name, body in _reference_bodies(m)
              if len(body) >= 12 and body not in given]
    assert len(bodies) >= 5
    assert not [name for name, body in bodies if body in text]


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)


def _strings(value):
    if isinstance(value, (bytes, str)):
        yield value if isinstance(value, bytes) else value.encode()
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _bundle_bytes(folder, skip=None):
    out = b""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not (skip and root == folder and d == skip)]
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out += fh.read() + b"\0"
    return out


def _distinctive(arr):
    a = np.ascontiguousarray(arr, dtype=np.float64)
    return a.size >= 4 and np.unique(a).size >= 3


@pytest.mark.slow
def test_hidden_checks_and_their_values_stay_out(bundles):
    """ocr-neuralnet ships hidden program checks: no name, fixture or expected output of theirs
    is in the bundle."""
    aid = "ocr-neuralnet"
    folder = bundles(aid)
    asg = assignments.load(aid)
    hidden = [c for c in asg.checks if c.visibility != "visible"]
    assert hidden
    blob = _bundle_bytes(folder)
    course_part = _bundle_bytes(folder, skip="engine")        # the engine's own text is public
    for check in hidden:
        assert check.name.encode() not in course_part, check.name
    from nngrader.engine import fixtures
    visible_values = set()
    for check in fixtures.fixture_checks(asg):
        if check.visibility == "visible":
            visible_values |= set(_strings(fixtures.load(asg, check)))
    hidden_values = 0
    for check in fixtures.fixture_checks(asg):
        if check.visibility == "visible":
            continue
        assert not os.path.exists(os.path.join(folder, "fixtures", aid, os.path.basename(
            fixtures.path_for(asg, check))))
        for value in _strings(fixtures.load(asg, check)):
            if len(value) >= 32 and value not in visible_values:
                hidden_values += 1
                assert value not in blob, f"{check.name}: an expected output is in the bundle"
    assert hidden_values
    shipped = yaml.safe_load(open(os.path.join(folder, "checks", f"{aid}.yaml")))
    assert {c["name"] for c in shipped["checks"]} == {c.name for c in asg.checks if c.visibility == "visible"}


def _course_copy(tmp_path):
    course = tmp_path / "course"
    for part in ("checks", "fixtures", "data", "reference", "student_impl"):
        shutil.copytree(os.path.join(REPO, part), course / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return course


@pytest.mark.slow
def test_a_hidden_check_made_in_a_course_of_ones_own_stays_out(tmp_path):
    """A compare check made hidden (with a seed of its own): neither the check nor any value the
    reference computes for it is in the bundle."""
    course = _course_copy(tmp_path)
    spec_path = course / "checks" / "sentiment-2layer.yaml"
    raw = yaml.safe_load(spec_path.read_text())
    check_raw = next(c for c in raw["checks"] if c["name"] == "gradients_dW1")
    check_raw.update(visibility="hidden", seed=97531)
    spec_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    asg = assignments.load("sentiment-2layer", Course(str(course)))
    out = str(tmp_path / "bundle")
    summary = bundle.write(asg, out)
    assert "gradients_dW1" not in summary["bundled"] and summary["hidden"] == 1
    # what the reference computes for the hidden check, recorded apart
    recorder = replay.Recorder(asg)
    with grading.Grading(asg, grading.REFERENCE_SUBMISSION, reference_source=recorder) as g:
        assert g.run(next(c for c in asg.checks if c.name == "gradients_dW1")).outcome.passed
    stored = safe_pickle.restricted_load(os.path.join(out, "fixtures", asg.id, replay.STORE))
    assert "gradients_dW1" not in stored["checks"]
    # calls that visible checks make too (the boundary examples are common to all) are theirs
    visible_calls = {key for record in stored["checks"].values() for key in record}
    hidden_arrays = [a for key, outs in recorder.checks["gradients_dW1"].items() if key not in visible_calls
                     for a in _arrays(outs) if _distinctive(a)]
    assert len(hidden_arrays) >= 10
    blob = _bundle_bytes(out)
    shipped = {np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in _arrays(stored)}
    assert b"gradients_dW1" not in _bundle_bytes(out, skip="engine")
    for a in hidden_arrays:
        data = np.ascontiguousarray(a, dtype=np.float64).tobytes()
        assert data not in blob and data not in shipped


@pytest.mark.slow
def test_checks_the_recording_cannot_serve_are_graded_only_on_submission(bundles):
    folder = bundles("sentiment-2layer")
    shipped = {c["name"] for c in yaml.safe_load(open(os.path.join(folder, "checks", "sentiment-2layer.yaml")))["checks"]}
    readme = open(os.path.join(folder, "README.md")).read()
    section = readme.split("## Graded only on submission")[1]
    for name in SUBMISSION_ONLY["sentiment-2layer"]:
        assert name not in shipped
        assert f"`{name}`" in section
    assert "the reference's test_accuracy runs on values your code computed" in section
    assert "optional file assignment2.pkl" in section


@pytest.mark.slow
def test_a_call_that_was_not_recorded_is_a_clear_error(bundles, tmp_path):
    folder = str(tmp_path / "edited")
    shutil.copytree(bundles("sentiment-2layer"), folder)
    store = os.path.join(folder, "fixtures", "sentiment-2layer", replay.STORE)
    data = safe_pickle.restricted_load(store)
    data["checks"]["gradients_dW1"] = {}
    with open(store, "wb") as f:
        pickle.dump(data, f)
    got, output = run_bundle(folder, variant("sentiment-2layer", "correct_vectorized", tmp_path), tmp_path,
                             "-k", "gradients_dW1")
    text = got["gradients_dW1"]
    assert text is not None, "an unrecorded call passed"
    assert "HarnessBug" in text and "no recorded reference result for call gradients(" in text
    assert "rerun only this check" not in text          # not dressed up as the student's failure
