"""The global generators (`random`'s and NumPy's) during a search, as hypothesis runs each
example (hypothesis.internal.entropy.deterministic_PRNG, seed 0; hypothesis is pinned): seeded
alike before each example, and put back as they were when the search ends.

Only the reference can draw from them in this process (student code runs in its worker), and a
search's reference results are mostly read from `memo.REFERENCES`. So seeding waits until code
that may draw is about to run (`settle`, called by `ReferenceTarget` and before the reference's
results are computed), and the state is saved only then: a search in which no reference code
runs leaves the generators untouched and costs nothing. What any reference code meets is what
seeding at the example's start gives.
"""
import contextlib
import random

import numpy as np

PRNG_SEED = 0           # deterministic_PRNG's default, what hypothesis runs a test's examples under
_FRAMES = []            # one per search in progress: [the state saved before seeding (or None), seed due]


@contextlib.contextmanager
def searching():
    """A search's examples: call the yielded function before each (it marks the seeding due)."""
    frame = [None, False]
    _FRAMES.append(frame)
    try:
        yield _example_starts
    finally:
        _FRAMES.pop()
        if frame[0] is not None:
            random.setstate(frame[0][0])
            np.random.set_state(frame[0][1])


def _example_starts():
    _FRAMES[-1][1] = True


def settle():
    """Before code that may draw from the global generators runs: within a search, seed them if
    the example has not yet (saving the state the search found, once)."""
    if not _FRAMES or not _FRAMES[-1][1]:
        return
    frame = _FRAMES[-1]
    if frame[0] is None:
        frame[0] = (random.getstate(), np.random.get_state())
    frame[1] = False
    random.seed(PRNG_SEED)
    np.random.seed(PRNG_SEED)
