"""While a grading waits on a worker that is not running (asleep on a timer, on a lock, on a
network that never answers), its CPU can grade another submission.

A batch holds its CPUs as slots, one per job, and keeps more grading processes than slots: each
takes a slot to grade. It installs a `Lender` in each of its processes (`install`); a grading that
has waited for one reply on a worker that used less than `IDLE_SHARE` of a core for `IDLE_AFTER`
seconds lends its slot (`Lender.lend`), and another submission is graded on it. The slot is
taken back (`Lender.take_back`, which may wait for a free one) when the reply comes, when the wait
ends otherwise (time limit, death), or as soon as the worker runs again (`BUSY_SHARE` of a core
since the last look). A slot awaited once the reply is in is not charged to the submission: its time
budget is moved on by that wait (`Wait.end`). Its calls are timed by its worker, which never waits
for a slot.

Single grading installs nothing: a wait there is a plain wait. Only system calls and /proc here.
"""
import os
import time

IDLE_AFTER = 0.25       # s: the window over which a waited-on worker's CPU use is measured
IDLE_SHARE = 0.05       # the worker used less than this share of one core over IDLE_AFTER s: idle
BUSY_SHARE = 0.5        # a lent slot is taken back when the worker uses this share since the last look
LOOK_EVERY = 0.1        # s between looks while waiting (the read's select wakes up this often)

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_lender = None


class Lender:
    """What a batch installs. `lend()` gives this process's slot to the others; `take_back(pids,
    idle)` waits for a slot (any free one), calling `idle()` every few hundredths of a second
    meanwhile, and moves `pids` (the waiting worker) along to its CPU."""

    def lend(self):
        raise NotImplementedError

    def take_back(self, pids, idle):
        raise NotImplementedError


def install(lender):
    """`lender` for the waits of this process from now on (None: none)."""
    global _lender
    _lender = lender


def installed():
    return _lender


MAX_TREE = 256                  # processes of a worker's tree read at one look, at most


def cpu_seconds(pid):
    """CPU seconds used by `pid` (all its threads) and the processes it started: those running (a
    program it runs, a pool of its own) and those it has waited for. None when `pid` cannot be
    read. A worker waiting on its child is not idle while the child computes."""
    total, seen, todo = None, set(), [pid]
    while todo and len(seen) < MAX_TREE:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        used = own_and_waited_cpu(p)
        if used is None:
            if p == pid:
                return None
            continue                    # ended meanwhile: its time is its parent's now, or lost
        total = (total or 0.0) + used
        todo += _children(p)
    return total


def own_and_waited_cpu(pid):
    """CPU seconds of `pid` itself (all its threads) and of the children it has waited for, or
    None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # after the command's closing parenthesis: state is field 3, utime..cstime 14..17
        utime, stime, cutime, cstime = stat[stat.rindex(b")") + 2:].split()[11:15]
        return (int(utime) + int(stime) + int(cutime) + int(cstime)) / _TICKS
    except (OSError, ValueError, IndexError):
        return None


def _children(pid):
    """The PIDs of `pid`'s children (of each of its threads)."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return out


class Wait:
    """One wait on a worker's reply. `look()` as it goes (the read calls it every LOOK_EVERY s while
    nothing arrives), `end()` once it is over."""

    def __init__(self, lender, pid, idle, clock=time.monotonic, cpu=cpu_seconds):
        self.lender, self.pid, self.idle, self.clock, self.cpu = lender, pid, idle, clock, cpu
        self.began = clock()
        self.cpu_began = None
        self.last = None                # (time, cpu) of the last look while lent
        self.lent = False
        self.lends = 0                  # how many times this wait lent its slot

    def look(self):
        now = self.clock()
        if self.cpu_began is None:
            # the first look (LOOK_EVERY into the wait): the worker's CPU from here on is what
            # counts. Not read when the wait begins: most replies come sooner, and unlooked at.
            self.cpu_began = self.cpu(self.pid)
            self.began = now
            return
        used = self.cpu(self.pid)
        if used is None:
            return
        if not self.lent:
            if now - self.began < IDLE_AFTER:
                return
            if used - self.cpu_began < IDLE_SHARE * (now - self.began):
                self.lender.lend()
                self.lent, self.lends, self.last = True, self.lends + 1, (now, used)
            else:                       # it ran in that window: the next one is looked at
                self.began, self.cpu_began = now, used
            return
        then, used_then = self.last
        if now > then and (used - used_then) >= BUSY_SHARE * (now - then):
            self._take_back()           # running again: it gets a slot of its own
            self.began, self.cpu_began = self.clock(), self.cpu(self.pid)
            return
        self.last = (now, used)

    def _take_back(self):
        started = self.clock()
        self.lender.take_back([self.pid], self.idle)
        self.lent = False
        return self.clock() - started

    def end(self):
        """-> the seconds spent taking the slot back now that the reply is in (or the wait is
        over): the worker was waiting for this process then, not running the submission. (A slot
        taken back while the worker runs again is awaited in the submission's own time.)"""
        return self._take_back() if self.lent else 0.0


def begin(pid, idle):
    """A Wait on worker `pid` when a lender is installed, else None. `idle()`: what to do while the
    slot is awaited (drain what the worker prints, so that it never blocks on a full pipe)."""
    return Wait(_lender, pid, idle) if _lender is not None else None
