"""Grading a whole class in one command: every submission of a folder, in parallel, with a
gradebook, a summary and figures.

    nngrader batch SUBMISSIONS_DIR --assignment ID --out OUT_DIR [--jobs N]

Each entry of SUBMISSIONS_DIR (a folder, a file, a `.ipynb` or a `.zip`; hidden entries and
`__MACOSX` are left out) is one submission, named by the student id: the entry's name without
`.zip`, `.ipynb` or `.py`. A Gradescope export's roster (`submission_metadata.yml`,
`nngrader.frontends.roster`) names the submitters of each in grades.csv. Each is graded exactly as `grader.py grade SUBMISSIONS_DIR/ENTRY` grades it
(the same `Grading`, the same sandbox and limits, the same label in the rerun commands), so
its `results.json` is byte for byte the one single grading writes, apart from `execution_time`.

What is done once per batch (or once per grading process), not once per submission:
- the imports (NumPy, hypothesis, the grader, the reference): the processes that grade are
  forked from this one after it has loaded them;
- the student worker's start (the interpreter, NumPy): each grading process has a fork server
  (`nngrader.boundary.forkserver`) from which every submission's worker is forked fresh;
- the reference's own grading (its score goes into summary.json, its loss curves are the
  figures' reference): in a pool, the first task of one process while the others start on the
  students;
- the generated examples of every check, their inputs, the reference's results on them and the
  calls planned on them (`nngrader.engine.memo`, `search`): made once per grading process,
  replayed for every submission, never changing a verdict.

A re-run skips a submission whose content and whose checks (the spec, support files, fixtures,
reference, the grader's own code, the limits) are unchanged: it keeps its results and its row.
A batch stopped part-way (Ctrl-C, SIGTERM, SIGHUP: the command's to handle, not its processes')
ends the gradings in progress, keeps what was graded, marks the rest `not graded` in grades.csv
and summary.json, and returns: a re-run grades the rest.

OUT_DIR/
    <student>/results.json, <student>/report.txt   per submission (batch.json: what a re-run reads)
    grades.csv        student, [name, sid, email,] total, max, one column per check, status
    summary.json      counts, score statistics, pass rate per check, frequent diagnoses, timing
    *.png             figures (nngrader.frontends.figures)
"""
import csv
import fcntl
import hashlib
import importlib.metadata
import json
import math
import os
import re
import resource
import signal
import sys
import time
import traceback

from nngrader.boundary import containment, forkserver, lending
from nngrader.core.errors import Interrupted
from nngrader.engine import grading, memo
from nngrader.frontends import canvas, figures, results, roster

ARCHIVE_SUFFIXES = (".zip", ".ipynb", ".py")
STATE = "batch.json"            # per submission: digests and the gradebook row, for re-runs
REPORT = "report.txt"
RESULTS = "results.json"
STATUS_GRADED = "graded"
STATUS_ERROR = "grader error"   # the grader failed on some check, or on the whole submission
STATUS_NOT_GRADED = "not graded"   # the batch was stopped before this submission was graded
MISTAKE_TAG = re.compile(r"\[mistake: ([A-Za-z0-9_]+)\]")

_BATCH = None                   # what the grading processes inherit (set before they fork)
# what the batch writes at the top of OUT_DIR, beside one folder per student
OUTPUT_FILES = ("grades.csv", "grades.csv.tmp", "summary.json", "reference_curves.json") + figures.FILES
LOCK_FILE = ".batch.lock"       # in OUT_DIR: held while a batch writes there (`_hold`); hidden, never a student's
# entries of a class folder that are never a student's, with why (summary.json's `left_out`)
NOT_SUBMISSIONS = {
    "__MACOSX": "the resource forks macOS adds to a zip it makes, not a submission",
    roster.ROSTER_FILE: "Gradescope's list of who handed in each submission, read as the roster",
}


class Entry:
    """One submission: its student id, its path as given (the label single grading would use)."""

    def __init__(self, student, path):
        self.student = student
        self.path = path

    def __repr__(self):
        return f"Entry({self.student!r}, {self.path!r})"


def discover(folder, exclude=(), left_out=None):
    """The submissions of `folder` -> [Entry] in name order. A student id used twice (alice/ and
    alice.zip) keeps the full entry name for the second; one that is the name of a file the
    batch writes beside the students' folders (OUTPUT_FILES) gets a `_` after it. Hidden entries and `__pycache__` are
    not submissions, nor are the entries of NOT_SUBMISSIONS, which `left_out` (a list) gets as
    (name, why)."""
    excluded = {os.path.realpath(p) for p in exclude}
    entries, taken = [], set()
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or name == "__pycache__" or os.path.realpath(path) in excluded:
            continue
        if name in NOT_SUBMISSIONS:
            if left_out is not None:
                left_out.append((name, NOT_SUBMISSIONS[name]))
            continue
        if not (os.path.isdir(path) or os.path.isfile(path)):
            continue
        student = name
        if os.path.isfile(path):
            for suffix in ARCHIVE_SUFFIXES:
                if name.endswith(suffix) and len(name) > len(suffix):
                    student = name[:-len(suffix)]
                    break
        if student in taken or student in OUTPUT_FILES:
            student = name
        if student in OUTPUT_FILES or student in taken:
            student += "_"      # a student's folder must not take the place of the class's files
        taken.add(student)
        entries.append(Entry(student, path))
    return entries


def _hash_file(h, path):
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def _hash_tree(h, root, suffixes=None):
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if suffixes and not name.endswith(suffixes):
                continue
            path = os.path.join(base, name)
            if os.path.islink(path) or not os.path.isfile(path):
                h.update(f"link:{os.path.relpath(path, root)}\0".encode())
                continue
            h.update(f"{os.path.relpath(path, root)}\0".encode())
            _hash_file(h, path)


def submission_digest(path):
    """sha256 of a submission's content: a file's bytes, or a folder's names and bytes."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        _hash_tree(h, path)
    else:
        _hash_file(h, path)
    return h.hexdigest()


def checks_digest(asg, overrides):
    """sha256 of everything besides the submission that a verdict depends on: the spec, its
    support files, the fixtures, the reference package, the grader's code, hypothesis's version
    and the limit overrides."""
    h = hashlib.sha256()
    _hash_file(h, asg.path)
    for path in asg.support:
        h.update(os.path.basename(path).encode() + b"\0")
        _hash_file(h, path)
    for folder in (os.path.join(asg.course.fixtures_dir, asg.id),
                   os.path.join(asg.course.root, asg.reference.split(".")[0])):
        if os.path.isdir(folder):
            _hash_tree(h, folder)
    _hash_tree(h, os.path.dirname(os.path.dirname(os.path.abspath(__file__))), (".py", ".json"))
    h.update(json.dumps([importlib.metadata.version("hypothesis"), sorted((overrides or {}).items())]).encode())
    return h.hexdigest()


# ---- one submission ------------------------------------------------------------------------
def diagnoses(run):
    """What the failing checks say, counted once per submission for the class: each named mistake
    (`[mistake: ID]`), else the first hint line of a failing check -> [label]."""
    out = []
    for r in run.results:
        if r.outcome.passed or r.outcome.error:
            continue
        tags = [m for line in r.outcome.lines for m in MISTAKE_TAG.findall(line)]
        if tags:
            out += [f"mistake: {t}" for t in tags]
            continue
        hint = next((line.strip() for line in r.outcome.lines if line.strip().startswith("hint:")), None)
        if hint:
            out.append(hint if len(hint) <= 80 else hint[:77] + "...")
    return list(dict.fromkeys(out))         # each counted once per submission


def _finite(values):
    return [v if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]


def _row(run, status):
    return {"total": run.score, "max": run.max_score, "status": status,
            "checks": {r.check.name: r.score for r in run.results},
            "passed": {r.check.name: bool(r.outcome.passed) for r in run.results}}


def grade_one(entry, out_dir, asg, overrides, digests):
    """Grade one submission as single grading does; write its results.json, report and state
    -> its state (the gradebook row and what the figures need)."""
    folder = os.path.join(out_dir, entry.student)
    os.makedirs(folder, exist_ok=True)
    started, began = time.monotonic(), time.time()
    cpu_before = _cpu_clock()
    forked_before = forkserver.spawned
    g = grading.Grading(asg, entry.path, overrides=overrides)
    curves, student_seconds, lends = {}, 0.0, 0
    try:
        with g:
            g.run_all()
            if g.ctx is not None:
                processes = [g.ctx.process] + ([g.ctx._programs.process] if g.ctx._programs is not None else [])
                student_seconds = sum(p.student_seconds for p in processes)
                lends = sum(p.lends for p in processes)
        run = g.run_record
        curves = _curves(run.loss_curves)
        doc = results.to_gradescope(run)
        report = results.report(run)
        status = STATUS_ERROR if run.errors else STATUS_GRADED
        row = _row(run, status)
        found = diagnoses(run)
        errors = list(run.errors)
    except Exception:
        # the grader failed outside any one check (staging, a worker that would not start): this
        # submission is marked and the batch goes on
        tb = traceback.format_exc()
        partial = g.run_record
        doc = {"score": 0.0, "execution_time": round(time.monotonic() - started, 3),
               "output": "the grader itself failed on this submission; the staff have the details. "
                         "This is not a grade.", "visibility": "visible", "stdout_visibility": "hidden",
               "tests": []}
        report = f"{asg.id} — submission: {entry.path}\nGRADER ERROR:\n{tb}"
        row = {"total": 0.0, "max": asg.max_points, "status": STATUS_ERROR,
               "checks": {r.check.name: r.score for r in partial.results},
               "passed": {r.check.name: bool(r.outcome.passed) for r in partial.results}}
        found, errors = [], [tb]
    state = {"student": entry.student, "submission": entry.path, **digests, "row": row,
             "diagnoses": found, "loss_curves": curves, "errors": errors,
             "seconds": round(time.monotonic() - started, 4), "student_seconds": round(student_seconds, 4),
             "graded_from": round(began, 3), "graded_to": round(time.time(), 3),
             "forked_workers": forkserver.spawned - forked_before,
             "lent_cpu": lends,
             "cpu_seconds": {part: round(now - before, 4) for part, now, before
                             in zip(CPU_PARTS, _cpu_clock(), cpu_before)}}
    # The three files are written whole or not at all by a batch being stopped (the signal waits):
    # batch.json, last, says the other two are this grading's.
    blocked = containment.block_termination()
    try:
        results.write_atomic(os.path.join(folder, RESULTS), doc)
        with open(os.path.join(folder, REPORT), "w", encoding="utf-8") as f:
            f.write(report + "\n")
        results.write_atomic(os.path.join(folder, STATE), state)
    finally:
        containment.unblock(blocked)
    return state


CPU_PARTS = ("grading", "workers", "fork_server")


def _cpu_clock():
    """CPU seconds used so far by (this grading process, the workers it has reaped: student code
    and the sandbox's own work in them, its fork server with the helpers that server forked)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime, forkserver.cpu_seconds()


def _pool_process():
    """In each grading process of the pool, when it starts: its slots' lender installed (`_Lender`),
    its fork server is ended and reaped when the process ends (else, re-parented to this command,
    it would linger as a zombie), and a SIGTERM (the pool ends its processes so when one of them
    dies, and the command so when it is stopped) first ends the grading in progress as any
    interrupted grading ends: its worker killed, its folders removed. SIGINT and SIGHUP are the
    command's to handle."""
    import multiprocessing.util
    _BATCH["lender"] = _Lender(_BATCH["slots"])
    lending.install(_BATCH["lender"])
    multiprocessing.util.Finalize(None, forkserver.disable, exitpriority=10)
    multiprocessing.util.Finalize(None, containment.release_parked, exitpriority=10)
    signal.signal(signal.SIGTERM, _on_terminate)
    # A Ctrl-C reaches every process of the terminal's group: the command alone reacts to it (and
    # to a hang-up), ending its pool with SIGTERM (`_end_pool`). So does the fork server, started
    # from here with these ignored (the workers restore their own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The command killed outright (SIGKILL, the OOM killer): end as when it ends the pool.
    containment.end_with_parent(signal.SIGTERM, _BATCH["command"])
    # A spare takes no submission until a grading lends its slot: a class where nothing sleeps
    # pays for no more processes (their fork servers, their first gradings) than it has jobs.
    _BATCH["slots"].until_needed()


# A pool has this many grading processes per job: while one waits on a worker that sleeps (a
# timer, the network), its slot grades another submission (`lending`); more than `jobs` sleeping
# at once wait as before.
PROCESSES_PER_JOB = 2
SLOT_POLL = 0.05                # s between looks while a slot is awaited (a SIGTERM is met at once)


class _Slots:
    """The batch's CPUs, shared by its grading processes: `jobs` slots, slot k on the k-th core
    this command may use (round robin). A grading process takes a slot to grade and gives it back
    when done, or while its worker sleeps (`_Lender`): at most `jobs` gradings run at once.
    `pin`: a process taking a slot moves to its core, with its fork server and the worker it
    waits on (a grading process and its worker take turns on one core and find it warm, and no
    core idles while two pairs share the other)."""

    def __init__(self, jobs, pin, context):
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.pin = pin and len(cores) > 1
        self.cores = [cores[k % len(cores)] for k in range(jobs)] if self.pin else [None] * jobs
        self.count = context.Semaphore(jobs)
        self.free = context.Array("b", [1] * jobs)      # with its own lock
        self.jobs = jobs
        self.started = context.Value("i", 0)             # the pool's processes, as they start
        self.pids = context.Array("i", [0] * jobs * PROCESSES_PER_JOB, lock=False)   # theirs, in that order
        self.wake = context.Semaphore(0)                 # one spare process woken per slot lent
        self.done = context.Event()                      # the pool is ending: spares wake to end

    def until_needed(self):
        """In a pool process as it starts: the first `jobs` go on; a spare waits until a slot is
        lent (`lent`) or the pool ends."""
        with self.started.get_lock():
            n = self.started.value
            self.started.value += 1
            if n < len(self.pids):
                self.pids[n] = os.getpid()
        if n < self.jobs:
            return
        while not self.wake.acquire(timeout=SLOT_POLL * 4):
            if self.done.is_set():
                return

    def lent(self, k):
        """Slot k is lent by a grading whose worker sleeps: given back, and a spare woken."""
        self.give(k)
        self.wake.release()

    def take(self, near=None, idle=None):
        """Wait for a slot (calling `idle()` meanwhile) -> its index; one on core `near` if free."""
        while not self.count.acquire(timeout=SLOT_POLL):
            if idle is not None:
                idle()
        with self.free.get_lock():
            free = [k for k in range(len(self.cores)) if self.free[k]]
            k = next((k for k in free if self.cores[k] == near), free[0])
            self.free[k] = 0
        return k

    def give(self, k):
        with self.free.get_lock():
            self.free[k] = 1
        self.count.release()


class _Lender(lending.Lender):
    """One grading process's hold on the batch's slots."""

    def __init__(self, slots):
        self.slots, self.slot, self.core = slots, None, None

    def hold(self):
        self.take_back([], None)

    def release(self):
        """The grading is over: its slot back to the others (a spare is not woken for it)."""
        if self.slot is not None:
            self.slots.give(self.slot)
            self.slot = None

    def lend(self):
        self.slots.lent(self.slot)
        self.slot = None

    def take_back(self, pids, idle):
        self.slot = self.slots.take(near=self.core, idle=idle)
        core = self.slots.cores[self.slot]
        if core is not None and core != self.core:
            server = forkserver.running()
            for pid in [0, *([server.proc.pid] if server is not None else []), *pids]:
                try:
                    os.sched_setaffinity(pid, {core})
                except OSError as exc:      # the system refused (a cpuset changed): left where it is
                    if pid == 0:
                        print(f"nngrader: grading process {os.getpid()} not moved to core {core}: {exc}",
                              file=sys.stderr)
            self.core = core


class _Terminated(BaseException):
    """The pool ended this process while it was grading."""


_GRADING_NOW = False            # in a pool process: a grading is in progress


def _on_terminate(signum, frame):
    if _GRADING_NOW:
        raise _Terminated()     # unwinds the grading (Grading.close), then _grade_in_pool exits
    forkserver.disable()
    os._exit(128 + signum)


REFERENCE_TASK = -1             # the pool's task that grades the reference itself


def _grade_in_pool(i):
    """Run in a forked grading process: the batch's i-th pending submission, or the reference
    (REFERENCE_TASK: its score and curves)."""
    global _GRADING_NOW
    b = _BATCH
    # The outer `try` also covers the inner `finally`: a SIGTERM met anywhere in here ends the
    # process (were _Terminated to leave this function, the pool would take it for the task's
    # result and wait for the next task).
    try:
        _GRADING_NOW = True
        try:
            b["lender"].hold()
            if i == REFERENCE_TASK:
                return i, _grade_reference(b["asg"], b["overrides"])
            entry, digests = b["pending"][i]
            return i, grade_one(entry, b["out"], b["asg"], b["overrides"], digests)
        finally:
            b["lender"].release()
            _GRADING_NOW = False
    except _Terminated:
        forkserver.disable()
        os._exit(128 + 15)


def _error_state(entry, digests, why, asg):
    return {"student": entry.student, "submission": entry.path, **digests,
            "row": {"total": 0.0, "max": asg.max_points, "status": STATUS_ERROR, "checks": {}, "passed": {}},
            "diagnoses": [], "loss_curves": {}, "errors": [why], "seconds": 0.0, "student_seconds": 0.0}


def _reusable(out_dir, entry, digests, seconds=None):
    """The state of `entry`'s last grading when it can stand (same submission, same checks), else
    None. `seconds`: a dict that receives how long that grading took, whether or not it stands."""
    path = os.path.join(out_dir, entry.student, STATE)
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(out_dir, entry.student, RESULTS)):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    if seconds is not None and isinstance(state, dict) and isinstance(state.get("seconds"), (int, float)):
        seconds[entry.student] = float(state["seconds"])
    same = all(state.get(k) == v for k, v in digests.items()) and state.get("submission") == entry.path
    return state if same and state.get("row", {}).get("status") == STATUS_GRADED else None


def longest_first(pending, seconds):
    """The submissions to grade, those whose last grading took longest first (the others after
    them, in their order): a regrade after a check changed does not end waiting on a submission
    that hangs, started last. The order changes no result, only when each is graded."""
    return sorted(pending, key=lambda p: -seconds.get(p[0].student, 0.0))


def _progress(total, stream):
    """A tqdm bar (done/total, rate, ETA) on a terminal; nothing otherwise."""
    from tqdm import tqdm
    return tqdm(total=total, unit="sub", desc="grading", file=stream, disable=None, dynamic_ncols=True,
                smoothing=0.1)


CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"


def available_cores():
    """How many grading processes this command can keep busy: the cores it may run on (its CPU
    affinity, not the machine's count), at most its CPU quota rounded up where a container or a
    service sets one (`cpu.max` of cgroup v2, `cpu.cfs_quota_us` over `cpu.cfs_period_us` of v1).
    On a 32-core host, a container given two CPUs grades with 2 processes, not 32."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def cgroup_cpu_quota(root=None, proc_cgroup=None):
    """The CPUs this process's cgroup may use (e.g. 1.5), or None: no quota, or none readable."""
    root, proc_cgroup = root or CGROUP_ROOT, proc_cgroup or PROC_CGROUP
    try:
        with open(proc_cgroup, encoding="utf-8") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f if line.count(":") >= 2]
    except OSError:
        return None
    for _, controllers, path in lines:
        if controllers == "":                           # v2: one hierarchy, cpu.max
            files = [(os.path.join(root, path.lstrip("/"), "cpu.max"),), (os.path.join(root, "cpu.max"),)]
        elif "cpu" in controllers.split(","):           # v1: the cpu controller's own hierarchy
            folders = [os.path.join(root, controllers), os.path.join(root, "cpu")]
            files = [(os.path.join(d, sub, "cpu.cfs_quota_us"), os.path.join(d, sub, "cpu.cfs_period_us"))
                     for d in folders for sub in (path.lstrip("/"), "")]
        else:
            continue
        for names in files:                             # the cgroup's own folder, then a namespaced root
            try:
                texts = []
                for name in names:
                    with open(name, encoding="utf-8") as f:
                        texts.append(f.read().split())
            except OSError:
                continue
            try:
                quota, period = texts[0] if len(names) == 1 else (texts[0][0], texts[1][0])
                if quota in ("max", "-1"):
                    return None
                quota, period = int(quota), int(period)
            except (ValueError, IndexError):            # not what the kernel writes: no quota known
                return None
            return quota / period if quota > 0 and period > 0 else None
    return None


def run(asg, folder, out_dir, jobs=None, overrides=None, stream=None, pin=True, when_graded=None):
    """Grade every submission of `folder` into `out_dir` -> the summary (also summary.json).
    `jobs`: gradings at once (default: `available_cores()`; with more than one, a pool of
    `PROCESSES_PER_JOB` grading processes per job shares `jobs` slots, `_Slots`). `pin`: each
    grading runs on its slot's core, with its fork server and worker.
    `when_graded()`: called once the grading is over (finished or stopped), before the gradebook,
    the summary and the figures are written (the command stops heeding signals then)."""
    global _BATCH
    stream = stream or sys.stderr
    overrides = dict(overrides or {})
    jobs = max(1, int(jobs or available_cores()))
    started = time.monotonic()
    given = folder
    folder = roster.export_folder(folder)       # a Gradescope export unzipped with its top folder
    people = roster.load(folder)                # its roster (RosterError before anything is graded)
    _check_out_dir(folder, out_dir)
    left_out = []
    # a Canvas download: one flat folder of every student's files, grouped here by student
    not_canvas = []
    students = canvas.group(folder, exclude=[out_dir], others=not_canvas) if people is None else None
    if not_canvas:
        print(f"warning: most entries of {folder} are named as Canvas names the files of its downloads, but "
              f"{len(not_canvas)} are not ({', '.join(not_canvas[:5])}{', ...' if len(not_canvas) > 5 else ''}): "
              "each entry is graded as a submission of its own. Move the others out to grade one "
              "submission per student.", file=stream)
    entries = [] if students else discover(folder, exclude=[out_dir], left_out=left_out)
    os.makedirs(out_dir, exist_ok=True)
    lock = _hold(out_dir)               # one batch at a time writes to OUT_DIR
    try:
        if students:
            laid = canvas.lay_out(students, os.path.join(out_dir, canvas.FOLDER))
            entries = [Entry(sid, home) for sid, home in laid.items()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # the class's submissions and results are closed to the sandbox's user (a student's code
            # must not read a classmate's files or feedback), as the course folder is
            containment.close_to_others([folder, out_dir])
        checks = checks_digest(asg, overrides)
        states, pending, seconds = {}, [], {}
        for e in entries:
            digests = {"submission_digest": submission_digest(e.path), "checks_digest": checks}
            old = _reusable(out_dir, e, digests, seconds)
            if old is not None:
                states[e.student] = dict(old, reused=True)
            else:
                pending.append((e, digests))
        pending = longest_first(pending, seconds)
        reused = len(states)
        reference_score, ref_curves, interrupted = None, {}, None
        drawer = figures.Drawer(asg)        # loads matplotlib while the batch grades
        memo_before = memo.ACTIVE
        memo.ACTIVE = memo.Memo()
        forkserver.enable()                 # warm workers: forked from a server, fresh for each submission
        try:
            pooled = jobs > 1 and len(pending) > 1
            if not pending:
                ref_curves = _stored_reference_curves(out_dir)
            elif not pooled:
                # Once per batch: fixtures verified, examples recorded, the reference's own score and curves
                # (in a pool, the first task of one of its processes while the others grade the students).
                reference_score, ref_curves = _grade_reference(asg, overrides)
            bar = _progress(len(pending), stream)
            try:
                if pooled:
                    reference_score, ref_curves = _pooled(pending, out_dir, asg, overrides, jobs, states, bar, pin)
                else:
                    for e, digests in pending:
                        states[e.student] = grade_one(e, out_dir, asg, overrides, digests)
                        bar.update(1)
            except (Interrupted, KeyboardInterrupt) as exc:
                # Stopped (Ctrl-C, SIGTERM, SIGHUP): the gradings in progress were ended as any
                # interrupted grading ends; what was graded is kept, and a re-run grades the rest.
                interrupted = str(exc) if isinstance(exc, Interrupted) else "SIGINT"
                for e, digests in pending:
                    # graded and written just before the stop, its result not yet received here
                    if e.student not in states:
                        done = _reusable(out_dir, e, digests)
                        if done is not None:
                            states[e.student] = done
            finally:
                bar.close()
                _BATCH = None
        except BaseException:
            drawer.close()
            raise
        finally:
            memo.ACTIVE = memo_before
            forkserver.disable()
            containment.release_parked()
        if when_graded is not None:
            when_graded()
        try:
            seconds = time.monotonic() - started
            ordered = [states.get(e.student) or _not_graded_state(e, asg) for e in entries]
            graded = [s for s in ordered if s["row"]["status"] != STATUS_NOT_GRADED]
            write_csv(os.path.join(out_dir, "grades.csv"), asg, ordered, people, students)
            summary = summarize(asg, graded, graded=len(graded) - reused, reused=reused, seconds=seconds, jobs=jobs,
                                reference_score=reference_score, submissions=len(ordered))
            if folder != given:
                summary["export_folder"] = folder
            if left_out:
                summary["left_out"] = [{"entry": name, "why": why} for name, why in left_out]
            if people is not None:
                summary["roster"] = roster_summary(people, ordered)
            if not_canvas:
                summary["not_canvas"] = not_canvas
            if students:
                summary["canvas"] = {"students": len(students), "files": sum(len(x.files) for x in students.values()),
                                     "late": sorted(sid for sid, x in students.items() if x.late),
                                     "folder": os.path.join(out_dir, canvas.FOLDER)}
            if interrupted:
                summary["interrupted"] = interrupted
                summary["not_graded"] = len(ordered) - len(graded)
            if ref_curves:
                results.write_atomic(os.path.join(out_dir, "reference_curves.json"), ref_curves)
            summary["figures"] = drawer.write_all(out_dir, graded, summary, ref_curves)
        finally:
            drawer.close()
        results.write_atomic(os.path.join(out_dir, "summary.json"), summary)
        return summary
    finally:
        os.close(lock)


class ClassFolderError(Exception):
    """SUBMISSIONS_DIR and OUT_DIR cannot be used together as given."""


def _hold(out_dir):
    """OUT_DIR for this batch alone -> the descriptor holding it (close it to let go). A second
    batch on the same OUT_DIR (two TAs, or a command started twice) stops here with a
    ClassFolderError naming the first: both would write every student's folder and the one
    gradebook. An flock on LOCK_FILE, which the kernel releases when the holder ends, however it
    ends: a batch killed outright leaves no stale lock."""
    fd = os.open(os.path.join(out_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip() or "another process"
        os.close(fd)
        raise ClassFolderError(f"another batch is writing to {out_dir} ({holder}): two batches on one output "
                               f"folder would overwrite each other's results; wait for it to end, or give --out "
                               f"another folder") from None
    except OSError as exc:              # a file system without locks (some network or FUSE mounts)
        print(f"warning: {out_dir} cannot be locked ({exc.strerror or exc}): make sure no other batch writes "
              f"to it meanwhile", file=sys.stderr)
        return fd
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
    return fd


def _check_out_dir(folder, out_dir):
    """OUT_DIR may be beside SUBMISSIONS_DIR, or one of its entries (left out of the class), but
    neither SUBMISSIONS_DIR itself nor inside a submission: each student's results would be
    written into the submissions (and read back as their content)."""
    real_in, real_out = os.path.realpath(folder), os.path.realpath(out_dir)
    if real_out == real_in:
        raise ClassFolderError(f"the output folder {out_dir} is the submissions folder: each student's results "
                               f"would be written among the submissions; give --out another folder")
    if not real_out.startswith(os.path.join(real_in, "")):
        return
    entry = os.path.relpath(real_out, real_in).split(os.sep)[0]
    if os.path.dirname(real_out) != real_in:
        raise ClassFolderError(f"the output folder {out_dir} is inside the submission {entry} of {folder}: the "
                               f"results would become part of it; give --out a folder outside it")
    # an entry of the class folder: left out of the class, so it must not be a submission
    if os.path.exists(real_out) and not (os.path.isdir(real_out) and (
            not os.listdir(real_out) or os.path.isfile(os.path.join(real_out, "summary.json"))
            or os.path.isfile(os.path.join(real_out, "grades.csv")) or os.path.isfile(os.path.join(real_out, LOCK_FILE)))):
        raise ClassFolderError(f"the output folder {out_dir} is the submission {entry} of {folder} (it is neither "
                               f"empty nor an earlier batch's output): it would be left out of the class and "
                               f"the results written into it; give --out another folder")


def _not_graded_state(entry, asg):
    """The gradebook row of a submission the batch was stopped before grading (nothing of it is
    written: a re-run grades it)."""
    return {"student": entry.student, "submission": entry.path,
            "row": {"total": None, "max": asg.max_points, "status": STATUS_NOT_GRADED, "checks": {}, "passed": {}},
            "diagnoses": [], "loss_curves": {}, "errors": []}


def _grade_reference(asg, overrides):
    """The reference graded as a submission, once -> (its score, its losses on each training
    check's first example: the same example every student meets)."""
    run = grading.grade(asg, grading.REFERENCE_SUBMISSION, label="reference", overrides=overrides)
    return run.score, _curves(run.loss_curves)


def curves_of(run):
    """A GradeRun's loss curves, as the batch keeps them."""
    return _curves(run.loss_curves)


def _curves(found):
    """GradeRun.loss_curves -> {check: {dims, seed, losses}} (JSON: NaN and infinities as null)."""
    return {check: {"dims": v[0], "seed": v[1], "losses": _finite(v[2])} for check, v in found.items()}


def reference_curves(asg, overrides=None):
    """The reference's losses on each training check's first example (graded as a submission,
    so on the example every submission meets first)."""
    only = [c.name for c in asg.checks if c.kind == "training"]
    if not only:
        return {}
    run = grading.grade(asg, grading.REFERENCE_SUBMISSION, only=only, label="reference", overrides=overrides)
    return _curves(run.loss_curves)


def _stored_reference_curves(out_dir):
    path = os.path.join(out_dir, "reference_curves.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


def _pooled(pending, out_dir, asg, overrides, jobs, states, bar, pin=True):
    """Grade `pending` in `jobs` processes forked from this one (they inherit the imports), the
    reference first in one of them while the others start on the students -> the reference's
    (score, curves). When a process dies, every submission it may have held is graded again
    alone, in a process of its own: one that kills that one too is marked."""
    global _BATCH
    import multiprocessing
    _BATCH = {"pending": pending, "out": out_dir, "asg": asg, "overrides": overrides, "command": os.getpid(),
              "pin": pin}
    reference = {}
    suspects = _pool_round([REFERENCE_TASK] + list(range(len(pending))), jobs, pending, asg, states, bar, reference)
    for i in suspects:
        for _ in _pool_round([i], 1, pending, asg, states, bar, reference):
            if i == REFERENCE_TASK:
                raise RuntimeError("the process grading the reference itself died, twice")
            entry, digests = pending[i]
            states[entry.student] = _error_state(entry, digests, "the process grading this submission died",
                                                 asg)
            bar.update(1)
    return reference["graded"]


def _pool_round(todo, jobs, pending, asg, states, bar, reference):
    """One pool over `todo` -> the indexes whose gradings were lost with a dead process. The
    reference's (score, curves) go to reference["graded"]; its failure (a harness error) ends the
    pool and is raised."""
    # imported here: `grade` starts without them (40 ms and more)
    import concurrent.futures
    import multiprocessing
    broken = []
    context = multiprocessing.get_context("fork")
    # slots of its own: a process that died holding one took it along
    _BATCH["slots"] = _Slots(jobs, _BATCH["pin"], context)
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs * PROCESSES_PER_JOB, len(todo)), mp_context=context,
                                                initializer=_pool_process) as pool:
        futures = {pool.submit(_grade_in_pool, i): i for i in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                if i == REFERENCE_TASK:
                    try:
                        _, reference["graded"] = future.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        broken.append(i)
                    except (Interrupted, KeyboardInterrupt):
                        raise
                    except BaseException:
                        _BATCH["slots"].done.set()      # spares not needed yet end too
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise
                    continue
                entry, digests = pending[i]
                try:
                    _, state = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    broken.append(i)
                    continue
                except Exception:
                    state = _error_state(entry, digests, traceback.format_exc(), asg)
                states[entry.student] = state
                bar.update(1)
        except (Interrupted, KeyboardInterrupt):
            _end_pool(pool)
            raise
        finally:
            # the pool ends (its `with`): spares still waiting to be needed wake up to end with it
            _BATCH["slots"].done.set()
    return sorted(broken)


def _end_pool(pool):
    """The command was stopped: nothing more starts, and each grading process is ended with SIGTERM,
    which ends its grading in progress as an interrupted grading ends (`_on_terminate`). The
    processes are those that said so as they started (`_Slots.pids`): children of this command,
    not yet reaped, so no other process can hold their PIDs."""
    slots = _BATCH["slots"]
    for pid in list(slots.pids[:min(slots.started.value, len(slots.pids))]):
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:              # ended already
            continue
    slots.done.set()        # a spare not yet said to have started wakes and ends with the pool
    pool.shutdown(wait=True, cancel_futures=True)


# ---- the gradebook and the summary -----------------------------------------------------------
# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`); the
# student id is the name of a file or folder the student may have chosen.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def gradebook_text(text):
    """A gradebook cell from a name the submission chose: one a spreadsheet would read as a
    formula is written after a `'` (the spreadsheets' own mark for "this is text")."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path, asg, states, people=None, students=None):
    """student, total, max, one column per check (its score), status: one row per submission.
    With a roster (`people`, a Gradescope export's), `name, sid, email` follow `student`, and a
    submission has one row per submitter (a group's members each get its scores); a submission
    the roster does not list has one row with those three empty. With a Canvas download's
    students (`students`, `canvas.group`), `canvas_user_id, late` follow `student`. Text a
    spreadsheet would run as a formula is written as text (`gradebook_text`)."""
    names = [c.name for c in asg.checks]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        who = list(roster.FIELDS) if people is not None else CANVAS_FIELDS if students else []
        w.writerow(["student"] + who + ["total", "max"] + names + ["status"])
        for s in states:
            row = s["row"]
            total = "" if row["total"] is None else f"{row['total']:g}"
            scores = ([total, f"{row['max']:g}"] + [f"{row['checks'][n]:g}" if n in row["checks"] else "" for n in names]
                      + [row["status"]])
            if students:
                of = students.get(s["student"])
                person = {"canvas_user_id": of.user if of else "", "late": ("yes" if of.late else "no") if of else ""}
                w.writerow([gradebook_text(s["student"])] + [person[k] for k in CANVAS_FIELDS] + scores)
                continue
            for person in _submitters(people, s) if people is not None else [{}]:
                w.writerow([gradebook_text(s["student"])] + [gradebook_text(person[k]) for k in person] + scores)
    os.replace(tmp, path)


CANVAS_FIELDS = ["canvas_user_id", "late"]      # grades.csv's columns after `student` for a Canvas download


def _submitters(people, state):
    """The roster's submitters of a submission -> [{name, sid, email}] (one with all three
    empty when the roster does not list it)."""
    return people.get(_roster_key(people, state)) or [dict.fromkeys(roster.FIELDS, "")]


def _roster_key(people, state):
    """The roster's key for a submission: the name of its entry in the class folder (or its
    student id), or None when the roster does not list it."""
    entry = os.path.basename(os.path.normpath(state.get("submission") or state["student"]))
    return next((k for k in (entry, state["student"]) if k in people), None)


def roster_summary(people, states):
    """summary.json's `roster`: how many submitters, the submissions it does not list, and the
    ones it lists that are not in the folder (nothing of theirs was graded)."""
    keys = {s["student"]: _roster_key(people, s) for s in states}
    return {"file": roster.ROSTER_FILE,
            "submitters": sum(len(p) for p in people.values()),
            "not_in_roster": sorted(student for student, key in keys.items() if key is None),
            "missing_submissions": sorted(set(people) - set(keys.values()))}


def summarize(asg, states, graded, reused, seconds, jobs, reference_score=None, submissions=None):
    """summary.json from the states of the submissions graded (now or by an earlier run).
    `submissions`: the class's size, when some were not graded (a stopped batch)."""
    totals = [s["row"]["total"] for s in states]
    checks = []
    for c in asg.checks:
        seen = [s["row"]["passed"][c.name] for s in states if c.name in s["row"]["passed"]]
        scores = [s["row"]["checks"][c.name] for s in states if c.name in s["row"]["checks"]]
        checks.append({"name": c.name, "points": c.points, "kind": c.kind,
                       "pass_rate": round(sum(seen) / len(seen), 4) if seen else None,
                       "mean_score": round(_mean(scores), 4) if scores else None})
    counts = {}
    for s in states:
        for d in s["diagnoses"]:
            counts[d] = counts.get(d, 0) + 1
    common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    fresh = [s for s in states if not s.get("reused") and s.get("seconds")]
    student_seconds = [s.get("student_seconds", 0.0) for s in fresh]
    cpu = {part: [s["cpu_seconds"][part] for s in fresh if isinstance(s.get("cpu_seconds"), dict)
                  and isinstance(s["cpu_seconds"].get(part), (int, float))] for part in CPU_PARTS}
    grading_seconds = [s.get("seconds", 0.0) for s in fresh]
    return {
        "assignment": asg.id,
        "max_score": asg.max_points,
        "submissions": len(states) if submissions is None else submissions,
        "graded": graded,
        "reused": reused,
        "errors": sum(1 for s in states if s["row"]["status"] != STATUS_GRADED),
        "full_marks": sum(1 for t in totals if t >= asg.max_points),
        "scores": ({"mean": round(_mean(totals), 4), "median": _median(totals),
                    "min": min(totals), "max": max(totals),
                    "stdev": round(math.sqrt(_mean([(t - _mean(totals)) ** 2 for t in totals])), 4)}
                   if totals else {}),
        "checks": checks,
        "diagnoses": [{"what": k, "submissions": v} for k, v in common],
        "reference_score": reference_score,
        "timing": {"seconds": round(seconds, 3), "jobs": jobs,
                   "graded_per_second": round(graded / seconds, 3) if graded and seconds > 0 else None,
                   "mean_seconds_per_submission": round(_mean(grading_seconds), 4)
                   if grading_seconds else None,
                   "mean_student_code_seconds": round(_mean(student_seconds), 4)
                   if student_seconds else None,
                   "mean_cpu_seconds": {part: round(_mean(v), 4) if v else None for part, v in cpu.items()}},
    }


def _mean(values):
    return sum(values) / len(values)


def _median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
