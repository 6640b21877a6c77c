"""What the student reads when their process fails: one function per event, each returning the
failure kind and the sentence. Wording lives here only."""
import errno
import signal

from nngrader.core.limits import format_size
from nngrader.core.protocol import FailureKind


def where(what):
    """'import x.py' -> 'while importing x.py'; 'gradients' -> 'in gradients'."""
    return f"while importing {what[len('import '):]}" if what.startswith("import ") else f"in {what}"


def during(what):
    return f"while importing {what[len('import '):]}" if what.startswith("import ") else f"during {what}"


def mentions_memory(text):
    return any(s in text for s in ("MemoryError", "Cannot allocate memory", "out of memory",
                                   "std::bad_alloc"))


def budget_used(limits):
    return (FailureKind.BUDGET, f"the submission used up its {limits.submission_timeout:g} s "
                                "time budget; this check was not run")


def reply_too_large(n, limit, what):
    return (FailureKind.PROTOCOL, f"the submission's process sent a reply of {format_size(n)} "
                                  f"{where(what)} (at most {format_size(limit)})")


def timed_out(timeout, what, budget):
    return (FailureKind.BUDGET if budget else FailureKind.TIMEOUT,
            f"timed out after {timeout:g} s {where(what)}" +
            (" (the submission's time budget ran out)" if budget else ""))


def unreadable_reply(what, exc):
    return (FailureKind.PROTOCOL, f"the submission's process sent an unreadable reply {where(what)} ({exc})")


def raised(category, message, limits, what):
    """An error the worker reported -> (kind, message), with the limit named where one was hit."""
    if category == FailureKind.EXCEPTION and message.startswith(f"[Errno {errno.EFBIG}]"):
        message += (f": it wrote more than {format_size(limits.max_file_bytes)} to one file "
                    "(the limit max_file_bytes)")
    if category == FailureKind.MEMORY:
        message = (f"exceeded {format_size(limits.memory_bytes)} of memory {where(what)}"
                   + (f" (MemoryError: {message})" if message else ""))
    return category, message


def died(code, output, limits, what):
    """The worker ended with `code` (negative: a signal; None: it closed its pipe and lives on)."""
    category = FailureKind.DIED
    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = {signal.SIGKILL: "killed (SIGKILL: it killed itself, or the machine ran out of memory)",
               signal.SIGXCPU: f"stopped by the CPU limit ({limits.cpu_seconds} s)",
               signal.SIGXFSZ: f"stopped for writing more than {format_size(limits.max_file_bytes)} "
                               "to one file",
               signal.SIGSEGV: "crashed (segmentation fault)"}.get(sig, f"killed by {name}")
        message = f"the submission's process was {why} {during(what)}"
        if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and mentions_memory(output):
            category = FailureKind.MEMORY
            message = f"exceeded {format_size(limits.memory_bytes)} of memory {where(what)} (the process crashed)"
    elif code is None:
        message = f"the submission's process closed its connection to the grader {during(what)}"
    else:
        message = f"the submission's process exited (code {code}) {during(what)}"
        if code != 0 and mentions_memory(output):
            category = FailureKind.MEMORY
            message = f"exceeded {format_size(limits.memory_bytes)} of memory {where(what)} (the process exited)"
    return category, message
