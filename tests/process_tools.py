"""What the tests read of the machine's processes."""


def cmdline(pid):
    """The process's command line (its arguments joined by NUL), or "" once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""
