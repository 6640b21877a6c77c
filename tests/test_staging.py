"""Staging a submission as students hand it in: nested folders, helper modules, a course file
handed back modified, and nothing at all."""
import os
import shutil

import pytest

from nngrader.engine import grading
from nngrader.frontends import assignments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORRECT = os.path.join(ROOT, "examples", "sentiment-2layer", "correct", "assignment2.py")


def grade(path):
    return grading.grade(assignments.load("sentiment-2layer"), str(path))


def test_an_empty_submission_scores_zero_with_a_note(tmp_path):
    (tmp_path / "notes.txt").write_text("I ran out of time\n")
    run = grade(tmp_path)
    assert run.score == 0 and not any(r.outcome.passed for r in run.results)
    assert run.notes == ["nothing was submitted: the submission has none of assignment2.py, assignment2.pkl "
                         "(it contains: notes.txt); every check scores 0"]
    assert {r.outcome.lines[0] for r in run.results} == {"nothing was submitted"}


def test_helper_modules_beside_the_graded_module_are_importable(tmp_path):
    """Gradescope nests folders; the graded module's own folder comes whole."""
    code = tmp_path / "upload" / "hw"
    code.mkdir(parents=True)
    shutil.copy(CORRECT, code / "mynet.py")
    (code / "assignment2.py").write_text("from mynet import *  # noqa\nfrom helpers.consts import SCALE\n")
    (code / "helpers").mkdir()
    (code / "helpers" / "__init__.py").write_text("")
    (code / "helpers" / "consts.py").write_text("SCALE = 1.0\n")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "junk.pyc").write_bytes(b"\0" * 10)
    run = grade(tmp_path / "upload")
    assert run.notes == [] and run.score == run.max_score == 100


def test_the_course_copy_of_a_handed_out_file_wins_and_says_so(tmp_path):
    shutil.copy(CORRECT, tmp_path / "assignment2.py")
    (tmp_path / "utils.py").write_text("def extract_features(*a):\n    raise SystemExit('mine')\n")
    run = grade(tmp_path)
    assert run.notes == ["your utils.py was replaced by the course's copy (a file the assignment hands out)"]
    assert run.score == run.max_score


def _notebook(path, code):
    """A notebook as students hand it in: markdown, magics, a shell line, the code in cells."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Assignment 2"),
                nbformat.v4.new_code_cell("%matplotlib inline\n!pip install nltk\nimport numpy as np"),
                nbformat.v4.new_code_cell(code),
                nbformat.v4.new_code_cell("%%time\nfor i in range(3):\n    print(i)\nLATE = 1"),
                nbformat.v4.new_code_cell("%%bash\nls -l"),
                nbformat.v4.new_code_cell("np.random.default_rng?\nif True:\n    %timeit sigmoid(np.zeros(3))\n")]
    nbformat.write(nb, str(path))


def test_a_notebook_is_graded_like_the_module(tmp_path):
    _notebook(tmp_path / "Assignment2.ipynb", open(CORRECT).read())
    run = grade(tmp_path / "Assignment2.ipynb")
    assert run.notes == ["graded the notebook Assignment2.ipynb as assignment2.py (its code cells, in order)",
                         "5 IPython magic, help or shell line(s) of Assignment2.ipynb were dropped (they are not "
                         "Python)",
                         "cell(s) 5 (%%bash) of Assignment2.ipynb were left out: their cell magic runs something "
                         "other than Python"]
    assert run.score == run.max_score
    folder = tmp_path / "folder"
    folder.mkdir()
    _notebook(folder / "my_work.ipynb", open(CORRECT).read())
    assert grade(folder).score == 100


def test_a_zip_of_the_folder_is_unpacked_safely(tmp_path):
    import stat
    import zipfile
    path = tmp_path / "submission.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.write(CORRECT, "hw2_folder/assignment2.py")
        z.writestr("__MACOSX/hw2_folder/._assignment2.py", b"\0\0")
        z.writestr("../escape.py", "print('out')\n")
        link = zipfile.ZipInfo("hw2_folder/link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    run = grade(path)
    assert run.score == run.max_score
    assert run.notes == ["2 entries of submission.zip pointing outside the submission or being links were not "
                         "unpacked: ../escape.py, hw2_folder/link.py"]
    assert not (tmp_path / "escape.py").exists()


def _with(tmp_path, extra):
    """A copy of the sentiment-2layer spec (with its support files) plus YAML text `extra`."""
    import yaml
    from nngrader.core.course import default_course
    spec = yaml.safe_load(open(default_course().spec_path("sentiment-2layer")))
    spec["assignment"]["support"] = [os.path.join(ROOT, "checks", s) for s in spec["assignment"]["support"]]
    extra = yaml.safe_load(extra)
    spec["assignment"].update(extra.pop("assignment", {}))
    spec.update(extra)
    path = tmp_path / "checks" / "sentiment-2layer.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec, sort_keys=False))      # argument order is call order
    asg = assignments.load(str(path))
    asg.fixture_path = assignments.load("sentiment-2layer").fixture_path      # the project's fixtures
    return asg


def test_module_level_code_costs_only_what_the_policy_says(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "assignment2.py").write_text(open(CORRECT).read() + "\nimport sys\nsys.exit('trained')\n")
    assert grade(sub).score == 100                                      # the default: nothing off
    asg = _with(tmp_path, "policies: {top_level_code_penalty: 5}")
    run = grading.grade(asg, str(sub))
    assert run.score == 95 and run.penalties == [
        (5.0, "5 point(s) off: importing assignment2.py failed because of its module-level statements "
              "(policies › top_level_code_penalty)")]
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copy(CORRECT, clean / "assignment2.py")
    assert grading.grade(asg, str(clean)).score == 100                  # a file that imports cleanly


def test_a_package_the_assignment_needs_must_be_installed(tmp_path):
    from nngrader.core.errors import SpecError
    asg = _with(tmp_path, "assignment: {packages: [numpy, surely_not_installed_pkg]}")
    with pytest.raises(SpecError, match="grading sentiment-2layer needs surely_not_installed_pkg, which this "
                                        "machine does not have"):
        grading.grade(asg, CORRECT)


def test_links_in_a_submission_are_not_followed_and_the_report_says_so(tmp_path):
    """Staging runs with the grader's rights: a link handed in (`unzip` restores them) to a file
    the sandbox may not read, say the reference, must not bring its content into the sandbox."""
    secret = tmp_path / "answers.py"
    secret.write_text("SECRET = 'the reference itself'\n")
    sub = tmp_path / "sub"
    (sub / "code").mkdir(parents=True)
    (sub / "elsewhere").mkdir()
    shutil.copy(CORRECT, sub / "code" / "assignment2.py")
    os.symlink(secret, sub / "code" / "helpers.py")             # a helper beside the module
    os.symlink(tmp_path, sub / "code" / "everything")           # a folder
    os.symlink(secret, sub / "elsewhere" / "assignment2.pkl")   # a contract file in another folder
    staged, notes = grading.stage(assignments.load("sentiment-2layer"), str(sub))
    try:
        copied = [os.path.join(r, f) for r, _, fs in os.walk(staged) for f in fs]
        assert sorted(os.path.relpath(p, staged) for p in copied) == ["assignment2.py"]
        assert not any("the reference itself" in open(p, errors="replace").read() for p in copied)
    finally:
        shutil.rmtree(staged)
    assert notes == [
        "3 entries of the submission left out, not being regular files or folders (symbolic links, which the "
        "grader does not follow, or devices): code/everything, code/helpers.py, elsewhere/assignment2.pkl"]


def test_a_module_handed_in_as_a_link_is_not_graded(tmp_path):
    os.symlink(CORRECT, tmp_path / "assignment2.py")
    run = grade(tmp_path)
    assert run.score == 0
    assert run.notes == [
        "1 entry of the submission left out, not being regular files or folders (symbolic links, which the "
        "grader does not follow, or devices): assignment2.py",
        "nothing was submitted: the submission has none of assignment2.py, assignment2.pkl (it contains: "
        "assignment2.py (a link, not followed)); every check scores 0"]


def _staged(asg, sub):
    staged, notes = grading.stage(asg, str(sub))
    try:
        names = sorted(os.path.relpath(os.path.join(r, f), staged) for r, _, fs in os.walk(staged) for f in fs)
        module = open(os.path.join(staged, "assignment2.py")).read() if "assignment2.py" in names else None
    finally:
        shutil.rmtree(staged)
    return names, module, notes


@pytest.mark.parametrize("name", ["Assignment2.py", "ASSIGNMENT2.PY", "assignment2 (1).py", "assignment2(2).py",
                                  "assignment2-1.py", "assignment2 copy.py", "assignment2 copy 3.py"])
def test_a_module_under_a_copys_name_is_graded_with_a_note(tmp_path, name):
    """Browsers, Macs and course sites rename a copy; a correct solution must not score 0 for it."""
    (tmp_path / "hw").mkdir()
    shutil.copy(CORRECT, tmp_path / "hw" / name)
    (tmp_path / "hw" / "assignment2_draft.py").write_text("raise SystemExit('not this one')\n")
    names, module, notes = _staged(assignments.load("sentiment-2layer"), tmp_path)
    assert module == open(CORRECT).read()
    assert notes == [f"graded hw/{name} as assignment2.py: its name differs from assignment2.py only as a copy's "
                     f"name does (letter case, a number, 'copy'), as a computer or a course site may rename a file"]


@pytest.mark.parametrize("name", ["assignment2_final.py", "my_assignment2.py", "assignment21.py", "assignment2.py.txt",
                                  "assignment2 (1).ipynb.py"])
def test_other_names_are_never_guessed(tmp_path, name):
    shutil.copy(CORRECT, tmp_path / name)
    (tmp_path / "notes.txt").write_text("x\n")
    names, module, notes = _staged(assignments.load("sentiment-2layer"), tmp_path)
    assert module is None and notes[-1].startswith("nothing was submitted")


def test_two_copies_are_not_chosen_between(tmp_path):
    shutil.copy(CORRECT, tmp_path / "assignment2 (1).py")
    shutil.copy(CORRECT, tmp_path / "Assignment2-2.py")
    names, module, notes = _staged(assignments.load("sentiment-2layer"), tmp_path)
    assert module is None
    assert notes[0] == ("2 files could be assignment2.py under a copy's name (Assignment2-2.py, assignment2 (1).py); "
                        "none was graded as assignment2.py: hand in one file named assignment2.py")


def test_renamed_files_are_graded_only_as_the_policy_says(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(CORRECT, sub / "Assignment2.py")
    assert grade(sub).score == 100                                      # the default: accepted
    run = grading.grade(_with(tmp_path, "policies: {accept_renamed_files: false}"), str(sub))
    assert run.score == 0 and run.notes[0].startswith("nothing was submitted")
    from nngrader.core.errors import SpecError
    with pytest.raises(SpecError, match="accept_renamed_files"):
        (tmp_path / "again").mkdir()
        _with(tmp_path / "again", "policies: {accept_renamed_files: sometimes}")


def test_a_contract_file_in_several_places_is_named_in_a_note(tmp_path):
    """Which copy is meant is the student's to say: the one graded is the first in the folder's
    order (a folder's own files, then its folders by name, each whole), and the note says so."""
    for folder, source in (("final", CORRECT), ("old", os.path.join(ROOT, "examples", "sentiment-2layer",
                                                                    "missing_mean", "assignment2.py"))):
        (tmp_path / folder).mkdir()
        shutil.copy(source, tmp_path / folder / "assignment2.py")
    names, module, notes = _staged(assignments.load("sentiment-2layer"), tmp_path)
    assert module == open(CORRECT).read()
    assert notes == ["assignment2.py is in 2 places (final/assignment2.py, old/assignment2.py): graded "
                     "final/assignment2.py, the first in the folder's order; hand in one assignment2.py"]
    shutil.copy(CORRECT, tmp_path / "assignment2.py")       # the top folder's comes first
    assert _staged(assignments.load("sentiment-2layer"), tmp_path)[2][0].startswith(
        "assignment2.py is in 3 places (assignment2.py, final/assignment2.py, old/assignment2.py): graded "
        "assignment2.py,")
