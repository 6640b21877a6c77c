"""program: run the submitted file as a program — `python neuralnet.py ARGS...` — in the sandbox,
on the assignment's data files, with its own time limit. The check passes when the program exits
with code 0 in time and writes every declared output file; `outputs` checks then compare those
files with what the reference program writes for the same arguments (kept in a fixture:
`python grader.py fixtures --assignment ID`). The program runs once per submission, however many
checks read its files.

    - name: public_program
      kind: program
      points: 2
      exercises: [main, NN, Linear, ...]       # required: what the program runs
      argv: [{file: small_train.csv}, {file: small_validation.csv}, {output: train_out},
             {output: validation_out}, {output: metrics_out}, 2, 4, 2, 0.1]
      outputs: {train_out: public_train.labels, validation_out: public_validation.labels,
                metrics_out: public_metrics.txt}
      program: neuralnet.py                    # default: the assignment's first file
      timeout: 30                              # seconds (default: the program_timeout limit)
      reference_main: main                     # the reference function run as the program: f(argv)
      published: {train_out: ../shared/data/x/small_train_output.labels}   # from the repository root
      variants:                                # known mistakes, named by the outputs checks
        init_without_bias_column:
          reference_main: main_init_without_bias_column
          message: "..."

{file: NAME} is a support file of the assignment (the program sees its name, in its working
folder); {output: ROLE} is the file name `outputs` gives that role. Regenerating the fixture fails
loudly if the reference no longer reproduces a `published` file, compared as the `outputs` check
of that role compares (or byte for byte where no check reads it).
"""
import hashlib
import importlib
import os
import re
import tempfile
from dataclasses import dataclass, field

from nngrader.outcome import Outcome
from nngrader.sandbox import StudentFailure
from nngrader.spec import ROOT, SpecError, integer, req_map, str_list, string

FIELDS = ("argv", "outputs", "program", "reference_main", "published", "variants", "read_bytes")
DEFAULT_READ_BYTES = 1 << 20            # bytes of each output file read back (a labels file is tiny)
OUTPUT_TAIL_LINES = 12                  # lines of what the program printed shown in the feedback
ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Config:
    argv: list                  # str | ("file", name) | ("output", role)
    outputs: dict               # role -> file name
    program: str
    reference_main: str
    published: dict             # role -> path relative to the repository root
    variants: dict              # name -> {"reference_main": ..., "message": ...}
    read_bytes: int
    exercises: list
    fixture: str
    compare: list = field(default_factory=list)


def parse(where, raw, asg):
    for key in ("argv", "outputs"):
        if key not in raw:
            raise SpecError(f"{where}: a program check needs `{key}`.")
    if "exercises" not in raw:
        raise SpecError(f"{where}: a program check needs `exercises` (the contract names the program runs).")
    outputs = req_map(where.at("outputs"), raw["outputs"], set(raw["outputs"] or {}))
    if not outputs:
        where.at("outputs").fail("a mapping {role: file name} with at least one output", outputs)
    for role, name in outputs.items():
        if not ROLE.match(str(role)):
            where.at("outputs", role).fail("an identifier-like role name", role)
        string(where.at("outputs", role), name, pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
    if len(set(outputs.values())) != len(outputs):
        raise SpecError(f"{where.at('outputs')}: two roles share one file name.")
    support = {os.path.basename(p) for p in asg.support}
    if not isinstance(raw["argv"], list):
        where.at("argv").fail("a list of arguments", raw["argv"])
    argv = []
    for i, a in enumerate(raw["argv"]):
        w = where.at("argv", i)
        if isinstance(a, dict):
            req_map(w, a, {"file", "output"})
            if len(a) != 1:
                w.fail("one of {file: NAME} or {output: ROLE}", a)
            (k, v), = a.items()
            if k == "file" and v not in support:
                w.fail(f"a support file of the assignment ({', '.join(sorted(support)) or 'none declared'})", v)
            if k == "output" and v not in outputs:
                w.fail(f"an output role ({', '.join(outputs)})", v)
            argv.append((k, v))
        elif isinstance(a, (str, int, float)) and not isinstance(a, bool):
            argv.append(str(a))
        else:
            w.fail("a string, a number, {file: NAME} or {output: ROLE}", a)
    missing = [r for r in outputs if ("output", r) not in argv]
    if missing:
        raise SpecError(f"{where.at('outputs')}: role {missing[0]!r} is not passed in `argv` as "
                        f"{{output: {missing[0]}}}.")
    published = req_map(where.at("published"), raw.get("published", {}), set(outputs))
    for role, path in published.items():       # read (and required) only when fixtures are made
        string(where.at("published", role), path)
    variants = {}
    for name, v in (raw.get("variants") or {}).items():
        wv = where.at("variants", name)
        req_map(wv, v, {"reference_main", "message"}, required=("reference_main", "message"))
        variants[name] = {"reference_main": string(wv.at("reference_main"), v["reference_main"]),
                          "message": string(wv.at("message"), v["message"])}
    module = importlib.import_module(asg.reference)
    ref_main = string(where.at("reference_main"), raw.get("reference_main", "main"))
    for w, fn in [(where.at("reference_main"), ref_main)] + [
            (where.at("variants", n, "reference_main"), v["reference_main"]) for n, v in variants.items()]:
        if not callable(getattr(module, fn, None)):
            w.fail(f"a function of {asg.reference}", fn)
    return Config(
        argv=argv, outputs=dict(outputs),
        program=string(where.at("program"), raw.get("program", asg.files[0])),
        reference_main=ref_main, published=dict(published), variants=variants,
        read_bytes=integer(where.at("read_bytes"), raw.get("read_bytes", DEFAULT_READ_BYTES), minimum=1),
        exercises=str_list(where.at("exercises"), raw["exercises"]), fixture=raw["name"])


def exercised(cfg):
    return list(cfg.exercises)


# ---- running ----------------------------------------------------------------------------

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


def result(ctx, check):
    """The run of `check` (a program check) on this submission: run once, then shared."""
    runs = ctx.__dict__.setdefault("program_runs", {})
    if check.name not in runs:
        runs[check.name] = _run(ctx, check)
    return runs[check.name]


def _run(ctx, check):
    cfg = check.config
    timeout = check.timeout or ctx.limits.program_timeout
    run = Run(command=command_text(cfg), timeout=timeout)
    argv = [a if isinstance(a, str) else (a[1] if a[0] == "file" else cfg.outputs[a[1]]) for a in cfg.argv]
    roles = {name: role for role, name in cfg.outputs.items()}
    try:
        reply = ctx.student.run_program(cfg.program, argv, list(roles), timeout, max_bytes=cfg.read_bytes)
    except StudentFailure as exc:
        run.failure = exc
        run.files = {role: None for role in cfg.outputs}
        return run
    run.exit_code, run.signal, run.timed_out = reply["exit_code"], reply["signal"], reply["timed_out"]
    run.files = {roles[name]: data for name, data in reply["files"].items()}
    run.sizes = {roles[name]: size for name, size in reply["sizes"].items()}
    run.output = reply["output"].decode("utf-8", errors="replace")
    return run


def run(check, ctx):
    cfg = check.config
    _verify_data(ctx, check)
    r = result(ctx, check)
    names = ", ".join(cfg.outputs.values())
    checked = f"checked: `{r.command}` exits with code 0 within {r.timeout:g} s and writes {names}"
    missing = [role for role in cfg.outputs if r.files.get(role) is None]
    if r.ok and not missing:
        return Outcome(True, checked)
    lines = []
    if not r.ok:
        lines.append(r.problem())
    if missing and r.failure is None:
        position = {a[1]: i for i, a in enumerate(cfg.argv, start=1) if isinstance(a, tuple) and a[0] == "output"}
        lines.append(f"{'it' if lines else 'your program'} did not write " + ", ".join(
            f"{cfg.outputs[role]} (argument {position[role]})" for role in missing))
    if check.visibility == "hidden":
        return Outcome(False, checked, lines=lines[:1], short=lines[0])
    if r.failure is not None:
        lines += [f"  {t}" for t in (r.failure.traceback or "").rstrip().splitlines()]
    tail = r.output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:]
    if tail:
        lines += ["  your program printed (last lines):"] + [f"    {t}" for t in tail]
    lines.append("  the checks of its output files score what it did write; the module checks "
                 "are graded on their own")
    return Outcome(False, checked, lines=lines, short=lines[0])


# ---- fixture ------------------------------------------------------------------------------

def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _data_files(asg, cfg):
    paths = {os.path.basename(p): p for p in asg.support}
    return {a[1]: paths[a[1]] for a in cfg.argv if isinstance(a, tuple) and a[0] == "file"}


def _verify_data(ctx, check):
    """The fixture was made from these very data files (else it is stale: a harness error)."""
    from nngrader import fixtures
    want = fixtures.load(ctx.asg, check)["cases"][0]["data"]
    for name, path in _data_files(ctx.asg, check.config).items():
        if want.get(name) != _sha256(path):
            raise SpecError(f"fixture of {check.name} is out of date: data file {name} changed since it was "
                            f"made; regenerate it with `{fixtures.regenerate_command(ctx.asg)}`.")


def reference_outputs(asg, cfg, function):
    """Run the reference's `function(argv)` as the program -> {role: text it wrote}."""
    module = importlib.import_module(asg.reference)
    data = _data_files(asg, cfg)
    with tempfile.TemporaryDirectory(prefix="nngrader-reference-program-") as tmp:
        argv = [a if isinstance(a, str) else (data[a[1]] if a[0] == "file" else os.path.join(tmp, cfg.outputs[a[1]]))
                for a in cfg.argv]
        getattr(module, function)(argv)
        out = {}
        for role, name in cfg.outputs.items():
            with open(os.path.join(tmp, name), "rb") as f:
                out[role] = f.read().decode("utf-8")
    return out


def make_fixture(asg, check):
    """-> [one case]: the reference program's files, each variant's, and the data's digests."""
    cfg = check.config
    expected = reference_outputs(asg, cfg, cfg.reference_main)
    variants = {n: reference_outputs(asg, cfg, v["reference_main"]) for n, v in cfg.variants.items()}
    from nngrader.kinds import outputs as outputs_kind
    for role, path in cfg.published.items():
        try:
            with open(os.path.join(ROOT, path), "rb") as f:
                published = f.read()
        except OSError as exc:
            raise SpecError(f"{check.where.at('published', role)}: cannot read the published file {path!r} "
                            f"(path from the repository root): {exc.strerror}.") from None
        readers = [c for c in asg.checks if c.kind == "outputs" and c.config.run == check.name
                   and c.config.file == role]
        if readers:
            diff = outputs_kind.difference(readers[0], published.decode("utf-8"), expected[role].encode("utf-8"))
            problem = diff.summary if diff else ""
        else:
            problem = "" if published == expected[role].encode("utf-8") else "the bytes differ"
        if problem:
            raise SpecError(f"{check.where}: the reference no longer reproduces the published {role} ({path}): "
                            f"{problem}")
    return [{"inputs": {"argv": command_text(cfg)}, "expected": expected, "variants": variants,
             "data": {name: _sha256(p) for name, p in _data_files(asg, cfg).items()}}]


def expected_files(ctx, check):
    """-> (expected {role: text}, variants {name: {role: text}}) from the fixture."""
    from nngrader import fixtures
    case = fixtures.load(ctx.asg, check)["cases"][0]
    return case["expected"], case["variants"]
