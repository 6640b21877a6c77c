"""The Gradescope autograder: `grader.py export-gradescope --assignment ID -o autograder.zip`.

The zip, as Gradescope unpacks it into /autograder/source:

    setup.sh            installs the engine (and its dependencies) with pip
    run_autograder      grades /autograder/submission into /autograder/results/results.json
    engine/             the engine, a package (pyproject.toml, nngrader/)
    course/             the assignment: checks/<id>.yaml (hidden checks included, with their
                        visibility), its support files, fixtures/<id>/, data/<id>/, reference/

`run_autograder` always leaves valid results: the grader writes them even when it stops part-way
(a signal, its own failure); when it could not (a broken fixture, a crash of the interpreter,
being killed), the script writes a results.json of its own saying the grading failed and is not a
grade. Environment variables move what Gradescope fixes, for testing the zip anywhere:
NNGRADER_AUTOGRADER_ROOT (default /autograder), NNGRADER_PYTHON (default python3), and for
setup.sh NNGRADER_PIP_ARGS (extra pip arguments, e.g. `--no-deps --no-index` offline).
"""
import os
import shutil
import tempfile
import zipfile

from nngrader.core.errors import SpecError
from nngrader.frontends.bundle import engine_files

# Each worker's address space on Gradescope (RLIMIT_AS): every shipped assignment's correct
# examples pass within 300 MiB, and two workers and the grader (about 100 MB) fit in 768 MB.
WORKER_MEMORY = "300MiB"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder is built: install the engine and what it
# needs. NNGRADER_PYTHON picks the interpreter; NNGRADER_PIP_ARGS adds pip arguments (offline tests).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${NNGRADER_PYTHON:-python3}"
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip python3-venv
fi
"$PYTHON" -m pip install ${NNGRADER_PIP_ARGS:-} "$HERE/engine"
"$PYTHON" -m nngrader validate __ASSIGNMENT__ --static --course "$HERE/course"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into
# /autograder/results/results.json. NNGRADER_AUTOGRADER_ROOT moves /autograder (tests);
# NNGRADER_MEMORY is each worker's address space (two may be alive at once: the module checks and a
# program's runs), sized so that both and the grader fit Gradescope's default 768 MB.
set -u
ROOT="${NNGRADER_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${NNGRADER_PYTHON:-python3}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$SOURCE"
"$PYTHON" -m nngrader grade "$ROOT/submission" --assignment __ASSIGNMENT__ --course "$SOURCE/course" \\
    --results "$RESULTS" --limit "memory_bytes=${NNGRADER_MEMORY:-__MEMORY__}"
code=$?
# The grader writes results whenever it can; if it could not (a broken fixture, exit 2; the
# interpreter crashed or was killed), leave results that say so: never a missing or broken file.
if ! "$PYTHON" - "$RESULTS" <<'EOF' 2>/dev/null
import json, sys
with open(sys.argv[1]) as f:
    data = json.load(f)
assert isinstance(data, dict) and isinstance(data.get("tests", []), list) and ("score" in data or "tests" in data)
EOF
then
    cat > "$RESULTS" <<EOF
{"score": 0.0, "output": "The autograder failed before it could grade this submission (exit code $code). This is not a grade: the course staff will regrade it.", "tests": [], "visibility": "visible", "stdout_visibility": "hidden"}
EOF
    echo "run_autograder: the grader left no valid results (exit code $code); wrote a failure notice to $RESULTS" >&2
fi
exit 0
"""


def _copy_course(asg, into):
    """The assignment's part of the course folder -> `into`/course."""
    course = asg.course
    out = os.path.join(into, "course")
    os.makedirs(os.path.join(out, "checks"))
    shutil.copy(asg.path, os.path.join(out, "checks", os.path.basename(asg.path)))
    for path in asg.support:
        target = os.path.join(out, "checks", os.path.relpath(path, course.checks_dir))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(path, target)
    for part in ("fixtures", "data"):
        source = os.path.join(course.root, part, asg.id)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(out, part, asg.id),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    package = asg.reference.split(".")[0]
    source = os.path.join(course.root, package)
    if not os.path.isdir(source):
        raise SpecError(f"{course.relative(asg.path)} › assignment › reference: no package folder "
                        f"{course.relative(source)} in the course")
    shutil.copytree(source, os.path.join(out, package), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def write(asg, out_zip):
    """Write the autograder zip of `asg` -> the names in it."""
    work = tempfile.mkdtemp(prefix="nngrader-export-")
    try:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            with open(os.path.join(work, name), "w") as f:
                f.write(text.replace("__ASSIGNMENT__", asg.id).replace("__MEMORY__", WORKER_MEMORY))
        engine_files(os.path.join(work, "engine"))
        _copy_course(asg, work)
        names = []
        tmp = out_zip + ".tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for root, dirs, files in os.walk(work):
                dirs.sort()
                for f in sorted(files):
                    path = os.path.join(root, f)
                    name = os.path.relpath(path, work).replace(os.sep, "/")
                    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                    executable = name in ("setup.sh", "run_autograder")
                    info.external_attr = (0o100755 if executable else 0o100644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with open(path, "rb") as src:
                        z.writestr(info, src.read())
                    names.append(name)
        os.replace(tmp, out_zip)
        return names
    finally:
        shutil.rmtree(work, ignore_errors=True)
