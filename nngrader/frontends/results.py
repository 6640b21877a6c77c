"""Writing Gradescope's results.json (atomically, once) and the readable report."""
import json
import os
import tempfile

HIDDEN_MESSAGE = "hidden check"


def test_output(result):
    check, out = result.check, result.outcome
    head = [check.description] if check.description else []
    if out.passed:
        return "\n".join(head + [out.checked] + out.lines)       # a passing check's lines are notes
    if check.visibility == "hidden":
        return "\n".join(head + [f"{HIDDEN_MESSAGE}: {out.short}"])
    return "\n".join(head + [out.checked] + out.lines)


def to_gradescope(run, extra_output=""):
    tests = []
    for r in run.results:
        tests.append({
            "name": r.check.name,
            "number": r.check.number,
            "score": r.score,
            "max_score": r.check.points,
            "status": "passed" if r.outcome.passed else "failed",
            "output": test_output(r),
            "tags": list(r.check.exercises) or [r.check.name],
            "visibility": r.check.visibility,
            "extra_data": {"kind": r.check.kind, "seed": r.check.seed},
        })
    head = [f"{run.assignment.id}: {run.score:g} / {run.max_score:g} points"]
    head += [why for _, why in run.penalties]
    head += run.notes
    if run.errors:
        head.append("the grader hit an internal error on some checks; they are marked and the staff "
                    "have been told (the score may be incomplete)")
    if extra_output:
        head.append(extra_output)
    return {
        "score": run.score,
        "execution_time": round(run.seconds, 3),
        "output": "\n".join(head),
        # Plain text, shown as written: the outputs quote what the submission wrote (its file
        # names, its exception messages), which Gradescope's default rendering of the top-level
        # output (simple_format) would partly read as HTML.
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_atomic(path, doc):
    """Write JSON to path via a temporary file and rename: readers never see half a file."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def report(run):
    """The readable report printed by `grader.py grade`."""
    lines = [f"{run.assignment.title} ({run.assignment.id}) — submission: {run.submission}",
             f"score: {run.score:g} / {run.max_score:g}"]
    lines += [f"penalty: {why}" for _, why in run.penalties]
    lines += [f"note: {n}" for n in run.notes]
    lines.append("")
    width = max([len(r.check.name) for r in run.results] + [10])
    for r in run.results:
        status = "PASS" if r.outcome.passed else ("ERROR" if r.outcome.error else "FAIL")
        lines.append(f"{r.check.number:>3}. {status:<5} {r.check.name:<{width}}  "
                     f"{r.score:g}/{r.check.points:g}  [{', '.join(r.check.exercises)}]"
                     + ("  (hidden)" if r.check.visibility == "hidden" else ""))
        if not r.outcome.passed:
            body = [r.outcome.checked] + r.outcome.lines
            lines += ["       " + t for t in "\n".join(body).splitlines()]
        elif r.outcome.lines and r.check.visibility != "hidden":
            lines += ["       " + t for t in "\n".join(r.outcome.lines).splitlines()]
    if run.errors:
        lines += ["", "GRADER ERRORS (tracebacks):"] + run.errors
    return "\n".join(lines)
