"""Running a submitted program once per submission, and what the reference program wrote for
the same command (kept in the program check's fixture). Shared by the `program` kind, which
checks the run itself, and the `outputs` kind, which compares the files it wrote.
"""
import hashlib
import os
import tempfile
from dataclasses import dataclass, field

from nngrader.core.errors import SpecError, StudentFailure
from nngrader.engine import fixtures

OUTPUT_TAIL_LINES = 12                  # lines of what the program printed shown in the feedback



@dataclass
class Run:
    """One run of the submitted program."""
    command: str
    timeout: float
    exit_code: int = None
    signal: int = None
    timed_out: bool = False
    files: dict = field(default_factory=dict)      # role -> bytes, or None when not written
    sizes: dict = field(default_factory=dict)      # role -> size in bytes, or None
    output: str = ""                               # the tail of what it printed
    failure: StudentFailure = None                 # the sandbox could not run it at all

    @property
    def ok(self):
        return self.failure is None and not self.timed_out and self.exit_code == 0

    def problem(self):
        """One line: why the run failed (empty when it did not)."""
        if self.failure is not None:
            return f"your program could not be run: {self.failure.message}"
        if self.timed_out:
            return (f"your program did not finish within {self.timeout:g} s and was stopped (an endless "
                    f"loop, or far too slow: vectorize the per-example computations)")
        if self.signal is not None:
            return (f"your program was killed by signal {self.signal} (possibly the memory or CPU limit)")
        if self.exit_code != 0:
            last = _last_line(self.output)
            return f"your program stopped with exit code {self.exit_code}" + (f": {last}" if last else "")
        return ""


def _last_line(text):
    lines = [t for t in text.strip().splitlines() if t.strip()]
    return lines[-1].strip()[:300] if lines else ""


def command_text(cfg):
    """The command line a student would type for this run."""
    words = ["python", cfg.program]
    for a in cfg.argv:
        words.append(a[1] if isinstance(a, tuple) and a[0] == "file" else
                     cfg.outputs[a[1]] if isinstance(a, tuple) else a)
    return " ".join(words)


def run_of(ctx, check):
    """The run of `check` (a program check) on this submission: run once, then shared."""
    key = ("program run", check.name)
    if key not in ctx.memo:
        ctx.memo[key] = _run(ctx, check)
    return ctx.memo[key]


def _run(ctx, check):
    cfg = check.config
    timeout = check.timeout or ctx.limits.program_timeout
    run = Run(command=command_text(cfg), timeout=timeout)
    argv = [a if isinstance(a, str) else (a[1] if a[0] == "file" else cfg.outputs[a[1]]) for a in cfg.argv]
    roles = {name: role for role, name in cfg.outputs.items()}
    try:
        reply = ctx.programs().run_program(cfg.program, argv, list(roles), timeout, max_bytes=cfg.read_bytes)
    except StudentFailure as exc:
        run.failure = exc
        run.files = {role: None for role in cfg.outputs}
        return run
    run.exit_code, run.signal, run.timed_out = reply["exit_code"], reply["signal"], reply["timed_out"]
    run.files = {roles[name]: data for name, data in reply["files"].items()}
    run.sizes = {roles[name]: size for name, size in reply["sizes"].items()}
    run.output = reply["output"].decode("utf-8", errors="replace")
    return run



def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def data_files(asg, cfg):
    paths = {os.path.basename(p): p for p in asg.support}
    return {a[1]: paths[a[1]] for a in cfg.argv if isinstance(a, tuple) and a[0] == "file"}


def verify_data(ctx, check):
    """The fixture was made from these very data files (else it is stale: a harness error)."""
    want = fixtures.load(ctx.asg, check)["cases"][0]["data"]
    for name, path in data_files(ctx.asg, check.config).items():
        if want.get(name) != sha256(path):
            raise SpecError(f"fixture of {check.name} is out of date: data file {name} changed since it was "
                            f"made; regenerate it with `{fixtures.regenerate_command(ctx.asg)}`.")


def reference_outputs(asg, cfg, function):
    """Run the reference's `function(argv)` as the program -> {role: text it wrote}."""
    module = asg.course.import_reference(asg.reference)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise SpecError(f"{asg.reference} has no function {function!r} to run as the reference program.")
    data = data_files(asg, cfg)
    with tempfile.TemporaryDirectory(prefix="nngrader-reference-program-") as tmp:
        argv = [a if isinstance(a, str) else (data[a[1]] if a[0] == "file" else os.path.join(tmp, cfg.outputs[a[1]]))
                for a in cfg.argv]
        fn(argv)
        out = {}
        for role, name in cfg.outputs.items():
            with open(os.path.join(tmp, name), "rb") as f:
                out[role] = f.read().decode("utf-8")
    return out


def expected_files(ctx, check):
    """-> (expected {role: text}, variants {name: {role: text}}) from the fixture."""
    case = fixtures.load(ctx.asg, check)["cases"][0]
    return case["expected"], case["variants"]
