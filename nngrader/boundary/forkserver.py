"""Warm workers for a batch: a fork server that has started the interpreter and loaded NumPy
once, from which every student worker is forked fresh.

Starting a worker (`python -s -S -B -u -P worker.py`, NumPy and the preloaded modules) costs a
tenth of a second or more, per submission. While a batch grades (`enable()`), each grading
process starts one server (`worker.py --server`, prepared exactly like a worker but never
importing student code) and `StudentProcess.start` asks it for workers instead: the server
forks, and the fork becomes what a started worker would be (its own session, the three pipe
ends and nothing else, the environment, the limits, then privileges dropped and the same
serving loop). Every worker is forked from the server's pristine state, never from another
worker, so nothing one submission does is seen by the next.

The worker is forked twice over and re-parented to the grading process (a child subreaper, set
by `StudentProcess`), which waits for it as for a child it started: `ForkedWorker` has the part
of `subprocess.Popen` the boundary uses. Anything wrong with the server (it died, it does not
answer, the worker is not ours) and workers are started as usual.
"""
import os
import pickle
import socket
import subprocess
import sys
import time

from nngrader.boundary import lending
from nngrader.core.errors import WorkerStartError

SERVER_TIMEOUT = 120.0          # starting the server and NumPy is the harness's business (as a worker's)
# How a worker's (and the server's) interpreter starts: no user site-packages (-s), no `site` (-S),
# no bytecode written (-B), unbuffered (-u), and on Python 3.11+ not the script's folder on
# sys.path (-P; on 3.10 the worker removes it before it imports anything of ours). Not -I, which
# would also ignore PYTHONHASHSEED: the environment is the grader's own (`WORKER_ENV`, nothing
# else), and in it PYTHONHASHSEED fixes the order of a set of strings, as the worker's seeded
# generators fix the numbers a submission draws (a vocabulary built with set() must not change a
# grade from one run to the next).
INTERPRETER_FLAGS = ["-s", "-S", "-B", "-u"] + (["-P"] if sys.version_info >= (3, 11) else [])
WORKER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
_ENABLED = False
_SERVER = None                  # the server of this process (a forked process starts its own)
spawned = 0                     # workers forked in this process (for tests and the benchmark)


def enable():
    global _ENABLED
    _ENABLED = True


def disable():
    """Stop using the server and end it (it exits when its socket closes)."""
    global _ENABLED, _SERVER
    _ENABLED = False
    if _SERVER is not None and _SERVER.owner == os.getpid():
        _SERVER.close()
    _SERVER = None


def current(worker, site_dirs, as_root, env):
    """The server to fork workers from, started on first use in this process; None when not
    enabled or when it could not start."""
    global _SERVER, _ENABLED
    if not _ENABLED:
        return None
    if _SERVER is not None and (_SERVER.owner != os.getpid() or _SERVER.key != (tuple(site_dirs), as_root)):
        if _SERVER.owner == os.getpid():
            _SERVER.close()
        else:
            _SERVER.forget()                # the parent's server, inherited by a fork: not ours to use
        _SERVER = None
    if _SERVER is None:
        try:
            _SERVER = Server(worker, site_dirs, as_root, env)
        except OSError as exc:
            print(f"nngrader: the fork server did not start ({exc}); starting workers one by one",
                  file=sys.stderr)
            _ENABLED = False
            return None
    return _SERVER


def running():
    """This process's own server, if one runs, else None."""
    if _ENABLED and _SERVER is not None and _SERVER.owner == os.getpid():
        return _SERVER
    return None


def cpu_seconds():
    """CPU time this process's server has used so far, with the helpers and intermediate forks it
    has reaped (0.0 without a server, or where /proc does not tell)."""
    server = running()
    return server.cpu_seconds() if server is not None else 0.0


def failed(server):
    """The server let a request down: workers are started one by one from now on."""
    global _SERVER, _ENABLED
    server.close()
    if _SERVER is server:
        _SERVER = None
    _ENABLED = False


class Server:
    def __init__(self, worker, site_dirs, as_root, env):
        self.owner = os.getpid()
        self.key = (tuple(site_dirs), as_root)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, *INTERPRETER_FLAGS, worker, "--server", str(theirs.fileno()),
                 "root" if as_root else "-"] + list(site_dirs),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd="/", env=env,
                pass_fds=(theirs.fileno(),))
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.sock = mine
        self.sock.settimeout(SERVER_TIMEOUT)

    def spawn(self, fds, request):
        """Fork a worker with these (request read end, reply write end, output write end) ->
        ForkedWorker. Raises WorkerStartError when the server does not do it."""
        global spawned
        try:
            socket.send_fds(self.sock, [pickle.dumps(request)], list(fds))
            answer = self.sock.recv(64)
            pid = int(answer)
        except (OSError, ValueError) as exc:
            raise WorkerStartError(f"the fork server did not answer ({type(exc).__name__}: {exc})") from None
        if pid <= 0 or _parent_of(pid) != os.getpid():
            raise WorkerStartError(f"the fork server's worker {pid} is not a child of this process")
        spawned += 1
        return ForkedWorker(pid)

    def kill_user(self, uid):
        """Have the server's helper signal all of `uid`'s processes (`containment.kill_user`):
        forked from the small server, not from the grading process -> True when it ran."""
        try:
            self.sock.sendall(pickle.dumps({"kill_uid": int(uid)}))
            return self.sock.recv(64) == b"1"
        except OSError:
            return False

    def cpu_seconds(self):
        """The server's CPU and that of the helpers it forked and reaped (0.0 when unreadable)."""
        return lending.own_and_waited_cpu(self.proc.pid) or 0.0

    def forget(self):
        """In a forked process: drop the inherited socket without touching the server."""
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self):
        self.forget()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class ForkedWorker:
    """A worker the fork server forked, now our child: the `subprocess.Popen` methods the boundary
    uses (pid, poll, wait, kill, returncode)."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:       # reaped already: it is gone
                self.returncode = -9
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        return self.returncode

    def kill(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
