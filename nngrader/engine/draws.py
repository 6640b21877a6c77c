"""Hypothesis's draws of an assignment, stored beside its fixtures (`fixtures/<id>/draws.json`).

Every search evaluates the draws hypothesis makes for its dimensions, seed and example budget
(`memo`): the same for every submission and every machine with the same hypothesis. Recording
them costs a grading about 0.4 s (loading hypothesis and running it once per search); stored,
they are read instead. `grader.py fixtures regen` writes the file from the reference's grading
with hypothesis itself (`grading.record_draws`); a grading loads it (`preload`) when it was made by the installed
hypothesis, and records with hypothesis whatever it does not hold (a check added or changed
since: its key is another).

Each stored sequence carries what its key is made of (the dimensions' ranges, the seed, the
budget, shrinking), and is used only when that key is its own and every draw lies in those
ranges: a damaged or hand-edited file can never make a search evaluate fewer or other examples
than it says, and a file that does not read is left aside with a warning.
"""
import json
import os
import sys
from importlib import metadata

from nngrader.engine import memo

FILE = "draws.json"
FORMAT = 1


def path(asg):
    return os.path.join(asg.course.fixtures_dir, asg.id, FILE)


def hypothesis_version():
    """The installed hypothesis's version, without importing it (0.2 s)."""
    try:
        return metadata.version("hypothesis")
    except metadata.PackageNotFoundError:
        return None


def write(asg, sequences):
    """Store `sequences` (`grading.record_draws`: every search's draws, as hypothesis makes them)
    -> (path, number of sequences)."""
    data = {"format": FORMAT, "hypothesis": hypothesis_version(),
            "sequences": [dict(v, key=k) for k, v in sorted(sequences.items())]}
    target = path(asg)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, target)
    return target, len(sequences)


def check(asg, sequences):
    """The stored draws against `sequences` (`grading.record_draws`, what hypothesis makes now) ->
    problem lines, [] when the file holds every search's draws as hypothesis makes them."""
    where = asg.course.relative(path(asg))
    fix = f"remake it with `python grader.py fixtures --assignment {asg.id}`"
    try:
        with open(path(asg), encoding="utf-8") as f:
            data = json.load(f)
        stored = _valid(data)
    except FileNotFoundError:
        return [f"{where}: missing (hypothesis records the examples at every grading instead); {fix}"]
    except (OSError, ValueError) as exc:
        return [f"{where}: does not read ({exc}); {fix}"]
    if data.get("hypothesis") != hypothesis_version():
        return [f"{where}: made by hypothesis {data.get('hypothesis')}, this machine has "
                f"{hypothesis_version()} (the file is not read); {fix}"]
    stale = sorted(k for k, v in sequences.items() if stored.get(k) != v["draws"])
    return [f"{where}: {len(stale)} of {len(sequences)} searches' draws are not hypothesis's now; {fix}"] if stale else []


def preload(asg):
    """Put the assignment's stored draws into this process's memo (once per memo) -> how many
    sequences it holds from the file, now or since an earlier grading read it (0: none, or the
    file is absent, stale or damaged)."""
    held = memo.ACTIVE if memo.ACTIVE is not None else memo.PROCESS
    where = path(asg)
    if held is None or None in held.preloaded:
        return 0
    if where in held.preloaded:
        return held.preloaded[where]        # read by an earlier grading in this process
    held.preloaded[where] = 0
    if not os.path.exists(where):
        return 0
    try:
        with open(where, encoding="utf-8") as f:
            data = json.load(f)
        sequences = _valid(data)
    except (OSError, ValueError) as exc:
        print(f"nngrader: {asg.course.relative(where)} is left aside ({exc}); hypothesis records the "
              f"examples instead. Remake it with `python grader.py fixtures --assignment {asg.id}`.",
              file=sys.stderr)
        return 0
    if data.get("hypothesis") != hypothesis_version():
        return 0                # another hypothesis may draw otherwise: it records for itself
    for key, draws in sequences.items():
        held.examples.setdefault(key, draws)
    held.stored += len(sequences)
    held.preloaded[where] = len(sequences)
    return len(sequences)


def _valid(data):
    """The file's sequences {key: [draw]} -> ValueError naming the first thing wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sequences"), list):
        raise ValueError(f"not a format-{FORMAT} draws file")
    out = {}
    for i, s in enumerate(data["sequences"]):
        try:
            dims = {name: (lo, hi) for name, lo, hi in s["dims"]}
            key = memo.key_of(dims, s["seed"], s["max_examples"], s["shrink"])
            draws = s["draws"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"sequence {i} is incomplete ({type(exc).__name__}: {exc})") from None
        if key != s.get("key"):
            raise ValueError(f"sequence {i}: its key is not the one its fields make")
        if not isinstance(draws, list) or not 1 <= len(draws) <= s["max_examples"]:
            raise ValueError(f"sequence {i}: expected 1 to {s['max_examples']} draws")
        for d in draws:
            if (not isinstance(d, dict) or set(d) != {"dims", "seed"} or not isinstance(d["dims"], dict)
                    or list(d["dims"]) != list(dims) or not _int_in(d["seed"], 0, 2 ** 32 - 1)
                    or not all(_int_in(d["dims"][n], lo, hi) for n, (lo, hi) in dims.items())):
                raise ValueError(f"sequence {i}: a draw outside its dimensions' ranges: {d!r}"[:200])
        out[key] = draws
    return out


def _int_in(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
