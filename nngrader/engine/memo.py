"""What is computed once per process and reused by every grading in it: a search's examples, the
examples' inputs, and the reference's results on them.

Examples (`generated`). A check's examples come from hypothesis, seeded with the check's seed
(`search`). The draws do not depend on the submission: only on the input spec's dimensions, the
seed, the number of examples and whether shrinking is on (`key`). So hypothesis runs once per
process without evaluating anything (`record`), and every search, in single grading as in a
batch, evaluates the recorded draws in order, each in the context hypothesis gives an example
(the global generators seeded alike, `seeding`):
- all recorded draws pass: the search found nothing;
- draw k fails: the search stops there; its failure is made smaller (`shrink.smallest`) unless
  it is one that ends a search (`stops`) or shrinking is off (a bundle);
- draw k raises (a harness error): raised as it is.
Before any draw is evaluated, `prefetch(draws)` may send their student calls ahead in one batch.

Inputs (`INPUTS`) and the reference's results (`REFERENCES`): built once per example and shared
as read-only arrays, so no use can change them for the next.
"""
import copy
import hashlib
import json
import pickle
import random

import numpy as np

from nngrader.core.caches import Held, PerObject, bounded
from nngrader.engine import inputs, seeding
from nngrader.engine.shrink import smallest
from nngrader.engine.targets import ReferenceTarget, map_values

ACTIVE = None           # the Memo of the batch this process grades for, or None (then PROCESS)


class Memo:
    """Recorded example sequences, keyed by `key()`; counters say how often they served."""

    def __init__(self):
        self.examples = {}          # key -> [draw, ...] of a search that passed every draw
        self.replayed = 0           # searches answered from a recorded sequence
        self.recorded = 0           # sequences recorded
        self.shrunk = 0             # searches whose failing example was made smaller
        self.stored = 0             # sequences read from assignments' stored draws (engine/draws.py)
        self.preloaded = {}         # the draws files read into this memo -> the sequences each gave (None: none may be)
        self.recorded_keys = {}     # key -> what it is made of and the draws recorded (for draws.write)

    def stats(self):
        return {"sequences": len(self.examples), "replayed": self.replayed, "recorded": self.recorded,
                "shrunk": self.shrunk, "stored": self.stored}


def key(input_spec, seed, max_examples, shrink):
    """What hypothesis's draws depend on: the dimensions' names and ranges (the strategy of
    `inputs.strategy`), the seed, the example budget and the phases."""
    return key_of(input_spec.dims, seed, max_examples, shrink)


def key_of(dims, seed, max_examples, shrink):
    """`key` from its parts: dims {name: (lo, hi)}."""
    parts = [[name, int(lo), int(hi)] for name, (lo, hi) in dims.items()]
    text = json.dumps([parts, int(seed) if seed is not None else None, int(max_examples), bool(shrink)])
    return hashlib.sha256(text.encode()).hexdigest()


def generated(input_spec, seed, max_examples, shrink, evaluate, stops, run_hypothesis, prefetch=None):
    """The generated part of a search -> the Problem hypothesis reports, or None.

    `evaluate(draw) -> Problem | None`; `stops(problem)`: the problem ends the search at once
    (no shrinking); `run_hypothesis(evaluate) -> Problem | None` runs hypothesis;
    `prefetch(draws)`: told the draws before any is evaluated (to send their student calls
    ahead, `StudentProcess.prefetch`)."""
    memo = ACTIVE if ACTIVE is not None else PROCESS
    if memo is None:
        return run_hypothesis(evaluate)
    k = key(input_spec, seed, max_examples, shrink)
    recorded = memo.examples.get(k)
    if recorded is None:
        recorded = memo.examples[k] = [_in_order(d, input_spec) for d in record(run_hypothesis)]
        memo.recorded += 1
        memo.recorded_keys[k] = {"dims": [[n, int(lo), int(hi)] for n, (lo, hi) in input_spec.dims.items()],
                                 "seed": int(seed) if seed is not None else None, "max_examples": int(max_examples),
                                 "shrink": bool(shrink), "draws": [_copied(d) for d in recorded]}
    if prefetch is not None:
        prefetch([_copied(d) for d in recorded])
    answers = []
    with seeding.searching() as seed:
        for draw in recorded:
            try:
                seed()
                problem = evaluate(_copied(draw))
            except Exception as exc:
                # raised out of the example (a harness error): hypothesis meets the same exception on
                # this draw, and shrinks and reports it as in single grading
                answers.append(_Raised(exc))
                break
            answers.append(problem)
            if problem is not None:
                break
        else:
            memo.replayed += 1
            return None
    if isinstance(answers[-1], _Raised):
        raise answers[-1].exc           # a harness error: raised where it was met
    memo.replayed += 1
    if stops(answers[-1]) or not shrink:
        return answers[-1]
    memo.shrunk += 1
    with seeding.searching() as seed:
        def seeded(draw):
            seed()
            return evaluate(draw)
        return smallest(recorded[len(answers) - 1], answers[-1], input_spec.dims, seeded, stops)


def _copied(draw):
    """A draw's copy (a draw is {"dims": {name: int}, "seed": int}: no deeper structure)."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in draw.items()}


def _in_order(draw, input_spec):
    """The draw with its dimensions in the order the spec declares them (as the feedback lists them)."""
    dims = draw["dims"]
    return dict(draw, dims={k: dims[k] for k in input_spec.dims if k in dims} | dims)


def record(run_hypothesis):
    """The draws hypothesis makes when every example passes -> [draw] (a run that evaluates nothing)."""
    draws = []

    def recording(draw):
        draws.append(copy.deepcopy(draw))
    if run_hypothesis(recording) is not None:
        raise AssertionError("a search that evaluates nothing found a problem")
    return draws


PROCESS = Memo()        # this process's own sequences (None: hypothesis evaluates, nothing is replayed)


class _Raised:
    """An example's exception, kept to be raised again where hypothesis meets that example."""

    def __init__(self, exc):
        self.exc = exc


# ---- the examples' inputs --------------------------------------------------------------------
INPUT_ENTRIES = 5000            # examples kept per process (the oldest go first)


class Inputs:
    """Every example's inputs, built once per process (they depend on the input spec and the
    draw alone), their arrays read-only so that no use can change them for the next."""

    def __init__(self):
        self.entries = {}
        self._text = PerObject(repr, INPUT_ENTRIES)     # a spec's text, the key of what it builds

    def get(self, input_spec, draw, draw_key):
        """Checks whose specs say the same (e.g. five checks of one function's five results) get
        the very same objects: a call made alike is then known to be the same call."""
        key = (self._text(input_spec), draw_key)
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        env = inputs.build(input_spec, draw)
        for value in env.values():
            _freeze(value)
        bounded(self.entries, INPUT_ENTRIES)
        self.entries[key] = env
        return env


def _frozen(value):
    """Read-only arrays only (what `INPUTS` and `REFERENCES` hand out), and numbers."""
    if isinstance(value, np.ndarray):
        return not value.flags.writeable
    if isinstance(value, (list, tuple)):
        return all(_frozen(v) for v in value)
    if isinstance(value, dict):
        return all(_frozen(v) for v in value.values())
    return True


def _freeze(value):
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _freeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)


INPUTS = Inputs()


# ---- the reference's results -------------------------------------------------------------
REFERENCE_ENTRIES = 20000       # results kept per process (the oldest go first)


class References:
    """The reference's results on examples already met, for every later submission (and every
    later use within one grading: a diagnosis, a hint). Kept only for what a plain reference
    computes from the example alone: calls by name (no object kept, no method), inputs that are
    plain data handed out by `INPUTS` or by this cache (read-only arrays: not a submission's
    values, which are rarely met twice), and runs that leave the global generators untouched (a
    reference drawing from them would meet other numbers another time)."""

    def __init__(self):
        self.entries = {}           # content key -> (steps, module, results)
        self.same = Held(REFERENCE_ENTRIES)     # the very input objects (memo.INPUTS) -> results
        self.hits = 0
        self.misses = 0

    def run(self, target, steps, env, compute):
        """The reference's env after `steps` on `env` (computed by `compute()` the first time).
        Results are shared between uses as read-only arrays (in new lists and dicts)."""
        if type(target) is not ReferenceTarget or not _pure(steps):
            return compute()
        objects, same = (steps, target.module, *env.values()), ("run", target.setting(), tuple(env))
        results = self._same(objects, same)
        if results is not None:
            return _with_results(env, results)
        if not all(_frozen(v) for v in env.values()):
            return compute()        # made of a submission's values: rarely met again, not kept
        key = self._key(target, steps, env)
        if key is None:
            return compute()
        results = self._kept(key, steps, target.module)
        if results is None:
            self.misses += 1
            seeding.settle()
            before = _generator_states()
            out = compute()
            if _generator_states() != before or not all(_plain(v) for v in out.values()):
                return out
            results = copy.deepcopy({k: v for k, v in out.items() if k not in env or v is not env[k]})
            _freeze(results)
            bounded(self.entries, REFERENCE_ENTRIES)
            # the steps and the module are held, so their ids in the key cannot be reused
            self.entries[key] = (steps, target.module, results)
        self.same.put(objects, results, same)
        return _with_results(env, results)

    def _kept(self, key, owner, module):
        """What is kept under the content key for this owner (the steps, or a check) and reference
        module, or None."""
        entry = self.entries.get(key)
        if entry is None or entry[0] is not owner or entry[1] is not module:
            return None
        self.hits += 1
        return entry[2]

    def _same(self, objects, same):
        """What is kept for these very objects (the owner, the module, the example's inputs), or None."""
        results = self.same.get(objects, same)
        if results is not None:
            self.hits += 1
        return results

    def computed(self, owner, module, env, extra, compute, shared=False):
        """`compute()`, a function of `env` and `extra` alone for this `owner` and reference
        `module` (e.g. a check's finite differences of the reference's loss) -> its value,
        computed once per example. Each use gets a copy, unless `shared`: the caller only reads
        the value (then the kept one is handed out)."""
        take = (lambda v: v) if shared else copy.deepcopy
        objects, same = (owner, module, *env.values()), ("computed", tuple(env), repr(extra))
        value = self._same(objects, same)
        if value is not None:
            return take(value)
        if not all(_plain(v) and _frozen(v) for v in env.values()):
            return compute()
        try:
            key = (id(owner), id(module), hashlib.sha256(pickle.dumps([sorted(env.items()), extra], protocol=4)).digest())
        except Exception:           # a value pickle cannot take is not plain data
            return compute()
        kept = self._kept(key, owner, module)
        if kept is not None:
            return take(self.same.put(objects, kept, same))
        self.misses += 1
        seeding.settle()
        before = _generator_states()
        value = compute()
        if _generator_states() == before and value is not None:
            bounded(self.entries, REFERENCE_ENTRIES)
            self.entries[key] = (owner, module, take(value))
            self.same.put(objects, self.entries[key][2], same)
        return value

    @staticmethod
    def _key(target, steps, env):
        if type(target) is not ReferenceTarget or not _pure(steps):
            return None
        if not all(_plain(v) for v in env.values()):
            return None
        try:
            data = pickle.dumps([sorted(env.items()), sorted(target.overrides.items()),
                                 sorted(target.files.items())], protocol=4)
        except Exception:           # a value pickle cannot take is not plain data
            return None
        return id(steps), id(target.module), hashlib.sha256(data).digest()


def _with_results(env, results):
    out = dict(env)
    # new lists, tuples and dicts around the same read-only arrays and numbers
    out.update((k, map_values(v, _same)) for k, v in results.items())
    return out


def _same(v):
    return v


_PURE_OPS = ("call", "mean", "dot", "item", "eval")
# Calls by name and harness steps only (no object kept, no method): worked out once per steps list.
_pure = PerObject(lambda steps: all(s.op in _PURE_OPS and "." not in s.target for s in steps))
_PLAIN = (bool, int, float, str, bytes, type(None), np.integer, np.floating, np.bool_)


def _plain(v):
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "biuf" and type(v) is np.ndarray
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    return isinstance(v, _PLAIN)


def _generator_states():
    state = np.random.get_state(legacy=False)
    return random.getstate(), state["state"]["pos"], state["state"]["key"].tobytes(), state["has_gauss"]


REFERENCES = References()
