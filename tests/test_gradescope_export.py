"""The Gradescope autograder (`grader.py export-gradescope`) and zip submissions.

The round trip unpacks the zip into a folder laid out like Gradescope's (source/, submission/,
results/), runs setup.sh offline (the engine installed from the zip into a fresh virtual
environment that sees this machine's packages, with --no-deps --no-index), then run_autograder
on an example submission with the paths redirected, and validates results.json with
`grader.py check-results`.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile

import pytest
import yaml

from nngrader.frontends import assignments, cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OFFLINE = "--no-deps --no-build-isolation --no-index"


def export(aid, tmp_path):
    out = str(tmp_path / f"{aid}.zip")
    assert cli.main(["export-gradescope", "--assignment", aid, "-o", out]) == 0
    return out


def test_zip_has_the_scripts_at_its_root_and_the_whole_assignment(tmp_path):
    path = export("ocr-neuralnet", tmp_path)
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        spec = yaml.safe_load(z.read("course/checks/ocr-neuralnet.yaml"))
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755
    assert "engine/pyproject.toml" in infos and "engine/nngrader/frontends/cli.py" in infos
    assert "course/reference/ocr_neuralnet.py" in infos and "course/fixtures/ocr-neuralnet/manifest.json" in infos
    # hidden checks keep their visibility (and their fixtures are there to grade them)
    hidden = [c["name"] for c in spec["checks"] if c.get("visibility") == "hidden"]
    assert hidden and "course/fixtures/ocr-neuralnet/hidden_random_program.pkl" in infos
    assert not any("__pycache__" in n or n.startswith("course/student_impl") for n in infos)


def _pip_runs(python):
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment seeing this machine's packages (numpy, hypothesis, pip), without
    nngrader installed in it: setup.sh installs the engine there, offline."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(folder)],
                   check=True)
    python = str(folder / "bin" / "python")
    # `--system-site-packages` sees the base interpreter's packages only: when these tests run in
    # a virtual environment (CI's), its packages (numpy, pip, the setuptools that builds the
    # engine offline) are seen through a .pth, ahead of the base's, and nngrader's own editable
    # install is not (a .pth of a folder a .pth names is not read)
    paths = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
                   - {sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})[k]
                      for k in ("purelib", "platlib")})
    if paths:
        inside = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
        with open(os.path.join(inside, "_tests_environment.pth"), "w", encoding="utf-8") as f:
            f.write("\n".join(paths) + "\n")
    assert _pip_runs(python)
    return python


def gradescope_layout(zip_path, root, python, submission):
    """Unpack the zip as Gradescope does and run setup.sh -> the environment run_autograder needs."""
    for part in ("source", "submission", "results"):
        os.makedirs(root / part)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            z.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    shutil.copytree(submission, root / "submission", dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "COV_CORE"))}
    env.update(NNGRADER_AUTOGRADER_ROOT=str(root), NNGRADER_PYTHON=python, NNGRADER_PIP_ARGS=OFFLINE)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                           timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return env


def run_autograder(root, env):
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900, cwd=str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = root / "results" / "results.json"
    check = subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), "check-results", str(results)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    with open(results) as f:
        return json.load(f), proc


@pytest.mark.slow
@pytest.mark.parametrize("aid, example", [("ocr-neuralnet", "train_loss_as_validation_loss"),
                                          ("sentiment-2layer", "missing_mean")])
def test_round_trip_grades_like_the_grader(aid, example, venv, tmp_path):
    root = tmp_path / "autograder"
    submission = os.path.join(REPO, "examples", aid, example)
    env = gradescope_layout(export(aid, tmp_path), root, venv, submission)
    installed = subprocess.run([venv, "-c", "import nngrader; print(nngrader.__file__)"], env=env,
                               capture_output=True, text=True, cwd=str(tmp_path), check=True).stdout
    assert installed.startswith(os.path.dirname(os.path.dirname(venv)))     # the zip's engine, in the venv
    got, _ = run_autograder(root, env)
    # the same grade as the grader run from this repository
    direct = str(tmp_path / "direct.json")
    assert cli.main(["grade", submission, "--assignment", aid, "--results", direct, "--quiet"]) == 0
    with open(direct) as f:
        want = json.load(f)
    assert got["score"] == want["score"] < sum(t["max_score"] for t in want["tests"])
    assert [(t["name"], t["score"], t["visibility"]) for t in got["tests"]] == \
           [(t["name"], t["score"], t["visibility"]) for t in want["tests"]]
    asg = assignments.load(aid)
    assert {t["name"]: t["visibility"] for t in got["tests"]} == {c.name: c.visibility for c in asg.checks}


@pytest.mark.slow
def test_a_crash_of_the_grader_still_leaves_valid_results(venv, tmp_path):
    root = tmp_path / "autograder"
    aid = "sentiment-2layer"
    env = gradescope_layout(export(aid, tmp_path), root, venv, os.path.join(REPO, "examples", aid, "correct"))
    # a fixture lost after setup: the grader stops before scoring anyone (exit 2) and writes nothing
    os.remove(root / "source" / "course" / "fixtures" / aid / "gradients_regression.pkl")
    got, proc = run_autograder(root, env)
    assert got["score"] == 0.0 and got["tests"] == []
    assert "failed before it could grade this submission (exit code 2)" in got["output"]
    assert "missing fixture" in proc.stderr
    # the interpreter itself dies (killed, as by the out-of-memory killer)
    dying = tmp_path / "dying-python"
    dying.write_text("#!/bin/sh\nkill -9 $$\n")
    dying.chmod(0o755)
    got, _ = run_autograder(root, dict(env, NNGRADER_PYTHON=str(dying)))
    assert got["score"] == 0.0 and "(exit code 137)" in got["output"]


def _grade(submission, tmp_path, aid="sentiment-2layer"):
    out = str(tmp_path / "results.json")
    assert cli.main(["grade", str(submission), "--assignment", aid, "--results", out, "--quiet"]) == 0
    with open(out) as f:
        return json.load(f)


def _zip(folder, path, extra=()):
    with zipfile.ZipFile(path, "w") as z:
        for root, _, files in os.walk(folder):
            for f in files:
                z.write(os.path.join(root, f), os.path.relpath(os.path.join(root, f), folder))
        for name, data in extra:
            z.writestr(name, data)


def test_a_folder_holding_only_a_zip_is_graded_as_the_zip(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    _zip(os.path.join(REPO, "examples", "sentiment-2layer", "correct"), sub / "handin.zip",
         extra=[("../../escape.py", "x = 1\n")])
    got = _grade(sub, tmp_path)
    assert got["score"] == 100.0
    assert "graded the archive handin.zip as the submission folder" in got["output"]
    assert "pointing outside the submission" in got["output"]      # the same safe unpacking
    assert not (tmp_path / "escape.py").exists()


def test_a_zip_beside_the_submitted_files_is_left_alone(tmp_path):
    sub = tmp_path / "submission"
    shutil.copytree(os.path.join(REPO, "examples", "sentiment-2layer", "missing_mean"), sub)
    _zip(os.path.join(REPO, "examples", "sentiment-2layer", "correct"), sub / "old.zip")
    got = _grade(sub, tmp_path)
    assert got["score"] < 100.0 and "graded the archive" not in got["output"]
    # two archives: neither is chosen
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.zip", "b.zip"):
        _zip(os.path.join(REPO, "examples", "sentiment-2layer", "correct"), two / name)
    got = _grade(two, tmp_path)
    assert got["score"] == 0.0 and "nothing was submitted" in got["output"]
