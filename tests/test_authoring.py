"""Authoring an assignment: the worked example (tests/authoring/softmax-regression, a course
folder made with `grader.py new` and then written by hand) and the instructor's mistakes, each
caught as the instructor's: never graded as a student's FAIL.

The course folder has a `reference` package of its own, so it is graded by the command line in
a process of its own, as an instructor runs it.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKED = os.path.join(ROOT, "tests", "authoring", "softmax-regression")
AID = "softmax-regression"
MODULE = "softmax_regression.py"
FUNCTIONS = ["softmax", "cross_entropy", "grad_W", "grad_b", "train"]
CORRECT = os.path.join(WORKED, "tests", "corpus", AID, "correct_vectorized")


def grader(*args, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "grader.py"), *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=600)


@pytest.fixture
def course(tmp_path):
    """A copy of the worked example, to break on purpose."""
    dest = tmp_path / "course"
    shutil.copytree(WORKED, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def spec_of(course):
    return course / "checks" / f"{AID}.yaml"


def submission(tmp_path, source, name="sub"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / MODULE).write_text(source)
    return folder


# ---- the scaffold ------------------------------------------------------------------------

def test_new_writes_every_starting_file_and_the_worked_example_was_made_from_it(tmp_path):
    made = tmp_path / "made"
    args = ["new", AID, "--course", str(made)] + [a for f in FUNCTIONS for a in ("--function", f)]
    out = grader(*args)
    assert out.returncode == 0, out.stderr
    written = sorted(line.split()[1] for line in out.stdout.splitlines() if line.startswith("wrote "))
    assert written == sorted([
        "reference/__init__.py", "reference/softmax_regression.py",
        f"student_impl/{AID}/{MODULE}", f"checks/{AID}.yaml", f"tests/corpus/{AID}/manifest.yaml",
        f"examples/{AID}/correct/.gitkeep", f"examples/{AID}/bug/.gitkeep"])
    for rel in written:
        if rel.endswith(".gitkeep"):        # a folder to fill: the worked example filled it
            continue
        assert os.path.isfile(os.path.join(WORKED, rel)), f"the worked example has no {rel}"
    examples = sorted(os.listdir(os.path.join(WORKED, "examples", AID)))
    assert "correct" in examples and [e for e in examples if e != "correct"]
    # the worked spec keeps the scaffold's assignment block and commented header
    made_spec = (made / "checks" / f"{AID}.yaml").read_text()
    worked_spec = open(os.path.join(WORKED, "checks", f"{AID}.yaml")).read()
    for line in made_spec[:made_spec.index("checks:")].splitlines():
        if not line.startswith(("  title:", "#   python grader.py validate")):
            assert line in worked_spec, line
    # the scaffold's template and reference define the contract's functions
    for rel in (f"student_impl/{AID}/{MODULE}", "reference/softmax_regression.py"):
        text = (made / rel).read_text()
        assert all(f"\ndef {f}(" in text for f in FUNCTIONS), rel


def test_new_never_overwrites(tmp_path):
    assert grader("new", AID, "--course", str(tmp_path)).returncode == 0
    again = grader("new", AID, "--course", str(tmp_path))
    assert again.returncode == 2
    assert "already exist" in again.stderr and "nothing was written" in again.stderr


def test_a_fresh_scaffold_loads_and_its_dry_run_names_every_check_the_stub_reference_fails(tmp_path):
    assert grader("new", "my-lab", "--course", str(tmp_path), "--function", "relu", "--function", "tanh").returncode == 0
    static = grader("validate", "--course", str(tmp_path), "--static")
    assert static.returncode == 0 and static.stdout.startswith("my-lab: ok (2 checks, 100 points)"), static.stdout
    out = grader("validate", "--course", str(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "my-lab: the reference does not pass 2 of 2 checks" in out.stdout
    for f in ("relu", "tanh"):
        assert (f"  {f}_matches_reference (compare, 0 of 50 points): checks/my-lab.yaml › {f}_matches_reference "
                f"› call[0]: the reference failed on `{f}(x)`: NotImplementedError: write the reference {f}") in out.stdout


# ---- the worked example ------------------------------------------------------------------

def test_the_worked_example_validates_and_its_reference_scores_100_and_its_template_0(tmp_path):
    out = grader("validate", "--course", WORKED)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"{AID}: ok (8 checks, 100 points; the reference passes every check)"
    res = tmp_path / "r.json"
    out = grader("grade", "reference", "--assignment", AID, "--course", WORKED, "--results", str(res), "--quiet")
    assert out.returncode == 0, out.stderr
    assert json.loads(res.read_text())["score"] == 100
    out = grader("grade", os.path.join(WORKED, "student_impl", AID), "--assignment", AID, "--course", WORKED,
                 "--results", str(res), "--quiet")
    assert out.returncode == 0, out.stderr
    assert json.loads(res.read_text())["score"] == 0


@pytest.mark.slow
def test_the_worked_examples_bundled_examples_grade_as_named(tmp_path):
    folder = os.path.join(WORKED, "examples", AID)
    for name in sorted(os.listdir(folder)):
        res = tmp_path / f"{name}.json"
        out = grader("grade", os.path.join(folder, name), "--assignment", AID, "--course", WORKED,
                     "--results", str(res), "--quiet")
        assert out.returncode == 0, out.stderr
        score = json.loads(res.read_text())["score"]
        assert score == 100 if name.startswith("correct") else 0 < score < 100, (name, score)


@pytest.mark.slow
def test_the_worked_examples_corpus_holds_to_the_corpus_rules():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus_tools.py"), "--course", WORKED, AID],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.strip().endswith(f"{AID}: the corpus holds to the rules")
    assert "correct_loops: 100 / 100" in out.stdout and "train_ascent: 75 / 100" in out.stdout


def test_the_worked_examples_trainer_is_called_once_with_an_integer_step_count(tmp_path):
    """A trainer that insists on an int step count (as `range` does) passes: no dummy arguments,
    no `iterations: 1`, no separable data set."""
    strict = open(os.path.join(CORRECT, MODULE)).read().replace(
        "    for _ in range(steps):", "    assert type(steps) is int, type(steps)\n    for _ in range(steps):")
    sub = submission(tmp_path, strict)
    res = tmp_path / "r.json"
    out = grader("grade", str(sub), "--assignment", AID, "--course", WORKED, "--results", str(res),
                 "--only", "train_reaches_the_reference_loss")
    assert out.returncode == 0, out.stderr
    doc = json.loads(res.read_text())
    assert doc["score"] == 10
    assert "train(X, y, lr, steps) called once with lr = 0.5, steps = 40" in doc["tests"][0]["output"]


def test_a_trainer_that_falls_short_is_told_the_losses_and_the_hyperparameters(tmp_path):
    slow = open(os.path.join(CORRECT, MODULE)).read().replace("for _ in range(steps):", "for _ in range(2):")
    res = tmp_path / "r.json"
    out = grader("grade", str(submission(tmp_path, slow)), "--assignment", AID, "--course", WORKED,
                 "--results", str(res), "--only", "train_reaches_the_reference_loss")
    assert out.returncode == 0, out.stderr
    assert json.loads(res.read_text())["score"] == 0
    assert "the returned values reach a loss of" in out.stdout and "the reference's reach" in out.stdout
    assert "passed: lr = 0.5" in out.stdout and "passed: steps = 40" in out.stdout


# ---- the instructor's mistakes are the instructor's ----------------------------------------

def test_a_typo_in_an_argument_name_is_a_spec_error_naming_file_check_and_field(course, tmp_path):
    edit(spec_of(course), "args: [X, y, lr, steps]", "args: [X, y, lr, stpes]")
    out = grader("validate", "--course", str(course))
    assert out.returncode == 2
    assert (f"checks/{AID}.yaml › train_matches_the_reference_loss › steps[0].args[3]: 'stpes' is not defined "
            "here") in out.stdout
    assert "Did you mean 'steps'?" in out.stdout
    # grading stops before anyone is scored: no traceback, no results, exit code 2
    res = tmp_path / "r.json"
    out = grader("grade", CORRECT, "--assignment", AID, "--course", str(course), "--results", str(res))
    assert out.returncode == 2
    assert "spec error:" in out.stderr and "steps[0].args[3]" in out.stderr and "Traceback" not in out.stderr
    assert not res.exists()


def test_a_typo_in_a_compare_check_and_in_an_eval_is_caught_the_same_way(course):
    edit(spec_of(course), '      - {eval: "X @ W + b", as: Z}\n      - {call: softmax, args: [Z], returns: {name: P}}\n'
                          '      - {call: grad_W',
         '      - {eval: "X @ Wt + b", as: Z}\n      - {call: softmax, args: [Z], returns: {name: P}}\n'
         '      - {call: grad_W')
    out = grader("validate", "--course", str(course), "--static")
    assert out.returncode == 2
    assert "grad_W_vs_finite_differences › steps[0].eval: 'Wt' is not defined here" in out.stdout
    assert "Did you mean 'W'?" in out.stdout


def test_a_training_check_that_does_not_fit_the_reference_is_a_spec_error_not_a_student_fail(course, tmp_path):
    """The per-iteration shape of check around a whole-loop trainer: the loss steps look for
    what the reference never returns. The reference is not scored 85: validate names the check
    and why (exit 2), and grading it is the grader's error (exit 1), never a FAIL."""
    edit(spec_of(course), "      - {call: train, args: [X, y, lr, steps], returns: [{name: W}, {name: b}]}\n",
         "      - {call: train, args: [X, y, lr, steps], returns: {name: params}}\n"
         "      - {item: params, index: W, as: W}\n      - {item: params, index: b, as: b}\n")
    out = grader("validate", "--course", str(course))
    assert out.returncode == 2, out.stdout + out.stderr
    line = next(ln for ln in out.stdout.splitlines() if "train_reaches_the_reference_loss (" in ln)
    assert "(training, 0 of 10 points)" in line
    assert f"checks/{AID}.yaml › train_reaches_the_reference_loss › steps[1]: the reference failed" in line
    assert "it has no entry 'W': it is a tuple of length 2" in line
    res = tmp_path / "r.json"
    out = grader("grade", CORRECT, "--assignment", AID, "--course", str(course), "--results", str(res))
    assert out.returncode == 1
    result = {t["name"]: t for t in json.loads(res.read_text())["tests"]}["train_reaches_the_reference_loss"]
    assert "the grader itself failed on this check (not your fault)" in result["output"]
    assert "steps[1]: the reference failed" in out.stderr.splitlines()[0]


def test_an_expectation_the_reference_itself_misses_is_a_spec_error(course):
    """Full accuracy on random labels: no trainer reaches it, the reference neither."""
    edit(spec_of(course), "      - {call: cross_entropy, args: [P, y], returns: {name: loss}}\n    expect: reach_reference\n"
                          "    loss_tolerance: {rtol: 0.05, atol: 1.0e-3}\n",
         "      - {call: cross_entropy, args: [P, y], returns: {name: loss}}\n"
         "      - {eval: \"mean(1 - minimum(abs(argmax_rows(P) - y), 1))\", as: accuracy}\n"
         "    expect: accuracy\n    min_accuracy: 1.0\n")
    out = grader("validate", "--course", str(course))
    assert out.returncode == 2, out.stdout
    line = next(ln for ln in out.stdout.splitlines() if "train_reaches_the_reference_loss (" in ln)
    assert f"checks/{AID}.yaml › train_reaches_the_reference_loss: the reference itself does not meet this check" in line
    assert "lr = 0.5; steps = 40" in line and "(at least 100% is asked)" in line


def test_grade_reference_below_100_exits_non_zero(course, tmp_path):
    """A reference whose softmax overflows fails the spec's own stability check."""
    edit(course / "reference" / "softmax_regression.py", "E = np.exp(Z - Z.max(axis=1, keepdims=True))",
         "E = np.exp(Z)")
    res = tmp_path / "r.json"
    out = grader("grade", "reference", "--assignment", AID, "--course", str(course), "--results", str(res))
    assert out.returncode == 2
    assert "the reference scores 90 of 100: the spec does not fit it" in out.stderr
    out = grader("validate", "--course", str(course))
    assert out.returncode == 2
    assert "  softmax_stable (stability, 0 of 10 points): " in out.stdout


def test_an_eval_keeps_a_step_count_integral_and_the_failure_shows_the_value_passed(course, tmp_path):
    edit(spec_of(course), "    hyperparameters: {lr: 0.5, steps: 40}\n    steps:\n"
                          "      - {call: train, args: [X, y, lr, steps], returns: [{name: W}, {name: b}]}\n",
         "    hyperparameters: {lr: 0.5, k: 35}\n    steps:\n      - {eval: \"k + 5\", as: n_steps}\n"
         "      - {call: train, args: [X, y, lr, n_steps], returns: [{name: W}, {name: b}]}\n")
    out = grader("validate", "--course", str(course))
    assert out.returncode == 0, out.stdout
    strict = open(os.path.join(CORRECT, MODULE)).read().replace(
        "    for _ in range(steps):", "    assert type(steps) is int, type(steps)\n    for _ in range(steps):")
    res = tmp_path / "r.json"
    out = grader("grade", str(submission(tmp_path, strict)), "--assignment", AID, "--course", str(course),
                 "--results", str(res), "--only", "train_reaches_the_reference_loss")
    assert json.loads(res.read_text())["score"] == 10, out.stdout
    raising = open(os.path.join(CORRECT, MODULE)).read().replace(
        "    C = int(np.max(y)) + 1\n", "    raise ValueError(f'cannot train for {steps} steps')\n")
    out = grader("grade", str(submission(tmp_path, raising, "raising")), "--assignment", AID, "--course",
                 str(course), "--results", str(res), "--only", "train_reaches_the_reference_loss")
    assert "your code raised ValueError: cannot train for 40 steps" in out.stdout
    assert "in: train(X, y, lr, n_steps) with lr = 0.5, n_steps = 40" in out.stdout


def test_whole_loop_fields_that_do_not_apply_are_spec_errors(course):
    edit(spec_of(course), "    mode: whole_loop\n", "    mode: whole_loop\n    iterations: 5\n")
    out = grader("validate", "--course", str(course), "--static")
    assert out.returncode == 2
    assert ("train_matches_the_reference_loss › iterations: a whole_loop check calls its steps once (the "
            "trainer runs its own loop; give its step count as a hyperparameter)") in out.stdout


def test_a_whole_loop_decrease_needs_the_returned_loss_history(course):
    edit(spec_of(course), "    expect: reach_reference\n    loss_tolerance: {rtol: 0.05, atol: 1.0e-3}\n",
         "    expect: decrease\n")
    out = grader("validate", "--course", str(course), "--static")
    assert out.returncode == 2
    assert "train_reaches_the_reference_loss › expect: with `mode: whole_loop`, `expect: decrease` needs" in out.stdout


# ---- the rules an assignment is held to are written down -----------------------------------

def test_adding_an_assignment_lists_every_rule_with_its_command():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme[readme.index("## Adding an assignment"):]
    section = " ".join(section[:section.index("\n## ", 5)].split())     # as read, whatever the line breaks
    for needle in ("python grader.py new", "python grader.py validate", "python grader.py grade reference",
                   "pytest tests/test_corpus.py -k", "at least 6", "at least 20", "examples/<id>/",
                   "tools/mutation_test.py", "tools/mutation_equivalent.yaml", "tests/corpus_tools.py --course",
                   "tests/authoring/softmax-regression", "python grader.py fixtures"):
        assert needle in section, needle


# ---- equivalent mutants: a pattern may not hide a mutant of code grading runs -----------------

def _mutation_tool():
    spec = importlib.util.spec_from_file_location("mutation_test", os.path.join(ROOT, "tools", "mutation_test.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_wildcard_equivalent_key_cannot_cover_a_function_grading_runs():
    tool = _mutation_tool()
    source = "def used(x):\n    return x.reshape(1, -1) * 2\n\n\ndef unused(x):\n    return x + 1\n"
    sites = tool.sites(source)
    keys = [s.key for s in sites]
    # `used:*:const 1->2` meant the -1 (reshape treats -2 like -1), but also covers
    # reshape(1, -1) -> reshape(2, -1): a real mutant
    assert "used:2:25:const 1->2" in keys and "used:2:21:const 1->2" in keys
    eq, problems = tool.equivalent_problems("lab", {"used:*:const 1->2": "reshape treats -2 like -1"},
                                            sites, executed={"used"})
    assert eq == set()
    assert problems == ["lab: the pattern 'used:*:const 1->2' covers used, which grading runs: it would hide "
                        "real mutants (2 sites); list the equivalent ones one by one, each with its reason"]
    eq, problems = tool.equivalent_problems("lab", {"unused:*": "never run", "used:2:25:const 1->2": "-2 like -1"},
                                            sites, executed={"used"})
    assert problems == [] and eq == {s.key for s in sites if s.func == "unused"} | {"used:2:25:const 1->2"}
    eq, problems = tool.equivalent_problems("lab", {"used:9:9:const 1->2": "stale"}, sites, executed=set())
    assert problems and "matches no mutation site" in problems[0]


@pytest.mark.slow
def test_the_worked_example_survives_mutation_testing():
    """Every mutant of the worked reference is killed by a check, or listed as equivalent with
    its reason in the course's tools/mutation_equivalent.yaml (about a minute)."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mutation_test.py"), "--course", WORKED,
                          "--jobs", "1"], capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "survived 0, equivalent 2" in out.stdout
