"""The grading side of the student boundary: one worker process per submission, with limits.

Check kinds never touch student code directly; they talk to a `StudentTarget` (see
`nngrader.targets`), which talks to this module. Everything the worker sends back is decoded
by `nngrader.wire` into plain data before any comparison sees it.

Containment, in the order a worker lives:
- start: as root, the harness's own files are closed to others (`protect_harness_files`) and a
  user id of its own is claimed for this submission (`claim_user`: no other grading shares it,
  so its process count, its processes and its files are this submission's alone). The worker
  (`python -I -S -B -u worker.py`) gets its own session, rlimits (address space, CPU, file
  size, no core files, process count), an empty environment, a scratch folder holding copies of
  the submission and the support files, and stdout/stderr on a pipe drained by this side.
- each request: a wall-clock deadline (`call_timeout`, never past `submission_timeout`) on both
  sending the request and reading the reply; a reply is plain builtins (`wire.loads_reply`).
- any fatal event (timeout, death, memory, an unreadable reply): the worker and everything it
  started are killed, and the next request starts a fresh worker (unless the import itself was
  what failed: that is not retried).
- close: every process of the claimed user is killed (even detached ones in other sessions),
  its files in the world-writable folders and its System V IPC objects are removed, the
  scratch folder is deleted.
"""
import ctypes
import errno
import os
import pickle
import pwd
import resource
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields

import numpy as np

from nngrader import wire

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
KiB = 1024
MiB = 1024 ** 2
GiB = 1024 ** 3

# As root, "auto" takes the first uid from here that no account uses and no other grading holds.
AUTO_UID_FIRST = 52000
AUTO_UID_COUNT = 1000
# Where an unprivileged process can create files outside its scratch folder (swept at close).
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock", "/var/lock")
MAX_REPLY_BYTES = 256 * MiB
# Starting the interpreter and NumPy is the harness's business, not the submission's: it has a
# time limit of its own (the call limits start when student code is first imported).
STARTUP_TIMEOUT = 120.0
# The import itself hung, died or broke a limit: re-importing would only do it again.
FATAL_LOAD = {"timeout", "died", "memory", "budget", "protocol"}


@dataclass
class Limits:
    """Resource limits for student code. Each is a setting; `grader.py --limit NAME=VALUE` and
    the `limits:` block of an assignment's YAML override the defaults below."""

    call_timeout: float = 10.0          # wall-clock seconds for one call into student code
    submission_timeout: float = 600.0   # wall-clock seconds for everything one submission runs
    cpu_seconds: int = 300              # CPU seconds for one worker process (RLIMIT_CPU)
    memory_bytes: int = 2 * GiB         # address space of the worker (RLIMIT_AS)
    max_processes: int = 64             # processes the submission may have at once (RLIMIT_NPROC)
    max_file_bytes: int = 64 * MiB      # largest file the worker may write (RLIMIT_FSIZE)
    max_output_bytes: int = 64 * KiB    # of what student code prints, the last bytes kept
    program_timeout: float = 60.0       # wall-clock seconds for one run of a submitted program
    unprivileged_user: str = "auto"     # as root: "auto" (a fresh uid per grading), a name or a uid

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    def with_overrides(self, overrides):
        out = Limits(**{f.name: getattr(self, f.name) for f in fields(self)})
        for name, value in overrides.items():
            if name not in self.names():
                raise ValueError(f"unknown limit {name!r}; known limits: {', '.join(self.names())}")
            kind = type(getattr(out, name))
            if kind is str:
                setattr(out, name, str(value))
                continue
            try:
                number = parse_size(value) if name.endswith("_bytes") else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"limit {name}={value!r}: expected a number"
                                 + (" (sizes may be written 1GiB, 512MiB, 64KiB)" if name.endswith("_bytes")
                                    else "")) from None
            if not number > 0:
                raise ValueError(f"limit {name}={value!r}: expected a positive number")
            setattr(out, name, int(number) if kind is int else float(number))
        return out


def parse_size(value):
    """1073741824, 1e9, '1GiB', '512MiB', '64KiB', '2G' -> bytes (binary units)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    for suffix, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB), ("G", GiB), ("M", MiB), ("K", KiB)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    return float(text)


def format_size(n):
    """1073741824 -> '1 GiB'; 1610612736 -> '1.5 GiB'."""
    for unit, factor in (("TiB", 1024 * GiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


class WorkerStartError(RuntimeError):
    """The worker did not start (before any student code ran): a harness or machine problem."""


class StudentFailure(Exception):
    """Student code did not produce a value: it raised, hung, died, or broke a limit."""

    def __init__(self, category, message, type_name="", traceback="", output=""):
        super().__init__(message)
        self.category = category      # not_implemented | missing | exception | syntax | import |
        self.message = message        # timeout | died | memory | budget | wrong_type | protocol
        self.type_name = type_name
        self.traceback = traceback
        self.output = output

    def copy(self):
        return StudentFailure(self.category, self.message, self.type_name, self.traceback, self.output)


# ---- processes ---------------------------------------------------------------------------

def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _set_subreaper():
    """Become the reaper of orphaned descendants, so detached grandchildren can be found."""
    try:
        _LIBC.prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except AttributeError:
        pass                            # not Linux: process-group kill only


def _proc_table():
    """{pid: (ppid, state, real uid)} from /proc (empty where there is no /proc)."""
    table = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        info = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        try:
            # The Uid line, not the owner of /proc/PID: after setuid a process is not dumpable
            # and its /proc entries belong to root.
            table[int(entry)] = (int(info["PPid"]), info["State"].split()[0], int(info["Uid"].split()[0]))
        except (KeyError, ValueError, IndexError):
            continue
    return table


def processes_of(uid, table=None):
    """PIDs of live (not zombie) processes whose real uid is `uid`."""
    table = _proc_table() if table is None else table
    return sorted(p for p, (_, state, u) in table.items() if u == uid and state != "Z")


def _descendants(root_pid, table=None):
    """PIDs whose parent chain reaches root_pid."""
    table = _proc_table() if table is None else table
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [root_pid]
    while frontier:
        kids = children.get(frontier.pop(), [])
        found.extend(kids)
        frontier.extend(kids)
    return found


def kill_user(uid):
    """SIGKILL every process of `uid` (root only). A helper takes the uid and signals -1: the
    kernel sends the signal to all of the user's processes in one pass that no fork can slip
    through, whatever their session or parent. -> the PIDs still alive afterwards (normally none)."""
    left = []
    for attempt in range(20):
        pid = os.fork()
        if pid == 0:                            # the helper: only system calls, then _exit
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        left = processes_of(uid)
        if not left:
            break
        time.sleep(0.005 * (attempt + 1))
    return left


def _reap_children(pids, keep=None):
    """Collect the exit status of those of `pids` that are our children (zombies otherwise)."""
    for pid in pids:
        if keep is not None and pid == keep.pid:
            try:
                keep.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue


# ---- users and files -------------------------------------------------------------------

def _account_exists(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def _lock_uid(uid):
    """Hold uid for this process: an abstract Unix socket name is exclusive and vanishes with
    its holder (no file to clean up, no stale lock). -> the socket, or None if taken."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0nngrader-uid-{uid}")
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    return sock


def claim_user(user):
    """-> (uid, gid, lock) for student code when grading as root.

    "auto": the first uid from AUTO_UID_FIRST that no account uses, no other grading holds and
    no process runs as, held until release. A name or a number: that user, shared with anything
    else running as it (then do not grade concurrently: cleaning up kills all its processes)."""
    if user == "auto":
        for uid in range(AUTO_UID_FIRST, AUTO_UID_FIRST + AUTO_UID_COUNT):
            if _account_exists(uid):
                continue
            try:
                lock = _lock_uid(uid)
            except OSError:             # no abstract sockets (not Linux): take it unlocked
                lock = None
                if processes_of(uid):
                    continue
                return uid, uid, None
            if lock is None:
                continue
            if processes_of(uid):       # someone else's process: leave that uid alone
                lock.close()
                continue
            return uid, uid, lock
        raise RuntimeError(f"no free uid in {AUTO_UID_FIRST}..{AUTO_UID_FIRST + AUTO_UID_COUNT - 1} "
                           "for student code; set the limit unprivileged_user")
    if str(user).isdigit():
        uid = int(user)
        try:
            return uid, pwd.getpwuid(uid).pw_gid, None
        except KeyError:
            return uid, uid, None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"limit unprivileged_user={user!r}: no such user") from None
    if entry.pw_uid == 0:
        raise ValueError(f"limit unprivileged_user={user!r}: that is root")
    return entry.pw_uid, entry.pw_gid, None


def files_of(uid, tops=WORLD_WRITABLE):
    """Paths that `uid` owns where an unprivileged user can write outside its scratch folder: the
    world-writable folders and any folder below them that others may enter (a folder `uid`
    owns is listed, not entered)."""
    found, seen = [], set()

    def walk(path, depth):
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid == uid:
                found.append(e.path)
            elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o001 and depth < 6:
                walk(e.path, depth + 1)

    for top in tops:
        real = os.path.realpath(top)
        if real not in seen and os.path.isdir(real):
            seen.add(real)
            walk(real, 0)
    return found


def remove_files_of(uid, tops=WORLD_WRITABLE):
    """Delete what files_of(uid) lists (folders with all they hold; links, not their targets)."""
    removed = []
    for path in files_of(uid, tops):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            else:
                os.unlink(path)
            removed.append(path)
        except OSError:
            continue
    return removed


def remove_tree(path):
    """shutil.rmtree, and `rm -rf` where a student-made tree is too deep for it."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def remove_ipc_of(uid):
    """Remove the System V shared memory segments, queues and semaphores owned by uid."""
    libc = _LIBC
    if libc is None:
        return
    for table, ctl in (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl")):
        try:
            with open(f"/proc/sysvipc/{table}") as f:
                rows = f.read().splitlines()
        except OSError:
            continue
        head = rows[0].split() if rows else []
        if "uid" not in head or "shmid" not in head and "msqid" not in head and "semid" not in head:
            continue
        id_col = head.index(next(h for h in head if h in ("shmid", "msqid", "semid")))
        uid_col = head.index("uid")
        for row in rows[1:]:
            cols = row.split()
            if len(cols) > max(id_col, uid_col) and int(cols[uid_col]) == uid:
                getattr(libc, ctl)(int(cols[id_col]), 0, None)     # IPC_RMID


def harness_paths():
    """The folders holding the harness's own files: the repository (reference/, checks/,
    fixtures/, nngrader/) when it is a source checkout, else each of them where it is installed."""
    from nngrader import spec
    root = spec.ROOT
    if (os.path.isdir(os.path.join(root, "checks")) and os.path.isdir(os.path.join(root, "nngrader"))
            and os.path.basename(root) not in ("site-packages", "dist-packages")):
        return [root]
    paths = [os.path.dirname(os.path.abspath(__file__)), spec.CHECKS_DIR, spec.FIXTURES_DIR]
    try:
        import importlib.util
        ref = importlib.util.find_spec("reference")
        paths += list(ref.submodule_search_locations or []) if ref else []
    except (ImportError, ValueError):
        pass
    return [p for p in paths if os.path.isdir(p)]


def protect_harness_files():
    """As root: remove the permission bits for others (chmod o-rwx) from the harness folders, so
    the unprivileged user can neither list, read nor write anything below them. Only those
    folders' own mode changes. -> the paths changed."""
    changed = []
    for path in harness_paths():
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
            changed.append(path)
    return changed


def _nproc_is_per_user_safe(limit):
    """RLIMIT_NPROC counts all processes of the user: only set it when we are far below it."""
    mine = [p for p, (_, _, u) in _proc_table().items() if u == os.getuid()]
    return bool(mine) and len(mine) + 16 < limit


def _where(what):
    return f"while importing {what[len('import '):]}" if what.startswith("import ") else f"in {what}"


def _during(what):
    return f"while importing {what[len('import '):]}" if what.startswith("import ") else f"during {what}"


# ---- the worker ----------------------------------------------------------------------------

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
        self.uid = self.gid = None
        self._uid_lock = None
        self.req_w = self.rep_r = self.out_r = None
        self._out = bytearray()         # the last max_output_bytes printed
        self._out_total = 0             # bytes printed since the worker started
        self._out_mark = 0              # _out_total when the current request was sent
        self.last_meta = {}
        _set_subreaper()

    # ---- lifecycle ------------------------------------------------------------------------
    def _claim(self):
        if self.as_root and self.uid is None:
            protect_harness_files()
            self.uid, self.gid, self._uid_lock = claim_user(self.limits.unprivileged_user)

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
            for root, dirs, files in os.walk(self.scratch):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    os.chown(n, self.uid, self.gid, follow_symlinks=False)

    def _preexec(self):
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.max_file_bytes, lim.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            _LIBC.prctl(38, 1, 0, 0, 0)     # PR_SET_NO_NEW_PRIVS: no setuid program gives root back
        except AttributeError:
            pass
        if not self.as_root and self._nproc_ok:
            # As root the worker sets RLIMIT_NPROC itself, right before dropping privileges.
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.max_processes, lim.max_processes))

    def start(self, wait=True):
        """Start the worker; with wait=False return at once (the caller overlaps its own start-up
        with the worker's) and let the first ensure() finish the handshake and the import."""
        self._claim()
        if self.scratch is None:
            self._make_scratch()
        self._nproc_ok = not self.as_root and _nproc_is_per_user_safe(self.limits.max_processes)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        site_dirs = sorted({os.path.dirname(os.path.dirname(np.__file__))})
        env = {"PATH": "/usr/bin:/bin", "HOME": self.scratch, "TMPDIR": self.scratch, "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": self.scratch}
        # As root, the worker starts privileged (so it can load Python and NumPy from wherever
        # they live), then drops to the unprivileged user before it imports any student code.
        drop = f"{self.uid}:{self.gid}:{self.limits.max_processes}" if self.as_root else "-"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-u", WORKER, str(req_r), str(rep_w), self.scratch, drop]
                + site_dirs,
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, cwd=self.scratch,
                env=env, pass_fds=(req_r, rep_w), start_new_session=True, preexec_fn=self._preexec)
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        for fd in (req_w, out_r):
            os.set_blocking(fd, False)
        self.req_w, self.rep_r, self.out_r = req_w, rep_r, out_r
        self._out_total = self._out_mark = 0
        self._out.clear()
        self.load_error = None
        self._pending = True
        if wait:
            self._finish_start()

    def _finish_start(self):
        self._pending = False
        self._wait_ready()
        try:
            self.names = self._request({"op": "load", "modules": self.modules},
                                       what="import " + ", ".join(m + ".py" for m in self.modules))
        except StudentFailure as exc:
            if exc.category == "exception":
                exc.category = "import"
            self.load_error = exc
            self.names = []

    def _wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            (n,) = struct.unpack("<Q", self._read(8, deadline))
            status = wire.loads_reply(self._read(n, deadline))[0] if n < 4096 else None
        except (TimeoutError, EOFError, wire.WireError, struct.error) as exc:
            status = type(exc).__name__
        if status != "ready":
            self._drain(0)
            output = bytes(self._out).decode("utf-8", errors="replace")
            self._kill()
            raise WorkerStartError(f"the worker process did not start ({status}); it printed:\n{output}")

    def ensure(self):
        if getattr(self, "_pending", False) and self.proc is not None:
            self._finish_start()
        if self.load_error is not None and self.load_error.category in FATAL_LOAD:
            raise self.load_error.copy()
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self._kill()
                self.restarts += 1
                if self.scratch:        # a fresh copy: nothing the last worker wrote carries over
                    remove_tree(self.scratch)
                    self.scratch = None
            self.start()
        if self.load_error is not None:
            raise self.load_error.copy()

    def _kill(self):
        """Kill the worker and everything it started; reap what was ours to reap."""
        if self.proc is None:
            return
        blocked = _block_termination()
        try:
            if self.as_root:
                kill_user(self.uid)
                table = _proc_table()
                _reap_children([p for p, (pp, _, u) in table.items() if pp == os.getpid() and u == self.uid],
                               keep=self.proc)
            else:
                self._kill_own_descendants()
            if self.proc.poll() is None:
                try:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            for name in ("req_w", "rep_r", "out_r"):
                fd = getattr(self, name)
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                setattr(self, name, None)
        finally:
            _unblock(blocked)

    def _kill_own_descendants(self):
        """Not root: the worker's process group, its descendants, and orphans re-parented to us
        that were started in this submission's scratch folder (best effort: a process that left
        the folder and its environment behind cannot be told apart from ours)."""
        pid = self.proc.pid
        for _ in range(10):
            table = _proc_table()
            mine = set(_descendants(pid, table))
            mine |= {p for p in _descendants(os.getpid(), table)
                     if table[p][1] != "Z" and self._is_student_pid(p)}
            alive = [p for p in mine if table.get(p, (0, "Z"))[1] != "Z"]
            for target in [pid] + alive:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(target, signal.SIGKILL)
                    except OSError:
                        continue
            _reap_children([p for p in mine if table.get(p, (0,))[0] == os.getpid()] + [pid], keep=self.proc)
            if not alive:
                break
            time.sleep(0.01)

    def _is_student_pid(self, pid):
        """A process running in this submission's scratch folder, or with its environment."""
        marker = self.scratch or "\0"
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(marker):
                return True
            with open(f"/proc/{pid}/environ", "rb") as f:
                return f"HOME={marker}".encode() in f.read().split(b"\0")
        except OSError:
            return False

    def close(self):
        """Kill everything the submission started, remove what it left, release its user."""
        blocked = _block_termination()
        try:
            self._kill()
            if self.as_root and self.uid is not None:
                kill_user(self.uid)         # even when no worker is running now
                remove_files_of(self.uid)
                remove_ipc_of(self.uid)
            if self.scratch and os.path.isdir(self.scratch):
                remove_tree(self.scratch)
            self.scratch = None
            if self._uid_lock is not None:
                self._uid_lock.close()
                self._uid_lock = None
                self.uid = None
        finally:
            _unblock(blocked)

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
        timeout = min(timeout or self.limits.call_timeout, self.remaining())
        deadline = time.monotonic() + timeout
        self._out_mark = self._out_total
        try:
            self._write(struct.pack("<Q", len(data)) + data, deadline)
            header = self._read(8, deadline)
            (n,) = struct.unpack("<Q", header)
            if n > MAX_REPLY_BYTES:
                self._kill()
                raise StudentFailure("protocol", f"the submission's process sent a reply of {format_size(n)} "
                                                 f"{_where(what)} (at most {format_size(MAX_REPLY_BYTES)})")
            body = self._read(n, deadline)
        except TimeoutError:
            self._drain(0)
            output = self.output_since_request()
            self._kill()
            budget = self.remaining() <= 0
            raise StudentFailure("budget" if budget else "timeout",
                                 f"timed out after {timeout:g} s {_where(what)}" +
                                 (" (the submission's time budget ran out)" if budget else ""),
                                 output=output)
        except (EOFError, BrokenPipeError):
            return self._died(what)
        self._drain(0)
        try:
            status, payload, *meta = wire.loads_reply(body)
            if status == "ok":
                self.last_meta = meta[0] if meta and isinstance(meta[0], dict) else {}
                return wire.decode(payload)
            info = dict(payload)
        except Exception as exc:                # whatever the reply holds, it is the student's doing
            self._kill()
            raise StudentFailure("protocol", f"the submission's process sent an unreadable reply "
                                             f"{_where(what)} ({exc})") from None
        category = str(info.get("category", "exception"))
        message = str(info.get("message", ""))
        if category == "exception" and message.startswith(f"[Errno {errno.EFBIG}]"):
            message += (f": it wrote more than {format_size(self.limits.max_file_bytes)} to one file "
                        "(the limit max_file_bytes)")
        if category == "memory":
            # A MemoryError leaves the worker in an unknown state: replace it.
            self._kill()
            message = (f"exceeded {format_size(self.limits.memory_bytes)} of memory {_where(what)}"
                       + (f" (MemoryError: {message})" if message else ""))
        raise StudentFailure(category, message, str(info.get("type", "")), str(info.get("traceback", "")),
                             self.output_since_request())

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            watch = [self.out_r] if self.out_r is not None else []
            printed, ready, _ = select.select(watch, [self.req_w], [], left)
            if printed:                 # a worker blocked on printing must not block us
                self._drain(1 << 16)
            if not ready:
                continue
            try:
                view = view[os.write(self.req_w, view):]
            except BlockingIOError:
                continue
            except OSError:
                raise BrokenPipeError from None

    def _read(self, n, deadline):
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            watch = [self.rep_r] + ([self.out_r] if self.out_r is not None else [])
            ready, _, _ = select.select(watch, [], [], left)
            if self.out_r is not None and self.out_r in ready:
                self._drain(1 << 16)
            if self.rep_r not in ready:
                continue
            chunk = os.read(self.rep_r, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _drain(self, at_most):
        """Move what the worker printed from the pipe into the kept tail (0: all there is now)."""
        got = 0
        while self.out_r is not None and (at_most == 0 or got < at_most):
            try:
                chunk = os.read(self.out_r, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:               # every writer is gone
                os.close(self.out_r)
                self.out_r = None
                return
            got += len(chunk)
            self._out_total += len(chunk)
            self._out += chunk
            excess = len(self._out) - self.limits.max_output_bytes
            if excess > 0:
                del self._out[:excess]

    def output_since_request(self):
        """What student code printed since the current request was sent (its last part)."""
        new = self._out_total - self._out_mark
        kept = bytes(self._out[-new:]) if new else b""
        text = kept.decode("utf-8", errors="replace")
        if new > len(kept):
            text = f"[... {new - len(kept)} earlier bytes not kept]\n" + text
        return text

    def output_tail(self):
        """The last max_output_bytes of everything student code printed."""
        self._drain(0)
        return bytes(self._out).decode("utf-8", errors="replace")

    def _died(self, what):
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._drain(0)
        output = self.output_since_request()
        self._kill()
        category = "died"
        lim = self.limits
        if code is not None and code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            why = {signal.SIGKILL: "killed (SIGKILL: it killed itself, or the machine ran out of memory)",
                   signal.SIGXCPU: f"stopped by the CPU limit ({lim.cpu_seconds} s)",
                   signal.SIGXFSZ: f"stopped for writing more than {format_size(lim.max_file_bytes)} "
                                   "to one file",
                   signal.SIGSEGV: "crashed (segmentation fault)"}.get(sig, f"killed by {name}")
            message = f"the submission's process was {why} {_during(what)}"
            if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and _mentions_memory(output):
                category = "memory"
                message = f"exceeded {format_size(lim.memory_bytes)} of memory {_where(what)} (the process crashed)"
        elif code is None:
            message = f"the submission's process closed its connection to the grader {_during(what)}"
        else:
            message = f"the submission's process exited (code {code}) {_during(what)}"
            if code != 0 and _mentions_memory(output):
                category = "memory"
                message = f"exceeded {format_size(lim.memory_bytes)} of memory {_where(what)} (the process exited)"
        raise StudentFailure(category, message, output=output)


def _mentions_memory(text):
    return any(s in text for s in ("MemoryError", "Cannot allocate memory", "out of memory",
                                   "std::bad_alloc"))


_TERMINATION = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def _block_termination():
    """Hold SIGTERM/SIGINT/SIGHUP while cleaning up (delivered right after), so an interrupted
    grading never leaves student processes half killed. Main thread only."""
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINATION)
    except (AttributeError, OSError, ValueError):
        return None


def _unblock(previous):
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
