"""Decoding what comes back from the student worker.

Nothing from the worker is unpickled with globals: its replies are builtins only, and arrays
are rebuilt here from (dtype, shape, bytes) as plain ndarrays (tags: `core.protocol.Tag`).
"""
import io
import math
import pickle

import numpy as np

from nngrader.core.protocol import Tag


class WireError(Exception):
    """A reply from the worker that is not well-formed (corrupted or forged protocol)."""


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


MAX_DEPTH = 64
MAX_DTYPES = 64                 # dtype strings kept, once checked to be numbers
_DTYPES = {}                    # dtype string -> its (number) dtype


def decode(value, depth=0):
    """Rebuild plain values: arrays as base-class ndarrays owning their data."""
    if depth > MAX_DEPTH:
        raise WireError("reply nested too deeply")
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        tag = value[0]
        if tag == Tag.ND:
            _, dtype_str, shape, raw = value[:4]
            dtype = _DTYPES.get(dtype_str) if type(dtype_str) is str else None
            if dtype is None:
                dtype = np.dtype(dtype_str)
                if dtype.kind not in "biuf" or dtype.hasobject:
                    raise WireError(f"array of dtype {dtype}")
                if type(dtype_str) is str and len(_DTYPES) < MAX_DTYPES:
                    _DTYPES[dtype_str] = dtype
            if type(shape) is not tuple or not all(type(s) is int for s in shape):
                shape = tuple(int(s) for s in shape)
            if shape and min(shape) < 0:
                raise WireError("array with a negative dimension")
            # Python integers: no overflow to fake a match
            if math.prod(shape) * dtype.itemsize != len(raw):
                raise WireError("array bytes do not match its shape")
            try:
                return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
            except ValueError as exc:
                raise WireError(f"array of shape {shape}: {exc}") from None
        if tag == Tag.TUPLE:
            return tuple([decode(v, depth + 1) for v in value[1]])
        if tag == Tag.DICT:
            return {_key(decode(k, depth + 1)): decode(v, depth + 1) for k, v in value[1]}
        try:
            if tag == Tag.HANDLE:
                return Handle(value[1], str(value[2])[:100])
            if tag == Tag.OPAQUE:
                return Opaque(str(value[1])[:200], str(value[2])[:200])
        except IndexError:
            raise WireError(f"unreadable {tag} in reply") from None
        return tuple(decode(v, depth + 1) for v in value)
    if isinstance(value, tuple):
        return tuple(decode(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"unexpected {type(value).__name__} in reply")


def _key(k):
    return k if isinstance(k, (str, int, float, bool, tuple)) else repr(k)
