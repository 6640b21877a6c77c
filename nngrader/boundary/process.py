"""The grading side of the student boundary: one worker process per submission, with limits.

Check kinds never touch student code directly; they talk to a `StudentTarget`
(`nngrader.engine.targets`), which talks to this module. Everything the worker sends back is
decoded by `wire` into plain data before any comparison sees it.

Containment (`containment`), in the order a worker lives:
- start: as root, the harness's own folders are closed to others and a user id of its own is
  claimed for this submission (no other grading shares it, so its process count, its processes
  and its files are this submission's alone). The worker (`python -s -S -B -u -P worker.py`, or in
  a batch the same forked from a warm server, `forkserver`) gets its own session, rlimits
  (address space, CPU, file size, no core files, process count), an empty environment, a
  scratch folder holding copies of the submission and the support files, and stdout/stderr on
  a pipe drained by this side (`channel`).
- each request: a wall-clock deadline (`call_timeout`, never past `submission_timeout`) on both
  sending the request and reading the reply; a reply is plain builtins (`wire.loads_reply`).
  Calls sent ahead in one batch (`prefetch`) are answered one reply each: each reply is read
  within its call's limit, and a call the worker itself timed past the limit is a timeout too.
- any fatal event (timeout, death, memory, an unreadable reply): the worker and everything it
  started are killed, and the next request starts a fresh worker (unless the import itself was
  what failed: that is not retried).
- close: every process of the claimed user is killed (even detached ones in other sessions),
  its files in the world-writable folders and its System V IPC objects are removed, the
  scratch folder is deleted.
"""
import collections
import contextlib
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from nngrader.boundary import containment, forkserver, lending, messages, wire
from nngrader.boundary.channel import Channel
from nngrader.core.errors import StudentFailure, WorkerStartError
from nngrader.core.limits import MiB, Limits
from nngrader.core.protocol import PICKLE_PROTOCOL, READY, REPLY_OK, FailureKind, Op

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
MAX_REPLY_BYTES = 256 * MiB
# Starting the interpreter and NumPy is the harness's business, not the submission's: it has a
# time limit of its own (the call limits start when student code is first imported).
STARTUP_TIMEOUT = 120.0
# The import itself hung, died or broke a limit: re-importing would only do it again.
FATAL_LOAD = {FailureKind.TIMEOUT, FailureKind.DIED, FailureKind.MEMORY, FailureKind.BUDGET,
              FailureKind.PROTOCOL}
# ...but importing only the definitions (no module-level statements) is tried once after these.
RETRY_DEFINITIONS = {FailureKind.TIMEOUT, FailureKind.DIED, FailureKind.MEMORY}


def batch_data(requests):
    """The bytes sending `requests` as one batch (`StudentProcess.prefetch`)."""
    return pickle.dumps({"op": Op.BATCH, "requests": list(requests)}, protocol=PICKLE_PROTOCOL)


class StudentProcess:
    """A worker running one submission's modules, restarted after any fatal event.

    `course_root`: the folder whose files are closed to student code as root (with the package)."""

    def __init__(self, submission_dir, modules, limits=None, support_files=(), course_root=None):
        self.limits = limits or Limits()
        self.modules = list(modules)
        self.submission_dir = submission_dir
        self.support_files = list(support_files)
        self.course_root = course_root or os.path.dirname(containment.PACKAGE_DIR)
        self.started_at = time.monotonic()
        self.proc = None
        self.channel = None
        self.scratch = None
        self.load_error = None
        self.names = []
        self.load_info = {}             # what importing did: stand-ins, skipped statements, why
        self.definitions_only = False   # set after an import that hung or died
        self.restarts = 0
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.uid = self.gid = None
        self._uid_lock = None
        self._pending = False
        self.last_meta = {}             # the meta of the last good reply (seconds, warnings)
        self.student_seconds = 0.0      # time the worker spent in requests that succeeded (its own clock)
        self.lends = 0                  # in a batch: times a wait on this worker lent its CPU (`lending`)
        self.last_cleanup_error = ""    # what went wrong releasing handles, if anything
        # requests sent ahead in one batch (`prefetch`) whose replies are not read yet:
        # [(pickled request, what, timeout)], in the order the worker runs them
        self._ahead = collections.deque()
        self._all_killed = False        # the last _kill left no process of the claimed user
        containment.set_subreaper()

    # ---- lifecycle ------------------------------------------------------------------------
    def _claim(self):
        if self.as_root and self.uid is None:
            containment.protect_harness_files(self.course_root)
            self.uid, self.gid, self._uid_lock = containment.claim_user(self.limits.unprivileged_user)

    def _make_scratch(self):
        blocked = containment.block_termination()   # made and recorded whole: `close` removes it
        try:
            self.scratch = tempfile.mkdtemp(prefix="nngrader-scratch-", dir=containment.scratch_root(self.as_root))
        finally:
            containment.unblock(blocked)
        for name in os.listdir(self.submission_dir):
            src = os.path.join(self.submission_dir, name)
            if os.path.isfile(src):
                shutil.copy(src, self.scratch)
            elif os.path.isdir(src):
                shutil.copytree(src, os.path.join(self.scratch, name))
        for src in self.support_files:      # the course's copy wins over a submitted one
            shutil.copy(src, self.scratch)
        if self.as_root:
            for root, dirs, files in os.walk(self.scratch):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    os.chown(n, self.uid, self.gid, follow_symlinks=False)

    def _uses(self, package):
        """Does any Python file of the submission mention `package`? (what the worker preloads)"""
        for root, _, files in os.walk(self.scratch):
            for name in files:
                if name.endswith((".py", ".ipynb")):
                    try:
                        with open(os.path.join(root, name), "rb") as f:
                            if package.encode() in f.read():
                                return True
                    except OSError:
                        continue
        return False

    def _preexec(self):
        # As root the worker sets RLIMIT_NPROC itself, right before dropping privileges.
        containment.apply_rlimits(self.limits, nproc=not self.as_root and self._nproc_ok)

    def start(self, wait=True):
        """Start the worker; with wait=False return at once (the caller overlaps its own start-up
        with the worker's) and let the first ensure() finish the handshake and the import."""
        self._claim()
        if self.scratch is None:
            self._make_scratch()
        self._nproc_ok = not self.as_root and containment.nproc_is_per_user_safe(self.limits.max_processes)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        site_dirs = sorted({os.path.dirname(os.path.dirname(np.__file__))})
        env = dict(forkserver.WORKER_ENV, HOME=self.scratch, TMPDIR=self.scratch,
                   MPLCONFIGDIR=os.path.join(self.scratch, ".matplotlib"))
        if self._uses("matplotlib"):
            env["NNGRADER_PRELOAD"] = "matplotlib"
        # As root, the worker starts privileged (so it can load Python and NumPy from wherever
        # they live), then drops to the unprivileged user before it imports any student code.
        drop = f"{self.uid}:{self.gid}:{self.limits.max_processes}" if self.as_root else "-"
        try:
            self.proc = self._forked(req_r, rep_w, out_w, site_dirs, env, drop)
            if self.proc is None:
                self.proc = subprocess.Popen(
                    [sys.executable, *forkserver.INTERPRETER_FLAGS, WORKER, str(req_r), str(rep_w), self.scratch, drop]
                    + site_dirs,
                    stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, cwd=self.scratch,
                    env=env, pass_fds=(req_r, rep_w), start_new_session=True, preexec_fn=self._preexec)
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        self.channel = Channel(req_w, rep_r, out_r, self.limits.max_output_bytes)
        self.load_error = None
        self._pending = True
        if wait:
            self._finish_start()

    def _forked(self, req_r, rep_w, out_w, site_dirs, env, drop):
        """The worker forked by a batch's fork server (`forkserver`), set up as the started one
        would be; None when there is no server (then it is started)."""
        base = {k: v for k, v in env.items() if k not in ("HOME", "TMPDIR", "MPLCONFIGDIR", "NNGRADER_PRELOAD")}
        server = forkserver.current(WORKER, site_dirs, self.as_root, dict(base, HOME="/", TMPDIR="/tmp"))
        if server is None:
            return None
        request = {"scratch": self.scratch, "drop": drop, "env": env,
                   "rlimits": containment.rlimit_settings(self.limits, nproc=not self.as_root and self._nproc_ok)}
        try:
            return server.spawn((req_r, rep_w, out_w), request)
        except WorkerStartError as exc:
            print(f"nngrader: {exc}; starting workers one by one", file=sys.stderr)
            forkserver.failed(server)
            return None

    def _finish_start(self):
        self._pending = False
        self._wait_ready()
        what = "import " + ", ".join(m + ".py" for m in self.modules)
        try:
            info = self._request({"op": Op.LOAD, "modules": self.modules,
                                  "definitions_only": self.definitions_only}, what=what)
        except StudentFailure as exc:
            if exc.category == FailureKind.EXCEPTION:
                exc.category = FailureKind.IMPORT
            if exc.category in RETRY_DEFINITIONS and not self.definitions_only and self.remaining() > 0:
                # the module-level statements hung or killed the process: a fresh worker runs
                # only the definitions (`load_info` keeps why)
                self.definitions_only = True
                self.load_info = {"failure": {"type": "", "message": exc.message}}
                self._kill()
                if self.scratch:
                    containment.remove_tree(self.scratch)
                    self.scratch = None
                self.start(wait=True)
                return
            self.load_error = exc
            self.names = []
            return
        if not isinstance(info, dict):
            self._kill()
            self.load_error = StudentFailure(FailureKind.PROTOCOL, "the submission's process sent an unreadable "
                                                                   f"reply {messages.where(what)}")
            return
        failure = self.load_info.get("failure")     # kept from a first attempt that hung or died
        self.load_info = dict(info)
        if failure and not self.load_info.get("failure"):
            self.load_info["failure"] = failure
        self.load_info["cautious"] = self.definitions_only
        self.names = list(info.get("names") or [])

    def _wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            n = self.channel.receive_header(deadline)
            status = wire.loads_reply(self.channel.read(n, deadline))[0] if n < 4096 else None
        except (TimeoutError, EOFError, wire.WireError) as exc:
            status = type(exc).__name__
        if status != READY:
            output = self.channel.output_tail()
            self._kill()
            raise WorkerStartError(f"the worker process did not start ({status}); it printed:\n{output}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ensure(self):
        """A started worker with the submission imported; raises the import's StudentFailure."""
        if self._pending and self.proc is not None:
            self._finish_start()
        if self.load_error is not None and self.load_error.category in FATAL_LOAD:
            raise self.load_error.copy()
        if not self.alive():
            if self.proc is not None:
                self._kill()
                self.restarts += 1
                if self.scratch:        # a fresh copy: nothing the last worker wrote carries over
                    containment.remove_tree(self.scratch)
                    self.scratch = None
            self.start()
        if self.load_error is not None:
            raise self.load_error.copy()

    def _kill(self):
        """Kill the worker and everything it started; reap what was ours to reap."""
        self._ahead.clear()             # their replies will never come
        if self.proc is None:
            return
        blocked = containment.block_termination()
        try:
            if self.as_root:
                # none left: nothing runs as this user until a worker is started again
                self._all_killed = not containment.kill_user_children(self.uid, keep=self.proc,
                                                                      signaller=self._signaller())
            else:
                containment.kill_own_descendants(self.proc.pid, self.scratch, keep=self.proc)
            if self.proc.poll() is None:
                try:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if self.channel is not None:
                self.channel.close()
        finally:
            containment.unblock(blocked)

    def _signaller(self):
        """Who forks the helper that signals the sandbox's user: this process's fork server, if any."""
        server = forkserver.running()
        return server.kill_user if server is not None else None

    def close(self):
        """Kill everything the submission started, remove what it left, release its user."""
        blocked = containment.block_termination()
        try:
            self._all_killed = False
            self._kill()
            clean = False
            if self.as_root and self.uid is not None:
                left = [] if self._all_killed else containment.kill_user(self.uid, signaller=self._signaller())
                containment.remove_files_of(self.uid)
                containment.remove_ipc_of(self.uid)
                clean = not left
            if self.scratch and os.path.isdir(self.scratch):
                containment.remove_tree(self.scratch)
            self.scratch = None
            if self._uid_lock is not None:
                # In a batch (a fork server runs), a user left with nothing of it is kept for this
                # process's next submission; else it is released.
                if not (clean and forkserver.running() is not None
                        and containment.park_user(self.limits.unprivileged_user, self.uid, self.gid, self._uid_lock)):
                    self._uid_lock.close()
                self._uid_lock = None
                self.uid = None
        finally:
            containment.unblock(blocked)

    @contextlib.contextmanager
    def call_timeout(self, seconds):
        """Within the block, one call may take `seconds` (None: the limit as it is)."""
        saved = self.limits.call_timeout
        if seconds:
            self.limits.call_timeout = seconds
        try:
            yield
        finally:
            self.limits.call_timeout = saved

    # ---- requests -------------------------------------------------------------------------
    def remaining(self):
        return self.limits.submission_timeout - (time.monotonic() - self.started_at)

    def request(self, req, what, timeout=None, after_failed_import=False):
        """Send one request -> the decoded reply value; a StudentFailure for anything else.
        Replies to requests sent ahead and not taken are read and dropped first.

        `after_failed_import`: a worker whose import raised (and is still alive) may still run
        the request (e.g. a program run needs no importable module)."""
        if self._ahead:
            self.drain_ahead()
        try:
            self.ensure()
        except StudentFailure:
            if not after_failed_import or self.load_error is None or not self.alive():
                raise
        return self._request(req, what, timeout)

    def prefetch(self, requests, whats, data=None):
        """Send `requests` to the worker now, in one batch -> True if sent (`data`: the batch's
        bytes, `batch_data(requests)`, when the caller kept them). The worker runs them
        in order and replies to each as it finishes (stopping after the first that fails), while
        this side works on the replies it has. The caller takes each reply in order (`take_ahead`)
        where it would have made that request; any other request first reads and drops the
        replies not taken (`drain_ahead`).

        The worker meets the same calls in the same order whatever this side does meanwhile, so
        a grading stays deterministic; every call keeps its own time limit (`call_timeout` when
        prefetched), whether or not this side was waiting for it when it ran."""
        if self._ahead:
            self.drain_ahead()
        if not requests:
            return False
        try:
            self.ensure()
        except StudentFailure:
            return False                # the requests fail one by one as they are made
        if self.remaining() <= 0:
            return False
        data = data or batch_data(requests)
        timeout = min(self.limits.call_timeout, self.remaining())
        try:
            self.channel.send(data, time.monotonic() + timeout)
        except (TimeoutError, BrokenPipeError):
            self._kill()                # the requests are made one by one on a fresh worker
            return False
        self._ahead.extend((w, self.limits.call_timeout) for w in whats)
        return True

    def ahead(self):
        """How many replies to requests sent ahead are still to be taken."""
        return len(self._ahead)

    def take_ahead(self):
        """The reply to the next request sent ahead -> its decoded value (as `request`)."""
        return self._request(None, None, None, ahead=True)

    def drain_ahead(self):
        """Read and drop the replies to requests sent ahead that were not taken (a search that
        stopped early): the worker has run them, or runs them now, within their limits."""
        while self._ahead:
            try:
                self._request(None, None, None, ahead=True)
            except StudentFailure:
                self._ahead.clear()     # the batch ended there (the worker may have been killed)

    def _request(self, req, what, timeout=None, ahead=False):
        if self.remaining() <= 0:
            raise StudentFailure(*messages.budget_used(self.limits))
        if ahead:
            what, timeout = self._ahead.popleft()
        else:
            data = pickle.dumps(req, protocol=PICKLE_PROTOCOL)
        limit = timeout or self.limits.call_timeout
        timeout = min(limit, self.remaining())
        deadline = time.monotonic() + timeout
        channel = self.channel
        try:
            if not ahead:
                channel.send(data, deadline)
            # in a batch, a worker asleep on this reply lends this process's CPU (`lending`)
            wait = lending.begin(self.proc.pid, channel.drain) if self.proc is not None else None
            look = wait.look if wait is not None else None
            try:
                n = channel.receive_header(deadline, look)
                if n <= MAX_REPLY_BYTES:
                    body = channel.read(n, deadline, look)
            except (TimeoutError, EOFError, BrokenPipeError):
                self._waited(wait)
                raise
            # (anything else, a stop of the batch among them, leaves a lent slot lent: the
            # process is ending, and waiting for a slot then could wait for ever)
            self._waited(wait)
            if n > MAX_REPLY_BYTES:
                self._kill()
                raise StudentFailure(*messages.reply_too_large(n, MAX_REPLY_BYTES, what))
        except TimeoutError:
            return self._timed_out(timeout, what)
        except (EOFError, BrokenPipeError):
            return self._died(what)
        channel.drain(0)
        try:
            status, payload, *meta = wire.loads_reply(body)
            if status == REPLY_OK:
                self.last_meta = meta[0] if meta and isinstance(meta[0], dict) else {}
                seconds = self.last_meta.get("seconds")
                if isinstance(seconds, float) and seconds >= 0:
                    self.student_seconds += seconds
                    if seconds > limit:
                        # ran past its limit while this side was busy (a call sent ahead, a
                        # pause of this process): what waiting would have found
                        return self._timed_out(limit, what)
                return wire.decode(payload)
            info = dict(payload)
            category = FailureKind(str(info.get("category", FailureKind.EXCEPTION.value)))
        except StudentFailure:
            raise
        except Exception as exc:                # whatever the reply holds, it is the student's doing
            self._kill()
            raise StudentFailure(*messages.unreadable_reply(what, exc)) from None
        self._ahead.clear()             # a reply that is not OK ends a batch: nothing follows it
        if category == FailureKind.MEMORY:
            self._kill()                # a MemoryError leaves the worker in an unknown state
        category, message = messages.raised(category, str(info.get("message", "")), self.limits, what)
        raise StudentFailure(category, message, str(info.get("type", "")), str(info.get("traceback", "")),
                             channel.output_since_request())

    def _waited(self, wait):
        """A wait on the worker is over: the slot it lent is taken back (`lending`)."""
        if wait is not None:
            self.started_at += wait.end()       # a slot awaited with the reply in is not the submission's time
            self.lends += wait.lends

    def _timed_out(self, timeout, what):
        channel = self.channel
        channel.drain(0)
        output = channel.output_since_request()
        self._kill()
        raise StudentFailure(*messages.timed_out(timeout, what, self.remaining() <= 0),
                             output=output) from None

    def output_since_request(self):
        """What student code printed since the current request was sent (its last part)."""
        return self.channel.output_since_request() if self.channel else ""

    def output_tail(self):
        """The last max_output_bytes of everything student code printed."""
        return self.channel.output_tail() if self.channel else ""

    def _died(self, what):
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self.channel.drain(0)
        output = self.channel.output_since_request()
        self._kill()
        raise StudentFailure(*messages.died(code, output, self.limits, what), output=output)
