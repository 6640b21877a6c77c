"""outputs: compare one file written by a `program` check's run with the file the reference
program writes for the same command (from that check's fixture), line by line.

    - name: public_train_labels
      kind: outputs
      points: 4
      run: public_program            # the program check whose run wrote the file (runs once)
      file: train_out                # one of its output roles
      format: labels                 # or: metrics

    - name: public_metrics
      kind: outputs
      run: public_program
      file: metrics_out
      format: metrics
      metric_tolerance: {rtol: 1.0e-6, atol: 1.0e-9}
      too_large_ratio: 5.0           # values this many times the expected ones get hints.too_large
      hints: {too_large: "...", constant: "..."}

`labels`: one integer per line, each line ending in '\\n'; compared exactly (`6.0` is not `6`).
`metrics`: lines `KEY: NUMBER` (one space after the colon); the keys must be the reference's, in
its order, written exactly; the numbers must agree within metric_tolerance.

The feedback names the first differing line with both values and recognises: labels written as
floats; missing, duplicated, extra or reordered lines; a line holding the value another line
should hold (e.g. the training loss written as the validation loss); values far too large; a
series that never changes; too few printed digits; and the program's known `variants` (a file
equal to what a known mistake writes is named as that mistake). `exercises` defaults to the
program check's.
"""
from dataclasses import dataclass

from nngrader.core.errors import SpecError
from nngrader.core.model import Tolerance, number, read_tolerance, req_map, str_list, string
from nngrader.core.outcome import Outcome
from nngrader.engine import programs
from nngrader.engine.filediff import Diff, difference
from nngrader.engine.kind import Kind

FIELDS = ("run", "file", "format", "metric_tolerance", "too_large_ratio", "hints")
FORMATS = ("labels", "metrics")
DEFAULT_METRIC_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
DEFAULT_TOO_LARGE_RATIO = 5.0
DEFAULT_HINTS = {
    "too_large": "the values are far larger than the reference's: is the quantity computed from the "
                 "right inputs (e.g. a log of something that is not a probability)?",
    "constant": "the value never changes from one line of this series to the next, while the "
                "reference's does: the training has no effect (is the update applied?)",
    "not_finite": "an overflow, a log of 0 or of a negative number, or 0/0",
    "negative": "",             # e.g. a loss that cannot be negative; empty: no such hint
}


@dataclass
class Config:
    run: str
    file: str
    format: str
    metric_tolerance: Tolerance
    too_large_ratio: float
    hints: dict
    exercises: list

    @property
    def reads(self):
        """(program check, output role): the file this check compares."""
        return (self.run, self.file)


def parse(where, raw, asg):
    for key in ("run", "file", "format"):
        if key not in raw:
            raise SpecError(f"{where}: an outputs check needs `{key}`.")
    run = string(where.at("run"), raw["run"])
    runs = [c for c in asg.checks if c.kind == "program"]
    source = next((c for c in runs if c.name == run), None)
    if source is None:
        where.at("run").fail("the name of a program check above this one (" +
                             (", ".join(c.name for c in runs) or "none yet") + ")", run)
    role = string(where.at("file"), raw["file"])
    if role not in source.config.outputs:
        where.at("file").fail(f"an output role of {run} ({', '.join(source.config.outputs)})", role)
    hints = dict(DEFAULT_HINTS)
    for k, v in req_map(where.at("hints"), raw.get("hints", {}), set(DEFAULT_HINTS)).items():
        hints[k] = string(where.at("hints", k), v)
    return Config(
        run=run, file=role, format=string(where.at("format"), raw["format"], FORMATS),
        metric_tolerance=(read_tolerance(where.at("metric_tolerance"), raw["metric_tolerance"],
                                         DEFAULT_METRIC_TOLERANCE)
                          if "metric_tolerance" in raw else DEFAULT_METRIC_TOLERANCE),
        too_large_ratio=number(where.at("too_large_ratio"), raw.get("too_large_ratio", DEFAULT_TOO_LARGE_RATIO),
                               positive=True),
        hints=hints,
        exercises=str_list(where.at("exercises"), raw["exercises"]) if "exercises" in raw
        else list(source.config.exercises))


def exercised(cfg):
    return list(cfg.exercises)


# ---- the check ---------------------------------------------------------------------------------

def run(check, ctx):
    cfg = check.config
    source = ctx.asg.check(cfg.run)
    r = programs.run_of(ctx, source)
    name = source.config.outputs[cfg.file]
    what = ("one integer label per line, compared exactly line by line" if cfg.format == "labels" else
            f"`KEY: VALUE` lines in the reference's order and exact wording, values within "
            f"{cfg.metric_tolerance.describe()}")
    checked = f"checked: {name} written by `{r.command}` — {what}, against the reference program's"
    got = r.files.get(cfg.file)
    if got is None:
        why = r.problem()
        line = (f"{name} was not written: {why}" if why else
                f"your program exited normally (code 0) but did not write {name}")
        return Outcome(False, checked, lines=[line], short=line)
    expected, variants = programs.expected_files(ctx, source)
    diff = difference(cfg, expected[cfg.file], got)
    if diff is None:
        return Outcome(True, checked)
    for vname, files in variants.items():
        if difference(cfg, files[cfg.file], got) is None:
            msg = source.config.variants[vname]["message"]
            diff = Diff(diff.summary, msg, diff.lines, msg)
            break
    size = r.sizes.get(cfg.file)
    if size is not None and size > len(got):
        diff.lines.insert(0, f"  (the file has {size} bytes; the first {len(got)} were read)")
    if check.visibility == "hidden":
        return Outcome(False, checked, lines=[diff.short], short=diff.short)
    lines = [diff.summary] + diff.lines
    if diff.hint:
        lines.append(f"  hint: {diff.hint}")
    if not r.ok:
        lines.append(f"  note: {r.problem()}; the file may be incomplete")
    return Outcome(False, checked, lines=lines, short=diff.summary)


KIND = Kind(name="outputs", fields=FIELDS, parse=parse, exercised=exercised, run=run)
