"""What the tests read of the machine's processes."""
import os


def cmdline(pid):
    """The process's command line (its arguments joined by NUL), or "" once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def processes():
    """(pid, state, parent pid, session id) of every process of the machine now."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            out.append((int(name), fields[0].decode(), int(fields[1]), int(fields[3])))
        except (OSError, IndexError, ValueError):
            continue                    # ended meanwhile
    return out
