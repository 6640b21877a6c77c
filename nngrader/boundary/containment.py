"""Containment of student processes: rlimits, the process table and killing, the user id each
grading claims, the sweep of what that user left in world-writable folders, and closing the
harness's own folders to it. Only system calls and /proc: nothing here knows about requests.
"""
import ctypes
import errno
import os
import pwd
import resource
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

# As root, "auto" takes the first uid from here that no account uses and no other grading holds.
AUTO_UID_FIRST = 52000
AUTO_UID_COUNT = 1000
# Where an unprivileged process can create files outside its scratch folder (swept at close).
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock", "/var/lock")
# The `nngrader` package folder (closed to student code as root, with the course folder).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- processes ---------------------------------------------------------------------------

def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def set_subreaper():
    """Become the reaper of orphaned descendants, so detached grandchildren can be found."""
    try:
        _LIBC.prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except AttributeError:
        pass                            # not Linux: process-group kill only


def end_with_parent(signum, parent):
    """Have the kernel send `signum` to this process when the thread that forked it ends, e.g. a
    batch command killed with SIGKILL (by the OOM killer): the processes it forked to help it
    would otherwise wait forever on pipes their siblings hold open. `parent`: its PID, seen
    before the fork (if it is gone already, the signal is sent now). -> whether it could."""
    try:
        if _LIBC.prctl(1, signum, 0, 0, 0) != 0:        # PR_SET_PDEATHSIG
            return False
    except AttributeError:
        return False                    # not Linux
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)
    return True


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
        try:
            # The Uid line, not the owner of /proc/PID: after setuid a process is not dumpable
            # and its /proc entries belong to root.
            table[int(entry)] = (int(_status_field(text, "PPid")), _status_field(text, "State").split()[0],
                                 int(_status_field(text, "Uid").split()[0]))
        except (KeyError, ValueError, IndexError):
            continue
    return table


def _status_field(text, name):
    """The value of the line `name:` of a /proc/PID/status text (KeyError when absent)."""
    at = text.find("\n" + name + ":")
    if at < 0:
        if not text.startswith(name + ":"):
            raise KeyError(name)
        at = -1
    start = at + len(name) + 2
    end = text.find("\n", start)
    return text[start:end if end >= 0 else len(text)].strip()


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


def kill_user(uid, tables=None, signaller=None, child=None):
    """SIGKILL every process of `uid` (root only). A helper takes the uid and signals -1: the
    kernel sends the signal to all of the user's processes in one pass that no fork can slip
    through, whatever their session or parent. -> the PIDs still alive afterwards (normally none).
    `tables`: a list that receives the process table read last. `signaller(uid) -> ran`: forks
    that helper elsewhere first (a batch's fork server, cheaper to fork than this process); any
    process left then, and the helper is forked here. `child`: the PID of one of the user's
    processes that is this process's child (the worker): it is waited for, until it has ended
    (not reaped), before the user's processes are looked for, rather than found still ending."""
    left = []
    for attempt in range(20):
        if not (attempt == 0 and signaller is not None and signaller(uid)):
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
        if child is not None and attempt == 0:
            _until_ended(child)
        table = _proc_table()
        if tables is not None:
            tables.append(table)
        left = processes_of(uid, table)
        if not left:
            break
        time.sleep(0.005 * (attempt + 1))
    return left


CHILD_END_WAIT = 0.05            # s a killed child may take to end before the user's processes are looked for


def _until_ended(pid, limit=CHILD_END_WAIT):
    """Wait until our child `pid` has ended (a zombie, left to be reaped), at most `limit` s."""
    deadline = time.monotonic() + limit
    pause = 0.0002
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:       # not our child, or reaped already
            return
        if time.monotonic() >= deadline:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def reap_children(pids, keep=None):
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


_PARKED = {}            # "auto" -> (this process's pid, uid, gid, lock): a user released clean (`park_user`)


def park_user(user, uid, gid, lock):
    """Keep a claimed user for this process's next claim of `user` instead of releasing it: for a
    batch, whose grading processes claim one after each submission. Only a user whose last
    cleanup left nothing of it (no process, no file, no IPC object) may be parked; the next claim
    takes it as it is, without looking for its processes again."""
    if user == "auto" and lock is not None:
        old = _PARKED.pop(user, None)
        if old is not None and old[0] == os.getpid():
            old[3].close()
        _PARKED[user] = (os.getpid(), uid, gid, lock)
        return True
    return False


def release_parked():
    """Release the user this process parked, if any (the end of a batch)."""
    parked = _PARKED.pop("auto", None)
    if parked is not None and parked[0] == os.getpid():
        parked[3].close()


def claim_user(user):
    """-> (uid, gid, lock) for student code when grading as root.

    "auto": the first uid from AUTO_UID_FIRST that no account uses, no other grading holds and
    no process runs as, held until release. A name or a number: that user, shared with anything
    else running as it (then do not grade concurrently: cleaning up kills all its processes)."""
    if user == "auto":
        parked = _PARKED.pop(user, None)
        if parked is not None and parked[0] == os.getpid():
            return parked[1:]
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

    def walk(path, depth, writable):
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for e in entries:
            try:
                # in a folder `uid` cannot write to, only its subfolders may hold what it made
                if not writable and not e.is_dir(follow_symlinks=False):
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid == uid:
                found.append(e.path)
            elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o001 and depth < 6:
                walk(e.path, depth + 1, bool(st.st_mode & 0o022))     # others or a group may write

    for top in tops:
        real = os.path.realpath(top)
        if real not in seen and os.path.isdir(real):
            seen.add(real)
            walk(real, 0, True)
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


def scratch_root(as_root):
    """Where a worker's scratch folder goes: the temporary folder, unless (as root) the
    unprivileged user could not reach it there (TMPDIR inside a 0700 folder): then the first
    system temporary folder every user can traverse."""
    default = tempfile.gettempdir()
    if not as_root or _traversable(default):
        return default
    for candidate in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(candidate) and _traversable(candidate):
            return candidate
    return default


def _traversable(path):
    """Can any user pass through every folder from / down to path?"""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def harness_paths(course_root):
    """The folders holding the harness's own files: the course folder (checks/, fixtures/, data/,
    reference/) and the `nngrader` package; one folder when the package lives inside the course
    (a source checkout grading its own course)."""
    if os.path.dirname(PACKAGE_DIR) == os.path.abspath(course_root):
        return [os.path.abspath(course_root)]
    return [p for p in (PACKAGE_DIR, os.path.abspath(course_root)) if os.path.isdir(p)]


def protect_harness_files(course_root):
    """As root: remove the permission bits for others (chmod o-rwx) from the harness folders, so
    the unprivileged user can neither list, read nor write anything below them. Only those
    folders' own mode changes. -> the paths changed."""
    return close_to_others(harness_paths(course_root))


def close_to_others(paths):
    """As root: chmod o-rwx on each of `paths` (its own mode only), so that the unprivileged user
    can neither list, read nor write anything below it -> the paths changed."""
    changed = []
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
            changed.append(path)
    return changed


def nproc_is_per_user_safe(limit):
    """RLIMIT_NPROC counts all processes of the user: only set it when we are far below it."""
    mine = [p for p, (_, _, u) in _proc_table().items() if u == os.getuid()]
    return bool(mine) and len(mine) + 16 < limit


def rlimit_settings(limits, nproc):
    """[(resource, soft, hard)]: address space, CPU, file size, no core files, and (when `nproc`)
    the process count (also what a worker forked by the fork server sets on itself)."""
    out = [(resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
           (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
           (resource.RLIMIT_FSIZE, limits.max_file_bytes, limits.max_file_bytes),
           (resource.RLIMIT_CORE, 0, 0)]
    if nproc:
        out.append((resource.RLIMIT_NPROC, limits.max_processes, limits.max_processes))
    return out


def apply_rlimits(limits, nproc):
    """In the worker, before exec: address space, CPU, file size, no core files, no_new_privs,
    and (when `nproc`) the process count."""
    for which, soft, hard in rlimit_settings(limits, nproc)[:4]:
        resource.setrlimit(which, (soft, hard))
    try:
        _LIBC.prctl(38, 1, 0, 0, 0)     # PR_SET_NO_NEW_PRIVS: no setuid program gives root back
    except AttributeError:
        pass
    for which, soft, hard in rlimit_settings(limits, nproc)[4:]:
        resource.setrlimit(which, (soft, hard))


def kill_own_descendants(pid, scratch, keep):
    """Not root: the worker `pid`'s process group, its descendants, and orphans re-parented to us
    that were started in the submission's `scratch` folder (best effort: a process that left
    the folder and its environment behind cannot be told apart from ours)."""
    for _ in range(10):
        table = _proc_table()
        mine = set(_descendants(pid, table))
        mine |= {p for p in _descendants(os.getpid(), table)
                 if table[p][1] != "Z" and _is_student_pid(p, scratch)}
        alive = [p for p in mine if table.get(p, (0, "Z"))[1] != "Z"]
        for target in [pid] + alive:
            for kill in (os.killpg, os.kill):
                try:
                    kill(target, signal.SIGKILL)
                except OSError:
                    continue
        reap_children([p for p in mine if table.get(p, (0,))[0] == os.getpid()] + [pid], keep=keep)
        if not alive:
            break
        time.sleep(0.01)


def _is_student_pid(pid, scratch):
    """A process running in the submission's scratch folder, or with its environment."""
    marker = scratch or "\0"
    try:
        if os.readlink(f"/proc/{pid}/cwd").startswith(marker):
            return True
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"HOME={marker}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def kill_user_children(uid, keep, signaller=None):
    """As root: SIGKILL every process of `uid`, then reap those that were our children."""
    tables = []
    left = kill_user(uid, tables, signaller, child=keep.pid if keep is not None else None)
    table = tables[-1]
    reap_children([p for p, (pp, _, u) in table.items() if pp == os.getpid() and u == uid], keep=keep)
    return left


_TERMINATION = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def block_termination():
    """Hold SIGTERM/SIGINT/SIGHUP while cleaning up (delivered right after), so an interrupted
    grading never leaves student processes half killed. Main thread only."""
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINATION)
    except (AttributeError, OSError, ValueError):
        return None


def unblock(previous):
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
