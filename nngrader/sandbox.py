"""The grading side of the student boundary: one worker process per submission, with limits.

Check kinds never touch student code directly; they talk to a `StudentTarget` (see
`nngrader.targets`), which talks to this module. Everything the worker sends back is decoded
by `nngrader.wire` into plain data before any comparison sees it.
"""
import ctypes
import os
import pickle
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields

import numpy as np

from nngrader import wire

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
GiB = 1024 ** 3
MiB = 1024 ** 2


@dataclass
class Limits:
    """Resource limits for student code. Each is a setting; `grader.py --limit NAME=VALUE` and
    the `limits:` block of an assignment's YAML override the defaults below."""

    call_timeout: float = 10.0          # wall-clock seconds for one call into student code
    submission_timeout: float = 600.0   # wall-clock seconds for everything one submission runs
    cpu_seconds: int = 300              # CPU seconds for one worker process (RLIMIT_CPU)
    memory_bytes: int = 2 * GiB         # address space of the worker (RLIMIT_AS)
    max_processes: int = 64             # processes of the worker's user (RLIMIT_NPROC; not as root)
    max_file_bytes: int = 64 * MiB      # largest file the worker may write (RLIMIT_FSIZE)
    max_output_bytes: int = 64 * 1024   # captured stdout/stderr kept for the report
    program_timeout: float = 60.0       # wall-clock seconds for one run of a submitted program
    unprivileged_user: str = "nobody"   # the user student code runs as when grading as root

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    def with_overrides(self, overrides):
        out = Limits(**{f.name: getattr(self, f.name) for f in fields(self)})
        for name, value in overrides.items():
            if name not in self.names():
                raise ValueError(f"unknown limit {name!r}; known limits: {', '.join(self.names())}")
            kind = type(getattr(out, name))
            setattr(out, name, kind(value) if kind is not int else int(float(value)))
        return out


class StudentFailure(Exception):
    """Student code did not produce a value: it raised, hung, died, or broke a limit."""

    def __init__(self, category, message, type_name="", traceback="", output=""):
        super().__init__(message)
        self.category = category      # not_implemented | missing | exception | syntax | timeout |
        self.message = message        # died | memory | budget | wrong_type | protocol
        self.type_name = type_name
        self.traceback = traceback
        self.output = output


def _set_subreaper():
    """Become the reaper of orphaned descendants, so detached grandchildren can be found."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass                            # not Linux: process-group kill only


def _descendants(root_pid):
    """PIDs whose parent chain reaches root_pid (Linux /proc), deepest last."""
    parents = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents[int(entry)] = ppid
    found, frontier = [], [root_pid]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _unprivileged_ids(user):
    import pwd
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


class StudentProcess:
    """A worker running one submission's modules, restarted after any fatal event."""

    def __init__(self, submission_dir, modules, limits=None, support_files=()):
        self.limits = limits or Limits()
        self.modules = list(modules)
        self.submission_dir = submission_dir
        self.support_files = list(support_files)
        self.started_at = time.monotonic()
        self.proc = None
        self.scratch = None
        self.load_error = None
        self.names = []
        self.restarts = 0
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        _set_subreaper()

    # ---- lifecycle ------------------------------------------------------------------------
    def _make_scratch(self):
        self.scratch = tempfile.mkdtemp(prefix="nngrader-scratch-")
        for src in self.support_files:
            shutil.copy(src, self.scratch)
        for name in os.listdir(self.submission_dir):
            src = os.path.join(self.submission_dir, name)
            if os.path.isfile(src):
                shutil.copy(src, self.scratch)
            elif os.path.isdir(src):
                shutil.copytree(src, os.path.join(self.scratch, name))
        if self.as_root:
            uid, gid = _unprivileged_ids(self.limits.unprivileged_user)
            for root, dirs, files in os.walk(self.scratch):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    os.chown(n, uid, gid)

    def _preexec(self):
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.max_file_bytes, lim.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if not self.as_root and _nproc_is_per_user_safe(lim.max_processes):
            # As root the worker sets RLIMIT_NPROC itself, right before dropping privileges.
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.max_processes, lim.max_processes))

    def start(self):
        if self.scratch is None:
            self._make_scratch()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.output_path = os.path.join(self.scratch, ".output")
        out = open(self.output_path, "ab")
        site_dirs = sorted({os.path.dirname(os.path.dirname(np.__file__))})
        env = {"PATH": "/usr/bin:/bin", "HOME": self.scratch, "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": self.scratch}
        # As root, the worker starts privileged (so it can load Python and NumPy from wherever
        # they live), then drops to the unprivileged user before it imports any student code.
        drop = "%d:%d:%d" % (*_unprivileged_ids(self.limits.unprivileged_user),
                             self.limits.max_processes) if self.as_root else "-"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", WORKER, str(req_r), str(rep_w), self.scratch, drop]
            + site_dirs,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.scratch,
            env=env, pass_fds=(req_r, rep_w), start_new_session=True, preexec_fn=self._preexec)
        out.close()
        os.close(req_r)
        os.close(rep_w)
        self.req_w, self.rep_r = req_w, rep_r
        self.load_error = None
        try:
            self.names = self._request({"op": "load", "modules": self.modules}, what="import")
        except StudentFailure as exc:
            if exc.category == "exception":
                exc.category = "import"
            self.load_error = exc
            self.names = []

    def ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self._kill()
                self.restarts += 1
            self.start()
        if self.load_error is not None:
            raise StudentFailure(self.load_error.category, self.load_error.message,
                                 self.load_error.type_name, self.load_error.traceback,
                                 self.load_error.output)

    def _kill(self):
        if self.proc is None:
            return
        pid = self.proc.pid
        stray = _descendants(pid)
        for target in [pid] + stray:
            for kill in (lambda p: os.killpg(p, signal.SIGKILL), lambda p: os.kill(p, signal.SIGKILL)):
                try:
                    kill(target)
                except (ProcessLookupError, PermissionError, OSError):
                    continue
        if self.as_root:
            self._kill_unprivileged_user()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in (getattr(self, "req_w", None), getattr(self, "rep_r", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.req_w = self.rep_r = None
        self._reap_orphans()

    def _kill_unprivileged_user(self):
        """As root, every process of the unprivileged user belongs to student code: kill all."""
        uid, _ = _unprivileged_ids(self.limits.unprivileged_user)
        for _ in range(3):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        os.kill(int(entry), signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    continue

    def _reap_orphans(self):
        """Kill and reap anything the worker left behind that was re-parented to us."""
        for _ in range(5):
            stray = [p for p in _descendants(os.getpid()) if self._is_student_pid(p)]
            if not stray:
                break
            for p in stray:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break

    def _is_student_pid(self, pid):
        """A descendant of ours running in this submission's scratch directory."""
        try:
            return os.readlink(f"/proc/{pid}/cwd").startswith(self.scratch or "\0")
        except OSError:
            return False

    def close(self):
        self._kill()
        if self.scratch and os.path.isdir(self.scratch):
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch = None

    # ---- requests -------------------------------------------------------------------------
    def remaining(self):
        return self.limits.submission_timeout - (time.monotonic() - self.started_at)

    def request(self, req, what, timeout=None):
        self.ensure()
        return self._request(req, what, timeout)

    def _request(self, req, what, timeout=None):
        if self.remaining() <= 0:
            raise StudentFailure("budget", f"the submission used up its {self.limits.submission_timeout:g} s "
                                           "time budget; this check was not run")
        data = pickle.dumps(req, protocol=4)
        try:
            os.write(self.req_w, struct.pack("<Q", len(data)))
            view = memoryview(data)
            while view:
                view = view[os.write(self.req_w, view):]
        except (BrokenPipeError, OSError):
            return self._died(what)
        timeout = min(timeout or self.limits.call_timeout, self.remaining())
        deadline = time.monotonic() + timeout
        try:
            header = self._read(8, deadline)
            (n,) = struct.unpack("<Q", header)
            if n > 512 * MiB:
                raise wire.WireError("reply too large")
            body = self._read(n, deadline)
        except TimeoutError:
            self._kill()
            budget = self.remaining() <= 0
            raise StudentFailure("budget" if budget else "timeout",
                                 f"timed out after {timeout:g} s in {what}" +
                                 (" (the submission's time budget ran out)" if budget else ""),
                                 output=self.output_tail())
        except EOFError:
            return self._died(what)
        try:
            status, payload, *meta = wire.loads_reply(body)
            if status == "ok":
                self.last_meta = meta[0] if meta else {}
                return wire.decode(payload)
            info = payload
        except (wire.WireError, ValueError, TypeError) as exc:
            self._kill()
            raise StudentFailure("protocol", f"the submission's process sent an unreadable reply in "
                                             f"{what} ({exc})") from None
        raise StudentFailure(info.get("category", "exception"), info.get("message", ""),
                             info.get("type", ""), info.get("traceback", ""), self.output_tail())

    def _read(self, n, deadline):
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.rep_r], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.rep_r, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _died(self, what):
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if code is not None and code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            why = {signal.SIGKILL: "killed (SIGKILL: possibly the memory or CPU limit, or it killed itself)",
                   signal.SIGXCPU: f"stopped by the CPU limit ({self.limits.cpu_seconds} s)",
                   signal.SIGXFSZ: f"stopped for writing a file over {self.limits.max_file_bytes} bytes",
                   signal.SIGSEGV: "crashed (segmentation fault; possibly the memory limit)"}.get(sig, f"killed by {name}")
            message = f"the submission's process was {why} during {what}"
        else:
            message = f"the submission's process exited (code {code}) during {what}"
        raise StudentFailure("died", message, output=self.output_tail())

    def output_tail(self):
        """What student code printed, capped at max_output_bytes."""
        try:
            size = os.path.getsize(self.output_path)
            with open(self.output_path, "rb") as f:
                data = f.read(self.limits.max_output_bytes)
        except (OSError, AttributeError):
            return ""
        text = data.decode("utf-8", errors="replace")
        if size > len(data):
            text += f"\n[... {size - len(data)} more bytes of output not shown]"
        return text


def _nproc_is_per_user_safe(limit):
    """RLIMIT_NPROC counts all processes of the user: only set it when we are far below it."""
    try:
        uid = os.getuid()
        count = sum(1 for e in os.listdir("/proc") if e.isdigit() and os.stat(f"/proc/{e}").st_uid == uid)
    except OSError:
        return False
    return count + 16 < limit
