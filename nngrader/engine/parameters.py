"""Checking parameters a submission returns or submits (trained weights): their shapes, with free
symbols bound to the first size they meet, and a score the reference computes from them (an
accuracy on held-back data). Shared by the `support` and `submitted_pickle` kinds.
"""
import itertools

import numpy as np

from nngrader.core.errors import HarnessBug, SpecError
from nngrader.core.model import number
from nngrader.engine import comparison, scenario, search


def parse_shapes(where, raw, dims):
    if not isinstance(raw, dict):
        where.fail("a mapping name -> shape (or list of accepted shapes)", raw)
    out = {}
    for name, sh in raw.items():
        alts = sh if (isinstance(sh, list) and sh and isinstance(sh[0], list)) or sh == [[]] else [sh]
        for j, a in enumerate(alts):
            if not isinstance(a, list) or not all(isinstance(d, int) or d in dims or isinstance(d, str) for d in a):
                where.at(name).fail("a shape like [H, 3] or a list of accepted shapes", sh)
        out[name] = alts
    return out


def parse_score(where, raw):
    score = scenario.parse_steps(where.at("score_steps"), raw["score_steps"]) if "score_steps" in raw else []
    if score and "accuracy" not in scenario.result_names(score):
        raise SpecError(f"{where.at('score_steps')}: the score steps must return a value named `accuracy`.")
    return score, number(where.at("min_accuracy"), raw.get("min_accuracy", 0.0), nonneg=True)


def check_shapes(values, shapes, dims):
    """-> list of problems; free symbols (not in dims) bind to the first size they meet."""
    bound = dict(dims)
    problems = []
    for name, alts in shapes.items():
        arr, bad = comparison.coerce(values.get(name))
        if bad:
            problems.append(f"{name}: expected an array, received {bad}")
            continue
        ok = False
        for alt in alts:
            if len(alt) != arr.ndim:
                continue
            trial = dict(bound)
            if all((trial.setdefault(d, s) == s) if isinstance(d, str) else d == s for d, s in zip(alt, arr.shape)):
                bound, ok = trial, True
                break
        if not ok:
            text = " or ".join(str(tuple(bound.get(d, d) for d in a)) for a in alts)
            problems.append(f"{name}: shape {arr.shape}, expected {text}")
        elif not np.isfinite(arr).all():
            problems.append(f"{name}: contains NaN or inf")
    return problems


def score(ctx, cfg, values):
    env = search.run_reference(ctx.reference(), cfg.score_steps, values)
    acc = float(np.asarray(env["accuracy"]).reshape(-1)[0])
    if not 0.0 <= acc <= 1.0:
        raise HarnessBug(f"the reference's score steps returned accuracy {acc!r}, not a fraction in [0, 1]")
    return acc


def reordered(ctx, cfg, values, names, max_names=6):
    """Evidence that a call returned its results `names` in another order: the one order, other
    than as returned, under which the values have the shapes asked and reach `min_accuracy` ->
    (that order position by position, the accuracy), or None (no such order, several, more than
    `max_names` results, or no score to tell them apart). Only orders that fit the shapes are scored."""
    if not cfg.score_steps or not 2 <= len(names) <= max_names or not all(n in values for n in names):
        return None
    found = []
    for perm in itertools.permutations(range(len(names))):
        if perm == tuple(range(len(names))):
            continue
        permuted = dict(values, **{names[j]: values[names[i]] for i, j in enumerate(perm)})
        if check_shapes(permuted, cfg.shapes, cfg.dims):
            continue
        acc = score(ctx, cfg, permuted)
        if acc >= cfg.min_accuracy:
            found.append((tuple(names[j] for j in perm), acc))
    return found[0] if len(found) == 1 else None
