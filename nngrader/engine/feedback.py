"""Feedback lines for a searched check: the smallest failing example, the student's failure or
the mismatches with their numbers, and the Outcome that carries them."""
import re

import numpy as np

from nngrader.core.outcome import Outcome
from nngrader.core.protocol import FailureKind
from nngrader.engine import expr, inputs, scenario


def outcome(check, checked, problem, arg_names, detail=None):
    """The Outcome of a searched check: passed, or the feedback for its minimal problem.
    `detail(problem, hidden) -> lines` replaces the mismatch report (e.g. for trajectories)."""
    if problem is None:
        return Outcome(True, checked)
    hidden = check.visibility == "hidden"
    if problem.failure is not None or problem.structure:
        lines = failure_lines(problem, arg_names, hidden)
    elif detail is not None:
        lines = detail(problem, hidden)
    else:
        lines = mismatch_lines(problem, arg_names, hidden)
    return Outcome(False, checked, lines=lines, short=lines[0] if lines else "failed")


def describe_example(problem, arg_names, show_values=True):
    dims = problem.draw.get("dims", {}) if problem.draw else {}
    dim_text = ", ".join(f"{k}={v}" for k, v in dims.items())
    lines = []
    names = arg_names or [k for k in problem.env if not isinstance(problem.env[k], (int, float))]
    shapes = inputs.describe_shapes(problem.env, names)
    head = "smallest failing example" if problem.draw else "inputs"
    described = "; ".join(t for t in (dim_text, shapes) if t)
    if described:
        lines.append(f"{head}: {described}" +
                     (f" (example seed {problem.draw['seed']})" if problem.draw else ""))
    if show_values:
        for n in names:
            v = problem.env.get(n)
            if isinstance(v, np.ndarray) and v.size <= 12:
                text = np.array2string(v, precision=4, separator=", ", suppress_small=False).replace("\n", "")
                lines.append(f"  {n} = {text}")
    return lines


def failure_lines(problem, arg_names, hidden=False):
    """Feedback for a student failure or wrong structure on one example."""
    f = problem.failure
    step_text = problem.step.describe() if problem.step is not None else ""
    if problem.structure:
        lines = [problem.structure]
    elif f.category == FailureKind.NOT_IMPLEMENTED:
        called = step_text.split("(")[0]
        raiser = _raising_function(f.traceback)
        if raiser and raiser.split(".")[-1] == called.split(".")[-1]:
            lines = [f"{raiser} is not implemented yet (it raises NotImplementedError)."]
        elif raiser:
            lines = [f"{raiser} is not implemented yet (it raises NotImplementedError; called from {called})."]
        else:
            lines = [f"{called} is not implemented yet (it raises NotImplementedError)."]
    elif f.category == FailureKind.MISSING:
        lines = [missing_text(f.message)]
    elif f.category in (FailureKind.SYNTAX, FailureKind.IMPORT):
        lines = [f"your submission could not be imported: {f.type_name}: {f.message}"]
    elif f.category in (FailureKind.TIMEOUT, FailureKind.DIED, FailureKind.BUDGET, FailureKind.MEMORY,
                        FailureKind.PROTOCOL):
        lines = [f"{f.message}."]
    else:
        lines = [f"your code raised {f.type_name}: {f.message}", f"  in: {step_text}"]
    if hidden:
        return lines[:1]
    if f is not None and f.category in (FailureKind.EXCEPTION, FailureKind.TIMEOUT, FailureKind.DIED,
                                        FailureKind.MEMORY) or problem.structure:
        lines += describe_example(problem, arg_names)
    if f is not None and f.traceback and f.category != FailureKind.NOT_IMPLEMENTED:
        lines += ["  traceback (your code):"] + ["    " + t for t in f.traceback.rstrip().splitlines()
                                                   if not t.startswith("innermost: ")]
    if f is not None and f.output and f.category in (FailureKind.EXCEPTION, FailureKind.DIED, FailureKind.TIMEOUT,
                                                     FailureKind.IMPORT, FailureKind.SYNTAX):
        out = f.output.strip().splitlines()[-10:]
        if out:
            lines += ["  your program printed (last lines):"] + ["    " + t for t in out]
    return lines


def missing_text(message):
    """'Linear.w; it defines `weight`' -> "your Linear has no attribute `w`, which the contract asks
    for; it defines `weight`." (the worker names what is defined with a name like it)."""
    name, _, instead = message.partition("; it defines ")
    also = f"; it defines {instead}" if instead else ""
    if "." in name:
        owner, attr = name.split(".", 1)
        return f"your {owner} has no attribute `{attr}`, which the contract asks for{also}."
    return f"your submission does not define {name}, which the contract asks for{also}."


def _raising_function(traceback_text):
    """The innermost function of the student's traceback (qualified, e.g. Linear.forward)."""
    inner = re.findall(r"^innermost: ([\w.<>]+)$", traceback_text or "", re.M)
    if inner:
        return inner[-1]
    names = re.findall(r'line \d+, in (\w+)', traceback_text or "")
    return names[-1] if names else ""


def mismatch_lines(problem, arg_names, hidden=False):
    if hidden:
        return [problem.mismatches[0].summary]
    lines = describe_example(problem, arg_names)
    for m in problem.mismatches:
        lines.append(m.summary)
        lines += m.lines
        if m.hint:
            lines.append(f"  hint: {m.hint}")
    if problem.note:
        lines.append(problem.note)
    return lines


def as_received(steps, env, input_names):
    """(names, env) showing an example as the student's code received it: a value an `eval` step
    makes from the inputs (`y_row.T` passed as `y_onehot`) is shown under the name it is passed as,
    with its shape, instead of the input it was made from."""
    env = dict(env)
    made = {}                                   # eval name -> the input names it is made from
    for s in steps:
        if s.op != "eval":
            continue
        used = expr.names(s.value)
        if not used <= set(env) - set(scenario.result_names(steps)):
            continue                            # made from results, not from the inputs
        try:
            env[s.as_name] = expr.evaluate(s.value, env)
        except (TypeError, ValueError, LookupError, ArithmeticError, expr.ExprError):
            continue
        made[s.as_name] = used
    if not made:
        return list(input_names), env
    passed = set()
    for s in steps:
        if s.op in ("call", "new", "set"):
            refs = list(s.args) + list(s.kwargs.values()) + ([s.value] if s.op == "set" else [])
            passed |= {r.name for r in _flat(refs) if isinstance(r, scenario.Name)}
    shown = [m for m in made if m in passed]
    hidden = {n for m in shown for n in made[m]} - passed
    names = []
    for n in input_names:                        # each made value in the place of its first input
        if n not in hidden:
            names.append(n)
        names += [m for m in shown if n in made[m] and m not in names]
    return names + [m for m in shown if m not in names], env


def _flat(refs):
    for r in refs:
        if isinstance(r, (list, tuple)):
            yield from _flat(r)
        else:
            yield r
