"""The hostile corpus (tests/hostile/, rules in its manifest.yaml): every submission that attacks
the grader is graded by `grader.py grade` in a subprocess with small limits, and the grader must
finish in time with valid, honest results and leave nothing behind.

The gradings run concurrently (they mostly wait on timeouts), once per session for the cases
selected; each case's test then checks its own grading. As root, each grading gets a user id
reserved here (`containment.claim_user`) and passed as `--limit unprivileged_user=UID`, so that the
processes and files left by exactly that grading can be looked for.
"""
import concurrent.futures
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml

import corpus_tools
from nngrader.boundary import containment
from nngrader.frontends import assignments, results_schema

# Slow (34 hostile submissions graded by the command line): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.dirname(os.path.dirname(os.path.abspath(yaml.__file__)))
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LIMITS = ["call_timeout=2", "memory_bytes=1GiB", "submission_timeout=60"]
CONTRACT = ["sigmoid", "inference_layer", "inference_2layers", "bce_forward", "gradients", "update_params",
            "train_nn"]
DEFAULT_MAX_SECONDS = 120
PARALLEL = 4

with open(os.path.join(HOSTILE, "manifest.yaml"), encoding="utf-8") as _f:
    MANIFEST = yaml.safe_load(_f)


materialize = corpus_tools.materialize_hostile


def _token_paths(token):
    """Anything with the token in its name where an attack might have left it."""
    hits = []
    for top in ("/tmp", "/var/tmp", "/dev/shm", SITE):
        hits += glob.glob(os.path.join(top, f"*{token}*"))
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in (".git", ".hypothesis")]
        hits += [os.path.join(root, n) for n in dirs + files if token in n]
    return hits


@functools.lru_cache(maxsize=None)
def _checks():
    return assignments.load("sentiment-2layer").checks


def selected_checks(case):
    """Every check exercising a cheated function, and for each honest function the first check
    about it alone (that honest functions keep their points; grading all 18 checks of 34 cases
    would take minutes), and the submitted-pickle check."""
    cheats = set(CONTRACT if case.get("cheats") == "all" else case.get("cheats", []))
    checks = _checks()
    chosen = [c.name for c in checks if set(c.exercises) & cheats or c.kind == "submitted_pickle"]
    for function in CONTRACT:
        if function not in cheats:
            chosen += [c.name for c in checks if c.exercises == [function]][:1]
    return [c.name for c in checks if c.name in chosen]


def grade_case(name, workdir):
    """Grade one hostile case in a subprocess -> what the assertions need."""
    token = "t" + uuid.uuid4().hex[:12]
    results = os.path.join(workdir, "results.json")
    subs = {"@TOKEN@": token, "@REPO@": REPO, "@RESULTS@": results, "@SITE@": SITE}
    submission = materialize(name, os.path.join(workdir, "submission"), subs)
    uid = lock = None
    limits = list(LIMITS) + list((MANIFEST[name] or {}).get("limits", []))
    if AS_ROOT:
        uid, _, lock = containment.claim_user("auto")
        limits.append(f"unprivileged_user={uid}")
    cmd = [sys.executable, os.path.join(REPO, "grader.py"), "grade", submission, "--assignment",
           "sentiment-2layer", "--results", results, "--quiet", "--only"] + selected_checks(MANIFEST[name] or {})
    cmd += [a for lim in limits for a in ("--limit", lim)]
    try:
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=240)
        seconds = time.monotonic() - started
        time.sleep(0.3)             # a surviving daemon would show itself (it writes every 0.05 s)
        out = {"name": name, "subs": subs, "submission": submission, "results": results, "seconds": seconds,
               "returncode": proc.returncode, "stderr": proc.stderr[-5000:], "token": token,
               "processes": containment.processes_of(uid) if uid is not None else [],
               "files": containment.files_of(uid) if uid is not None else [],
               "token_paths": _token_paths(token)}
    finally:
        if uid is not None:         # whatever happened, leave nothing of that user behind
            containment.kill_user(uid)
            containment.remove_files_of(uid)
        if lock is not None:
            lock.close()
    problems = results_schema.problems_in_file(results, require_tags=True)
    out["validator"] = (len(problems), "\n".join(problems))
    return out


@pytest.fixture(scope="session")
def hostile_gradings(request, tmp_path_factory):
    """Grade every selected case, several at a time -> {name: grade_case(...)}."""
    names = [item.callspec.params["name"] for item in request.session.items
             if getattr(item, "originalname", "") == "test_hostile" and hasattr(item, "callspec")]
    names = [n for n in dict.fromkeys(names) if AS_ROOT or not (MANIFEST[n] or {}).get("needs_root")]
    base = tmp_path_factory.mktemp("hostile")
    _checks()                       # loaded once, before the threads
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = {n: pool.submit(grade_case, n, str(base / n)) for n in names}
        return {n: f.result() for n, f in futures.items()}


def expected_score(test, case):
    """0 when the check is about a cheated function (its first tag), full marks when it exercises
    none, None (either) when only a helper it also calls is cheated (e.g. a gradient check whose
    loss may be computed by the reference)."""
    check, tags = test["name"].split(":")[0], test["tags"]
    cheats = set(CONTRACT if case.get("cheats") == "all" else case.get("cheats", []))
    if check in case.get("zero", []):
        return 0
    if check in case.get("still_earns", []) or not set(tags) & cheats:
        return test["max_score"]
    return 0 if tags[0] in cheats else None


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_hostile(name, hostile_gradings):
    case = MANIFEST[name] or {}
    if case.get("needs_root") and not AS_ROOT:
        pytest.skip("the defence is the unprivileged user: only when grading as root")
    got = hostile_gradings[name]

    def fill(text):
        for key, value in got["subs"].items():
            text = text.replace(key, value)
        return text

    assert got["returncode"] == 0, f"grader exited {got['returncode']}:\n{got['stderr']}"
    assert got["seconds"] < case.get("max_seconds", DEFAULT_MAX_SECONDS), f"grading took {got['seconds']:.1f} s"
    if "validator" in got:
        assert got["validator"][0] == 0, got["validator"][1]
    assert os.path.getsize(got["results"]) < 1_000_000, "results.json is not small: printed output leaked into it"
    with open(got["results"], encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    if AS_ROOT:
        assert os.stat(got["results"]).st_mode & 0o077 == 0, "results.json is readable by others"

    # Points: what was cheated earns nothing, what is honest keeps everything.
    wrong = []
    for t in doc["tests"]:
        want = expected_score(t, case)
        if want is not None and abs(t["score"] - want) > 1e-9:
            wrong.append(f"{t['name']} [{', '.join(t['tags'])}]: {t['score']:g}/{t['max_score']:g}, expected {want:g}\n"
                         + "\n".join("    " + line for line in t["output"].splitlines()[:8]))
    assert not wrong, "\n".join(wrong)

    # The feedback says what happened, where.
    everything = doc["output"] + "\n" + "\n".join(t["output"] for t in doc["tests"])
    for message in case.get("messages", []):
        assert message in everything, f"no {message!r} in the feedback:\n{everything[:3000]}"
    if "line_of" in case:
        with open(os.path.join(got["submission"], "assignment2.py"), "rb") as f:
            lines = f.read().split(b"\n")
        line = next(i for i, b in enumerate(lines, 1) if case["line_of"].encode() in b)
        assert f"(assignment2.py, line {line})" in everything, everything[:3000]
    assert got["token"] not in text, "something the submission wrote reached results.json"

    # Nothing left behind: no process, no file outside the scratch folder.
    assert not got["processes"], f"processes of the unprivileged user survived: {got['processes']}"
    assert not got["files"], f"files of the unprivileged user survived: {got['files']}"
    assert not got["token_paths"], f"the submission created {got['token_paths']}"
    for path in case.get("absent", []):
        assert not os.path.lexists(fill(path)), f"{fill(path)} exists"
    for path in case.get("untouched", []):
        path = fill(path)
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert got["token"].encode() not in f.read(), f"the submission wrote into {path}"


def test_hostile_corpus_size():
    """The issue's floor: at least 25 hostile submissions, each with its attack."""
    assert len(MANIFEST) >= 25
    for name in MANIFEST:
        assert os.path.isfile(os.path.join(HOSTILE, name, "attack.py")), name
    assert sorted(MANIFEST) == sorted(d for d in os.listdir(HOSTILE) if os.path.isdir(os.path.join(HOSTILE, d)))
