"""Small caches the engine keeps per process: dicts bounded in size (the oldest entry goes first),
and values worked out once per object (found by identity, the object held so that its id stays
its own)."""


def bounded(entries, limit):
    """Make room for one more entry in the dict `entries`: when it holds `limit`, the oldest goes."""
    if len(entries) >= limit:
        entries.pop(next(iter(entries)))


class PerObject:
    """`per_object(obj)` -> `compute(obj)`, worked out once for each object."""

    def __init__(self, compute, limit=10000):
        self.compute, self.limit, self.entries = compute, limit, {}

    def __call__(self, obj):
        held = self.entries.get(id(obj))
        if held is None or held[0] is not obj:
            bounded(self.entries, self.limit)
            held = self.entries[id(obj)] = (obj, self.compute(obj))
        return held[1]
