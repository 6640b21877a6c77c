"""Batch grading (`grader.py batch`): every submission of a folder graded as single grading
grades it, a gradebook that adds up, re-runs that skip what did not change, figures a person can
read, examples recorded once that never change a verdict, and no state carried from one
submission to the next."""
import csv
import json
import os
import signal
import shutil
import subprocess
import sys
import time
import zipfile

import random

import numpy as np
import pytest
import yaml

from corpus_tools import materialize
from process_tools import cmdline, processes
from nngrader.engine import grading, memo, search
from nngrader.frontends import assignments, batch, figures, results
from nngrader.kinds import training
from realworld_tools import build

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENT = "sentiment-2layer"
LIMITS = {"call_timeout": "2", "submission_timeout": "40"}
HANG = """

def sigmoid(x):                 # hangs: only this submission's limits may pay for it
    while True:
        pass
"""
NOT_A_SUBMISSION = "print('hello')\n"


def _correct_source():
    """A correct submission whose public functions share no code (the hostile corpus's base): a
    function made to hang or to lie here costs only the checks about it."""
    with open(os.path.join(REPO, "tests", "hostile", "honest.py"), encoding="utf-8") as f:
        return f.read()


def _class_folder(root):
    """A small class: correct, buggy, a hang in the middle, a zip, a notebook, a single file,
    an empty folder (what each student id is named after the entry)."""
    subs = os.path.join(root, "subs")
    os.makedirs(subs)
    materialize(ASSIGNMENT, "correct_loops", os.path.join(subs, "alice"))
    materialize(ASSIGNMENT, "gradients_missing_mean", os.path.join(subs, "bob"))
    materialize(ASSIGNMENT, "bce_sign", os.path.join(subs, "carol"))
    os.makedirs(os.path.join(subs, "dave"))
    with open(os.path.join(subs, "dave", "assignment2.py"), "w", encoding="utf-8") as f:
        f.write(_correct_source() + HANG)
    specs = yaml.safe_load(open(os.path.join(REPO, "tests", "realworld", ASSIGNMENT + ".yaml"), encoding="utf-8"))
    for student, case in (("erin", "zip_with_bug"), ("frank", "notebook_handin")):
        work = os.path.join(root, "build-" + student)
        os.makedirs(work)
        path = build(ASSIGNMENT, case, specs[case], work)
        if os.path.isdir(path):         # a folder holding the notebook: the notebook alone is handed in
            path = next(os.path.join(path, n) for n in os.listdir(path) if n.endswith(".ipynb"))
        shutil.copy(path, os.path.join(subs, student + os.path.splitext(path)[1]))
    with open(os.path.join(subs, "grace.py"), "w", encoding="utf-8") as f:
        f.write(_correct_source())
    os.makedirs(os.path.join(subs, "heidi"))
    with open(os.path.join(subs, "heidi", "notes.txt"), "w", encoding="utf-8") as f:
        f.write(NOT_A_SUBMISSION)
    return subs


def _cli(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), *args], capture_output=True,
                          text=True, cwd=REPO, stdin=subprocess.DEVNULL)


def _without_time(doc):
    doc = dict(doc)
    doc.pop("execution_time")
    return doc


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("batch"))
    subs = _class_folder(root)
    out = os.path.join(root, "out")
    limits = [x for k, v in LIMITS.items() for x in ("--limit", f"{k}={v}")]
    first = _cli("batch", subs, "--assignment", ASSIGNMENT, "--out", out, "--jobs", "2", *limits)
    return {"subs": subs, "out": out, "first": first, "limits": limits}


def test_discover_names_each_entry_by_student(tmp_path):
    for name in ("alice", "bob.zip", "carol.ipynb", "dave.py", ".hidden", "alice.zip", "erin.txt"):
        path = tmp_path / name
        if "." in name[1:]:
            path.write_text("x")
        else:
            path.mkdir()
    (tmp_path / "__pycache__").mkdir()
    got = [(e.student, os.path.basename(e.path)) for e in batch.discover(str(tmp_path))]
    assert got == [("alice", "alice"), ("alice.zip", "alice.zip"), ("bob", "bob.zip"), ("carol", "carol.ipynb"),
                   ("dave", "dave.py"), ("erin.txt", "erin.txt")]


def test_discover_leaves_out_the_output_folder(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "out").mkdir()
    got = [e.student for e in batch.discover(str(tmp_path), exclude=[str(tmp_path / "out")])]
    assert got == ["alice"]


@pytest.mark.slow
def test_batch_grades_every_submission_as_single_grading_does(graded_class):
    first, out, subs = graded_class["first"], graded_class["out"], graded_class["subs"]
    assert first.returncode == 0, first.stderr
    assert "8 submissions (8 graded, 0 unchanged" in first.stdout
    assert "grading:" not in first.stderr and "sub/s" not in first.stderr     # no bar off a terminal
    asg = assignments.load(ASSIGNMENT)
    with open(os.path.join(out, "grades.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    assert list(rows[0]) == ["student", "total", "max"] + [c.name for c in asg.checks] + ["status"]
    for row, entry in zip(rows, batch.discover(subs)):
        with open(os.path.join(out, row["student"], "results.json"), encoding="utf-8") as f:
            doc = json.load(f)
        assert float(row["total"]) == doc["score"]
        assert float(row["max"]) == asg.max_points
        assert {t["name"]: float(row[t["name"]]) for t in doc["tests"]} == {t["name"]: t["score"] for t in doc["tests"]}
        assert row["status"] == "graded"
        with open(os.path.join(out, row["student"], "report.txt"), encoding="utf-8") as f:
            assert f.read().startswith(f"{asg.title} ({asg.id}) — submission: {entry.path}")
        single = grading.grade(asg, entry.path, overrides=LIMITS)         # no memo: hypothesis as always
        assert json.dumps(_without_time(results.to_gradescope(single)), indent=2) == \
            json.dumps(_without_time(doc), indent=2), row["student"]
    scores = {r["student"]: float(r["total"]) for r in rows}
    assert scores["alice"] == scores["grace"] == scores["frank"] == 100
    assert scores["bob"] < 100 and scores["carol"] < 100 and scores["erin"] < 100 and scores["heidi"] == 0
    with open(os.path.join(out, "dave", "results.json"), encoding="utf-8") as f:
        dave = json.load(f)
    assert "timed out after 2 s in sigmoid" in json.dumps(dave)           # the hang cost only its own limits
    summary = json.load(open(os.path.join(out, "summary.json"), encoding="utf-8"))
    assert summary["submissions"] == 8 and summary["graded"] == 8 and summary["errors"] == 0
    assert summary["full_marks"] == 3 and summary["reference_score"] == asg.max_points
    assert {"what": "mistake: missing_mean", "submissions": 1} in summary["diagnoses"]
    rate = {c["name"]: c["pass_rate"] for c in summary["checks"]}
    assert rate["sigmoid_matrix"] == 0.75           # dave hangs and heidi submitted nothing
    assert sorted(summary["figures"]) == ["diagnoses.png", "loss_curves.png", "pass_rate.png", "scores.png"]


@pytest.mark.slow
def test_rerun_skips_what_did_not_change(graded_class):
    subs, out = graded_class["subs"], graded_class["out"]
    assert graded_class["first"].returncode == 0, graded_class["first"].stderr
    before = {s: os.path.getmtime(os.path.join(out, s, "results.json")) for s in ("alice", "bob")}
    again = _cli("batch", subs, "--assignment", ASSIGNMENT, "--out", out, "--jobs", "1", *graded_class["limits"])
    assert again.returncode == 0, again.stderr
    assert "8 submissions (0 graded, 8 unchanged since the last run)" in again.stdout
    assert os.path.getmtime(os.path.join(out, "alice", "results.json")) == before["alice"]
    with open(os.path.join(subs, "alice", "assignment2.py"), "a", encoding="utf-8") as f:
        f.write("\n# a comment changes the content\n")
    third = _cli("batch", subs, "--assignment", ASSIGNMENT, "--out", out, "--jobs", "1", *graded_class["limits"])
    assert third.returncode == 0, third.stderr
    assert "8 submissions (1 graded, 7 unchanged since the last run)" in third.stdout
    assert os.path.getmtime(os.path.join(out, "bob", "results.json")) == before["bob"]
    assert os.path.getmtime(os.path.join(out, "alice", "results.json")) > before["alice"]


def test_what_a_verdict_depends_on_is_in_the_checks_digest():
    asg = assignments.load(ASSIGNMENT)
    same = batch.checks_digest(asg, LIMITS)
    assert batch.checks_digest(asg, dict(LIMITS)) == same
    assert batch.checks_digest(asg, {**LIMITS, "call_timeout": "3"}) != same
    assert batch.checks_digest(assignments.load("modules-lab"), LIMITS) != same


PLANT = """

import builtins, os, sys, json
import numpy

builtins.planted_by_another_student = 1
os.environ["PLANTED_BY_ANOTHER_STUDENT"] = "1"
json.planted_by_another_student = 1
numpy.planted_by_another_student = 1
sys.modules["planted_by_another_student"] = json
with open(os.path.expanduser("~/planted_by_another_student"), "w") as f:
    f.write("x")
os.chdir("/")
_planted_sigmoid = sigmoid


def sigmoid(x):                 # right only where the state planted above is visible
    assert builtins.planted_by_another_student and json.planted_by_another_student
    return _planted_sigmoid(x)
"""

SEES = """

import builtins, os, sys, json
import numpy

_seen = [name for name, found in (
    ("builtins", hasattr(builtins, "planted_by_another_student")),
    ("environ", "PLANTED_BY_ANOTHER_STUDENT" in os.environ),
    ("json", hasattr(json, "planted_by_another_student")),
    ("numpy", hasattr(numpy, "planted_by_another_student")),
    ("sys.modules", "planted_by_another_student" in sys.modules),
    ("home", os.path.exists(os.path.expanduser("~/planted_by_another_student"))),
    ("cwd", os.getcwd() == "/")) if found]
_honest_sigmoid = sigmoid


def sigmoid(x):                 # wrong wherever another submission's state is seen
    return _honest_sigmoid(x) + len(_seen)
"""


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_no_state_leaks_from_one_submission_to_the_next(tmp_path, jobs):
    subs = tmp_path / "subs"
    subs.mkdir()
    source = _correct_source()
    (subs / "a_plants.py").write_text(source + PLANT)
    for name in ("b_sees", "c_sees", "d_sees"):
        (subs / f"{name}.py").write_text(source + SEES)
    asg = assignments.load(ASSIGNMENT)
    summary = batch.run(asg, str(subs), str(tmp_path / "out"), jobs=jobs, overrides=LIMITS,
                        stream=open(os.devnull, "w"))
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert float(rows["a_plants"]["sigmoid_matrix"]) == 5          # the state was planted and seen by itself
    for name in ("b_sees", "c_sees", "d_sees"):
        assert float(rows[name]["total"]) == asg.max_points, name  # ...and by nobody after it
        state = json.load(open(tmp_path / "out" / name / "batch.json", encoding="utf-8"))
        assert state["forked_workers"] >= 1                         # its worker came from the warm server
    assert summary["errors"] == 0


SLEEP = """

def bce_forward(yhat, y):       # asleep: no CPU used, so another submission is graded meanwhile
    import time
    time.sleep(3600)
"""


@pytest.mark.slow
def test_while_a_worker_sleeps_its_cpu_grades_other_submissions(tmp_path):
    """Two submissions whose bce_forward sleeps hold both slots of a 2-job pool at first; each
    lends its slot while it waits on its time limit (`lending`), and the others are graded in
    that time. Their grades are single grading's."""
    subs = tmp_path / "subs"
    subs.mkdir()
    source = _correct_source()
    for name in ("a_sleeps", "b_sleeps"):
        (subs / f"{name}.py").write_text(source + SLEEP)
    for name in ("c", "d", "e", "f"):
        (subs / f"{name}.py").write_text(source)
    asg = assignments.load(ASSIGNMENT)
    out = tmp_path / "out"
    summary = batch.run(asg, str(subs), str(out), jobs=2, overrides=LIMITS, stream=open(os.devnull, "w"))
    assert summary["graded"] == 6 and summary["errors"] == 0
    states = {n: json.load(open(out / n / "batch.json", encoding="utf-8")) for n in ("a_sleeps", "b_sleeps", "c", "d", "e", "f")}
    assert states["a_sleeps"]["lent_cpu"] >= 1 and states["b_sleeps"]["lent_cpu"] >= 1
    assert all(states[n]["lent_cpu"] == 0 for n in "cdef")
    both_asleep = (max(states[n]["graded_from"] for n in ("a_sleeps", "b_sleeps")),
                   min(states[n]["graded_to"] for n in ("a_sleeps", "b_sleeps")))
    within = [n for n in "cdef" if both_asleep[0] <= states[n]["graded_from"] <= states[n]["graded_to"] <= both_asleep[1]]
    assert within, (both_asleep, {n: (s["graded_from"], s["graded_to"]) for n, s in states.items()})
    for name in ("a_sleeps", "c"):
        doc = json.load(open(out / name / "results.json", encoding="utf-8"))
        single = grading.grade(asg, str(subs / f"{name}.py"), overrides=LIMITS)
        assert json.dumps(_without_time(results.to_gradescope(single)), indent=2) == \
            json.dumps(_without_time(doc), indent=2), name
    assert "timed out after 2 s in bce_forward" in json.dumps(json.load(open(out / "a_sleeps" / "results.json")))
    assert float(next(r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))
                      if r["student"] == "c")["total"]) == asg.max_points


SPY = """

def _look(path):
    import os
    try:
        return bool(os.listdir(path))
    except OSError:
        return False


SAW = _look(@SUBS@) or _look(@OUT@)
_sigmoid = sigmoid


def sigmoid(x):
    return _sigmoid(x) + (1.0 if SAW else 0.0)      # wrong exactly when it could read the class's files
"""


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="the sandbox's own user exists only as root")
def test_a_submission_cannot_read_its_classmates_files_or_feedback():
    """As root, the class's folders are closed to the sandbox's user even where others could
    enter them (here a folder of /tmp opened to everyone)."""
    import tempfile
    root = tempfile.mkdtemp(prefix="nngrader-class-")
    try:
        os.chmod(root, 0o755)
        subs, out = os.path.join(root, "subs"), os.path.join(root, "out")
        os.makedirs(subs, mode=0o755)
        os.makedirs(out, mode=0o755)
        os.chmod(subs, 0o755)
        os.chmod(out, 0o755)
        with open(os.path.join(subs, "alice.py"), "w") as f:
            f.write(_correct_source())
        with open(os.path.join(subs, "mallory.py"), "w") as f:
            f.write(_correct_source() + SPY.replace("@SUBS@", repr(subs)).replace("@OUT@", repr(out)))
        asg = assignments.load(ASSIGNMENT)
        batch.run(asg, subs, out, jobs=1, overrides=LIMITS, stream=open(os.devnull, "w"))
        rows = {r["student"]: r for r in csv.DictReader(open(os.path.join(out, "grades.csv"), encoding="utf-8"))}
        assert float(rows["mallory"]["sigmoid_matrix"]) == 5       # it could list neither folder
        assert os.stat(subs).st_mode & 0o007 == 0 and os.stat(out).st_mode & 0o007 == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


PROBE = """
import os, resource, signal


def probe():
    limits = {name: list(resource.getrlimit(getattr(resource, name)))
              for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NPROC")}
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    return {"limits": limits, "session_leader": os.getsid(0) == os.getpid(), "uid": os.getuid(),
            "gid": os.getgid(), "groups": sorted(os.getgroups()), "no_new_privs": status["NoNewPrivs"].strip(),
            "open_fds": len(os.listdir("/proc/self/fd")), "cwd_is_scratch": os.getcwd() == os.environ["HOME"],
            "environ": sorted(os.environ), "umask": os.umask(0o077), "stdin": os.readlink("/proc/self/fd/0"),
            "stdout_is_pipe": os.readlink("/proc/self/fd/1").startswith("pipe:"),
            "ignored_signals": status["SigIgn"].strip(),
            "handlers": [str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)]}
"""


def test_a_forked_worker_is_confined_as_a_started_one(tmp_path):
    from nngrader.boundary import forkserver
    from nngrader.boundary.process import StudentProcess
    (tmp_path / "assignment2.py").write_text(PROBE)
    seen = {}
    for how in ("started", "forked"):
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGHUP)}
        if how == "forked":
            # as in a batch's grading process, which leaves a Ctrl-C to the command
            for sig in saved:
                signal.signal(sig, signal.SIG_IGN)
            forkserver.enable()
        before = forkserver.spawned
        process = StudentProcess(str(tmp_path), ["assignment2"])
        try:
            seen[how] = process.request({"op": "call", "target": ("name", "probe")}, "probe")
            assert forkserver.spawned - before == (how == "forked")
            assert process.proc.poll() is None
        finally:
            process.close()
            forkserver.disable()
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        assert process.proc.poll() is not None            # killed and reaped by the grading process
    assert seen["forked"] == seen["started"]
    assert seen["forked"]["session_leader"] and seen["forked"]["stdout_is_pipe"]
    # a Ctrl-C the submission sends itself is a KeyboardInterrupt, as in a program started alone
    assert seen["forked"]["handlers"][0] == str(signal.default_int_handler)


ESCAPES = """
import os, time


def escape():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.05)
        os._exit(0)
    time.sleep(0.2)
    return os.getuid()
"""


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="the sandbox's own user exists only as root")
@pytest.mark.parametrize("server_signals", [True, False])
def test_the_fork_server_signals_the_sandbox_user_and_nothing_is_left(tmp_path, monkeypatch, server_signals):
    """In a batch the helper that kills every process of the sandbox's user is forked by the small
    fork server; when that fails, by the grading process, and nothing is left either way."""
    from nngrader.boundary import containment, forkserver
    from nngrader.boundary.process import StudentProcess
    (tmp_path / "assignment2.py").write_text(ESCAPES)
    asked = []
    real = forkserver.Server.kill_user
    monkeypatch.setattr(forkserver.Server, "kill_user",
                        lambda self, uid: asked.append(uid) or (real(self, uid) if server_signals else False))
    forkserver.enable()
    try:
        process = StudentProcess(str(tmp_path), ["assignment2"])
        uid = process.request({"op": "call", "target": ("name", "escape")}, "escape")
        assert containment.processes_of(uid)        # a grandchild in a session of its own
        forks = []
        real_fork = os.fork
        monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
        process.close()
    finally:
        forkserver.disable()
    assert asked and asked[0] == uid
    assert containment.processes_of(uid) == []
    assert len(forks) == (0 if server_signals else 1)   # the grading process forked only when it had to


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="the sandbox's own user exists only as root")
def test_a_batch_keeps_its_user_while_nothing_of_it_is_left(tmp_path, monkeypatch):
    """A grading process of a batch claims the sandbox's user once: a user whose cleanup left no
    process is kept for its next submission (no new lock, no new look for its processes); one
    whose cleanup reported a process left is released and the next submission claims anew. At
    the batch's end the user is released."""
    from nngrader.boundary import containment, forkserver
    source = tmp_path / "assignment2.py"
    source.write_text(_correct_source())
    asg = assignments.load(ASSIGNMENT)
    locks, claimed = [], []
    real_lock, real_claim = containment._lock_uid, containment.claim_user
    def lock_uid(uid):                  # the locks taken (another grading may hold the first uids)
        lock = real_lock(uid)
        if lock is not None:
            locks.append(uid)
        return lock
    monkeypatch.setattr(containment, "_lock_uid", lock_uid)
    monkeypatch.setattr(containment, "claim_user", lambda user: claimed.append(real_claim(user)) or claimed[-1])
    containment.release_parked()        # what an earlier use of the fork server in this process kept
    forkserver.enable()
    try:
        for _ in range(3):
            assert grading.grade(asg, str(tmp_path), only=["sigmoid_vector"], overrides=LIMITS).score == 2
        assert len(claimed) == 3 and len({c[0] for c in claimed}) == 1 and len(locks) == 1
        real_kill = containment.kill_user_children
        monkeypatch.setattr(containment, "kill_user_children", lambda *a, **k: real_kill(*a, **k) or [1])
        real_kill_user = containment.kill_user
        monkeypatch.setattr(containment, "kill_user", lambda *a, **k: real_kill_user(*a, **k) or [1])
        grading.grade(asg, str(tmp_path), only=["sigmoid_vector"], overrides=LIMITS)     # "something is left"
        grading.grade(asg, str(tmp_path), only=["sigmoid_vector"], overrides=LIMITS)
        assert len(locks) == 2          # the user was released, then claimed anew
    finally:
        forkserver.disable()
        containment.release_parked()
    uid = claimed[-1][0]
    lock = real_lock(uid)               # released at the end: free for anyone to claim
    assert lock is not None
    lock.close()


def test_a_pooled_batch_leaves_no_process_behind(tmp_path):
    """The pool's grading processes end their fork servers, which would otherwise be re-parented to
    the command and linger as zombies until it exits; the figures' process is reaped too."""
    from nngrader.boundary import containment
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ana", "ben", "cy"):
        (subs / f"{name}.py").write_text(_correct_source())
    before = {p for p, (pp, _, _) in containment._proc_table().items() if pp == os.getpid()}
    batch.run(assignments.load(ASSIGNMENT), str(subs), str(tmp_path / "out"), jobs=2, overrides=LIMITS,
              stream=open(os.devnull, "w"))
    left = {p: state for p, (pp, state, _) in containment._proc_table().items() if pp == os.getpid() and p not in before}
    assert left == {}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="pinning needs two cores this process may use")
@pytest.mark.parametrize("pin", [True, False])
def test_each_grading_of_a_pool_runs_on_its_slots_core(tmp_path, monkeypatch, pin):
    """With `pin` (the default), a grading process that takes one of the pool's slots moves to the
    slot's core (slot k: the k-th core this command may use), with its fork server (whose workers
    inherit it); `--no-pin` leaves them to the system. The grades are the same either way."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ana", "ben", "cy", "dee", "eve", "fay"):
        (subs / f"{name}.py").write_text(_correct_source())
    log = tmp_path / "pinned.txt"
    real = os.sched_setaffinity

    def spy(pid, cores):                # runs in the pool's processes: what they asked for, in a file
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {pid} {sorted(cores)}\n")
        real(pid, cores)
    monkeypatch.setattr(os, "sched_setaffinity", spy)
    summary = batch.run(assignments.load(ASSIGNMENT), str(subs), str(tmp_path / "out"), jobs=2, overrides=LIMITS,
                        stream=open(os.devnull, "w"), pin=pin)
    assert summary["graded"] == 6 and summary["scores"]["min"] == 100
    if not pin:
        assert not log.exists()
        return
    asked = [line.split(" ", 2) for line in log.read_text().splitlines()]
    cores = sorted(os.sched_getaffinity(0))
    movers = {who for who, _, _ in asked}
    assert str(os.getpid()) not in movers                               # the command itself is not pinned
    assert len(movers) == 2, log.read_text()         # nothing slept: the pool's spare processes never took a submission
    assert {c for _, _, c in asked} == {f"[{c}]" for c in cores[:2]}    # one core each, both used
    selves = [(who, c) for who, pid, c in asked if pid == "0"]
    assert len(selves) >= 2                                             # each move starts with the process itself
    assert os.sched_getaffinity(0) == set(cores)


def test_the_summary_splits_the_cpu_each_submission_used(tmp_path):
    """Where a batch's time goes: per submission, the grading process's CPU, its workers' (reaped:
    student code and the sandbox's work in them) and its fork server's; their means in summary.json."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ana", "ben"):
        (subs / f"{name}.py").write_text(_correct_source())
    summary = batch.run(assignments.load(ASSIGNMENT), str(subs), str(tmp_path / "out"), jobs=1, overrides=LIMITS,
                        stream=open(os.devnull, "w"))
    states = [json.load(open(tmp_path / "out" / name / "batch.json", encoding="utf-8")) for name in ("ana", "ben")]
    for state in states:
        cpu = state["cpu_seconds"]
        assert sorted(cpu) == ["fork_server", "grading", "workers"]
        assert cpu["grading"] > 0 and cpu["workers"] > 0 and cpu["fork_server"] >= 0
        assert cpu["workers"] < state["seconds"] * 2      # one worker at a time, each on one core at most
    means = summary["timing"]["mean_cpu_seconds"]
    for part in ("grading", "workers", "fork_server"):
        assert means[part] == pytest.approx(sum(s["cpu_seconds"][part] for s in states) / 2, abs=1e-4)
    json.dumps(summary, allow_nan=False)


def test_searches_evaluate_the_draws_hypothesis_makes(monkeypatch):
    """Every search evaluates, in order, the draws hypothesis makes for a submission that passes
    them all (recorded once per process by a run that evaluates nothing), whatever state the
    process's generators are in; the reference's code meets the global generators as hypothesis
    seeds them for each example."""
    from nngrader.engine import seeding
    asg = assignments.load(ASSIGNMENT)
    check = next(c for c in asg.checks if c.name == "gradients_dW1")
    spec = check.config.inputs

    def seen_by(log):
        def evaluate(draw):
            seeding.settle()            # what ReferenceTarget does before the reference's code runs
            log.append(json.dumps([draw, float(np.random.uniform()), random.random()], sort_keys=True))
        return evaluate

    monkeypatch.setattr(memo, "PROCESS", None)     # no memo at all: hypothesis evaluates every example
    alone = []
    assert search.search(spec, check.seed, check.max_examples, seen_by(alone)) is None
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
    for _ in range(2):
        replayed = []
        np.random.seed(12345)
        random.seed(54321)
        assert search.search(spec, check.seed, check.max_examples, seen_by(replayed)) is None
        generated = len(alone) - len(search.boundary_examples(spec))   # the boundary examples come last
        assert [json.loads(x)[1:] for x in replayed][:generated] == [json.loads(x)[1:] for x in alone][:generated]
        assert [json.dumps(json.loads(x)[0], sort_keys=True) for x in replayed] == \
            [json.dumps(json.loads(x)[0], sort_keys=True) for x in alone]
    assert memo.ACTIVE.recorded == 1 and memo.ACTIVE.replayed == 2


class _Drawing:
    """A stand-in reference that draws from NumPy's global generator."""

    @staticmethod
    def draw():
        return np.random.uniform()


def test_a_search_seeds_the_global_generators_only_when_reference_code_runs(monkeypatch):
    """As hypothesis runs an example, the reference's code meets the global generators seeded
    alike in every example, and the search puts them back as it found them; a search in which no
    reference code runs (its results read from the cache) neither seeds nor touches them."""
    from nngrader.engine.targets import ReferenceTarget
    asg = assignments.load(ASSIGNMENT)
    spec = next(c for c in asg.checks if c.name == "gradients_dW1").config.inputs
    check = next(c for c in asg.checks if c.name == "gradients_dW1")
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
    search.search(spec, check.seed, check.max_examples, lambda draw: None)    # recorded (hypothesis seeds as it draws)
    seeds = []
    real_seed = np.random.seed
    monkeypatch.setattr(np.random, "seed", lambda s=None: seeds.append(s) or real_seed(s))
    real_seed(7)
    before = np.random.get_state()[1].copy()
    assert search.search(spec, check.seed, check.max_examples, lambda draw: None) is None
    assert seeds == [] and np.array_equal(np.random.get_state()[1], before)
    ref, values = ReferenceTarget(_Drawing), []
    real_seed(7)
    assert search.search(spec, check.seed, check.max_examples, lambda draw: values.append(ref.call("draw"))) is None
    generated = len(values) - len(search.boundary_examples(spec))
    assert generated > 1 and values[:generated] == [np.random.RandomState(0).uniform()] * generated
    assert values[generated] == np.random.RandomState(7).uniform()     # after the search: as it found them


def test_losses_on_the_references_own_trajectory_are_read_not_computed(tmp_path, monkeypatch):
    """A trainer whose parameters equal the reference's, bit for bit, has the reference's losses on
    them read from the kept results; one that departs has them computed. The verdicts are those of
    a grading that computes every loss."""
    from nngrader.engine.targets import ReferenceTarget
    asg = assignments.load(ASSIGNMENT)
    only = ["update_params_descends"]
    exact = tmp_path / "exact.py"
    exact.write_text(_correct_source())
    off = tmp_path / "off.py"               # a step 10% too long: a loss trajectory of its own
    off.write_text(_correct_source().replace("return _update(batchx, batchy, W1, b1, W2, b2, lr)",
                                             "return _update(batchx, batchy, W1, b1, W2, b2, lr * 1.1)"))
    alone = {p: results.to_gradescope(grading.grade(asg, str(p), only=only, overrides=LIMITS)) for p in (exact, off)}
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
    monkeypatch.setattr(memo, "REFERENCES", memo.References())
    runs = []
    real_trajectory = training.trajectory
    monkeypatch.setattr(training, "trajectory", lambda target, *a, **k: runs.append(target.label)
                        or real_trajectory(target, *a, **k))
    grading.grade(asg, grading.REFERENCE_SUBMISSION, only=only, overrides=LIMITS)     # as a batch starts
    made = runs.count("reference")
    calls = []
    real = ReferenceTarget.call
    monkeypatch.setattr(ReferenceTarget, "call", lambda self, name, *a, **k: calls.append(name) or real(self, name, *a, **k))
    for path, computed in ((exact, False), (off, True)):
        calls.clear()
        doc = results.to_gradescope(grading.grade(asg, str(path), only=only, overrides=LIMITS))
        assert _without_time(doc) == _without_time(alone[path])
        assert ("bce_forward" in calls) == computed, path.name
        if path == exact:   # the reference's own run on each example was made once, for the reference
            assert made > 0 and runs.count("reference") == made and runs.count("submission") == 2 * made
    assert alone[exact]["score"] == 4 and alone[off]["score"] == 0


def test_a_failing_example_is_made_smaller_deterministically(monkeypatch):
    asg = assignments.load(ASSIGNMENT)
    check = next(c for c in asg.checks if c.name == "gradients_dW1")
    spec = check.config.inputs
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())

    def failing(log):
        def evaluate(draw):
            log.append(draw)
            d = draw["dims"]
            return search.Problem(env={}, draw=draw, note="wrong") if d["N"] >= 3 and d["d"] != d["H"] else None
        return evaluate

    runs = []
    for _ in range(2):
        log = []
        runs.append((search.search(spec, check.seed, check.max_examples, failing(log)), log))
    (first, log1), (second, log2) = runs
    assert first.draw == second.draw and log1 == log2           # the same example, by the same calls
    d = first.draw["dims"]
    assert d["N"] == 3 and d["d"] != d["H"] and min(d["d"], d["H"]) == spec.dims["d"][0]
    assert first.draw["seed"] == 0
    assert memo.ACTIVE.shrunk == 2


def test_a_failure_that_ends_the_search_is_not_shrunk_and_a_harness_error_is_raised(monkeypatch):
    from nngrader.core.errors import StudentFailure
    from nngrader.core.protocol import FailureKind
    asg = assignments.load(ASSIGNMENT)
    check = next(c for c in asg.checks if c.name == "gradients_dW1")
    spec = check.config.inputs
    monkeypatch.setattr(memo, "ACTIVE", memo.Memo())
    calls = []

    def timing_out(draw):
        calls.append(draw)
        if len(calls) == 3:
            return search.Problem(env={}, draw=draw, failure=StudentFailure(FailureKind.TIMEOUT, "too slow"))
    got = search.search(spec, check.seed, check.max_examples, timing_out)
    assert got.draw == calls[2] and len(calls) == 3 and memo.ACTIVE.shrunk == 0
    seen = []

    def failing(draw):
        seen.append(draw)
        if len(seen) == 4:
            raise ValueError("the harness failed")
    with pytest.raises(ValueError):
        search.search(spec, check.seed, check.max_examples, failing)
    assert len(seen) == 4


def _states():
    curve = [1.0 / (1 + i) for i in range(10)]
    return [{"student": f"s{i}", "row": {"total": float(t), "max": 100.0, "status": "graded",
                                         "checks": {"a": 5.0 * (i % 2), "b": 3.0},
                                         "passed": {"a": bool(i % 2), "b": True}},
             "diagnoses": ["mistake: missing_mean"] if i % 2 == 0 else [],
             "loss_curves": {"train": {"dims": {"N": 3}, "seed": 7, "losses": [v * (1 + i / 10) for v in curve]}}}
            for i, t in enumerate([100, 88, 41, 74, 100, 95])]


class _Check:
    def __init__(self, name, kind, points):
        self.name, self.kind, self.points = name, kind, points


class _Asg:
    id = "toy-course"
    max_points = 100.0
    checks = [_Check("a", "compare", 5.0), _Check("b", "compare", 3.0), _Check("train", "training", 0.0)]


@pytest.mark.parametrize("drawn_by", ["this process", "the batch's drawing processes"])
def test_figures_are_written_with_titles_axes_and_labels(tmp_path, drawn_by):
    from PIL import Image
    states = _states()
    summary = batch.summarize(_Asg, states, graded=6, reused=0, seconds=1.0, jobs=1)
    reference = {"train": {"dims": {"N": 3}, "seed": 7, "losses": [1.0 / (1 + i) for i in range(10)]}}
    if drawn_by == "this process":
        written = figures.write_all(str(tmp_path), _Asg, states, summary, reference)
    else:
        written = figures.Drawer(_Asg).write_all(str(tmp_path), states, summary, reference)
    assert written == ["scores.png", "pass_rate.png", "diagnoses.png", "loss_curves.png"]
    wanted = {
        "scores.png": ("toy-course: total scores of 6 submissions", "x = total score (points, out of 100), y = submissions"),
        "pass_rate.png": ("toy-course: pass rate per check (6 submissions), hardest on top",
                          "x = submissions passing the check (%), y = check"),
        "diagnoses.png": ("toy-course: most frequent diagnoses of failing checks",
                          "x = submissions, y = named mistake or hint"),
        "loss_curves.png": ("toy-course: the class's loss curves against the reference's",
                            "train (6 students; N=3): x = iteration, y = loss"),
    }
    for name, (title, axes) in wanted.items():
        with Image.open(tmp_path / name) as image:
            image.load()
            assert image.format == "PNG" and image.width > 300 and image.height > 200
            assert image.text["Title"] == title
            assert axes in image.text["Description"]
            low, high = image.convert("L").getextrema()
            assert high - low > 100                                   # something is drawn
    fig = figures.pass_rates(_Asg, summary)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]          # the hardest (a) on top
    fig = figures.class_loss_curves(_Asg, states, reference)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["students", "reference"]
    fig = figures.frequent_diagnoses(_Asg, summary)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["mistake: missing_mean"]


def test_the_drawing_process_reports_its_failure_and_ends_when_not_needed(tmp_path):
    states = _states()
    summary = batch.summarize(_Asg, states, graded=6, reused=0, seconds=1.0, jobs=1)
    drawer = figures.Drawer(_Asg)
    pid = drawer.pid
    with pytest.raises(RuntimeError, match="(?s)drawing the batch's figures failed.*FileNotFoundError"):
        drawer.write_all(str(tmp_path / "missing" / "folder"), states, summary, {})
    assert drawer.pid is None and _gone(pid)
    idle = figures.Drawer(_Asg)                 # a batch that stops before its figures
    pid = idle.pid
    idle.close()
    assert _gone(pid) and not list(tmp_path.iterdir())


def _gone(pid):
    """Reaped: no longer our child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_figures_of_a_class_without_failures_or_training(tmp_path):
    states = [dict(s, diagnoses=[], loss_curves={}) for s in _states()]
    summary = batch.summarize(_Asg, states, graded=6, reused=0, seconds=1.0, jobs=1)
    assert summary["diagnoses"] == [] and summary["scores"]["max"] == 100.0
    written = figures.write_all(str(tmp_path), _Asg, states, summary, {})
    assert written == ["scores.png", "pass_rate.png", "diagnoses.png"]


def test_csv_rows_add_up(tmp_path):
    states = _states()
    batch.write_csv(str(tmp_path / "grades.csv"), _Asg, states)
    rows = list(csv.reader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert rows[0] == ["student", "total", "max", "a", "b", "train", "status"]
    assert rows[1] == ["s0", "100", "100", "0", "3", "", "graded"]


def test_a_student_id_a_spreadsheet_would_run_is_written_as_text(tmp_path):
    # the id is the submission's own file name: `=HYPERLINK(...).py` must not become a formula
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ["=HYPERLINK(\"x\",\"y\").py", "@SUM(A1).zip", "+1.ipynb", "-x", "alice", "o'brien"]:
        (subs / name).mkdir() if "." not in name else (subs / name).write_text("x = 1\n")
    entries = batch.discover(str(subs))
    states = [dict(_states()[0], student=e.student) for e in entries]
    batch.write_csv(str(tmp_path / "grades.csv"), _Asg, states)
    students = [r[0] for r in csv.reader(open(tmp_path / "grades.csv", encoding="utf-8"))][1:]
    assert students == ["'+1", "'-x", "'=HYPERLINK(\"x\",\"y\")", "'@SUM(A1)", "alice", "o'brien"]
    # the per-submission folders keep the id itself
    assert [e.student for e in entries] == ["+1", "-x", "=HYPERLINK(\"x\",\"y\")", "@SUM(A1)", "alice", "o'brien"]


@pytest.mark.parametrize("out", ["subs", "subs/", "subs/alice/graded", "subs/../subs/alice"],
                         ids=["the folder", "the folder/", "inside a submission", "a submission"])
def test_results_are_never_written_into_the_submissions(tmp_path, out):
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "examples", ASSIGNMENT, "correct", "assignment2.py"), tmp_path / "subs" / "alice")
    (tmp_path / "subs" / "bob.py").write_text(_correct_source())
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    done = _cli("batch", str(tmp_path / "subs"), "--assignment", ASSIGNMENT, "--out", str(tmp_path / out))
    assert done.returncode == 2 and done.stdout == ""
    said = {"subs": "is the submissions folder: each student's results would be written among the submissions",
            "subs/alice/graded": f"is inside the submission alice of {tmp_path / 'subs'}: the results would "
                                 f"become part of it",
            "subs/../subs/alice": f"is the submission alice of {tmp_path / 'subs'} (it is neither empty nor an "
                                  f"earlier batch's output): it would be left out of the class"}
    assert said[out.rstrip("/")] in done.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_an_output_folder_among_the_submissions_is_left_out_of_the_class(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "bob.py").write_text(_correct_source())
    for _ in range(2):          # made by the first run; an earlier output the second time
        done = _cli("batch", str(tmp_path / "subs"), "--assignment", ASSIGNMENT, "--out", str(tmp_path / "subs" / "graded"))
        assert done.returncode == 0, done.stderr
        assert "1 submissions" in done.stdout
    assert [r[0] for r in csv.reader(open(tmp_path / "subs" / "graded" / "grades.csv", encoding="utf-8"))] == [
        "student", "bob"]


@pytest.mark.slow
def test_a_second_batch_on_the_same_output_folder_stops_and_names_the_first(tmp_path):
    """Two TAs (or one command started twice) on one OUT_DIR would overwrite each other's results."""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "bob.py").write_text(_correct_source())
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from nngrader.frontends import batch; "
                               "batch._hold(sys.argv[1]); print('held', flush=True); time.sleep(600)", str(out)],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        done = _cli("batch", str(tmp_path / "subs"), "--assignment", ASSIGNMENT, "--out", str(out))
        assert done.returncode == 2
        assert done.stderr.startswith(f"error: another batch is writing to {out} (process {holder.pid}, started ")
        assert "wait for it to end, or give --out another folder" in done.stderr
        assert sorted(os.listdir(out)) == [batch.LOCK_FILE]                 # nothing of bob was written
    finally:
        holder.kill()                   # killed outright: the kernel lets go of the lock
        holder.wait()
    done = _cli("batch", str(tmp_path / "subs"), "--assignment", ASSIGNMENT, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in csv.reader(open(out / "grades.csv", encoding="utf-8"))] == ["student", "bob"]


def test_an_output_folder_that_cannot_be_locked_is_written_with_a_warning(tmp_path, monkeypatch, capsys):
    """Some network and FUSE file systems refuse locks: the batch goes on, and says so."""
    import errno
    import fcntl

    def refuse(fd, how):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", refuse)
    fd = batch._hold(str(tmp_path))
    os.close(fd)
    assert capsys.readouterr().err == (f"warning: {tmp_path} cannot be locked (No locks available): make sure no "
                                       "other batch writes to it meanwhile\n")


def test_a_student_id_never_takes_the_place_of_the_class_files(tmp_path):
    (tmp_path / "grades.csv").mkdir()
    for name in ("grades.csv.zip", "scores.png", "summary.json.zip"):
        (tmp_path / name).write_text("x")
    assert [e.student for e in batch.discover(str(tmp_path))] == [
        "grades.csv_", "grades.csv.zip", "scores.png_", "summary.json.zip"]


@pytest.mark.slow
def test_a_class_with_a_student_named_like_the_gradebook_is_graded(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "grades.csv.zip", "w") as z:
        z.writestr("assignment2.py", _correct_source())
    (subs / "summary.json").mkdir()
    (subs / "summary.json" / "assignment2.py").write_text(_correct_source())
    out = tmp_path / "out"
    done = _cli("batch", str(subs), "--assignment", ASSIGNMENT, "--out", str(out), "--jobs", "1")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(open(out / "grades.csv", encoding="utf-8")))
    assert [(r[0], r[1]) for r in rows[1:]] == [("grades.csv.zip", "100"), ("summary.json_", "100")]
    assert json.load(open(out / "summary.json", encoding="utf-8"))["submissions"] == 2
    assert json.load(open(out / "summary.json_" / "results.json", encoding="utf-8"))["score"] == 100


def test_zip_and_notebook_students_are_named_without_suffix(tmp_path):
    with zipfile.ZipFile(tmp_path / "ivan.zip", "w") as z:
        z.writestr("assignment2.py", "x = 1\n")
    (tmp_path / "judy.ipynb").write_text("{}")
    assert [e.student for e in batch.discover(str(tmp_path))] == ["ivan", "judy"]


def _workers():
    """PIDs of the sandbox's workers and fork servers running now, on the whole machine."""
    from nngrader.boundary import containment
    return {p for p in containment._proc_table() if "boundary/worker.py" in cmdline(p)}


def _in_session(sid):
    """PIDs of the running processes of session `sid` (a command's grading processes, fork servers
    and figure processes; its workers each start a session of their own). An ended process whose
    new parent has not reaped it yet is not running: this test process, made a subreaper by the
    gradings of earlier tests, inherits those of a command killed outright."""
    return {pid for pid, state, _, session in processes() if session == sid and state != "Z"}


def _orphans_of_this_process(sid):
    """Ended processes of session `sid` re-parented to this (subreaper) test process, not reaped."""
    return [pid for pid, state, parent, session in processes()
            if session == sid and state == "Z" and parent == os.getpid()]


def _grading_folders():
    """The temporary folders gradings make (a staged submission, a worker's scratch folder)."""
    import glob
    import tempfile
    from nngrader.boundary import containment
    roots = {tempfile.gettempdir(), containment.scratch_root(True), containment.scratch_root(False)}
    return {p for r in roots for p in glob.glob(os.path.join(r, "nngrader-s*-*"))}


def _left_behind(sid, before):
    """What a command that has ended left running: processes of its session, and workers started
    since `before` that are still there a second later (other graders' workers come and go)."""
    first = _in_session(sid) | (_workers() - before)
    time.sleep(1.0)
    return first & (_in_session(sid) | _workers())


def _batch_from_a_terminal(subs, out, limits):
    """`grader.py batch --jobs 2` in its own process group, as a command run from a terminal ->
    (its command line, the process, the workers running before it)."""
    cmd = [sys.executable, os.path.join(REPO, "grader.py"), "batch", str(subs), "--assignment", ASSIGNMENT,
           "--out", str(out), "--jobs", "2", *limits]
    before = _workers()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    return cmd, proc, before


def _until_graded(proc, out, pattern):
    """Wait until a results.json matching `pattern` is written in `out`; the batch must still run."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(out.glob(pattern)):
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
def test_a_stopped_batch_keeps_what_was_graded_and_a_rerun_grades_the_rest(tmp_path, how):
    subs = tmp_path / "subs"
    subs.mkdir()
    # honest, but each sigmoid call takes 0.03 s: the batch is still busy when the signal comes
    slow = _correct_source().replace("def sigmoid(x):\n", "def sigmoid(x):\n    import time; time.sleep(0.03)\n")
    assert slow != _correct_source()
    students = [f"s{i}" for i in range(8)]
    for name in students:
        (subs / f"{name}.py").write_text(slow)
    out = tmp_path / "out"
    limits = [x for k, v in LIMITS.items() for x in ("--limit", f"{k}={v}")]
    cmd, proc, before = _batch_from_a_terminal(subs, out, limits)
    try:
        _until_graded(proc, out, "*/results.json")      # it grades still: the signal comes mid-batch
        if how == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)         # what a terminal sends: every process of the group
        else:
            proc.send_signal(signal.SIGTERM)            # a scheduler ending the command
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:                         # it did not stop: the test fails, nothing is left
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    name = "SIGINT" if how == "Ctrl-C" else "SIGTERM"
    assert proc.returncode == 1, err
    assert "Traceback" not in err and f"stopped by {name}" in err and "run the same command again" in err
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert [r["student"] for r in rows] == students
    graded = [r["student"] for r in rows if r["status"] == "graded"]
    not_graded = [r["student"] for r in rows if r["status"] == "not graded"]
    assert graded and not_graded and len(graded) + len(not_graded) == len(students)
    assert all(r["total"] == "100" for r in rows if r["status"] == "graded")
    assert all(r["total"] == "" and not (out / r["student"] / "results.json").exists()
               for r in rows if r["status"] == "not graded")
    summary = json.load(open(out / "summary.json", encoding="utf-8"))
    assert summary["interrupted"] == name and summary["not_graded"] == len(not_graded)
    assert summary["submissions"] == len(students) and summary["scores"]["min"] == 100
    left = _left_behind(proc.pid, before)
    assert left == set(), [cmdline(p) for p in left]
    # the same command again grades only what was not graded
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, stdin=subprocess.DEVNULL, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"({len(not_graded)} graded, {len(graded)} unchanged since the last run)" in again.stdout
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert [(r["student"], r["total"], r["status"]) for r in rows] == [(s, "100", "graded") for s in students]
    assert "interrupted" not in json.load(open(out / "summary.json", encoding="utf-8"))


@pytest.mark.slow
def test_a_batch_stopped_while_sleeping_submissions_lent_their_cores_ends_at_once(tmp_path):
    """SIGTERM while two gradings wait on sleeping workers with their slots lent, and the others
    hold or await the slots: every grading process ends (none waits for a slot that will never be
    given back), nothing is left running, and the sleeping ones are not graded."""
    subs = tmp_path / "subs"
    subs.mkdir()
    source = _correct_source()
    for name in ("a_sleeps", "b_sleeps"):
        (subs / f"{name}.py").write_text(source + SLEEP)
    slow = source.replace("def sigmoid(x):\n", "def sigmoid(x):\n    import time; time.sleep(0.03)\n")
    for i in range(6):
        (subs / f"s{i}.py").write_text(slow)
    out = tmp_path / "out"
    _, proc, before = _batch_from_a_terminal(subs, out, ["--limit", "call_timeout=30", "--limit", "submission_timeout=60"])
    try:
        _until_graded(proc, out, "s*/results.json")     # after the two sleeping ones: they have lent their slots
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)          # the sleeping calls' own limit is 30 s
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "stopped by SIGTERM" in err
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert rows["a_sleeps"]["status"] == rows["b_sleeps"]["status"] == "not graded"
    left = _left_behind(proc.pid, before)
    assert left == set(), [cmdline(p) for p in left]


@pytest.mark.slow
def test_a_batch_killed_outright_leaves_nothing_running(tmp_path):
    """SIGKILL of the command (the OOM killer): its grading processes, fork servers, workers and
    figure process end too, though each of them waits on a pipe another of them holds open."""
    subs = tmp_path / "subs"
    subs.mkdir()
    slow = _correct_source().replace("def sigmoid(x):\n", "def sigmoid(x):\n    import time; time.sleep(0.03)\n")
    for i in range(6):
        (subs / f"s{i}.py").write_text(slow)
    out = tmp_path / "out"
    limits = [x for k, v in LIMITS.items() for x in ("--limit", f"{k}={v}")]
    before, folders = _workers(), _grading_folders()
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "grader.py"), "batch", str(subs), "--assignment",
                             ASSIGNMENT, "--out", str(out), "--jobs", "2", *limits], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=REPO, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not list(out.glob("*/results.json")):
            time.sleep(0.02)
        assert proc.poll() is None                      # it grades still
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60                # each ends its grading first, as when stopped
        while time.monotonic() < deadline and _in_session(proc.pid):
            time.sleep(0.1)
        left = _left_behind(proc.pid, before)
        assert left == set(), [cmdline(p) for p in left]
        assert _grading_folders() - folders == set()     # staged submissions, workers' folders
    finally:
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        for pid in _orphans_of_this_process(proc.pid):
            os.waitpid(pid, 0)


@pytest.mark.slow
def test_a_grading_process_that_dies_costs_only_its_submission(tmp_path, monkeypatch):
    """The process grading `bob` dies (a harness failure: student code never runs there): bob is
    retried once in a fresh pool, then marked; the others are graded. The pool ends its other
    process then, which first ends the grading it was doing as any interrupted grading ends:
    nothing of it is left behind."""
    import glob
    import tempfile
    staged = lambda: set(glob.glob(os.path.join(tempfile.gettempdir(), "nngrader-submission-*")))  # noqa: E731
    before = staged()
    for name in ("alice", "bob", "carol", "dave"):
        (tmp_path / "subs" / name).mkdir(parents=True)
        (tmp_path / "subs" / name / "notes.txt").write_text(NOT_A_SUBMISSION)
    real = batch.grade_one

    def dying(entry, *args):
        if entry.student == "bob":
            os._exit(3)
        return real(entry, *args)
    monkeypatch.setattr(batch, "grade_one", dying)
    asg = assignments.load(ASSIGNMENT)
    summary = batch.run(asg, str(tmp_path / "subs"), str(tmp_path / "out"), jobs=2, overrides=LIMITS,
                        stream=open(os.devnull, "w"))
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert rows["bob"]["status"] == "grader error"
    assert [rows[n]["status"] for n in ("alice", "carol", "dave")] == ["graded"] * 3
    assert summary["errors"] == 1 and summary["submissions"] == 4
    assert staged() == before


def test_a_pooled_batch_stops_with_the_references_own_failure(tmp_path, monkeypatch):
    """In a pool the reference is graded by one process while the others start on the students;
    when grading the reference fails (the spec's or the reference's fault), the batch stops with
    that error rather than scoring anyone against it."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ana", "ben", "cy", "dee"):
        (subs / f"{name}.py").write_text(_correct_source())

    def broken(asg, overrides):
        raise RuntimeError("the reference could not be graded")
    monkeypatch.setattr(batch, "_grade_reference", broken)
    with pytest.raises(RuntimeError, match="the reference could not be graded"):
        batch.run(assignments.load(ASSIGNMENT), str(subs), str(tmp_path / "out"), jobs=2, overrides=LIMITS,
                  stream=open(os.devnull, "w"))
    assert not (tmp_path / "out" / "grades.csv").exists() and not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.slow
def test_a_single_grade_draws_the_students_loss_curve(tmp_path):
    from PIL import Image
    sub = materialize(ASSIGNMENT, "gradients_missing_mean", str(tmp_path / "sub"))
    png = tmp_path / "curve.png"
    done = _cli("grade", sub, "--assignment", ASSIGNMENT, "--results", str(tmp_path / "r.json"), "--quiet",
                "--loss-curve", str(png))
    assert done.returncode == 0, done.stderr
    assert f"loss curve of update_params_descends written to {png}" in done.stdout
    with Image.open(png) as image:
        assert image.text["Title"].startswith(f"{ASSIGNMENT} › update_params_descends: your loss against the "
                                              "reference's (")
        assert "x = iteration, y = loss" in image.text["Description"]


def _cgroup(tmp_path, proc_lines, files):
    """A fake /proc/self/cgroup and cgroup mount: {relative path: content}."""
    (tmp_path / "proc_cgroup").write_text("".join(line + "\n" for line in proc_lines))
    for rel, text in files.items():
        (tmp_path / "fs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / rel).write_text(text + "\n")
    return str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")


@pytest.mark.parametrize("proc_lines,files,quota", [
    # cgroup v2, a container given one and a half CPUs (its cgroup is its namespace's root)
    (["0::/"], {"cpu.max": "150000 100000"}, 1.5),
    (["0::/"], {"cpu.max": "max 100000"}, None),
    # cgroup v2 without a namespace: the process's own cgroup folder
    (["0::/user.slice/grading.service"], {"user.slice/grading.service/cpu.max": "200000 100000", "cpu.max": "max 100000"}, 2.0),
    # cgroup v1: the cpu controller's hierarchy, quota over period; -1 is none
    (["4:cpu,cpuacct:/docker/abc", "3:memory:/docker/abc"],
     {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"}, 3.0),
    (["1:cpu:/"], {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
    (["1:cpu:/"], {}, None),                       # nothing readable: no quota known
    (["0::/"], {"cpu.max": ""}, None),             # nor anything unreadable
    (["0::/"], {"cpu.max": "lots 100000"}, None),
])
def test_the_cpu_quota_of_a_container_is_read_from_its_cgroup(tmp_path, proc_lines, files, quota):
    assert batch.cgroup_cpu_quota(*_cgroup(tmp_path, proc_lines, files)) == quota


def test_by_default_a_batch_runs_as_many_gradings_as_its_cpu_quota_allows(tmp_path, monkeypatch):
    """On a host of 32 cores, a container given 1.5 CPUs grades 2 submissions at once, not 32."""
    fs, proc = _cgroup(tmp_path, ["0::/"], {"cpu.max": "150000 100000"})
    monkeypatch.setattr(batch, "CGROUP_ROOT", fs)
    monkeypatch.setattr(batch, "PROC_CGROUP", proc)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(32)))
    monkeypatch.setattr(os, "cpu_count", lambda: 32)
    assert batch.available_cores() == 2
    (tmp_path / "subs").mkdir()
    summary = batch.run(assignments.load(ASSIGNMENT), str(tmp_path / "subs"), str(tmp_path / "out"),
                        stream=open(os.devnull, "w"))
    assert summary["timing"]["jobs"] == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})      # one core of them may be used
    assert batch.available_cores() == 1
