"""Loading untrusted pickles (a submitted `assignment2.pkl`, a fixture, published course data):
only NumPy arrays, dtypes, and builtin containers and numbers, each rebuilt only from the
arguments NumPy and Python themselves write; nothing else is resolved and no code runs.
"""
import _compat_pickle
import io
import os
import pickle

import numpy as np


# A pickle refers to an object it already built by a few bytes, so a tiny file can describe a
# structure whose expansion (what np.array or a walk of it would build) is astronomically large:
# at most this many values, counting every reference, are accepted (80 MB as float64).
MAX_EXPANDED_VALUES = 10_000_000
MAX_DEPTH = 20


class UnsafePickle(Exception):
    """A submitted pickle refers to something other than arrays, dtypes and builtins."""


#
# A pickle names the callables that rebuild it; the unpickler below resolves only the few that
# NumPy arrays, dtypes and builtin containers need, each wrapped so that its arguments cannot
# make it do anything else (no lazy iterables, no huge empty allocations, no other codec).

class _NdarrayClass:
    """Stands for numpy.ndarray in a submitted pickle: only _reconstruct may use it."""

    def __init__(self, *args, **kwargs):
        raise UnsafePickle("the pickle calls numpy.ndarray directly (nothing was executed)")


def _reconstruct(subtype, shape, dtype):
    # NumPy pickles every array as _reconstruct(ndarray, (0,), b'b') + its state: anything else
    # (a subclass, or a big empty array to fill memory) is not an array NumPy wrote.
    if subtype is not _NdarrayClass or tuple(shape) != (0,) or dtype not in (b"b", "b"):
        raise UnsafePickle("an ndarray rebuilt with unexpected arguments (only plain arrays are "
                           "accepted; nothing was executed)")
    return np.ndarray.__new__(np.ndarray, (0,), "b")


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickle("a NumPy scalar of a non-numeric dtype (nothing was executed)")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise UnsafePickle("a NumPy scalar without its bytes (nothing was executed)")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _frombuffer(buf, dtype, shape, order):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickle("an array of a non-numeric dtype (nothing was executed)")
    if not isinstance(buf, (bytes, bytearray)):
        raise UnsafePickle("an array without its bytes (nothing was executed)")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def _dtype(obj, align=False, copy=False):
    if not isinstance(obj, str) or len(obj) > 64:
        raise UnsafePickle("a NumPy dtype described by something other than its name (nothing was executed)")
    dtype = np.dtype(obj, bool(align), bool(copy))
    if dtype.hasobject:
        raise UnsafePickle("object arrays are not accepted (nothing was executed)")
    return dtype


def _checked(name, build, *signatures):
    """`build`, callable only with arguments of one of the given type signatures."""
    def call(*args):
        for sig in signatures:
            if len(args) == len(sig) and all(isinstance(a, t) for a, t in zip(args, sig)):
                return build(*args)
        got = ", ".join(type(a).__name__ for a in args)
        raise UnsafePickle(f"{name}({got}) in the pickle is not accepted (nothing was executed)")
    return call


def _encode(text, encoding="utf-8"):
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickle("bytes encoded by an unexpected codec (nothing was executed)")
    return text.encode("latin-1")


_NUM = (int, float)
_SEQ = (list, tuple, frozenset, set)
_ALLOWED = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _reconstruct
    _ALLOWED[(_mod, "scalar")] = _scalar
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_mod, "_frombuffer")] = _frombuffer
_ALLOWED.update({
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _dtype,
    ("builtins", "complex"): _checked("complex", complex, (), _NUM, (_NUM, _NUM)),
    ("builtins", "set"): _checked("set", set, (), (_SEQ,)),
    ("builtins", "frozenset"): _checked("frozenset", frozenset, (), (_SEQ,)),
    ("builtins", "bytes"): _checked("bytes", bytes, ()),
    ("builtins", "bytearray"): _checked("bytearray", bytearray, (), (bytes,), (str, str)),
    ("collections", "OrderedDict"): _checked("OrderedDict", dict, (), ((list, tuple),)),
    ("_codecs", "encode"): _checked("_codecs.encode", _encode, (str, str)),
})


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        # Python 2 names (protocols 0-2), mapped as the standard find_class maps them
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module.startswith("numpy.dtypes") and name.endswith("DType"):
            raise UnsafePickle(f"the pickle refers to {module}.{name} (save arrays, not dtype classes); "
                               "nothing was executed")
        raise UnsafePickle(f"the pickle refers to {module}.{name}; only NumPy arrays, dtypes and "
                           "builtin containers and numbers are accepted (nothing was executed)")


def restricted_load(path_or_bytes, max_bytes=256 * 1024 ** 2):
    """Load a pickle accepting only arrays, dtypes, builtin containers and numbers."""
    data = path_or_bytes
    if not isinstance(data, (bytes, bytearray)):
        if os.path.getsize(path_or_bytes) > max_bytes:
            raise UnsafePickle(f"the file is larger than {max_bytes} bytes")
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    try:
        obj = _Restricted(io.BytesIO(data)).load()
    except UnsafePickle:
        raise
    except RecursionError:
        raise UnsafePickle("nested too deeply") from None
    except Exception as exc:
        raise UnsafePickle(f"not a readable pickle: {type(exc).__name__}: {exc}") from None
    _check_plain(obj)
    return obj


def _check_plain(obj):
    """Reject object arrays anywhere, and structures that expand to more than MAX_EXPANDED_VALUES
    values. Each container is visited once (shared references are how a crafted pickle asks for
    an exponential walk); its expanded size is the sum over its items, references counted."""
    sizes = {}

    def expanded(v, depth):
        if depth > MAX_DEPTH:
            raise UnsafePickle("nested too deeply")
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise UnsafePickle("object arrays are not accepted")
            return max(1, v.size)
        if not isinstance(v, (dict, list, tuple, set, frozenset)):
            return 1
        if id(v) not in sizes:
            items = list(v.keys()) + list(v.values()) if isinstance(v, dict) else v
            total = 1
            for x in items:
                total += expanded(x, depth + 1)
                if total > MAX_EXPANDED_VALUES:
                    raise UnsafePickle(f"it expands to more than {MAX_EXPANDED_VALUES:,} values (shared "
                                       "references nested many times: a pickle bomb); nothing was built")
            sizes[id(v)] = total
        return sizes[id(v)]

    expanded(obj, 0)
