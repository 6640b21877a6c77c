"""nngrader/boundary/safe_pickle.py and wire.py: submitted pickles load only arrays, dtypes,
builtin containers and numbers, and nothing in them runs; worker replies are plain data or
refused."""
import collections
import os
import pickle

import numpy as np
import pytest

from nngrader.boundary import wire
from nngrader.boundary import safe_pickle


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


PLAIN = {"W1": np.arange(12.0).reshape(3, 4), "b1": np.zeros(3, dtype=np.float32), "W2": np.ones((1, 3)),
         "b2": np.float64(0.5), "fortran": np.asfortranarray(np.ones((2, 3))), "ints": np.arange(4, dtype=np.int8),
         "flags": np.array([True, False]), "zero_d": np.array(2.0), "empty": np.zeros((0, 3)),
         "f32": np.float32(1.5), "list": [np.arange(3), 1, 2.5, "text", None, True], "tuple": (1, (2, 3)),
         "set": {1, 2}, "frozen": frozenset([3]), "complex": 1 + 2j, "bytes": b"\x00ab", "empty_bytes": b"",
         "bytearray": bytearray(b"xy"), "ordered": collections.OrderedDict(a=1)}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_loads_in_every_protocol(protocol):
    got = safe_pickle.restricted_load(pickle.dumps(PLAIN, protocol=protocol))
    assert set(got) == set(PLAIN)
    for key, want in PLAIN.items():
        if isinstance(want, (np.ndarray, np.generic)):
            assert type(got[key]) is type(want) and got[key].dtype == want.dtype
            assert np.shape(got[key]) == np.shape(want) and np.array_equal(got[key], want)
        elif key == "list":
            assert np.array_equal(got[key][0], want[0]) and got[key][1:] == want[1:]
        else:
            assert got[key] == want


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "ran"
    data = pickle.dumps({"W1": np.ones(2), "b1": RunsCode(marker)}, protocol=protocol)
    with pytest.raises(safe_pickle.UnsafePickle) as info:
        safe_pickle.restricted_load(data)
    assert "the pickle refers to posix.system" in str(info.value)
    assert "only NumPy arrays, dtypes and builtin containers and numbers are accepted" in str(info.value)
    assert "nothing was executed" in str(info.value)
    assert not marker.exists()


class Sub(np.ndarray):
    pass


@pytest.mark.parametrize("payload,message", [
    (lambda: np.array([1, "a"], dtype=object), "object arrays are not accepted"),
    (lambda: np.zeros(3).view(Sub), "test_sandbox_wire.Sub"),
    (lambda: np.ma.masked_array([1.0, 2.0]), "numpy.ma.core"),
    (lambda: {"f": eval}, "builtins.eval"),
    (lambda: {"r": range(10)}, "builtins.range"),
    (lambda: collections.Counter(a=1), "collections.Counter"),
])
def test_other_objects_are_refused(payload, message):
    with pytest.raises(safe_pickle.UnsafePickle) as info:
        safe_pickle.restricted_load(pickle.dumps(payload(), protocol=2))
    assert message in str(info.value)


# Hand-written pickles (protocol 0: readable) that call an allowed name with arguments no NumPy or
# Python pickle would use, to fill memory or time in the grading process.
CRAFTED = {
    "huge empty array": b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I100000\nI100000\ntVb\ntR.",
    "ndarray called directly": b"cnumpy\nndarray\n((I100000\nI100000\nttR.",
    "bytearray of a size": b"c__builtin__\nbytearray\n(I10000000000\ntR.",
    "set of a range": b"c__builtin__\nset\n(c__builtin__\nrange\n(I10000000000\ntRtR.",
    "another codec": b"c_codecs\nencode\n(Vx\nVrot13\ntR.",
    "not a pickle": b"\x80\x04this is not a pickle",
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_arguments_are_refused(name):
    with pytest.raises(safe_pickle.UnsafePickle):
        safe_pickle.restricted_load(CRAFTED[name])


def test_shared_references_cannot_make_the_check_exponential():
    """A billion-laughs pickle: each level holds the level below 10 times (10**18 paths). Each
    container is visited once, so the check itself is quick, and the structure is refused for
    what it would expand to; deeper nesting than any parameter file needs is refused too."""
    level = [np.ones(1)]
    for _ in range(18):
        level = [level] * 10
    with pytest.raises(safe_pickle.UnsafePickle, match="it expands to more than 10,000,000 values"):
        safe_pickle.restricted_load(pickle.dumps({"W1": level}))
    for _ in range(10):
        level = [level]
    with pytest.raises(safe_pickle.UnsafePickle, match="nested too deeply"):
        safe_pickle.restricted_load(pickle.dumps(level))


def test_a_submitted_file_larger_than_the_limit_is_not_read(tmp_path):
    path = tmp_path / "assignment2.pkl"
    path.write_bytes(pickle.dumps(np.zeros(1000)))
    with pytest.raises(safe_pickle.UnsafePickle, match="larger than"):
        safe_pickle.restricted_load(str(path), max_bytes=100)


# ---- worker replies -------------------------------------------------------------------------

def reply(value):
    return pickle.dumps(("ok", value, {}), protocol=4)


def test_replies_with_globals_are_refused():
    with pytest.raises(wire.WireError, match="numpy"):
        wire.loads_reply(pickle.dumps(("ok", np.float64(1.0), {})))
    with pytest.raises(wire.WireError):
        wire.loads_reply(pickle.dumps(RunsCode("/tmp/never")))


def test_arrays_are_rebuilt_as_plain_arrays():
    arr = np.arange(6.0).reshape(2, 3)
    value = ("__nd__", arr.dtype.str, arr.shape, arr.tobytes())
    got = wire.decode(wire.loads_reply(reply(value))[1])
    assert type(got) is np.ndarray and got.flags.owndata and np.array_equal(got, arr)


def test_a_dtype_met_before_lets_no_other_through():
    """Number dtypes are looked up once per process: a later reply of another dtype, or of the same
    dtype with a shape of its own, is checked in full."""
    for _ in range(2):
        assert wire.decode(("__nd__", "<f8", [2, 1], np.arange(2.0).tobytes())).shape == (2, 1)
    for dtype in ("|O", "<U1", "<M8[s]", "V8"):
        with pytest.raises((wire.WireError, TypeError)):
            wire.decode(("__nd__", dtype, (1,), b"\0" * 8))
    with pytest.raises(wire.WireError, match="negative"):
        wire.decode(("__nd__", "<f8", (2, -1), b""))


@pytest.mark.parametrize("value,message", [
    (("__nd__", "<f8", (2, 3), b"\0" * 40), "bytes do not match"),
    (("__nd__", "|O", (1,), b"\0" * 8), "dtype object"),
    (("__nd__", "<f8", (-1,), b""), "negative"),
    (("__nd__", "<f8", (1 << 62, 4, 0, 1 << 62), b""), "cannot reshape"),
    (("__nd__", "<f8", (1 << 61, 8), b""), "do not match"),
    (("__handle__",), "unreadable"),
])
def test_malformed_arrays_are_refused(value, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(value)


def test_deeply_nested_replies_are_refused():
    value = 1.0
    for _ in range(200):
        value = [value]
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.decode(wire.loads_reply(reply(value))[1])


def test_a_pickle_bomb_is_refused_before_anything_is_built():
    """A few hundred bytes of shared references that would expand to 8**10 values."""
    x = [0.5] * 8
    for _ in range(9):
        x = [x] * 8
    data = pickle.dumps({"W1": x}, protocol=2)
    assert len(data) < 400
    with pytest.raises(safe_pickle.UnsafePickle, match="it expands to more than 10,000,000 values"):
        safe_pickle.restricted_load(data)
    ok = [[0.5] * 1000] * 1000          # shared too, but a million values: accepted
    assert len(safe_pickle.restricted_load(pickle.dumps(ok, protocol=2))) == 1000
