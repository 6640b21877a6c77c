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
      published: {train_out: data/x/small_train_output.labels}   # from the course folder
      variants:                                # known mistakes, named by the outputs checks
        init_without_bias_column:
          reference_main: main_init_without_bias_column
          message: "..."

{file: NAME} is a support file of the assignment (the program sees its name, in its working
folder); {output: ROLE} is the file name `outputs` gives that role. Regenerating the fixture fails
loudly if the reference no longer reproduces a `published` file, compared as the `outputs` check
of that role compares (or byte for byte where no check reads it).
"""
import os
import re
from dataclasses import dataclass

from nngrader.core.errors import SpecError
from nngrader.core.model import integer, req_map, str_list, string
from nngrader.core.outcome import Outcome
from nngrader.engine import filediff, programs
from nngrader.engine.kind import Kind

FIELDS = ("argv", "outputs", "program", "reference_main", "published", "variants", "read_bytes")
DEFAULT_READ_BYTES = 1 << 20            # bytes of each output file read back (a labels file is tiny)
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
    ref_main = string(where.at("reference_main"), raw.get("reference_main", "main"))
    return Config(
        argv=argv, outputs=dict(outputs),
        program=string(where.at("program"), raw.get("program", asg.files[0])),
        reference_main=ref_main, published=dict(published), variants=variants,
        read_bytes=integer(where.at("read_bytes"), raw.get("read_bytes", DEFAULT_READ_BYTES), minimum=1),
        exercises=str_list(where.at("exercises"), raw["exercises"]), fixture=raw["name"])


def exercised(cfg):
    return list(cfg.exercises)


def run(check, ctx):
    cfg = check.config
    programs.verify_data(ctx, check)
    r = programs.run_of(ctx, check)
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
    tail = r.output.rstrip().splitlines()[-programs.OUTPUT_TAIL_LINES:]
    if tail:
        lines += ["  your program printed (last lines):"] + [f"    {t}" for t in tail]
    lines.append("  the checks of its output files score what it did write; the module checks "
                 "are graded on their own")
    return Outcome(False, checked, lines=lines, short=lines[0])


def make_fixture(asg, check):
    """-> [one case]: the reference program's files, each variant's, and the data's digests."""
    cfg = check.config
    expected = programs.reference_outputs(asg, cfg, cfg.reference_main)
    variants = {n: programs.reference_outputs(asg, cfg, v["reference_main"]) for n, v in cfg.variants.items()}
    for role, path in cfg.published.items():
        try:
            with open(asg.course.path(path), "rb") as f:
                published = f.read()
        except OSError as exc:
            raise SpecError(f"{check.where.at('published', role)}: cannot read the published file {path!r} "
                            f"(path from the course folder): {exc.strerror}.") from None
        # compared as the check that reads this file compares it
        readers = [c for c in asg.checks if getattr(c.config, "reads", None) == (check.name, role)]
        if readers:
            diff = filediff.difference(readers[0].config, published.decode("utf-8"), expected[role].encode("utf-8"))
            problem = diff.summary if diff else ""
        else:
            problem = "" if published == expected[role].encode("utf-8") else "the bytes differ"
        if problem:
            raise SpecError(f"{check.where}: the reference no longer reproduces the published {role} ({path}): "
                            f"{problem}")
    return [{"inputs": {"argv": programs.command_text(cfg)}, "expected": expected, "variants": variants,
             "data": {name: programs.sha256(p) for name, p in programs.data_files(asg, cfg).items()}}]


KIND = Kind(name="program", fields=FIELDS, parse=parse, exercised=exercised, run=run, fixture=make_fixture)
