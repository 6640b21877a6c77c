"""The catalog of known mistakes: each a named variant of a correct result.

A mistake has an id (what a corpus manifest's `mistake:` and an assignment's `variants:` name),
the words a report uses ("... equals the reference computed <text>"), and, when it can be made
from the reference's output alone, a generic maker: `make(expected, ctx) -> [candidate arrays]`.
Mistakes that need the reference's own code path (a derivative taken at the pre-activation, a
missing bias inside a sigmoid) have no maker here: an assignment declares them as variants of its
reference (`variants:` in a check, functions in its reference-side mistakes module), and
`diagnosis` runs them.

`ctx` (a `Context`) holds the example's arguments and sizes, the output's name, and, for an
update (an output named like an argument of the same shape), the argument before the step.
"""
from dataclasses import dataclass, field

import numpy as np

BATCH_DIMS = ("N", "B", "n", "batch", "bs")
LEARNING_RATES = ("lr", "learning_rate", "eta", "alpha_lr", "step_size")


@dataclass
class Context:
    name: str                                   # the compared output
    env: dict                                   # the example's arguments (and sizes)
    dims: dict = field(default_factory=dict)    # symbolic sizes of the example
    before: object = None                       # for an update: the argument before the step
    lr: float = None                            # for an update: the learning rate passed in


@dataclass(frozen=True)
class Mistake:
    id: str
    text: str                                   # "<output> equals the reference computed <text>"
    make: object = None                         # make(expected, ctx) -> [candidates], or None


def _batch(ctx):
    return [(k, v) for k, v in ctx.dims.items() if k in BATCH_DIMS and v >= 2]


def _others(ctx):
    return [(k, v) for k, v in ctx.dims.items() if k not in BATCH_DIMS and v >= 2]


def _missing_mean(e, ctx):
    return [e * v for _, v in _batch(ctx)]


def _extra_mean(e, ctx):
    return [e / v for _, v in _batch(ctx)]


def _wrong_divisor(e, ctx):
    out = []
    for _, n in _batch(ctx):
        out += [e * n / v for _, v in _others(ctx) if v != n]
        out += [e * n / np.size(x) for x in ctx.env.values()
                if isinstance(x, np.ndarray) and np.size(x) not in (0, 1, n)]
    return out


def _step(e, ctx, factor):
    """An update whose step (new - old) is `factor` times the right one."""
    if ctx.before is None:
        return []
    return [ctx.before + factor * (e - ctx.before)]


# Rates typed in place of the one passed in: W - dW, or a handout's usual constants. The examples'
# learning rates are drawn, so a typed-in rate reproduces the step on several examples only when it
# really replaced the one passed in.
FIXED_RATES = (1.0, 0.1, 0.01, 0.001, 0.5, 0.05)


def _lr_ignored(e, ctx):
    if ctx.lr in (None, 0):
        return []
    return [c for r in FIXED_RATES if r != ctx.lr for c in _step(e, ctx, r / ctx.lr)]


def _lr_twice(e, ctx):
    return _step(e, ctx, ctx.lr) if ctx.lr not in (None, 0, 1) else []


def _ascent(e, ctx):
    return _step(e, ctx, -1.0)


def _transpose(e, ctx):
    return [e.T] if e.ndim == 2 and e.shape[0] > 1 and e.shape[1] > 1 else []


def _keepdims(e, ctx):
    return [np.expand_dims(e, a) for a in range(e.ndim + 1)] if e.ndim >= 1 else []


def _lost_axis(e, ctx):
    out = []
    if 1 in e.shape:
        out.append(np.squeeze(e))
    if e.ndim >= 2:
        out.append(e.reshape(-1))
    return out


CATALOG = {m.id: m for m in [
    Mistake("missing_mean", "with the 1/N of the mean over the batch left out (a sum where a mean is asked for)",
            _missing_mean),
    Mistake("extra_mean", "divided by the batch size once too often (a mean where a sum is asked for)",
            _extra_mean),
    Mistake("wrong_divisor", "divided by the wrong size (another dimension or the array's size instead of the batch "
                             "size)", _wrong_divisor),
    Mistake("factor_2", "times 2 (a doubled term, or a missing 1/2)", lambda e, ctx: [2 * e]),
    Mistake("missing_factor_2", "without its factor 2 (e.g. the derivative of x**2 is 2x)", lambda e, ctx: [e / 2]),
    Mistake("sign", "with every sign flipped (e.g. y - yhat for yhat - y)", lambda e, ctx: [-e]),
    Mistake("transpose", "transposed (the order of a matrix product, or a missing/extra .T)", _transpose),
    Mistake("keepdims", "with an extra axis of length 1 (keepdims=True, or a column where a flat array is asked for)",
            _keepdims),
    Mistake("lost_axis", "flattened, or with an axis of length 1 lost (ravel, np.squeeze, or a sum without "
                         "keepdims=True)",
            _lost_axis),
    Mistake("ascent", "with the step taken up the gradient (W + lr * dW instead of W - lr * dW: a flipped sign "
                      "in the update, or in the gradient it uses)", _ascent),
    Mistake("lr_ignored", "with the learning rate passed in ignored (W - dW, or a rate typed in)",
            _lr_ignored),
    Mistake("lr_twice", "with the learning rate applied twice (W - lr * lr * dW)", _lr_twice),
    Mistake("wrong_axis", "summed, averaged or normalised over the wrong axis"),
    Mistake("derivative_at_preactivation", "with the activation's derivative evaluated at the pre-activation "
                                           "instead of the activation's output"),
    Mistake("derivative_at_output", "with the activation's derivative evaluated at its output instead of the "
                                    "pre-activation"),
    Mistake("derivative_missing", "without the activation's derivative (the upstream gradient passed through)"),
    Mistake("derivative_h_one_plus_h", "with h (1 + h) for the sigmoid's derivative h (1 - h)"),
    Mistake("derivative_tanh", "with tanh for the derivative 1 - tanh**2"),
    Mistake("upstream_ignored", "with the local derivative (e.g. the mask) returned instead of dout times it"),
    Mistake("mask_inverted", "with the mask inverted (x <= 0 for x > 0)"),
    Mistake("missing_bias", "without the bias"),
    Mistake("bias_column", "with the bias column in the wrong place, or left in"),
    Mistake("missing_clip", "without the clip (or with a wrong one)"),
    Mistake("wrong_eps", "without the eps, or with a wrong one"),
    Mistake("unstable_formula", "with a formula that overflows (exp of a large argument) where a numerically stable "
                                "one is asked (a max subtracted before exp, a two-sided sigmoid)"),
    Mistake("accumulated", "with the gradients of earlier calls added (accumulated instead of overwritten)"),
    Mistake("wrong_cache", "with a cache from the wrong place (the output kept instead of the input)"),
    Mistake("layer_order", "with the layers in reversed order"),
    Mistake("broadcast_row_column", "with a row broadcast against a column"),
    Mistake("swapped_returns", "with two returned values swapped"),
    Mistake("init_scale", "with the wrong spread (e.g. the variance passed where the standard deviation is asked)"),
    Mistake("init_distribution", "from the wrong distribution (e.g. uniform where a normal is asked, or not centred)"),
]}

CATALOG_IDS = tuple(CATALOG) + ("none",)


def get(mistake_id):
    return CATALOG[mistake_id]


def describe(mistake_id):
    return CATALOG[mistake_id].text


def generic():
    """The mistakes made from the reference's output alone (tried on every failing output)."""
    return [m for m in CATALOG.values() if m.make is not None]
