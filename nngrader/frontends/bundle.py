"""The student bundle: `grader.py bundle --assignment ID -o DIR` writes a folder a student grades
their own work in, with plain `pytest`, and no reference code in it.

    DIR/
      README.md                  for students: how to run, what is checked, what is graded only on submission
      pytest.ini, conftest.py    plain `pytest` runs the checks on submission/ (the engine below, if not installed)
      submission/                the template (the student edits it) and the files the assignment hands out
      checks/<id>.yaml           the visible checks that the bundle can grade (and their support files)
      fixtures/<id>/             their fixtures, and replay.pkl: the reference's results those checks compare
                                 against, recorded by grading the reference against itself (nngrader.engine.replay)
      engine/                    the engine, a package (`pip install ./engine` installs it and its dependencies)

Left out: the reference, hidden checks (any visibility but `visible`) with their fixtures, and
checks the recorded reference cannot serve (they hand the reference what the submission computed,
or read a submitted file the reference does not provide): those are graded only on submission,
and the README lists them.
"""
import importlib.metadata
import json
import os
import pickle
import shutil

import yaml

import nngrader
from nngrader.boundary import safe_pickle
from nngrader.core.errors import SpecError
from nngrader.engine import fixtures, grading, replay
from nngrader.frontends import assignments

TEMPLATES = "student_impl"          # the course's templates: student_impl/<id>/
SUBMISSION = "submission"           # the bundle's folder the student edits


def engine_files(into):
    """Write the engine as an installable package into `into` (pyproject.toml, README.md, nngrader/)."""
    source = os.path.dirname(os.path.abspath(nngrader.__file__))
    shutil.copytree(source, os.path.join(into, "nngrader"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    try:
        requires = [r for r in importlib.metadata.requires("nngrader") or [] if "extra ==" not in r]
        version = importlib.metadata.version("nngrader")
    except importlib.metadata.PackageNotFoundError:
        raise SpecError("the nngrader package is not installed (pip install -e .): its dependencies "
                        "cannot be listed for the engine's package") from None
    packages = sorted(os.path.relpath(root, into).replace(os.sep, ".")
                      for root, _, files in os.walk(os.path.join(into, "nngrader")) if "__init__.py" in files)
    with open(os.path.join(into, "pyproject.toml"), "w") as f:
        f.write('[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
                f'[project]\nname = "nngrader"\nversion = "{version}"\nrequires-python = ">=3.10"\n'
                "dependencies = [\n" + "".join(f"    {r!r},\n".replace("'", '"') for r in requires) + "]\n\n"
                '[project.scripts]\nnngrader = "nngrader.frontends.cli:main"\n\n'
                "[tool.setuptools]\npackages = [" + ", ".join(f'"{p}"' for p in packages) + "]\n\n"
                '[tool.setuptools.package-data]\n"nngrader.frontends" = ["*.json"]\n')
    with open(os.path.join(into, "README.md"), "w") as f:
        f.write("The nngrader engine: `pip install .` installs it with its dependencies.\n")


def shown(check):
    """Checks a student may see: hidden, after_due_date and after_published ones are not."""
    return check.visibility == "visible"


def record(asg, progress=None):
    """Grade the reference against itself with a recorder -> (recorder, bundled checks,
    {check name: why it is graded only on submission})."""
    recorder = replay.Recorder(asg)
    bundled, submission_only = [], {}
    with grading.Grading(asg, grading.REFERENCE_SUBMISSION, reference_source=recorder) as g:
        for check in [c for c in asg.checks if shown(c)]:
            result = g.run(check)
            if progress:
                progress(check, recorder.unreplayable.get(check.name))
            if check.name in recorder.unreplayable:
                submission_only[check.name] = recorder.unreplayable[check.name]
            elif result.outcome.passed:
                bundled.append(check)
            else:
                detail = result.outcome.error or "\n".join([result.outcome.checked] + result.outcome.lines)
                raise SpecError(f"{asg.id} › {check.name}: the reference fails its own check, so it cannot be "
                                f"recorded for the bundle:\n{detail}")
    # What a check asks of the reference only once the submission failed (to name the mistake, to
    # make sure the reference meets the check there) is recorded from two more runs, whose verdicts
    # are not the bundle's business: the template (every check fails at once, "not implemented"),
    # and the reference with every number it returns made wrong (every check fails on its values).
    for submission, perturb in ((_template(asg), False), (grading.REFERENCE_SUBMISSION, True)):
        recorder.perturb = perturb
        with grading.Grading(asg, submission, reference_source=recorder) as g:
            for check in bundled:
                g.run(check)
                if check.name in recorder.unreplayable:
                    raise SpecError(f"{asg.id} › {check.name}: when the submission fails, the check "
                                    f"{recorder.unreplayable[check.name]}; it cannot be bundled")
    recorder.perturb = False
    return recorder, bundled, submission_only


def _template(asg):
    template = os.path.join(asg.course.root, TEMPLATES, asg.id)
    if not os.path.isdir(template):
        raise SpecError(f"{asg.course.relative(template)}: the assignment has no template folder")
    return template


def _spec_with(asg, checks):
    """The assignment's YAML with only `checks` (comments, which may speak of hidden checks, dropped)."""
    with open(asg.path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    names = {c.name for c in checks}
    raw["checks"] = [c for c in raw["checks"] if c.get("name") in names]
    return raw


def write(asg, out, progress=None):
    """Make the bundle of `asg` in the folder `out` (new or empty) -> summary dict."""
    if os.path.exists(out) and os.listdir(out):
        raise SpecError(f"-o {out}: the folder is not empty; give a new folder for the bundle")
    recorder, bundled, submission_only = record(asg, progress)
    hidden = [c for c in asg.checks if not shown(c)]
    course = asg.course
    os.makedirs(out, exist_ok=True)

    # the template and the files the assignment hands out
    sub = os.path.join(out, SUBMISSION)
    shutil.copytree(_template(asg), sub, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in asg.support:
        shutil.copy(path, os.path.join(sub, os.path.basename(path)))

    # the checks, their support files, their fixtures, the recorded reference
    checks_dir = os.path.join(out, "checks")
    os.makedirs(checks_dir)
    with open(os.path.join(checks_dir, f"{asg.id}.yaml"), "w", encoding="utf-8") as f:
        f.write(f"# The visible checks of {asg.id} that this bundle grades (made by `grader.py bundle`).\n")
        yaml.safe_dump(_spec_with(asg, bundled), f, sort_keys=False)
    for path in asg.support:
        target = os.path.join(checks_dir, os.path.relpath(path, course.checks_dir))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(path, target)
    fx = os.path.join(out, "fixtures", asg.id)
    os.makedirs(fx)
    kept = set()
    for check in fixtures.fixture_checks(asg):
        if check in bundled:
            shutil.copy(fixtures.path_for(asg, check), os.path.join(fx, os.path.basename(fixtures.path_for(asg, check))))
            kept.add(os.path.basename(fixtures.path_for(asg, check)))
    manifest = os.path.join(course.fixtures_dir, asg.id, fixtures.MANIFEST)
    if os.path.exists(manifest):
        with open(manifest) as f:
            data = json.load(f)
        with open(os.path.join(fx, fixtures.MANIFEST), "w") as f:
            json.dump({k: v for k, v in sorted(data.items()) if k in kept}, f, indent=1)
    store = os.path.join(fx, replay.STORE)
    safe_pickle_dump(recorder.data([c.name for c in bundled]), store)

    engine_files(os.path.join(out, "engine"))
    with open(os.path.join(out, "pytest.ini"), "w") as f:
        f.write("[pytest]\n# plain `pytest` in this folder grades submission/ with the checks below\n"
                f"addopts = -p no:cacheprovider --course=. --submission={SUBMISSION} --assignment={asg.id}\n"
                "testpaths = checks\n")
    with open(os.path.join(out, "conftest.py"), "w") as f:
        f.write(CONFTEST)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme(asg, bundled, submission_only, hidden))
    return {"bundled": [c.name for c in bundled], "submission_only": submission_only,
            "hidden": len(hidden), "store_bytes": os.path.getsize(store)}


def safe_pickle_dump(data, path):
    """Write plain data as a pickle, and prove it loads with the restricted unpickler."""
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=4)
    safe_pickle.restricted_load(path)


CONFTEST = '''"""Loads the grading plugin from the engine in engine/ (the one these checks were made with)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine"))

pytest_plugins = ["nngrader.frontends.pytest_plugin"]
'''


def readme(asg, bundled, submission_only, hidden):
    files = ", ".join(asg.files)
    lines = [
        f"# {asg.title or asg.id}: checks you can run yourself",
        "",
        f"Write your solution in `{SUBMISSION}/` ({files}; the template has the exact signatures), then run,",
        "in this folder:",
        "",
        "```",
        "pip install ./engine        # once: what the grading engine needs (numpy, pyyaml, hypothesis, pytest)",
        "pytest                      # every check below, one test each",
        "pytest -k NAME              # only the checks named NAME or exercising the function NAME",
        "```",
        "",
        "A failing check prints what was checked and against what, the failing example, the worst entry",
        "with the expected and received values, the tolerance, a hint, and the command that reruns just",
        "that check: the same feedback the course's grader gives. Your code runs in a separate, limited",
        "process, as on the grader.",
        "",
        "The expected values come from the course's reference, recorded for the examples these checks",
        "generate (`fixtures/`); the reference itself is not here. So a check stops at the first example",
        "your code fails, without looking for a smaller one: the example shown may be larger than the",
        "grader's. Gradient checks compare with central differences of the reference's loss (recorded)",
        "and also tell whether your gradient agrees with differences of your own loss.",
        "",
        f"## Checked here ({len(bundled)} checks, {sum(c.points for c in bundled):g} points)",
        "",
    ]
    lines += [f"- `{c.name}` ({c.points:g} pt): {c.description or ', '.join(c.exercises)}" for c in bundled]
    lines += ["", "## Graded only on submission", ""]
    if not submission_only and not hidden:
        lines.append("Nothing: every check of the assignment is here.")
    for name, why in submission_only.items():
        check = next(c for c in asg.checks if c.name == name)
        lines.append(f"- `{name}` ({check.points:g} pt): {why}")
    if hidden:
        lines.append(f"- {len(hidden)} hidden check(s), {sum(c.points for c in hidden):g} points: "
                     "not shown before grading")
    lines.append("")
    return "\n".join(lines)


def main(assignment_id, out, course=None, progress=None):
    asg = assignments.load(assignment_id, course)
    return write(asg, out, progress)
