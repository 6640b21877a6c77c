"""Resource limits for student code, and the size units they are written in."""
from dataclasses import dataclass, fields

KiB = 1024
MiB = 1024 ** 2
GiB = 1024 ** 3


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
