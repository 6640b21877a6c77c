"""Decoding what comes back from the student worker, and loading untrusted pickles.

Nothing from the worker is unpickled with globals: its replies are builtins only, and arrays
are rebuilt here from (dtype, shape, bytes) as plain ndarrays. A submitted pickle file goes
through `restricted_load`, which accepts NumPy arrays, dtypes and builtin containers only.
"""
import io
import pickle

import numpy as np


class WireError(Exception):
    """A reply from the worker that is not well-formed (corrupted or forged protocol)."""


class UnsafePickle(Exception):
    """A submitted pickle refers to something other than arrays, dtypes and builtins."""


class Handle:
    """An opaque student object kept in the worker (a cache, a module instance)."""

    def __init__(self, hid, type_name):
        self.hid = hid
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object kept in the submission's process>"


class Opaque:
    """A value of a type that may not cross the boundary (reported as a wrong type)."""

    def __init__(self, type_name, text):
        self.type_name = type_name
        self.text = text

    def __repr__(self):
        return f"<{self.type_name}>"


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise WireError(f"reply refers to {module}.{name}")


def loads_reply(data):
    """Unpickle a worker reply allowing no globals at all."""
    try:
        return _NoGlobals(io.BytesIO(data)).load()
    except WireError:
        raise
    except Exception as exc:
        raise WireError(f"unreadable reply: {type(exc).__name__}: {exc}") from None


def decode(value):
    """Rebuild plain values: arrays as base-class ndarrays owning their data."""
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        tag = value[0]
        if tag == "__nd__":
            _, dtype_str, shape, raw = value[:4]
            dtype = np.dtype(dtype_str)
            if dtype.kind not in "biuf" or dtype.hasobject:
                raise WireError(f"array of dtype {dtype}")
            shape = tuple(int(s) for s in shape)
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if count * dtype.itemsize != len(raw):
                raise WireError("array bytes do not match its shape")
            arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
            return arr
        if tag == "__tuple__":
            return tuple(decode(v) for v in value[1])
        if tag == "__dict__":
            return {_key(decode(k)): decode(v) for k, v in value[1]}
        if tag == "__handle__":
            return Handle(value[1], value[2])
        if tag == "__opaque__":
            return Opaque(value[1], value[2])
        return tuple(decode(v) for v in value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"unexpected {type(value).__name__} in reply")


def _key(k):
    return k if isinstance(k, (str, int, float, bool, tuple)) else repr(k)


# ---- submitted pickle files ------------------------------------------------------------

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "bytearray"), ("builtins", "slice"), ("builtins", "range"),
    ("collections", "OrderedDict"), ("_codecs", "encode"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickle(f"the pickle refers to {module}.{name}; only NumPy arrays, dtypes and "
                           "builtin containers and numbers are accepted (nothing was executed)")


def restricted_load(path_or_bytes):
    """Load a pickle accepting only arrays, dtypes, builtin containers and numbers."""
    data = path_or_bytes
    if not isinstance(data, (bytes, bytearray)):
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    try:
        obj = _Restricted(io.BytesIO(data)).load()
    except UnsafePickle:
        raise
    except Exception as exc:
        raise UnsafePickle(f"not a readable pickle: {type(exc).__name__}: {exc}") from None
    _reject_object_arrays(obj)
    return obj


def _reject_object_arrays(obj, depth=0):
    if depth > 20:
        raise UnsafePickle("nested too deeply")
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise UnsafePickle("object arrays are not accepted")
    if isinstance(obj, dict):
        for v in obj.values():
            _reject_object_arrays(v, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            _reject_object_arrays(v, depth + 1)
