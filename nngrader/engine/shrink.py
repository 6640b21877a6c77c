"""Making a failing example small: what the feedback shows is the smallest failing example found
from the first one that failed.

An example is a draw {"dims": {name: size}, "seed": n} (`inputs.strategy`); smaller sizes make
an example easier to read and to reproduce by hand. The shrinker is greedy and deterministic:
each dimension in turn goes to its minimum if the example still fails there, else to the
smallest size a halving search finds failing; then an earlier dimension is lowered by what a
later one is raised, where the example still fails (the order hypothesis prefers: the earlier
draws smaller); then the seed becomes 0 if the example still fails with it; passes repeat while
anything got smaller, within `BUDGET` evaluations. Any
failure counts (as in hypothesis, a different mismatch on a smaller example is still a
failure); a failure that ends a search (`search.FATAL`: a timeout, a crash...) ends the
shrinking at once and is the answer, as it ends hypothesis's search.
"""
import copy

BUDGET = 64             # evaluations at most, after the first failure


def smallest(draw, problem, dims, evaluate, stops):
    """-> the Problem of the smallest failing example found from `draw` (failing with `problem`).

    `dims`: {name: (lowest, highest)} in the order the strategy draws them; `evaluate(draw) ->
    Problem | None`; `stops(problem)`: a failure that ends the search."""
    best, found = copy.deepcopy(draw), problem
    spent = 0

    def fails(candidate):
        nonlocal spent
        spent += 1
        return evaluate(copy.deepcopy(candidate))

    changed = True
    while changed and spent < BUDGET:
        changed = False
        for name, (lowest, _) in dims.items():
            size = best["dims"][name]
            passing = None          # the largest size below `size` seen passing
            for trial in _sizes(lowest, size, lambda: passing):
                if spent >= BUDGET:
                    break
                candidate = _with_dim(best, name, trial)
                got = fails(candidate)
                if got is not None and stops(got):
                    return got
                if got is None:
                    passing = trial
                    continue
                best, found, size, changed = candidate, got, trial, True
                if trial == lowest:
                    break
        # as hypothesis orders examples (shortlex over the draws): an earlier dimension lowered
        # by what a later one is raised, e.g. (d1, d2) = (2, 1) -> (1, 2)
        names = list(dims)
        for i, first in enumerate(names):
            for later in names[i + 1:]:
                lowest, highest = dims[first][0], dims[later][1]
                moved = min(best["dims"][first] - lowest, highest - best["dims"][later])
                if moved <= 0 or spent >= BUDGET:
                    continue
                candidate = _with_dim(_with_dim(best, first, best["dims"][first] - moved), later,
                                      best["dims"][later] + moved)
                got = fails(candidate)
                if got is not None and stops(got):
                    return got
                if got is not None:
                    best, found, changed = candidate, got, True
        if best.get("seed") and spent < BUDGET:
            candidate = dict(copy.deepcopy(best), seed=0)
            got = fails(candidate)
            if got is not None and stops(got):
                return got
            if got is not None:
                best, found, changed = candidate, got, True
    return found


def _sizes(lowest, size, passing):
    """The sizes to try below `size`: the minimum, then halving between the largest size seen
    passing (`passing()`) and the smallest seen failing."""
    if size <= lowest:
        return
    yield lowest
    low = passing()
    while low is not None and size - low > 1:
        mid = (low + size) // 2
        yield mid
        if passing() == mid:
            low = mid
        else:
            size = mid


def _with_dim(draw, name, size):
    out = copy.deepcopy(draw)
    out["dims"][name] = size
    return out
