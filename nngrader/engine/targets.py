"""The one narrow interface through which checks reach an implementation.

A target can call a name, construct a class, call a method of a kept object, and get or set
an attribute. `ReferenceTarget` runs the reference in this process; `StudentTarget` forwards
to the sandboxed worker. Values come back as plain data; opaque objects as handles.
"""
import collections
import copy

import numpy as np

from nngrader.boundary import wire
from nngrader.boundary.process import StudentProcess, batch_data
from nngrader.core.caches import bounded
from nngrader.core.errors import StudentFailure
from nngrader.core.protocol import Op, Tag
from nngrader.engine import probes, seeding


class OwnFunction:
    """An argument meaning "this implementation's own function NAME" (e.g. its relu)."""

    def __init__(self, name):
        self.name = name


class Probe:
    """An argument meaning "the harness's probe function NAME" (same on both sides)."""

    def __init__(self, name):
        self.name = name


class DataFile:
    """An argument meaning "the path of support file NAME" (scratch copy for the student)."""

    def __init__(self, name):
        self.name = name


class ReferenceTarget:
    label = "reference"

    def __init__(self, module, files=None, overrides=None):
        self.module = module                    # the reference module (imported by the course)
        self.files = files or {}                # support file name -> path
        self.overrides = overrides or {}        # name -> alternative reference name

    def setting(self):
        """What the reference's results depend on besides the module and the arguments."""
        return (tuple(sorted(self.overrides.items())) if self.overrides else (),
                tuple(sorted(self.files.items())) if self.files else ())

    def _resolve(self, v):
        if isinstance(v, wire.Handle):
            return v.obj
        if isinstance(v, OwnFunction):
            return self._lookup(v.name)
        if isinstance(v, Probe):
            return probes.PROBES[v.name]
        if isinstance(v, DataFile):
            return self.files.get(v.name, v.name)
        if isinstance(v, list):
            return [self._resolve(x) for x in v]
        if isinstance(v, tuple):
            return tuple(self._resolve(x) for x in v)
        if type(v) is np.ndarray and v.dtype.kind in "biuf":
            return v.copy(order="K")    # what deepcopy gives a plain array of numbers, sooner
        return copy.deepcopy(v)

    def _lookup(self, name):
        return getattr(self.module, self.overrides.get(name, name))

    def _keep(self, value, keep):
        if keep is True or keep == "handle":
            h = wire.Handle(id(value), type(value).__name__)
            h.obj = value
            return h
        if isinstance(keep, (list, tuple)) and isinstance(value, (list, tuple)):
            out = [self._keep(v, keep[i] if i < len(keep) else None) for i, v in enumerate(value)]
            return tuple(out) if isinstance(value, tuple) else out
        return _plain_copy(value)

    def call(self, name, args=(), kwargs=None, keep=None):
        seeding.settle()                # reference code may draw from the global generators
        fn = self._lookup(name)
        return self._keep(fn(*[self._resolve(a) for a in args],
                             **{k: self._resolve(v) for k, v in (kwargs or {}).items()}), keep)

    def call_method(self, handle, method, args=(), kwargs=None, keep=None):
        seeding.settle()
        fn = getattr(handle.obj, method)
        return self._keep(fn(*[self._resolve(a) for a in args],
                             **{k: self._resolve(v) for k, v in (kwargs or {}).items()}), keep)

    def get(self, handle, attr, keep=None):
        seeding.settle()                # a property is code too
        return self._keep(getattr(handle.obj, attr), keep)

    def set(self, handle, attr, value):
        seeding.settle()
        setattr(handle.obj, attr, self._resolve(value))

    @property
    def last_warnings(self):
        return []


def map_values(v, leaf):
    """`v` with each value inside its lists, tuples and dicts (at any depth) replaced by
    `leaf(value)`: new containers of the same kinds."""
    if isinstance(v, list):
        return [map_values(x, leaf) for x in v]
    if isinstance(v, tuple):
        return tuple(map_values(x, leaf) for x in v)
    if isinstance(v, dict):
        return {k: map_values(x, leaf) for k, x in v.items()}
    return leaf(v)


def _plain_copy(v):
    return map_values(v, _plain_leaf)


def _plain_leaf(v):
    if isinstance(v, np.ndarray):
        return np.array(v, copy=True, subok=False)
    if isinstance(v, np.generic):
        return np.array(v)
    return v


PROGRAM_REPLY_MARGIN = 10.0      # s beyond a program's own time limit for the worker to reply


class StudentTarget:
    """Student code, reached only through the sandboxed worker."""

    label = "submission"

    def __init__(self, process: StudentProcess):
        self.process = process
        self.last_warnings = []
        self.warnings_log = []          # every warning since a check last cleared it (stability)
        self.cleanup_error = ""         # what went wrong releasing the handles, if anything
        self.renames = {}               # contract name -> the accepted alias the submission defines
        self.trace_precision = False    # calls report which of the submission's functions compute in float32
        self.precision_trace = []
        self._kept = False              # a handle may be held in the worker since the last release
        self._planned = collections.deque()     # what the calls sent ahead were made with (prefetch)
        self._taken = []                # the replies read of the batch sent ahead, in order
        self._replies = {}              # calls on the grader's own read-only inputs -> their replies (_reuse_key)
        self.reused = 0                 # calls answered by an earlier reply to the same call

    def _name(self, name):
        return self.renames.get(name, name)

    def _encode(self, v):
        if isinstance(v, Result):
            return (Tag.RESULT, v.k, v.item)
        if isinstance(v, wire.Handle):
            return (Tag.HANDLE, v.hid)
        if isinstance(v, OwnFunction):
            return (Tag.STUDENT, self._name(v.name))
        if isinstance(v, Probe):
            if v.name in probes.NUMPY_PROBES:
                return probes.NUMPY_PROBES[v.name]
            return (Tag.PROBE, v.name)
        if isinstance(v, DataFile):
            return v.name
        if isinstance(v, list):
            return [self._encode(x) for x in v]
        if isinstance(v, tuple):
            return (Tag.TUPLE, tuple(self._encode(x) for x in v))
        if isinstance(v, np.ndarray):
            # pickled at once, as a plain array: a subclass is copied into one
            return v if type(v) is np.ndarray else np.array(v, copy=True)
        return v

    def _prepared(self, req):
        if self.trace_precision and req.get("op") == Op.CALL:
            req["trace"] = True
        return req

    def _do(self, req, what, ahead=False, reuse=None):
        if ahead:
            value = self.process.take_ahead()
        else:
            self._planned.clear()
            req = self._prepared(req)
            if _keeps(req.get("keep")):
                self._kept = True
            value = self.process.request(req, what)
        meta = self.process.last_meta
        if reuse is not None:
            bounded(self._replies, REPLY_ENTRIES)
            self._replies[reuse[0]] = (reuse[1], _fresh(value), dict(meta))
        self._noted(meta)
        return value

    def _noted(self, meta):
        """A reply's warnings and float32 trace, as the checks read them."""
        if self.trace_precision:
            self.precision_trace += [str(t) for t in meta.get("float32", []) if isinstance(t, str)]
        self.last_warnings = list(meta.get("warnings", []))
        self.warnings_log.extend(self.last_warnings)

    def _reuse_key(self, name, args, kwargs, keep):
        """A call that several checks make alike (e.g. five checks of one function's five results on
        the same examples) is run once per grading: -> the key under which its reply is kept, or
        None. Only calls whose arguments are all the grader's own values that nothing can change
        (read-only arrays of `memo.INPUTS`, numbers, strings) and that keep nothing in the worker;
        held with the reply, the arrays keep their identities."""
        if keep is not None and _keeps(keep):
            return None
        values = list(args) + [v for _, v in sorted(kwargs.items())] if kwargs else list(args)
        parts = []
        for v in values:
            kind = type(v)
            if kind is np.ndarray:
                if v.flags.writeable or v.base is not None:
                    return None
                parts.append(id(v))
            elif kind in _SCALARS or v is None:
                parts.append((kind, v))
            else:
                return None
        key = (self._name(name), repr(keep), self.trace_precision, tuple(sorted(kwargs)) if kwargs else (),
               tuple(parts))
        return key, values

    def _known(self, reuse):
        """The kept reply to this very call -> (arguments, value, meta), or None."""
        if reuse is None:
            return None
        entry = self._replies.get(reuse[0])
        if entry is None or len(entry[0]) != len(reuse[1]) or not all(a is b for a, b in zip(entry[0], reuse[1])):
            return None
        return entry

    def _reused(self, reuse):
        """The reply kept for this very call (a fresh copy), or _NOTHING."""
        entry = self._known(reuse)
        if entry is None:
            return _NOTHING
        self.reused += 1
        self._noted(entry[2])
        self.process.last_meta = dict(entry[2])
        return _fresh(entry[1])

    def _call_request(self, name, args, kwargs, keep):
        return {"op": Op.CALL, "target": ("name", self._name(name)), "args": [self._encode(a) for a in args],
                "kwargs": {k: self._encode(v) for k, v in (kwargs or {}).items()}, "keep": keep}

    def call(self, name, args=(), kwargs=None, keep=None):
        if self._planned and self.process.ahead() == len(self._planned) \
                and self._planned[0].answers(self, name, args, kwargs, keep):
            # sent ahead with these very arguments: its reply is read
            value = self._do(None, name, ahead=True, reuse=self._planned.popleft().reuse_key(self))
            self._taken.append(value)
            return value
        reuse = self._reuse_key(name, args, kwargs, keep)
        value = self._reused(reuse)
        if value is not _NOTHING:
            return value
        return self._do(self._call_request(name, args, kwargs, keep), name, reuse=reuse)

    def planned_call(self, name, args=(), kwargs=None, keep=None):
        """What `call` would send -> (request, what, the call it answers), for `prefetch`; None
        when it would keep a handle. An argument may be a `Result` of an earlier planned call.
        It depends on the arguments and on `plan_setting()` alone: a plan may be kept and sent
        again in a later grading."""
        if keep is not None and _keeps(keep):
            return None
        return self._prepared(self._call_request(name, args, kwargs, keep)), name, _Planned(self, name, args, kwargs, keep)

    def plan_setting(self):
        """What a planned call depends on besides its arguments: the aliases, the tracing."""
        return tuple(sorted(self.renames.items())), self.trace_precision

    def prefetch(self, planned, kept=None):
        """Send the planned calls [planned_call(...)] ahead, in one batch: `call` with the very same
        arguments (the same objects, or the values those earlier calls returned) later reads the
        reply instead of sending (StudentProcess.prefetch). Calls answered before in this grading
        are left out when nothing in the batch refers to what they return. `kept`: an object on
        which the batch's bytes are kept for the next time this very plan is sent whole (its
        `data`; a plan is the same for every grading, `plan_setting`)."""
        self._planned.clear()
        self._taken = []
        if self._replies and not any(isinstance(v, Result) for _, _, p in planned for v in p.values):
            sent = [one for one in planned if self._known(one[2].reuse_key(self)) is None]
        else:
            sent = planned
        data = None
        if kept is not None and sent and len(sent) == len(planned):
            data = kept.data = kept.data or batch_data([r for r, _, _ in sent])
        if self.process.prefetch([r for r, _, _ in sent], [w for _, w, _ in sent], data):
            self._planned.extend(p for _, _, p in sent)

    def call_method(self, handle, method, args=(), kwargs=None, keep=None):
        return self._do({"op": Op.CALL, "target": ("method", handle.hid, method),
                         "args": [self._encode(a) for a in args],
                         "kwargs": {k: self._encode(v) for k, v in (kwargs or {}).items()},
                         "keep": keep}, f"{handle.type_name}.{method}")

    def get(self, handle, attr, keep=None):
        return self._do({"op": Op.GETATTR, "handle": handle.hid, "attr": attr, "keep": keep},
                        f"{handle.type_name}.{attr}")

    def set(self, handle, attr, value):
        return self._do({"op": Op.SETATTR, "handle": handle.hid, "attr": attr,
                         "value": self._encode(value)}, f"setting {handle.type_name}.{attr}")

    def reseed(self, seed):
        """Seed the random generators the submission draws from without a seed of its own
        (NumPy's global one, `random`'s, and the entropy of an unseeded NumPy generator; see
        worker.Generators), or with seed None leave them as they are and mark their state ->
        whether its code drew from them since they were last seeded or marked. After a seed,
        replies kept for calls made alike (`_reuse_key`) are dropped: a call that draws answers
        otherwise now."""
        if seed is not None:
            self._replies.clear()
        return self._do({"op": Op.RESEED, "seed": None if seed is None else int(seed)},
                        "seeding the random generators") is True

    def release(self):
        """Drop the objects the worker keeps behind handles (none kept: nothing to ask)."""
        if not self._kept:
            return
        self._kept = False
        if not self.process.alive():
            return          # a dead worker holds no handles; it is restarted on next use
        try:
            self._do({"op": Op.RELEASE}, "cleanup")
        except StudentFailure as exc:
            self.cleanup_error = exc.message

    def run_program(self, path, argv, outputs, timeout, max_bytes=1 << 20, max_output=4000):
        """Run the submitted file `path` as a program, `python path argv...`, in the worker's
        scratch folder (see worker.op_run_program) -> dict with exit_code, signal, timed_out,
        seconds, files {output: bytes or None}, sizes, output (bytes printed, the tail).

        A program need not be importable as a module to run (e.g. no `__main__` guard), so a
        failed import of the submission does not stop the run; the run reports for itself."""
        req = {"op": Op.RUN_PROGRAM, "path": path, "argv": [str(a) for a in argv],
               "outputs": list(outputs), "timeout": float(timeout), "max_bytes": int(max_bytes),
               "max_output": int(max_output)}
        # The worker enforces `timeout` on the program itself; the margin covers reading back.
        reply = self.process.request(req, f"running {path}", timeout=float(timeout) + PROGRAM_REPLY_MARGIN,
                                     after_failed_import=True)
        reply["files"] = {k: _bytes(v) for k, v in reply["files"].items()}
        reply["output"] = _bytes(reply["output"]) or b""
        return reply


class Result:
    """An argument of a planned call (`StudentTarget.planned_call`): what request `k` of the same
    batch returns (its item `item`, unless None), passed on inside the worker."""

    def __init__(self, k, item=None):
        self.k, self.item = k, item


class _Planned:
    """A call sent ahead: it answers a later call made with the same name, the same `keep`, the
    same tracing, and the same argument objects (identity: nothing may have changed them since),
    or, for a `Result`, the very value that earlier reply delivered."""

    def __init__(self, target, name, args, kwargs, keep):
        self.key = (name, repr(keep), target.trace_precision, tuple(sorted(kwargs)) if kwargs else ())
        self.values = list(args) + [v for _, v in sorted(kwargs.items())] if kwargs else list(args)
        self.call = (name, args, kwargs, keep)
        self._reuse = _NOTHING

    def reuse_key(self, target):
        """`target._reuse_key` of this call, worked out once: a plan is kept for every grading
        with the same aliases and tracing (`plan_setting`), all that key depends on besides the
        argument objects, which the plan holds."""
        if self._reuse is _NOTHING:
            self._reuse = target._reuse_key(*self.call)
        return self._reuse

    def answers(self, target, name, args, kwargs, keep):
        values = list(args) + [v for _, v in sorted(kwargs.items())] if kwargs else list(args)
        if (name, repr(keep), target.trace_precision, tuple(sorted(kwargs)) if kwargs else ()) != self.key \
                or len(values) != len(self.values):
            return False
        return all(_delivered(p, target._taken) is a if isinstance(p, Result) else p is a
                   for p, a in zip(self.values, values))


_NOTHING = object()


def _delivered(result, taken):
    if result.k >= len(taken):
        return _NOTHING
    value = taken[result.k]
    if result.item is None:
        return value
    return value[result.item] if isinstance(value, (list, tuple)) and result.item < len(value) else _NOTHING


REPLY_ENTRIES = 2000     # replies kept per grading (the oldest go first)
_SCALARS = (int, float, bool, str)


def _fresh(value):
    """A kept reply's copy: new containers and arrays, the same numbers."""
    return map_values(value, _fresh_leaf)


def _fresh_leaf(v):
    if type(v) is np.ndarray:
        return v.copy(order="K")
    return copy.deepcopy(v)


def _keeps(keep):
    """Does a request's `keep` leave anything behind a handle?"""
    if keep is None or keep is False:
        return False
    if keep is True or keep == "handle":
        return True
    if isinstance(keep, (list, tuple)):
        for k in keep:
            if k is not None and _keeps(k):
                return True
    return False


def _bytes(v):
    """A file's content as the worker sends it (a uint8 array) -> bytes; None stays None."""
    return None if v is None else np.asarray(v, dtype=np.uint8).tobytes()


