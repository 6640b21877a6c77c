"""The reference, recorded and replayed: how a student bundle grades without reference code.

When a bundle is made, the reference is graded against itself with a `Recorder` standing in for
the reference: every call a check makes on it (a function, a method of a kept object, an
attribute) is stored under a digest of what was called and with what, together with what it
returned. The bundle ships that record (`fixtures/<id>/replay.pkl`, plain data, loaded with the
restricted unpickler) instead of the reference; in the bundle a `Replay` answers the same calls
from it. No code is stored: only the digests of the calls and the values visible checks compare
against.

Replaying is exact only for the examples the recording met, so while replaying hypothesis does
not shrink (`around`): a check meets the generated examples in the recorded order and stops at
the first failing one. A call that was not recorded is a harness error naming the call, never a
pass or a student's failure.

The recording grades the reference (every generated example passes), then the template (every
check fails at once, "not implemented") and the reference with every number it returns made
wrong (every check fails on its values): what a check asks of the reference only once the
submission failed (the examples on which a mistake is named, the reference meeting the check
there) is recorded for the first example; on a later one, the missing record is the error above.

Hypothesis draws are the same in the process that records and in a bundle's, whatever else each
imported (`search` keeps hypothesis from mixing in constants of the loaded modules), and a kept
object is known by a digest of everything done to it, never by when it was made.

A check cannot be replayed when it hands the reference what the submission computed (a score of
trained weights, a loss at the submission's parameters), or reads a submitted file the reference
does not provide (an optional pickle): the recorder notes both (`Recorder.unreplayable`), and
such checks are graded only on submission.
"""
import contextlib
import hashlib
import os

import numpy as np

from nngrader.boundary import safe_pickle, wire
from nngrader.core.errors import HarnessBug, SpecError
from nngrader.engine import search
from nngrader.engine.targets import DataFile, OwnFunction, Probe, ReferenceTarget, map_values

STORE = "replay.pkl"            # beside a bundle's fixtures: {check name: {call digest: [outputs]}}
HANDLE_KEY = "nngrader.replay.handle"   # an output that is a kept object: {HANDLE_KEY: state, "type": name}


def store_path(asg):
    return os.path.join(asg.course.fixtures_dir, asg.id, STORE)


def stored(asg):
    """The Replay of a bundle's course folder, or None where the course has the reference."""
    path = store_path(asg)
    if not os.path.exists(path):
        return None
    try:
        data = safe_pickle.restricted_load(path)
    except safe_pickle.UnsafePickle as exc:
        raise SpecError(f"{asg.course.relative(path)}: refused ({exc}); make the bundle again.") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), dict):
        raise SpecError(f"{asg.course.relative(path)}: not a recorded reference; make the bundle again.")
    return Replay(asg, data["checks"], data.get("names"))


@contextlib.contextmanager
def around(ctx, check):
    """While `check` runs: tell the stand-in which check it serves; no shrinking while the
    reference is recorded or replayed (the failing runs of a recording need none either)."""
    source = ctx.reference_source
    if source is None:
        yield
        return
    source.begin(check)
    before = search.SHRINK
    search.SHRINK = False
    try:
        yield
    finally:
        search.SHRINK = before


# -- digests ---------------------------------------------------------------------------------

def _feed(h, v, state_of):
    """Feed a canonical encoding of an argument to the hash `h`."""
    if isinstance(v, wire.Handle):
        h.update(b"H" + state_of(v).encode())
    elif isinstance(v, OwnFunction):
        h.update(b"O" + v.name.encode() + b"\0")
    elif isinstance(v, Probe):
        h.update(b"P" + v.name.encode() + b"\0")
    elif isinstance(v, DataFile):
        h.update(b"F" + v.name.encode() + b"\0")
    elif isinstance(v, (np.ndarray, np.generic)):
        a = np.ascontiguousarray(v)
        h.update(f"A{a.dtype.str}{a.shape}".encode() + a.tobytes())
    elif isinstance(v, (list, tuple)):
        h.update(f"{type(v).__name__}{len(v)}(".encode())
        for x in v:
            _feed(h, x, state_of)
        h.update(b")")
    elif isinstance(v, dict):
        h.update(f"d{len(v)}(".encode())
        for k in sorted(v, key=repr):
            _feed(h, k, state_of)
            _feed(h, v[k], state_of)
        h.update(b")")
    elif v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
        h.update(f"{type(v).__name__}:{v!r};".encode())
    else:
        raise HarnessBug(f"cannot record a call with an argument of type {type(v).__name__}")


def _handles(v):
    if isinstance(v, wire.Handle):
        yield v
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _handles(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _handles(x)


class _Keys:
    """Digests of calls, and the state of every kept object: a digest of everything done to it,
    so a call on it is known by what happened to the object before, not by when it was made."""

    def __init__(self):
        self.states = {}            # id(handle) -> state
        self.alive = []             # the handles, so their ids are not reused
        self.seen = {}              # call digest -> how often it was made in this check

    def reset(self):
        self.seen = {}

    def state(self, handle):
        s = getattr(handle, "replay_state", None) or self.states.get(id(handle))
        if s is None:
            raise HarnessBug(f"a {handle.type_name} object reached the reference without being recorded")
        return s

    def set_state(self, handle, state):
        handle.replay_state = state
        self.states[id(handle)] = state
        self.alive.append(handle)

    def key(self, *parts):
        h = hashlib.sha256()
        for p in parts:
            _feed(h, p, self.state)
        return h.hexdigest()

    def occurrence(self, key):
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        return n

    def after_call(self, key, args):
        """Objects handed to a call may have changed: their state follows the call. (Not when it was
        made: a check that fails early, then asks for more, meets the same states as the recording.)"""
        for i, handle in enumerate(h for a in args for h in _handles(a)):
            self.set_state(handle, self.key("after", key, i))


def _describe(op, name, args):
    return f"{op} {name}({', '.join(_short(a) for a in args)})"


def _short(v):
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    if isinstance(v, (list, tuple)):
        return f"{type(v).__name__}[{len(v)}]"
    return type(v).__name__


# -- recording -------------------------------------------------------------------------------

class Recorder:
    """Stands in for the reference while the reference is graded against itself: every call
    goes to the real reference and is stored. `unreplayable` names the checks that cannot be
    replayed, with the reason."""

    def __init__(self, asg):
        self.asg = asg
        self.keys = _Keys()
        self.checks = {}            # check name -> {digest: [outputs]}
        self.unreplayable = {}      # check name -> why
        self.check = None
        self._submitted = {}        # id(value) -> value, what the submission returned in this check
        self.names = {}             # module name -> its public names (what `hasattr` answers in a bundle)
        self.perturb = False        # the submission's numbers are made wrong (to record what a failure asks)

    def begin(self, check):
        self.check = check.name
        self.checks.setdefault(check.name, {})
        self.keys.reset()
        self._submitted = {}

    def attach(self, ctx):
        """Watch what the submission returns and which submitted files the checks read."""
        ctx.student = _WatchedStudent(ctx.student, self)
        plain = ctx.submitted_file

        def submitted_file(name):
            path = plain(name)
            if path is None and name in self.asg.optional_files:
                self._mark(f"it reads the optional file {name}, which the reference does not provide")
            return path
        ctx.submitted_file = submitted_file

    def _mark(self, why):
        if self.check is not None:
            self.unreplayable.setdefault(self.check, why)

    def watch(self, value):
        if isinstance(value, (np.ndarray, float, complex, list, tuple, dict)):
            self._submitted[id(value)] = value
        if isinstance(value, (list, tuple)):
            for x in value:
                self.watch(x)
        elif isinstance(value, dict):
            for x in value.values():
                self.watch(x)

    def _from_submission(self, v):
        if id(v) in self._submitted and self._submitted[id(v)] is v:
            return True
        if isinstance(v, (list, tuple)):
            return any(self._from_submission(x) for x in v)
        if isinstance(v, dict):
            return any(self._from_submission(x) for x in v.values())
        return False

    def module(self, name=None):
        name = name or self.asg.reference
        real = self.asg.course.import_reference(name)
        self.names[name] = sorted(n for n in dir(real) if not n.startswith("__"))
        return _RecordingModule(self, real, name)

    def target(self, files, overrides=None):
        module = self.asg.course.import_reference(self.asg.reference)
        return _RecordingTarget(self, ReferenceTarget(module, files, overrides))

    def record(self, op, name, args, kwargs, run):
        """Run `run()` on the real reference and store its output under the call's digest."""
        if self.check is None:
            raise HarnessBug("a reference call outside any check cannot be recorded")
        values = list(args) + [kwargs[k] for k in sorted(kwargs)]
        if self._from_submission(values):
            self._mark(f"the reference's {name.split(':')[-1]} runs on values your code computed")
        key = self.keys.key(op, name, list(args), dict(kwargs))
        n = self.keys.occurrence(key)
        out = run()
        self.keys.after_call(key, values)
        stored = self._stored(out, key, [])
        outputs = self.checks[self.check].setdefault(key, [])
        if len(outputs) <= n:           # a later pass (another submission) keeps what was recorded
            outputs.append(stored)
        return out

    def _stored(self, v, key, path):
        if isinstance(v, wire.Handle):
            state = self.keys.key("out", key, tuple(path))
            self.keys.set_state(v, state)
            return {HANDLE_KEY: state, "type": v.type_name}
        if isinstance(v, list):
            return [self._stored(x, key, path + [i]) for i, x in enumerate(v)]
        if isinstance(v, tuple):
            return tuple(self._stored(x, key, path + [i]) for i, x in enumerate(v))
        if isinstance(v, dict):
            return {k: self._stored(x, key, path + [k]) for k, x in v.items()}
        if isinstance(v, np.generic):
            return np.array(v)
        if v is None or isinstance(v, (np.ndarray, bool, int, float, complex, str, bytes)):
            return v
        raise HarnessBug(f"cannot record a reference result of type {type(v).__name__}")

    def data(self, checks):
        """The record of the named checks only (what a bundle ships)."""
        return {"checks": {name: self.checks[name] for name in checks if name in self.checks},
                "names": dict(self.names)}


class _WatchedStudent:
    """The submission's target, noting every value it returns (to find reference calls on them)."""

    def __init__(self, target, recorder):
        self._target = target
        self._recorder = recorder

    def __getattr__(self, name):
        return getattr(self._target, name)

    def _watched(self, value):
        if self._recorder.perturb:
            value = _wrong(value)
        self._recorder.watch(value)
        return value

    def call(self, *a, **kw):
        return self._watched(self._target.call(*a, **kw))

    def call_method(self, *a, **kw):
        return self._watched(self._target.call_method(*a, **kw))

    def get(self, *a, **kw):
        return self._watched(self._target.get(*a, **kw))


def _wrong(v):
    """Every float of a returned value made wrong (handles and integers kept)."""
    return map_values(v, _wrong_leaf)


def _wrong_leaf(v):
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v * 1.5 + 0.25
    if isinstance(v, float):
        return v * 1.5 + 0.25
    return v


class _RecordingTarget:
    label = "reference"

    def __init__(self, recorder, target):
        self._rec = recorder
        self._target = target

    @property
    def last_warnings(self):
        return []

    def _name(self, name):
        return self._target.overrides.get(name, name)

    def _own(self, args):
        return [OwnFunction(self._name(a.name)) if isinstance(a, OwnFunction) else a for a in args]

    def call(self, name, args=(), kwargs=None, keep=None):
        kwargs = kwargs or {}
        return self._rec.record("call", self._name(name), self._own(args) + [keep], kwargs,
                                lambda: self._target.call(name, args, kwargs, keep))

    def call_method(self, handle, method, args=(), kwargs=None, keep=None):
        kwargs = kwargs or {}
        return self._rec.record("method", method, [handle] + self._own(args) + [keep], kwargs,
                                lambda: self._target.call_method(handle, method, args, kwargs, keep))

    def get(self, handle, attr, keep=None):
        return self._rec.record("get", attr, [handle, keep], {}, lambda: self._target.get(handle, attr, keep))

    def set(self, handle, attr, value):
        return self._rec.record("set", attr, [handle, value], {}, lambda: self._target.set(handle, attr, value))


class _RecordingModule:
    def __init__(self, recorder, module, name):
        self._rec = recorder
        self._module = module
        self.__name__ = name

    def __getattr__(self, name):
        real = getattr(self._module, name)
        qualified = f"{self.__name__}:{name}"
        if not callable(real):
            return self._rec.record("attr", qualified, [], {}, lambda: real)
        return lambda *args, **kwargs: self._rec.record("function", qualified, list(args), kwargs,
                                                        lambda: real(*args, **kwargs))


# -- replaying -------------------------------------------------------------------------------

class NotRecorded(HarnessBug):
    """The bundle holds no recorded reference result for this call. Where the result is only
    wanted for extra help (the diagnosis of a failure), its absence means no such help; where a
    verdict needs it, it is the harness's error, never a pass or a student failure."""


class Replay:
    """Answers a check's reference calls from the record a bundle ships."""

    def __init__(self, asg, checks, names=None):
        self.asg = asg
        self.records = checks
        self.names = names or {}
        self.keys = _Keys()
        self.check = None

    def begin(self, check):
        self.check = check.name
        self.keys.reset()

    def attach(self, ctx):
        pass

    def module(self, name=None):
        return _ReplayModule(self, name or self.asg.reference)

    def target(self, files, overrides=None):
        return _ReplayTarget(self, overrides or {})

    def answer(self, op, name, args, kwargs):
        values = list(args) + [kwargs[k] for k in sorted(kwargs)]
        key = self.keys.key(op, name, list(args), dict(kwargs))
        n = self.keys.occurrence(key)
        record = self.records.get(self.check)
        if record is None:
            raise HarnessBug(f"check {self.check} is not in this bundle's recorded reference; it is graded "
                             "only on submission")
        outs = record.get(key)
        if not outs:
            raise NotRecorded(
                f"check {self.check}: this bundle has no recorded reference result for {_describe(op, name, args)} "
                "(the check met an example the reference was not recorded on); it cannot be graded from this "
                "bundle: make the bundle again with the same NumPy and hypothesis versions, or grade on submission")
        out = outs[min(n, len(outs) - 1)]
        self.keys.after_call(key, values)
        return _restored(out, self.keys)


def _restored(v, keys):
    if isinstance(v, dict) and HANDLE_KEY in v:
        handle = wire.Handle(v[HANDLE_KEY][:16], v["type"])
        keys.set_state(handle, v[HANDLE_KEY])
        return handle
    if isinstance(v, list):
        return [_restored(x, keys) for x in v]
    if isinstance(v, tuple):
        return tuple(_restored(x, keys) for x in v)
    if isinstance(v, dict):
        return {k: _restored(x, keys) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return np.array(v, copy=True)
    return v


class _ReplayTarget:
    label = "reference"

    def __init__(self, replay, overrides):
        self._replay = replay
        self.overrides = overrides

    @property
    def last_warnings(self):
        return []

    def _name(self, name):
        return self.overrides.get(name, name)

    def _own(self, args):
        return [OwnFunction(self._name(a.name)) if isinstance(a, OwnFunction) else a for a in args]

    def call(self, name, args=(), kwargs=None, keep=None):
        return self._replay.answer("call", self._name(name), self._own(args) + [keep], kwargs or {})

    def call_method(self, handle, method, args=(), kwargs=None, keep=None):
        return self._replay.answer("method", method, [handle] + self._own(args) + [keep], kwargs or {})

    def get(self, handle, attr, keep=None):
        return self._replay.answer("get", attr, [handle, keep], {})

    def set(self, handle, attr, value):
        return self._replay.answer("set", attr, [handle, value], {})


class _ReplayModule:
    def __init__(self, replay, name):
        self._replay = replay
        self.__name__ = name

    def __getattr__(self, name):
        known = self._replay.names.get(self.__name__)
        if name.startswith("__") or (known is not None and name not in known):
            raise AttributeError(name)
        replay = self._replay
        qualified = f"{self.__name__}:{name}"
        if replay.keys.key("attr", qualified, [], {}) in replay.records.get(replay.check, {}):
            return replay.answer("attr", qualified, [], {})
        return lambda *args, **kwargs: replay.answer("function", qualified, list(args), kwargs)
