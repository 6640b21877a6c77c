"""A batch's grading lends its CPU while its worker sleeps (`nngrader.boundary.lending`), and takes
it back when the reply comes or the worker runs again; the batch's slots (`batch._Slots`) let at
most `jobs` gradings run at once. Clocks and CPU readings are given here: nothing depends on how
fast the machine is."""
import json
import multiprocessing
import os
import time

import pytest

from nngrader.boundary import lending
from nngrader.frontends import batch


class Book(lending.Lender):
    """A lender that writes down what it is asked."""

    def __init__(self, clock=None, taking=0.0):
        self.said, self.clock, self.taking = [], clock, taking

    def lend(self):
        self.said.append("lend")

    def take_back(self, pids, idle):
        self.said.append(("take_back", tuple(pids)))
        idle()
        if self.clock is not None:
            self.clock.now += self.taking       # the slot took this long to come


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _wait(book, clock, cpu, idle=lambda: None):
    return lending.Wait(book, 4242, idle, clock=clock, cpu=lambda pid: cpu[0])


def test_a_worker_asleep_lends_the_slot_and_the_reply_takes_it_back():
    clock, cpu, book, drained = Clock(), [3.0], Book(), []
    book.clock, book.taking = clock, 0.7
    wait = _wait(book, clock, cpu, idle=lambda: drained.append(1))
    clock.now += lending.LOOK_EVERY
    wait.look()                                 # the first look only reads where the CPU is
    assert book.said == []
    clock.now += lending.IDLE_AFTER
    cpu[0] += 0.001                             # asleep: next to nothing used
    wait.look()
    assert book.said == ["lend"] and wait.lent and wait.lends == 1
    for _ in range(20):                         # still asleep: nothing more is asked
        clock.now += lending.LOOK_EVERY
        wait.look()
    assert book.said == ["lend"]
    assert wait.end() == pytest.approx(0.7)     # the reply: the slot is taken back, and what that took is told
    assert book.said == ["lend", ("take_back", (4242,))] and drained == [1]


def test_a_busy_worker_keeps_the_slot():
    clock, cpu, book = Clock(), [3.0], Book()
    wait = _wait(book, clock, cpu)
    for _ in range(30):
        clock.now += lending.LOOK_EVERY
        cpu[0] += lending.LOOK_EVERY * 0.9      # computing
        wait.look()
    assert book.said == [] and wait.end() == 0.0


def test_a_worker_that_computes_then_sleeps_lends_once_asleep():
    clock, cpu, book = Clock(), [3.0], Book()
    wait = _wait(book, clock, cpu)
    for _ in range(30):                         # 3 s of computing
        clock.now += lending.LOOK_EVERY
        cpu[0] += lending.LOOK_EVERY
        wait.look()
    assert book.said == []
    for _ in range(6):                          # then asleep
        clock.now += lending.LOOK_EVERY
        wait.look()
    assert book.said == ["lend"]


def test_a_lent_slot_is_taken_back_when_the_worker_runs_again_and_that_wait_is_its_own_time():
    clock, cpu, book = Clock(), [3.0], Book()
    book.clock, book.taking = clock, 0.4
    wait = _wait(book, clock, cpu)
    for _ in range(5):
        clock.now += lending.LOOK_EVERY
        wait.look()
    assert book.said == ["lend"]
    clock.now += lending.LOOK_EVERY
    cpu[0] += lending.LOOK_EVERY                # awake and computing
    wait.look()
    assert book.said == ["lend", ("take_back", (4242,))] and not wait.lent
    # the worker ran the submission's call meanwhile: that wait is the submission's time
    assert wait.end() == 0.0


def test_nothing_is_installed_outside_a_batch():
    assert lending.installed() is None
    assert lending.begin(os.getpid(), lambda: None) is None


def test_the_cpu_of_a_process_is_read_from_proc():
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("no /proc")
    before = lending.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert lending.cpu_seconds(os.getpid()) > before
    assert lending.cpu_seconds(2 ** 22 + 7) is None           # no such process


def test_slots_let_at_most_jobs_gradings_run_and_prefer_the_core_a_grading_had():
    slots = batch._Slots(2, True, multiprocessing.get_context("fork"))
    a = slots.take()
    b = slots.take(near=slots.cores[a])                          # the core taken: another one
    assert {a, b} == {0, 1}
    assert not slots.count.acquire(timeout=0)                    # no third
    waited = []
    slots.give(a)
    assert slots.take(near=slots.cores[a], idle=lambda: waited.append(1)) == a
    slots.give(a)
    slots.give(b)
    assert slots.count.acquire(timeout=0) and slots.count.acquire(timeout=0)


def test_a_slot_awaited_calls_idle_meanwhile():
    """While every slot is held, the one waiting drains what its worker prints (`idle`)."""
    import threading
    slots = batch._Slots(1, False, multiprocessing.get_context("fork"))
    held = slots.take()
    idles = []
    got = []
    t = threading.Thread(target=lambda: got.append(slots.take(idle=lambda: idles.append(1))))
    t.start()
    while len(idles) < 2:
        time.sleep(0.01)
    slots.give(held)
    t.join(10)
    assert got == [held] and len(idles) >= 2


def test_a_regrade_starts_with_the_submissions_that_took_longest(tmp_path):
    """After a check changed, every submission is graded again: those whose last grading took
    longest go first (a hang started last would have the batch wait on it alone)."""
    entries = [batch.Entry(n, str(tmp_path / "subs" / n)) for n in ("ana", "ben", "cy", "dee")]
    took = {"ana": 0.1, "ben": 4.2, "dee": 0.3}                 # cy: new, never graded
    for e in entries:
        if e.student in took:
            folder = tmp_path / "out" / e.student
            folder.mkdir(parents=True)
            (folder / "results.json").write_text("{}")
            (folder / "batch.json").write_text(json.dumps(
                {"submission": e.path, "submission_digest": "s", "checks_digest": "old", "seconds": took[e.student],
                 "row": {"status": "graded"}}))
    seconds, pending = {}, []
    for e in entries:
        digests = {"submission_digest": "s", "checks_digest": "new"}
        assert batch._reusable(str(tmp_path / "out"), e, digests, seconds) is None     # the checks changed
        pending.append((e, digests))
    assert seconds == took
    assert [e.student for e, _ in batch.longest_first(pending, seconds)] == ["ben", "dee", "ana", "cy"]


def test_a_spare_process_waits_until_a_slot_is_lent_or_the_pool_ends():
    """The first `jobs` processes of a pool go on at once; a spare takes no submission until a
    grading lends its slot, or, when nothing ever sleeps, wakes only to end with the pool."""
    import threading
    slots = batch._Slots(1, False, multiprocessing.get_context("fork"))
    slots.until_needed()                                        # the first process: at once
    woke = []
    spares = [threading.Thread(target=lambda: (slots.until_needed(), woke.append(1))) for _ in range(2)]
    for t in spares:
        t.start()
    time.sleep(0.3)
    assert woke == []                                           # nothing lent: they wait
    k = slots.take()
    slots.lent(k)                                               # a grading's worker sleeps
    deadline = time.monotonic() + 10
    while len(woke) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert woke == [1]                                          # one spare per slot lent
    slots.done.set()                                            # the pool ends
    for t in spares:
        t.join(10)
    assert woke == [1, 1]


def test_a_worker_waiting_on_a_program_it_runs_is_not_idle():
    """The CPU of a process counts what the processes it started use: one that waits on its child
    (a submitted program the worker runs) while the child computes is busy, and keeps its slot."""
    import subprocess
    import sys
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        pytest.skip("no /proc/PID/task/TID/children")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; "
                               "subprocess.run([sys.executable, '-c', 'while True: pass'])"])
    try:
        first = lending.cpu_seconds(parent.pid)
        deadline = time.monotonic() + 20
        while lending.cpu_seconds(parent.pid) < first + 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lending.cpu_seconds(parent.pid) >= first + 0.2     # the child's loop, while the parent waits
    finally:
        for child in lending._children(parent.pid):
            os.kill(child, 9)
        parent.kill()
        parent.wait()
