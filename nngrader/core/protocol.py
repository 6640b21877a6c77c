"""The protocol between the grading side and the student worker: one module, standard library
only, loaded by both. The worker loads it by file path (it cannot import the `nngrader`
package), so nothing here may import anything but the standard library.

Frames: an 8-byte little-endian length, then a pickle (protocol 4).
- Requests (grading side -> worker, a trusted direction) are dicts with an `op` (`Op`).
- Replies (worker -> grading side) hold builtins only: `(REPLY_OK, value, meta)` or
  `(REPLY_ERROR, {"category", "type", "message", "traceback"})`. Arrays and other non-builtin
  values travel as tagged tuples (`Tag`), so the grading side unpickles with no globals at all.
"""
import enum
import os
import struct

HEADER = struct.Struct("<Q")
PICKLE_PROTOCOL = 4
REPLY_OK = "ok"
REPLY_ERROR = "error"
READY = "ready"                 # the worker's first frame: started, no student code run yet


class Op:
    """What a request asks the worker to do (the worker's method is `op_<value>`). Plain
    strings, not an Enum: frames are pickled, and an Enum member would pickle as a global."""
    LOAD = "load"
    CALL = "call"
    GETATTR = "getattr"
    SETATTR = "setattr"
    RELEASE = "release"
    RUN_PROGRAM = "run_program"
    # {"op": RESEED, "seed": int or None}: seed the generators the submission draws from without
    # a seed of its own (None: only mark their state) -> whether anything drew from them since
    # they were last seeded or marked
    RESEED = "reseed"
    # {"op": BATCH, "requests": [request, ...]}: run them in order, one reply frame each, and
    # stop after the first reply that is not REPLY_OK (no frame follows it)
    BATCH = "batch"


class Tag:
    """Markers of tagged tuples on the wire, in both directions (plain strings, as Op)."""
    ND = "__nd__"               # (ND, dtype str, shape, bytes[, "scalar"]): a plain array
    TUPLE = "__tuple__"         # (TUPLE, items): a tuple (a bare tuple is a list of values)
    DICT = "__dict__"           # (DICT, [(key, value), ...])
    HANDLE = "__handle__"       # (HANDLE, id[, type name]): an object kept in the worker
    OPAQUE = "__opaque__"       # (OPAQUE, type name, text): a value that may not cross
    STUDENT = "__student__"     # (STUDENT, name): the submission's own function NAME
    PROBE = "__probe__"         # (PROBE, name): a harness probe activation
    RESULT = "__result__"       # (RESULT, k, item or None): in a batch, what its request k returned


class FailureKind(str, enum.Enum):
    """Why student code did not produce a value. The worker sends `.value` (a plain string);
    the grading side reads it back with FailureKind(text)."""
    NOT_IMPLEMENTED = "not_implemented"     # raised NotImplementedError (a template body)
    MISSING = "missing"                     # the contract's name is not defined
    EXCEPTION = "exception"                 # raised anything else
    SYNTAX = "syntax"                       # the file does not compile
    IMPORT = "import"                       # importing the submission raised
    TIMEOUT = "timeout"                     # a call ran past its time limit
    DIED = "died"                           # the worker process exited or was killed
    MEMORY = "memory"                       # ran out of its memory limit
    BUDGET = "budget"                       # the submission's total time budget is used up
    WRONG_TYPE = "wrong_type"               # returned something that is not plain data
    PROTOCOL = "protocol"                   # the worker sent something unreadable or forged

    def __str__(self):
        return self.value


def frame(data):
    """bytes -> one frame (length header + bytes)."""
    return HEADER.pack(len(data)) + data


def read_exact(fd, n):
    """Read exactly n bytes from a blocking fd (EOFError when the writer is gone)."""
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def send(fd, obj, pickle):
    """Write obj as one frame to a blocking fd (`pickle` is passed in: the worker imports it late)."""
    view = memoryview(frame(pickle.dumps(obj, protocol=PICKLE_PROTOCOL)))
    while view:
        view = view[os.write(fd, view):]


def receive(fd, pickle):
    """Read one frame from a blocking fd and unpickle it (trusted direction only)."""
    (n,) = HEADER.unpack(read_exact(fd, HEADER.size))
    return pickle.loads(read_exact(fd, n))


# ---- probe activations ------------------------------------------------------------------
# Smooth, non-trivial stand-ins handed to a student's layer code instead of the student's own
# activations, so a layer is graded apart from them. Defined once, here, as factories of the
# NumPy module: the worker builds them with its NumPy, the grading side with its own.

def _the_argument(args, kwargs):
    """A probe takes one array, passed by position or by any keyword: the handouts call an
    activation `activation_fn(s)`, and students also write `activation_fn(z=s)` or `(x=s)`."""
    values = list(args) + list(kwargs.values())
    if len(values) != 1:
        raise TypeError(f"a harness activation takes exactly one array (positional or keyword), "
                        f"got {len(args)} positional and {sorted(kwargs)} keyword arguments")
    return values[0]


def _cubic(np):
    def cubic_activation(*args, **kwargs):
        """(s^3/3 + s, s^2 + 1): strictly increasing, gradient never 0 or 1."""
        s = np.asarray(_the_argument(args, kwargs), dtype=np.float64)
        return s ** 3 / 3.0 + s, s ** 2 + 1.0
    return cubic_activation


def _softsign(np):
    def softsign_activation(*args, **kwargs):
        """(s / (1 + |s|), 1 / (1 + |s|)^2)."""
        s = np.asarray(_the_argument(args, kwargs), dtype=np.float64)
        return s / (1.0 + np.abs(s)), 1.0 / (1.0 + np.abs(s)) ** 2
    return softsign_activation


def _identity(np):
    def identity_activation(*args, **kwargs):
        """(s, 1)."""
        s = np.asarray(_the_argument(args, kwargs), dtype=np.float64)
        return s.copy(), np.ones_like(s)
    return identity_activation


def _squash(np):
    def squash_activation(*args, **kwargs):
        """((1 + s / (1 + |s|)) / 2, 1 / (2 (1 + |s|)^2)): values in (0, 1) like a probability,
        for a layer whose output feeds a log-loss, yet not the sigmoid."""
        s = np.asarray(_the_argument(args, kwargs), dtype=np.float64)
        return 0.5 + 0.5 * s / (1.0 + np.abs(s)), 0.5 / (1.0 + np.abs(s)) ** 2
    return squash_activation


PROBE_FACTORIES = {"cubic": _cubic, "softsign": _softsign, "identity": _identity, "squash": _squash}
