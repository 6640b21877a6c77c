"""The one narrow interface through which checks reach an implementation.

A target can call a name, construct a class, call a method of a kept object, and get or set
an attribute. `ReferenceTarget` runs the reference in this process; `StudentTarget` forwards
to the sandboxed worker. Values come back as plain data; opaque objects as handles.
"""
import copy

import numpy as np

from nngrader.boundary import wire
from nngrader.boundary.process import StudentProcess
from nngrader.core.errors import StudentFailure
from nngrader.core.protocol import Op, Tag
from nngrader.engine import probes


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
        fn = self._lookup(name)
        return self._keep(fn(*[self._resolve(a) for a in args],
                             **{k: self._resolve(v) for k, v in (kwargs or {}).items()}), keep)

    def call_method(self, handle, method, args=(), kwargs=None, keep=None):
        fn = getattr(handle.obj, method)
        return self._keep(fn(*[self._resolve(a) for a in args],
                             **{k: self._resolve(v) for k, v in (kwargs or {}).items()}), keep)

    def get(self, handle, attr, keep=None):
        return self._keep(getattr(handle.obj, attr), keep)

    def set(self, handle, attr, value):
        setattr(handle.obj, attr, self._resolve(value))

    @property
    def last_warnings(self):
        return []


def _plain_copy(v):
    if isinstance(v, np.ndarray):
        return np.array(v, copy=True, subok=False)
    if isinstance(v, np.generic):
        return np.array(v)
    if isinstance(v, list):
        return [_plain_copy(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_plain_copy(x) for x in v)
    if isinstance(v, dict):
        return {k: _plain_copy(x) for k, x in v.items()}
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

    def _name(self, name):
        return self.renames.get(name, name)

    def _encode(self, v):
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
            return np.array(v, copy=True)
        return v

    def _do(self, req, what):
        if self.trace_precision and req.get("op") == Op.CALL:
            req["trace"] = True
        value = self.process.request(req, what)
        if self.trace_precision:
            self.precision_trace += [str(t) for t in self.process.last_meta.get("float32", [])
                                     if isinstance(t, str)]
        self.last_warnings = list(self.process.last_meta.get("warnings", []))
        self.warnings_log.extend(self.last_warnings)
        return value

    def call(self, name, args=(), kwargs=None, keep=None):
        return self._do({"op": Op.CALL, "target": ("name", self._name(name)), "args": [self._encode(a) for a in args],
                         "kwargs": {k: self._encode(v) for k, v in (kwargs or {}).items()},
                         "keep": keep}, name)

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

    def release(self):
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


def _bytes(v):
    """A file's content as the worker sends it (a uint8 array) -> bytes; None stays None."""
    return None if v is None else np.asarray(v, dtype=np.uint8).tobytes()


