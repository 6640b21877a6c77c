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


class Held:
    """Values kept for the very objects they were made from: found by those objects' identity (and
    a key of plain values), the objects held with the value so that their ids stay theirs."""

    def __init__(self, limit):
        self.limit, self.entries = limit, {}

    def get(self, objects, key=()):
        """The value kept for these very objects and key, or None."""
        entry = self.entries.get((key, tuple(map(id, objects))))
        if entry is not None and len(entry[0]) == len(objects) and all(a is b for a, b in zip(entry[0], objects)):
            return entry[1]
        return None

    def put(self, objects, value, key=()):
        """Keep `value` (not None) for these objects and key -> value."""
        bounded(self.entries, self.limit)
        self.entries[(key, tuple(map(id, objects)))] = (tuple(objects), value)
        return value
