"""What a batch computes once for all its submissions: the examples a check's search generates.

A check's examples come from hypothesis, seeded with the check's seed (`search`). For a
submission that passes every example, hypothesis draws the same sequence whatever the
submission is: the draws depend only on the input spec's dimensions, the seed, the number of
examples and whether shrinking is on. Drawing them costs about as much as running the student
code on them, so a batch records the sequence once (`Memo.examples`, from the first search
that passes all of them, normally the reference's own grading before the batch starts) and then
evaluates later submissions on the recorded draws, in the same order, without hypothesis.

The memo never changes a verdict; every submission meets the calls it would meet alone, each
replayed example in the context hypothesis gives it (the global generators seeded alike):
- all recorded draws pass: hypothesis would have drawn exactly these and found nothing;
- draw k fails with a failure that stops the search: hypothesis would have stopped there too;
- draw k fails otherwise (or raises): hypothesis runs as in single grading (it must shrink), and its first
  k+1 calls, which are the recorded draws, are answered with what the submission already gave
  on them instead of being run again (student code may keep state between calls: running
  them twice would not be what single grading does). A draw that differs from the recorded one
  is run on the submission and counted (`Memo.diverged`): the tests hold it at zero.

Single grading has no memo (`ACTIVE` is None) and runs hypothesis as always.
"""
import copy
import hashlib
import json

ACTIVE = None           # the Memo of the batch this process grades for, or None


class Memo:
    """Recorded example sequences, keyed by `key()`; counters say how often they served."""

    def __init__(self):
        self.examples = {}          # key -> [draw, ...] of a search that passed every draw
        self.replayed = 0           # searches answered from a recorded sequence
        self.recorded = 0           # sequences recorded
        self.fell_back = 0          # searches that had to run hypothesis (a draw failed)
        self.diverged = 0           # hypothesis drew otherwise than recorded (must stay 0)

    def stats(self):
        return {"sequences": len(self.examples), "replayed": self.replayed, "recorded": self.recorded,
                "hypothesis_runs_after_a_failure": self.fell_back, "diverged": self.diverged}


def key(input_spec, seed, max_examples, shrink):
    """What hypothesis's draws depend on: the dimensions' names and ranges (the strategy of
    `inputs.strategy`), the seed, the example budget and the phases."""
    dims = [[name, int(lo), int(hi)] for name, (lo, hi) in input_spec.dims.items()]
    text = json.dumps([dims, int(seed) if seed is not None else None, int(max_examples), bool(shrink)])
    return hashlib.sha256(text.encode()).hexdigest()


def _as_hypothesis_runs_it():
    """What hypothesis runs each example in: the global generators (`random`, NumPy's) seeded
    alike and restored afterwards (a reference drawing from them meets the same numbers)."""
    from hypothesis.internal.entropy import deterministic_PRNG     # hypothesis is pinned
    return deterministic_PRNG()


def generated(input_spec, seed, max_examples, shrink, evaluate, stops, run_hypothesis):
    """The generated part of a search -> the Problem hypothesis reports, or None.

    `evaluate(draw) -> Problem | None`; `stops(problem)`: the problem ends the search at once
    (no shrinking); `run_hypothesis(evaluate) -> Problem | None` runs hypothesis as single
    grading does."""
    memo = ACTIVE
    if memo is None:
        return run_hypothesis(evaluate)
    k = key(input_spec, seed, max_examples, shrink)
    recorded = memo.examples.get(k)
    if recorded is None:
        draws = []

        def recording(draw):
            draws.append(copy.deepcopy(draw))
            return evaluate(draw)
        problem = run_hypothesis(recording)
        if problem is None:
            memo.examples[k] = draws
            memo.recorded += 1
        return problem
    answers = []
    for draw in recorded:
        try:
            with _as_hypothesis_runs_it():
                problem = evaluate(copy.deepcopy(draw))
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
    if not isinstance(answers[-1], _Raised) and stops(answers[-1]):
        memo.replayed += 1
        return answers[-1]
    memo.fell_back += 1
    calls = [0]

    def answered(draw):
        i = calls[0]
        calls[0] += 1
        if i < len(answers):
            if draw == recorded[i]:
                if isinstance(answers[i], _Raised):
                    raise answers[i].exc
                return answers[i]
            memo.diverged += 1
        return evaluate(draw)
    return run_hypothesis(answered)


class _Raised:
    """An example's exception, kept to be raised again where hypothesis meets that example."""

    def __init__(self, exc):
        self.exc = exc
