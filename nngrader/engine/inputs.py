"""Generated inputs: symbolic dimensions drawn by hypothesis, values filled from a seeded
NumPy generator (hypothesis' own arrays give exact zeros and constant arrays far too often;
constants hide transposes). Kinks and extremes are added on purpose, where declared.

YAML:
    dims: {d: [1, 6], N: [1, 5], C: 10}
    args:
      X:  {shape: [d, N], normal: 1.0}
      y:  {shape: [N], binary: true}
      Ws: {shapes: [[d, H], [H, 1]], normal: 0.5}
      W:  {shape: [H, d+1], normal: 1.0}    # a dimension plus a constant (a folded-in bias)
      lr: {value: 0.1}
"""
import re
from dataclasses import dataclass, field

import numpy as np

from nngrader.core.errors import SpecError
from nngrader.core.model import integer, number, req_map, string

GENERATORS = ("uniform", "normal", "binary", "onehot", "labels", "probs", "integers", "value", "choice")
ARG_KEYS = set(GENERATORS) | {"shape", "shapes", "zeros", "extremes", "dtype", "distinct"}


@dataclass
class ArgSpec:
    name: str
    gen: str
    param: object
    shape: list = None          # symbolic shape (list of dim names / ints), or None for scalars
    shapes: list = None         # a list of symbolic shapes: the argument is a list of arrays
    zeros: float = 0.0          # fraction of entries set to exactly 0 (kinks)
    extremes: dict = None       # {"values": [...], "fraction": f}
    dtype: str = "float64"


@dataclass
class InputSpec:
    dims: dict = field(default_factory=dict)     # name -> (lo, hi)
    args: list = field(default_factory=list)     # [ArgSpec]

    def names(self):
        return [a.name for a in self.args]


def parse_inputs(where, raw_dims, raw_args):
    spec = InputSpec()
    for name, val in (raw_dims or {}).items():
        w = where.at("dims", name)
        if isinstance(val, list) and len(val) == 2:
            lo, hi = integer(w.at(0), val[0], minimum=0), integer(w.at(1), val[1], minimum=0)
            if lo > hi:
                w.fail("[low, high] with low <= high", val)
            spec.dims[name] = (lo, hi)
        else:
            v = integer(w, val, minimum=0)
            spec.dims[name] = (v, v)
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        where.at("args").fail("a mapping of argument names to generators", raw_args)
    for name, raw in raw_args.items():
        w = where.at("args", name)
        req_map(w, raw, ARG_KEYS)
        gens = [g for g in GENERATORS if g in raw]
        if len(gens) != 1:
            raise SpecError(f"{w}: give exactly one generator of {', '.join(GENERATORS)}; got "
                            f"{', '.join(gens) or 'none'}.")
        gen = gens[0]
        param = raw[gen]
        if gen == "uniform":
            if not (isinstance(param, list) and len(param) == 2):
                w.at(gen).fail("[low, high]", param)
            param = (number(w.at(gen, 0), param[0]), number(w.at(gen, 1), param[1]))
        elif gen == "normal":
            param = number(w.at(gen), param, positive=True)
        elif gen == "integers":
            if not (isinstance(param, list) and len(param) == 2):
                w.at(gen).fail("[low, high] (inclusive)", param)
            param = (integer(w.at(gen, 0), param[0]), integer(w.at(gen, 1), param[1]))
        elif gen == "labels":
            param = param if isinstance(param, str) else integer(w.at(gen), param, minimum=1)
        elif gen == "choice":
            if not isinstance(param, list) or not param:
                w.at(gen).fail("a non-empty list of values", param)
        a = ArgSpec(name=name, gen=gen, param=param)
        for sh_key in ("shape", "shapes"):
            if sh_key in raw:
                shapes = [raw[sh_key]] if sh_key == "shape" else raw[sh_key]
                if not isinstance(shapes, list):
                    w.at(sh_key).fail("a list", shapes)
                for j, sh in enumerate(shapes):
                    if not isinstance(sh, list):
                        w.at(sh_key).fail("a list of dimension names or integers", sh)
                    for k, d in enumerate(sh):
                        if isinstance(d, str) and _split_dim(d)[0] not in spec.dims:
                            raise SpecError(f"{w.at(sh_key, k)}: unknown dimension {d!r}; declared dims: "
                                            f"{', '.join(spec.dims) or 'none'} (a dimension plus a "
                                            f"constant is written like d+1).")
                        if not isinstance(d, (str, int)) or isinstance(d, bool):
                            w.at(sh_key, k).fail("a dimension name or an integer", d)
                setattr(a, sh_key, shapes[0] if sh_key == "shape" else shapes)
        if gen in ("onehot", "probs") and (a.shape is None or len(a.shape) < 1):
            raise SpecError(f"{w}: {gen} needs a shape whose last axis is the class axis.")
        if "zeros" in raw:
            a.zeros = number(w.at("zeros"), raw["zeros"], nonneg=True)
        if "extremes" in raw:
            e = req_map(w.at("extremes"), raw["extremes"], {"values", "fraction"}, required=("values",))
            if not isinstance(e["values"], list) or not e["values"]:
                w.at("extremes", "values").fail("a non-empty list of numbers", e["values"])
            vals = [number(w.at("extremes", "values", i), v) for i, v in enumerate(e["values"])]
            a.extremes = {"values": vals, "fraction": number(w.at("extremes", "fraction"),
                                                             e.get("fraction", 0.25), nonneg=True)}
        if "dtype" in raw:
            a.dtype = string(w.at("dtype"), raw["dtype"], ("float64", "float32", "int64"))
        spec.args.append(a)
    return spec


def strategy(spec: InputSpec):
    """Hypothesis strategy of (dims, seed): the only things hypothesis draws (and shrinks)."""
    from hypothesis import strategies as st
    dims = {k: st.integers(lo, hi) for k, (lo, hi) in spec.dims.items()}
    return st.fixed_dictionaries({"dims": st.fixed_dictionaries(dims),
                                  "seed": st.integers(0, 2 ** 32 - 1)})


def build(spec: InputSpec, draw):
    """Materialise arguments for one drawn example -> dict name -> value (dims included)."""
    dims = dict(draw["dims"])
    rng = np.random.default_rng(draw["seed"])
    env = dict(dims)
    for a in spec.args:
        if a.shapes is not None:
            env[a.name] = [_fill(a, _shape(s, dims), rng, dims) for s in a.shapes]
        else:
            env[a.name] = _fill(a, _shape(a.shape, dims) if a.shape is not None else None, rng, dims)
    return env


DIM_PLUS = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\+\s*([0-9]+)\s*$")


def _split_dim(d):
    """'d+1' -> ('d', 1); 'd' -> ('d', 0)."""
    m = DIM_PLUS.match(d)
    return (m.group(1), int(m.group(2))) if m else (d, 0)


def _shape(sym, dims):
    out = []
    for d in sym:
        if isinstance(d, str):
            name, plus = _split_dim(d)
            out.append(dims[name] + plus)
        else:
            out.append(int(d))
    return tuple(out)


def _fill(a, shape, rng, dims):
    g, p = a.gen, a.param
    if g == "value":
        return np.array(p, dtype=a.dtype) if isinstance(p, list) else p      # dtype: float64 unless given
    if g == "choice":
        return p[int(rng.integers(len(p)))]
    size = shape if shape is not None else ()
    if g == "uniform":
        x = rng.uniform(p[0], p[1], size)
    elif g == "normal":
        x = rng.normal(0.0, p, size)
    elif g == "binary":
        x = rng.integers(0, 2, size).astype(np.float64)
    elif g == "integers":
        x = rng.integers(p[0], p[1] + 1, size)
    elif g == "labels":
        k = dims[p] if isinstance(p, str) else p
        x = rng.integers(0, k, size)
    elif g == "onehot":
        k = size[-1]
        idx = rng.integers(0, k, size[:-1])
        x = np.eye(k)[idx]
    elif g == "probs":
        z = rng.normal(0.0, 1.5, size)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        x = z / z.sum(axis=-1, keepdims=True)
    else:
        raise AssertionError(g)
    if a.zeros and np.ndim(x):
        x = np.where(rng.random(np.shape(x)) < a.zeros, 0.0, x)
    if a.extremes and np.ndim(x):
        vals = np.asarray(a.extremes["values"], dtype=np.float64)
        pick = rng.random(np.shape(x)) < a.extremes["fraction"]
        x = np.where(pick, vals[rng.integers(0, len(vals), np.shape(x))], x)
    if shape is None:
        return float(x) if g not in ("integers", "labels") else int(x)
    if a.dtype == "int64" or g in ("integers", "labels"):
        return np.asarray(x, dtype=np.int64)
    return np.asarray(x, dtype=a.dtype)


def describe_shapes(env, names):
    """'X (3, 2), y (2,), lr 0.1' for the feedback."""
    parts = []
    for n in names:
        v = env.get(n)
        if isinstance(v, np.ndarray):
            parts.append(f"{n} {tuple(v.shape)}")
        elif isinstance(v, list) and v and all(isinstance(x, np.ndarray) for x in v):
            parts.append(f"{n} [" + ", ".join(str(tuple(x.shape)) for x in v) + "]")
        elif isinstance(v, (int, float, str)):
            parts.append(f"{n} {v!r}")
    return ", ".join(parts)
