"""Steps: the small language a check uses to drive an implementation, identically for the
reference and for a submission.

    steps:
      - {new: Linear, args: [i, o], as: lin}
      - {set: lin.W, value: W}
      - {call: lin.forward, args: [x], returns: {name: out}}
      - {call: lin.backward, args: [dout], returns: {name: dx}}
      - {get: lin.dW, returns: {name: dW}}
      - {call: gradients, args: [X, y, W1, W2, b1, b2],
         returns: [{name: dW1}, {name: dW2}, {name: db1}, {name: db2, accept: [[]]}, {name: L}]}
      - {mean: losses, as: loss}           # computed by the harness, not by the implementation
      - {eval: "2.0 / N * (yhat - Y)", as: dyhat}   # harness-side arithmetic (nngrader.expr)

An argument is a name (generated argument, dimension or earlier result), a number, or one of
{own: NAME} (the implementation's own function), {probe: NAME}, {file: NAME}, {list: [...]},
{tuple: [...]}, {text: "a string"}.
"""
import difflib
from dataclasses import dataclass, field, replace

import numpy as np

from nngrader.boundary import wire
from nngrader.core.caches import PerObject
from nngrader.core.errors import SpecError, StudentFailure
from nngrader.core.model import read_tolerance, req_map, string
from nngrader.engine import expr
from nngrader.engine.targets import DataFile, OwnFunction, Probe, Result


@dataclass
class Ret:
    name: str
    accept: list = field(default_factory=list)    # extra accepted symbolic shapes
    handle: bool = False                            # opaque: kept behind a handle
    tolerance: dict = None                          # {dtype: Tolerance} replacing the check's for this value


@dataclass
class Step:
    op: str                     # call | new | set | get | mean | dot | item
    target: str = ""            # function/class name, or "handle.method" / "handle.attr"
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    returns: object = None      # Ret, list of Ret, or None
    as_name: str = ""
    value: object = None
    index: int = 0
    where: object = None        # its place in the spec (core.model.Where), for spec errors
    passed: dict = None         # scalar values actually passed (set on a failing step's copy)

    def callee(self):
        return self.target.split(".")[0] if "." not in self.target else self.target

    def describe(self):
        if self.op in ("call", "new"):
            text = f"{self.target}({', '.join(_ref_text(a) for a in self.args)})"
            if self.passed:
                text += " with " + ", ".join(f"{k} = {v!r}" for k, v in self.passed.items())
            return text
        if self.op == "get":
            return self.target
        if self.op == "set":
            return f"{self.target} = {_ref_text(self.value)}"
        if self.op == "eval":
            return f"{self.as_name} = {self.target}"
        return f"{self.op} of {', '.join(_ref_text(a) for a in self.args)}"


@dataclass
class Name:
    name: str


def _ref_text(r):
    if isinstance(r, Name):
        return r.name
    if isinstance(r, OwnFunction):
        return f"your {r.name}"
    if isinstance(r, Probe):
        return f"<{r.name} probe>"
    if isinstance(r, DataFile):
        return repr(r.name)
    if isinstance(r, list):
        return "[" + ", ".join(_ref_text(x) for x in r) + "]"
    if isinstance(r, tuple):
        return "(" + ", ".join(_ref_text(x) for x in r) + ")"
    return repr(r)


STEP_KEYS = {"call", "new", "set", "get", "mean", "dot", "item", "eval", "args", "kwargs", "returns",
             "as", "value", "index"}
OPS = ("call", "new", "set", "get", "mean", "dot", "item", "eval")
HARNESS_OPS = ("mean", "dot", "item", "eval")      # computed by the harness from earlier results


def parse_ref(where, raw, probes=("cubic", "softsign", "identity", "squash", "zeros")):
    if isinstance(raw, str):
        return Name(raw)
    if raw is None or isinstance(raw, (bool, int, float)):
        return raw
    if isinstance(raw, list):
        return [parse_ref(where.at(i), x) for i, x in enumerate(raw)]
    if isinstance(raw, dict) and len(raw) == 1:
        (k, v), = raw.items()
        if k == "own":
            return OwnFunction(string(where.at(k), v))
        if k == "probe":
            return Probe(string(where.at(k), v, probes))
        if k == "file":
            return DataFile(string(where.at(k), v))
        if k == "text":
            return string(where.at(k), v)
        if k in ("list", "tuple"):
            if not isinstance(v, list):
                where.at(k).fail("a list", v)
            items = [parse_ref(where.at(k, i), x) for i, x in enumerate(v)]
            return items if k == "list" else tuple(items)
    where.fail("a name, a number, or one of {own: ..}, {probe: ..}, {file: ..}, {list: [..]}, "
               "{tuple: [..]}, {text: ..}", raw)


def _parse_ret(where, raw):
    r = req_map(where, raw, {"name", "accept", "handle", "tolerance"}, required=("name",))
    accept = r.get("accept", [])
    if not isinstance(accept, list) or not all(isinstance(s, list) or s == "squeeze" for s in accept):
        where.at("accept").fail("a list of shapes, e.g. [[], [1, N]], or `squeeze`", accept)
    tolerance = None
    if "tolerance" in r:
        t = req_map(where.at("tolerance"), r["tolerance"], {"float64", "float32"})
        tolerance = {k: read_tolerance(where.at("tolerance", k), v) for k, v in t.items()}
    return Ret(name=string(where.at("name"), r["name"]), accept=accept, handle=bool(r.get("handle", False)),
               tolerance=tolerance)


def parse_steps(where, raw):
    if not isinstance(raw, list) or not raw:
        where.fail("a non-empty list of steps", raw)
    steps = []
    for i, rs in enumerate(raw):
        w = where.at(i)
        req_map(w, rs, STEP_KEYS)
        ops = [k for k in OPS if k in rs]
        if len(ops) != 1:
            raise SpecError(f"{w}: a step needs exactly one of {', '.join(OPS)}.")
        op = ops[0]
        s = Step(op=op, where=w)
        if op in ("call", "new", "set", "get"):
            s.target = string(w.at(op), rs[op])
        args = rs.get("args", [])
        if op in ("mean", "item"):
            args = [rs[op]]
        if op == "eval":
            try:
                s.value = expr.parse(string(w.at("eval"), rs["eval"]))
            except expr.ExprError as exc:
                raise SpecError(f"{w.at('eval')}: {exc}.") from None
            s.target = rs["eval"]
            args = []
        if op == "dot":
            args = rs["dot"]
            if not (isinstance(args, list) and len(args) == 2):
                w.at("dot").fail("two names [a, b]", args)
        if not isinstance(args, list):
            w.at("args").fail("a list of arguments", args)
        s.args = [parse_ref(w.at("args", j), a) for j, a in enumerate(args)]
        kw = rs.get("kwargs", {})
        if not isinstance(kw, dict):
            w.at("kwargs").fail("a mapping", kw)
        s.kwargs = {k: parse_ref(w.at("kwargs", k), v) for k, v in kw.items()}
        if "returns" in rs:
            r = rs["returns"]
            s.returns = ([_parse_ret(w.at("returns", j), x) for j, x in enumerate(r)]
                         if isinstance(r, list) else _parse_ret(w.at("returns"), r))
        if op == "new" or op in ("mean", "dot", "item", "eval"):
            if "as" not in rs:
                raise SpecError(f"{w}: a {op} step needs `as: NAME`.")
            s.as_name = string(w.at("as"), rs["as"])
        if op == "set":
            if "value" not in rs:
                raise SpecError(f"{w}: a set step needs `value`.")
            s.value = parse_ref(w.at("value"), rs["value"])
        if op == "item":
            s.index = rs.get("index", 0)
        if op in ("set", "get") or (op == "call" and "." in s.target):
            if "." not in s.target:
                raise SpecError(f"{w.at(op)}: expected HANDLE.attribute, got {s.target!r}.")
        steps.append(s)
    return steps


def result_names(steps):
    names = []
    for s in steps:
        rets = s.returns if isinstance(s.returns, list) else ([s.returns] if s.returns else [])
        names += [r.name for r in rets if not r.handle]
    return names


def computed_names(steps):
    """Names bound by harness-side steps (mean, dot, item, eval): values derived from results."""
    return [s.as_name for s in steps if s.op in HARNESS_OPS]


def exercised(steps, env_names=()):
    """Contract names a scenario calls: functions, classes and Class.method."""
    handles = {s.as_name: s.target for s in steps if s.op == "new"}
    out = []
    for s in steps:
        if s.op in ("call", "get", "set") and "." in s.target:
            h, attr = s.target.split(".", 1)
            name = f"{handles.get(h, h)}.{attr}"
        elif s.op in ("call", "new"):
            name = s.target
        else:
            continue
        if s.op == "set" or name in out:
            continue
        out.append(name)
    return out


class UnboundName(SpecError):
    """A step refers to a name nothing defines: the spec's mistake, never the submission's."""


def resolve(steps, known, files=None):
    """Every name the steps use must be defined before it is used: a generated argument or a
    dimension (`known`), or the result of an earlier step; a `{file: NAME}` must be one of
    `files` (the support files' names) when given. -> the names defined after the steps.
    Raises UnboundName naming the file, the check and the field."""
    bound = set(known)
    for step in steps:
        for j, a in enumerate(step.args):
            _resolve_ref(step, ("args", j), a, bound, files)
        for k, v in step.kwargs.items():
            _resolve_ref(step, ("kwargs", k), v, bound, files)
        if step.op == "set":
            _resolve_ref(step, ("value",), step.value, bound, files)
        if step.op in ("set", "get") or (step.op == "call" and "." in step.target):
            handle = step.target.split(".", 1)[0]
            if handle not in bound:
                _unbound(step, (step.op,), handle, bound, "no earlier step keeps an object of that name "
                                                          "(a `new` step's `as`, or a return with `handle: true`)")
        if step.op == "eval":
            for n in sorted(expr.names(step.value)):
                if n not in bound:
                    _unbound(step, ("eval",), n, bound)
        rets = step.returns if isinstance(step.returns, list) else ([step.returns] if step.returns else [])
        bound.update(r.name for r in rets)
        if step.as_name:
            bound.add(step.as_name)
    return bound


def _resolve_ref(step, trail, ref, bound, files):
    if isinstance(ref, Name) and ref.name not in bound:
        _unbound(step, trail, ref.name, bound)
    elif isinstance(ref, DataFile) and files is not None and ref.name not in files:
        where = step.where.at(*trail) if step.where is not None else step.describe()
        raise UnboundName(f"{where}: {{file: {ref.name}}} is not a support file of the assignment "
                          f"(support files: {', '.join(sorted(files)) or 'none'}); list it under "
                          f"`assignment: support:`.")
    elif isinstance(ref, (list, tuple)):
        for i, r in enumerate(ref):
            _resolve_ref(step, trail + (i,), r, bound, files)


def _unbound(step, trail, name, bound, why="no generated argument, dimension or earlier step defines it"):
    where = step.where.at(*trail) if step.where is not None else step.describe()
    close = difflib.get_close_matches(name, sorted(bound), n=1)
    raise UnboundName(f"{where}: {name!r} is not defined here: {why}. Defined at this step: "
                      f"{', '.join(sorted(bound)) or 'nothing'}." + (f" Did you mean {close[0]!r}?" if close else ""))


def resolve_config(config, files=None, extra=()):
    """Resolve the names of a check whose values all come from its generated inputs
    (`config.inputs`): `setup`, then `steps`, then `loss_steps` (which may use what the earlier
    steps returned). Configs without generated inputs (e.g. cases read from course data) are
    left to their kind."""
    spec = getattr(config, "inputs", None)
    if spec is None or not hasattr(spec, "dims") or getattr(config, "source", "generated") != "generated":
        return
    bound = set(spec.dims) | set(spec.names()) | set(extra)
    for field_name in ("setup", "steps", "loss_steps", "score_steps"):
        steps = getattr(config, field_name, None)
        if isinstance(steps, list) and steps and isinstance(steps[0], Step):
            bound = resolve(steps, bound, files)


class StepFailure(Exception):
    """Student code failed inside a step; carries the step for the feedback."""

    def __init__(self, step, failure):
        super().__init__(failure.message)
        self.step = step
        self.failure = failure


class ShapeOfReturn(Exception):
    """A call returned the wrong structure (not a tuple of the declared length, opaque type)."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step
        self.message = message


def run(target, steps, env):
    """Execute steps on target; returns env extended with named results."""
    env = dict(env)
    for step in steps:
        try:
            _run_step(target, step, env)
        except StudentFailure as exc:
            raise StepFailure(with_values(step, env), exc) from None
        except ShapeOfReturn as exc:
            exc.step = with_values(step, env)
            raise
    return env


def plan(target, steps, env, produced=None, first=0):
    """The requests running `steps` on `target` (a StudentTarget) would make, known before any
    reply -> [(request, what, planned)], or None when they cannot be: every student step must be
    a call by name keeping nothing behind a handle, whose arguments come from `env` or, by name,
    from what an earlier planned call returned. `produced` {name: targets.Result} holds those
    (and is updated: pass the same dict for the steps of the example's next iteration); `first`
    is the batch index of this plan's first request. Harness steps (mean, item, eval...) need no
    request, but no planned call may use what they compute."""
    produced = {} if produced is None else produced
    planned, computed = [], set()
    for step in steps:
        if step.op in HARNESS_OPS:
            computed.add(step.as_name)
            continue
        if step.op != "call" or "." in step.target:
            return None
        nested, top, keep = _plan_info(step)
        if any(n in computed or n in produced for n in nested) or any(n in computed for n in top) \
                or any(n not in env and n not in produced for n in top + nested):
            return None

        def value(ref):
            return produced[ref.name] if isinstance(ref, Name) and ref.name in produced else _value(ref, env)
        one = target.planned_call(step.target, [value(a) for a in step.args],
                                  {k: value(v) for k, v in step.kwargs.items()} if step.kwargs else None, keep)
        if one is None:
            return None
        k = first + len(planned)
        planned.append(one)
        if isinstance(step.returns, list):
            produced.update((r.name, Result(k, i)) for i, r in enumerate(step.returns))
        elif step.returns is not None:
            produced[step.returns.name] = Result(k)
    return planned


def _plan_info_of(step):
    """A call step's names from elsewhere inside its arguments, its arguments by name, its keep spec."""
    refs = list(step.args) + list(step.kwargs.values())
    return (_names([r for r in refs if not isinstance(r, Name)]), [r.name for r in refs if isinstance(r, Name)],
            _keep_spec(step.returns))


_plan_info = PerObject(_plan_info_of)     # the same for every example: worked out once per step


def _names(refs):
    out = []
    for r in refs:
        if isinstance(r, Name):
            out.append(r.name)
        elif isinstance(r, (list, tuple)):
            out += _names(r)
    return out


def with_values(step, env):
    """A copy of `step` that also shows the scalar values it was given (a step count computed
    by an `eval`, a learning rate): the feedback names what was actually passed."""
    shown = {}
    for ref in list(step.args) + list(step.kwargs.values()):
        v = env.get(ref.name) if isinstance(ref, Name) else None
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            shown[ref.name] = v.item() if isinstance(v, np.generic) else v
    return replace(step, passed=shown) if shown else step


def _value(ref, env):
    if isinstance(ref, Name):
        if ref.name not in env:
            raise UnboundName(f"a step refers to {ref.name!r}, which no argument, dimension or earlier "
                              f"step defines (defined: {', '.join(sorted(map(str, env)))})")
        return env[ref.name]
    if isinstance(ref, list):
        return [_value(r, env) for r in ref]
    if isinstance(ref, tuple):
        return tuple(_value(r, env) for r in ref)
    return ref


def _harness_value(step, args, env):
    if step.op == "mean":
        return float(np.mean(np.asarray(args[0], dtype=np.float64)))
    if step.op == "dot":
        a, b = (np.asarray(x, dtype=np.float64) for x in args)
        return float(np.sum(a.reshape(-1) * b.reshape(-1))) if a.size == b.size else float("nan")
    if step.op == "item":
        try:
            return args[0][step.index]
        except (KeyError, IndexError, TypeError):
            # e.g. a dict without the contract's key, or a tuple where a dict is asked for
            raise LookupError(f"it has no entry {step.index!r}: it is {_type_text(args[0])}") from None
    return expr.evaluate(step.value, env)


def _keep_spec(returns):
    if returns is None:
        return None
    if isinstance(returns, list):
        return ["handle" if r.handle else None for r in returns]
    return "handle" if returns.handle else None


def _run_step(target, step, env):
    args = [_value(a, env) for a in step.args]
    kwargs = {k: _value(v, env) for k, v in step.kwargs.items()}
    if step.op == "new":
        env[step.as_name] = target.call(step.target, args, kwargs, keep="handle")
        return
    if step.op == "set":
        h, attr = step.target.split(".", 1)
        target.set(env[h], attr, _value(step.value, env))
        return
    if step.op in HARNESS_OPS:
        try:
            env[step.as_name] = _harness_value(step, args, env)
        except (TypeError, ValueError, LookupError) as exc:
            # computed from what the implementation returned: unusable values are its result
            raise ShapeOfReturn(step, f"the values your code returned could not be used in "
                                      f"`{step.describe()}`: {type(exc).__name__}: {exc}") from None
        return
    keep = _keep_spec(step.returns)
    if step.op == "get":
        h, attr = step.target.split(".", 1)
        value = target.get(env[h], attr, keep=keep)
    elif "." in step.target:
        h, method = step.target.split(".", 1)
        value = target.call_method(env[h], method, args, kwargs, keep=keep)
    else:
        value = target.call(step.target, args, kwargs, keep=keep)
    _bind(step, value, env)


def _bind(step, value, env):
    rets = step.returns
    if rets is None:
        return
    if isinstance(rets, list):
        if not isinstance(value, (tuple, list)) or len(value) != len(rets):
            got = (f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list))
                   else _type_text(value))
            raise ShapeOfReturn(step, f"{step.target} must return a tuple of {len(rets)} "
                                      f"({', '.join(r.name for r in rets)}); it returned {got}")
        for r, v in zip(rets, value):
            env[r.name] = v
    else:
        env[rets.name] = value


def _type_text(v):
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    if isinstance(v, wire.Opaque):
        return f"a {v.type_name}"
    if isinstance(v, dict):
        return f"a dict with keys {sorted(map(str, v))}"
    if isinstance(v, (tuple, list)):
        return f"a {type(v).__name__} of length {len(v)}"
    return f"{type(v).__name__} {v!r}"[:120]
