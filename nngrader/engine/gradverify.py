"""Verifying a claimed gradient g of a scalar loss L(θ) with random-direction probes, at any size.

Per-entry central differences cost two loss evaluations per entry (314,000 for a 784-200-1
network). Here a probe takes a Gaussian direction z (over the whole parameter vector, or over
one block such as one weight matrix) and compares the claimed directional derivative g·z with
a finite-difference one, whose error is estimated from the same evaluations:

    f(±h), f(±2h) along z  ->  D1 = (f(h) - f(-h)) / 2h,  D2 = (f(2h) - f(-2h)) / 4h
    numerical  D = (4 D1 - D2) / 3                       (Richardson: error O(h^4))
    truncation |D1 - D2| / 3                             (the error of D1, far above that of D)
    rounding   1.5 σ / h,  σ = max(ROUNDING · eps · |f|, the noise measured by the fourth
               differences Δ⁴f = f(2h) - 4f(h) + 6f(0) - 4f(-h) + f(-2h), pooled by their median)
    claimed    g·z, with its own rounding GRAD_ROUNDING · eps(g) · Σ|g_i z_i|

A probe disagrees only when |g·z - D| > `multiple` (TOLERANCE_MULTIPLE) times the sum of those
estimates. The step h is chosen per direction: it starts at STEP · max(1, rms θ of the probed
entries) (the per-entry rule h = step · max(1, |x|) spread over the direction) and, when one of
truncation and rounding dominates the other so much that the step balancing them would cut the
error estimate by REFINE_GAIN or more, the probe is repeated once with that step (unless another
probe already disagrees); when the truncation is lost in the rounding noise, a longer step is
tried (REFINE_GROWTH times longer; never for the three-step probes below float64), and the
sharper of the two probes is kept. Near a kink the one-sided slopes disagree beyond what curvature
explains (their gap extrapolated to h -> 0 is not ~0); such a probe is judged against the
interval the one-sided slopes span, so any subgradient passes, and the report counts them.

Precision. The loss's precision is read from the dtype of the values it returns (np.float32 ->
float32, and values that are all exactly float32 numbers), or given (`loss_dtype`). Below float64,
every probe also evaluates f(±4h), so that Richardson's value has an error estimate of its own
(|R(h) - R(2h)| / SHARP_TRUNCATION, its h^4 term, used where the differences visibly converge as
h^2) and the step can be longer. σ is in any case at least the noise measured by the fourth
differences, so a loss computed in float32 behind a float64 interface widens the bound by itself
and the report says so (`precision`, `noise`). Checking float32 code on a float64 copy of θ is
the caller's choice (the gradient check kind always hands float64 inputs over).

Detection limit. An error vector e restricted to the probed entries gives g·z - D = e·z + noise,
and e·z ~ N(0, |e|²): a probe misses e only when |N(0, 1)| < multiple · ε / |e|. The report's
`limits` give, per probed set, the |e|₂ that all of its probes miss together with probability
MISS_PROBABILITY (1e-3), from the ε actually achieved, and that limit over |g|₂. In float64 on
smooth losses it is ~1e-8 of |g|₂ (3e-8 on the 784-200-1 network of `bench/gradcheck_scale.py`);
a loss computed in float32 reaches ~1e-2 of |g|₂ there. One entry off by δ has |e|₂ = δ, so an
isolated wrong entry is caught when δ is above the limit, however many entries θ has besides
(the limit grows with |g|₂ only); a gradient scaled by (1 + s) has |e|₂ = s |g|₂. Below float64
the claimed gradient's own rounding is allowed for as well (GRAD_ROUNDING, from its dtype).

Localisation. The entries of a disagreeing set are halved repeatedly. Each half is probed with
the restriction of the same directions (LOCALISE_CHAINS of them, the most discrepant), so a
single wrong entry keeps its whole signal e_i z_i at every level; the other half's discrepancy is
the parent's minus this one (no evaluation) unless a probe is kinked, then it is probed too.
Every half whose discrepancy exceeds the bound for any direction is followed, so several wrong
entries are found; when neither half of a disagreeing set does, fresh directions are drawn once
for it. The entries found, set to their own differences, must then explain every detection
probe (a check without evaluations); if they do not, a wrong entry was missed (its directions
were unlucky), and another pass with fresh directions on the corrected gradient looks for it
(at most MAX_PASSES). Localisation probes only steer (central differences at the chain's step,
followed beyond STEER_MULTIPLE): each candidate entry is confirmed by a per-entry Richardson
difference with the full multiple, which gives the numerical value reported (an interval at a
kink). At most `max_wrong` sets are followed per level; beyond that the error is reported as
spread (a scaled gradient, a wrong formula), not localised.

Cost (n entries, K = `probes`, R = LOCALISE_CHAINS): deciding takes 1 + 4K loss evaluations in
two calls (17 for K = 4), plus up to 4K in a third when steps are refined (6K below float64);
localising one wrong entry about 2R log2(n) more (4 per level, 72 for n = 157,201; twice that
below float64) in one call per level, and 4 to 8 to confirm it; w wrong entries about w times
that, in the same calls. Each evaluation writes only the probed entries into a vector of size n.
The loss is called with a list of parameter vectors per batch (`batched=True`), so across a
process boundary one round of probes can be one request; batches hold at most MAX_BATCH vectors.
The vectors are reused from one call to the next (only the probed entries are written, then
restored): a loss must not keep them.

Deterministic: every direction comes from numpy.random.default_rng(seed).
"""
import math
from dataclasses import dataclass, field

import numpy as np

STEP = 6e-6                 # initial h = STEP * max(1, rms θ over the probed entries)
PROBES = 4                  # directions over the whole parameter vector, detection round
BLOCK_PROBES = 2            # directions per named block when there is more than one block
TOLERANCE_MULTIPLE = 4.0    # a probe disagrees beyond this multiple of its error estimate
ROUNDING = 4.0              # loss rounding model: ROUNDING * eps(loss dtype) * |f|
GRAD_ROUNDING = 16.0        # claimed g·z rounding: GRAD_ROUNDING * eps(g dtype) * Σ|g_i z_i|
KINK_MULTIPLE = 8.0         # one-sided slope gap (extrapolated to h -> 0) beyond this many error units = kink
REFINE_GAIN = 3.0           # redo a probe when the balancing step would shrink its error this much
REFINE_GROWTH = 16.0        # the longer step tried when the truncation is lost in rounding noise
SHARP_TRUNCATION = 5.0      # |R(h) - R(2h)| / this bounds the error of R(h) (asymptotically /15)
SHARP_RATIO = (2.5, 6.5)    # |D(2h) - D(4h)| / |D(h) - D(2h)| (4 when converging as h^2) for that estimate
LOCALISE_CHAINS = 2         # directions followed down each split
STEER_MULTIPLE = 2.0        # a half is followed beyond this multiple (it only steers: entries are confirmed)
MAX_WRONG = 32              # sets followed per level; beyond that the error is called spread
MAX_PASSES = 3              # localisation passes (each after correcting the entries found)
MAX_BATCH = 64              # parameter vectors per loss call (each is a buffer of n floats)
MISS_PROBABILITY = 1e-3     # the detection limit: |e| missed by all probes of a set this often
FOURTH_DIFFERENCE_STD = math.sqrt(70.0)     # std of f(2h)-4f(h)+6f(0)-4f(-h)+f(-2h) per unit of noise
MEDIAN_ABS_NORMAL = 0.6745                  # median of |N(0, 1)|
KINK_NOISE = 1e-2           # |Δ⁴f| above this fraction of h·(|left|+|right| slope): a kink, not noise


@dataclass
class Entry:
    """One confirmed wrong entry: flat index, its name (block[i, j]), claimed and numerical values."""
    index: int
    name: str
    claimed: float
    low: float                  # numerical derivative; low < high only at a kink
    high: float
    error: float                # error estimate of the numerical value

    @property
    def numerical(self):
        return self.low if self.low == self.high else 0.5 * (self.low + self.high)

    def describe(self):
        num = (f"{self.low:.10g}" if self.low == self.high
               else f"between {self.low:.10g} and {self.high:.10g} (a kink)")
        return f"{self.name}: claimed {self.claimed:.10g}, finite differences {num} (± {self.error:.2g})"


@dataclass
class ProbeResult:
    """One direction's verdict (`where` names the probed set)."""
    where: str
    claimed: float
    numerical: float
    low: float
    high: float
    error: float
    discrepancy: float          # claimed - numerical (or the distance to the interval at a kink)
    kinked: bool
    step: float
    truncation: float = 0.0     # the truncation part of `error` (of a central difference at `step`)
    flagged: bool = False       # |discrepancy| beyond the multiple of `error` that applies

    @property
    def disagrees(self):
        return abs(self.discrepancy) > 0 and self.flagged


@dataclass
class Report:
    ok: bool                                        # no probe disagreed
    probes: list = field(default_factory=list)      # detection ProbeResults
    wrong: list = field(default_factory=list)       # confirmed Entries, worst first
    spread: bool = False                            # too many sets disagree to localise
    unresolved: list = field(default_factory=list)  # names of sets that disagreed but had no wrong entry found
    precision: str = "float64"
    noise: float = 0.0                              # σ: the loss's rounding noise estimate
    limits: dict = field(default_factory=dict)      # probed set -> (|e|₂ limit, limit / |g|₂)
    evaluations: int = 0
    calls: int = 0
    kinked: int = 0
    notes: list = field(default_factory=list)
    taylor: object = None                           # TaylorResult when asked for
    multiple: float = TOLERANCE_MULTIPLE            # what `ok` was judged with
    max_wrong: int = MAX_WRONG

    @property
    def worst(self):
        return self.wrong[0] if self.wrong else None

    def describe(self):
        """Lines a person reads."""
        bad = [p for p in self.probes if p.disagrees]
        lines = [f"{'accepted' if self.ok else 'rejected'}: {len(bad)} of {len(self.probes)} random-direction "
                 f"probes disagree beyond {self.multiple:g}x their error estimate "
                 f"({self.evaluations} loss evaluations in {self.calls} calls; loss precision {self.precision})"]
        for p in bad[:3]:
            lines.append(f"  over {p.where}: g·z = {p.claimed:.10g}, finite differences {p.numerical:.10g} "
                         f"± {p.error:.2g}")
        for e in self.wrong[:5]:
            lines.append("  wrong entry " + e.describe())
        if len(self.wrong) > 5:
            lines.append(f"  ... {len(self.wrong) - 5} more wrong entries")
        if self.spread:
            lines.append(f"  the error is spread over more than {self.max_wrong} parts of the parameters: "
                         "not localised entry by entry")
        for u in self.unresolved[:3]:
            lines.append(f"  {u} disagrees as a whole, but no single entry of it was confirmed wrong")
        lines += ["  " + n for n in self.notes]
        return lines


@dataclass
class TaylorResult:
    """Remainders r(h) = |L(θ + h z) - L(θ) - h g·z| at halving steps and the observed orders."""
    steps: list
    remainders: list
    orders: list                # log2(r(h) / r(h/2)); 2 for a correct gradient, 1 for a wrong one
    ok: bool


def verify(loss, grad, theta, *, batched=False, blocks=None, seed=0, probes=PROBES, block_probes=None,
           multiple=TOLERANCE_MULTIPLE, step=STEP, localise=True, max_wrong=MAX_WRONG, loss_dtype=None,
           grad_dtype=None, taylor=False):
    """Check a claimed gradient against the loss.

    loss: θ (n,) float64 -> float, or with batched=True a list of θ -> a sequence of floats.
    grad: the claimed gradient, any shape with n entries (its dtype sets its rounding allowance
      unless grad_dtype is given).
    theta: the point, n entries (flattened; probes are made on a float64 copy).
    blocks: [(name, shape), ...] in order, covering θ: the names used to report entries
      (W1[3, 7]), and each is probed on its own (block_probes directions each, default
      BLOCK_PROBES when there is more than one block) besides the `probes` whole-vector ones.
    -> Report.
    """
    return _Verifier(loss, grad, theta, batched, blocks, seed, probes, block_probes, multiple, step,
                     max_wrong, loss_dtype, grad_dtype).run(localise, taylor)


def taylor_test(loss, grad, theta, *, batched=False, seed=0, step=None, halvings=10):
    """The Taylor-remainder test along one Gaussian direction z: r(h) = |L(θ + h z) - L(θ) - h g·z|
    shrinks as h² for the right gradient and only as h for a wrong one. No tolerance is involved:
    the verdict is the order observed at the smallest steps whose remainders stay above rounding
    (100 rounding units), where the h² term of a wrong gradient no longer hides its h term.
    One batch: L(θ) and one evaluation per step."""
    th = np.array(theta, dtype=np.float64).reshape(-1)
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    call = loss if batched else (lambda ts: [loss(t) for t in ts])
    z = np.random.default_rng(seed).standard_normal(th.size)
    h0 = step if step is not None else 1e-2 * max(1.0, float(np.sqrt(np.mean(th ** 2))))
    steps = [h0 / 2 ** k for k in range(halvings + 1)]
    values = [float(v) for v in call([th] + [th + h * z for h in steps])]
    f0, gz = values[0], float(g @ z)
    rem = [abs(v - f0 - h * gz) for v, h in zip(values[1:], steps)]
    floor = 100 * ROUNDING * np.finfo(np.float64).eps * max(abs(v) for v in values)
    orders = [math.log2(a / b) for a, b in zip(rem, rem[1:]) if a > floor and b > floor]
    ok = bool(orders) and orders[-1] > 1.5
    return TaylorResult(steps=steps, remainders=rem, orders=orders, ok=ok)


def _miss_limit(errors, multiple):
    """|e|₂ missed by all probes with errors `errors` with probability MISS_PROBABILITY."""
    errors = [e for e in errors if np.isfinite(e) and e > 0]
    if not errors:
        return 0.0

    def p_miss(size):
        return math.prod(math.erf(multiple * e / size / math.sqrt(2)) for e in errors)

    lo, hi = min(errors) * 1e-3, max(errors) * multiple * 1e6
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if p_miss(mid) < MISS_PROBABILITY else (mid, hi)
    return hi


@dataclass
class _Probe:
    lo: int
    hi: int
    z: np.ndarray
    h: float
    where: str
    full: bool = True           # f(±h), f(±2h); else a steering probe, f(±h) only
    sharp: bool = False         # a loss below float64 precision: f(±4h) too (full), f(±2h) too (steering)
    trunc: float = 0.0          # steering probes: the truncation allowance taken from their chain
    result: ProbeResult = None
    values: tuple = ()


class _Verifier:
    def __init__(self, loss, grad, theta, batched, blocks, seed, probes, block_probes, multiple, step,
                 max_wrong, loss_dtype, grad_dtype):
        self.theta = np.array(theta, dtype=np.float64).reshape(-1)
        n = self.theta.size
        g_raw = np.asarray(grad)
        if g_raw.size != n:
            raise ValueError(f"the gradient has {g_raw.size} entries, the parameters {n}")
        self.g = g_raw.astype(np.float64).reshape(-1)
        self.abs_g = np.abs(self.g)
        self.eps_g = float(np.finfo(grad_dtype or (g_raw.dtype if g_raw.dtype.kind == "f" else np.float64)).eps)
        self.call = loss if batched else (lambda ts: [loss(t) for t in ts])
        self.blocks = []
        start = 0
        for name, shape in (blocks or [("θ", (n,))]):
            size = int(np.prod(shape, dtype=np.int64))
            self.blocks.append((name, tuple(shape), start, start + size))
            start += size
        if start != n:
            raise ValueError(f"the blocks hold {start} entries, the parameters {n}")
        self.rng = np.random.default_rng(seed)
        self.probes = probes
        self.block_probes = (block_probes if block_probes is not None
                             else (BLOCK_PROBES if len(self.blocks) > 1 else 0))
        self.multiple = multiple
        self.step = step
        self.max_wrong = max_wrong
        self.loss_dtype = loss_dtype
        self.eps_loss = float(np.finfo(loss_dtype or np.float64).eps)
        self.sigma = 0.0            # pooled measured noise of the loss (grows, never shrinks)
        self.f0 = None
        self.evaluations = 0
        self.calls = 0
        self.kinked = 0
        self.dtype_seen = None
        self.rms = {}
        self.sharp = False          # the loss is less precise than float64: three steps per probe
        self.buffers = []           # parameter vectors handed to the loss, equal to θ between calls

    # ---- naming --------------------------------------------------------------------------
    def name(self, i):
        for name, shape, a, b in self.blocks:
            if a <= i < b:
                if len(shape) <= 1 and len(self.blocks) == 1 and shape == (self.theta.size,):
                    return f"{name}[{i}]"
                idx = np.unravel_index(i - a, shape) if shape else ()
                return f"{name}[{', '.join(str(int(k)) for k in idx)}]"
        raise IndexError(i)

    def set_name(self, lo, hi):
        for name, _, a, b in self.blocks:
            if (a, b) == (lo, hi):
                return name
        if hi - lo == 1:
            return self.name(lo)
        return f"entries {self.name(lo)} .. {self.name(hi - 1)}"

    # ---- evaluation -----------------------------------------------------------------------
    def _loss_values(self, thetas):
        out = []
        for k in range(0, len(thetas), MAX_BATCH):
            chunk = thetas[k:k + MAX_BATCH]
            values = list(self.call(chunk))
            self.calls += 1
            self.evaluations += len(chunk)
            if len(values) != len(chunk):
                raise ValueError(f"the loss returned {len(values)} values for {len(chunk)} parameter vectors")
            for v in values:
                if isinstance(v, np.generic) and v.dtype.kind == "f" and self.loss_dtype is None:
                    if self.dtype_seen is None or np.finfo(v.dtype).eps > np.finfo(self.dtype_seen).eps:
                        self.dtype_seen = v.dtype
                        self.eps_loss = max(self.eps_loss, float(np.finfo(v.dtype).eps))
            out += [float(v) for v in values]
        if self.loss_dtype is None and self.dtype_seen is None and all(
                float(np.float32(v)) == v for v in out) and any(float(np.float16(v)) != v for v in out):
            # values that are all exactly float32 numbers, not all short ones (0.5, 3.0), come from
            # float32 arithmetic: a float64 result is one by chance once in 2^29
            self.dtype_seen = np.dtype(np.float32)
            self.eps_loss = max(self.eps_loss, float(np.finfo(np.float32).eps))
        bad = [v for v in out if not np.isfinite(v)]
        if bad:
            raise ValueError(f"the loss is not finite ({bad[0]}) a step of finite differences away from θ")
        return out

    def evaluate(self, plist, pool=True):
        """Evaluate probes in one batch and judge them (`pool`: their fourth differences update
        the noise estimate)."""
        moves = []
        for p in plist:
            hz = p.h * p.z
            for m in self._multiples(p):
                step = hz if m == 1.0 else m * hz
                moves += [(p.lo, p.hi, step, np.add), (p.lo, p.hi, step, np.subtract)]
        values = []
        th = self.theta
        for k in range(0, len(moves), MAX_BATCH):
            chunk = moves[k:k + MAX_BATCH]
            fresh = len(self.buffers)
            while len(self.buffers) < len(chunk):
                self.buffers.append(np.empty_like(th))
            # buffers equal θ between calls: only the probed entries are written and restored
            # (a new buffer gets θ around them first)
            for i, ((lo, hi, step, op), buf) in enumerate(zip(chunk, self.buffers)):
                if i >= fresh:
                    buf[:lo], buf[hi:] = th[:lo], th[hi:]
                op(th[lo:hi], step, out=buf[lo:hi])
            try:
                values += self._loss_values(self.buffers[:len(chunk)])
            finally:
                for (lo, hi, _, _), buf in zip(chunk, self.buffers):
                    buf[lo:hi] = th[lo:hi]
        k = 0
        for p in plist:
            m = 2 * len(self._multiples(p))
            p.values = tuple(values[k:k + m])
            k += m
        f0 = self.f0
        # The loss's noise from fourth differences (they cancel polynomials up to degree 3), by
        # their median. A kink at the point gives |Δ⁴| ~ 2h·|jump|, of the order of h times the
        # slopes themselves: such probes are left out (noise that large would leave a difference
        # at this step no digit to speak of anyway).
        fourth = []
        for p in plist:
            if p.full:
                fp1, fm1, fp2, fm2 = p.values[:4]
                d4 = abs(fp2 - 4 * fp1 + 6 * f0 - 4 * fm1 + fm2)
                if d4 <= KINK_NOISE * (abs(fp1 - f0) + abs(f0 - fm1)):
                    fourth.append(d4)
        if pool and fourth:
            self.sigma = max(self.sigma, float(np.median(fourth)) / FOURTH_DIFFERENCE_STD / MEDIAN_ABS_NORMAL)
        for p in plist:
            p.result = self._judge(p) if p.full else self._steer(p)
            self.kinked += p.result.kinked
        return plist

    @staticmethod
    def _multiples(p):
        if p.full:
            return (1.0, 2.0, 4.0) if p.sharp else (1.0, 2.0)
        return (1.0, 2.0) if p.sharp else (1.0,)

    def _steer(self, p):
        """A localisation probe: central difference at the chain's step (Richardson's of h and 2h
        for a sharp chain), truncation allowance from the chain's full probe. It only steers the
        search (each entry found is confirmed by a full per-entry probe), so a kink it crosses
        costs a detour, not a verdict."""
        fp1, fm1 = p.values[:2]
        sigma = max(ROUNDING * self.eps_loss * max(abs(self.f0), *(abs(v) for v in p.values)), self.sigma)
        num = (fp1 - fm1) / (2 * p.h)
        if p.sharp:
            num = (4 * num - (p.values[2] - p.values[3]) / (4 * p.h)) / 3
        claimed, g_round = self._claimed(p)
        err = p.trunc + sigma / p.h + g_round
        r = ProbeResult(where=p.where, claimed=claimed, numerical=num, low=num, high=num, error=err,
                        discrepancy=claimed - num, kinked=False, step=p.h, truncation=p.trunc)
        r.flagged = abs(r.discrepancy) > STEER_MULTIPLE * err
        return r

    def _claimed(self, p):
        """-> (g·z, the rounding allowance of g·z)."""
        z = p.z
        claimed = float(self.g[p.lo:p.hi] @ z)
        return claimed, GRAD_ROUNDING * self.eps_g * float(self.abs_g[p.lo:p.hi] @ np.abs(z))

    def _floor(self, p):
        return ROUNDING * self.eps_loss * max(abs(self.f0), *(abs(v) for v in p.values))

    def _judge(self, p):
        fp1, fm1, fp2, fm2 = p.values[:4]
        f0, h = self.f0, p.h
        sigma = max(self._floor(p), self.sigma)
        d1 = (fp1 - fm1) / (2 * h)
        d2 = (fp2 - fm2) / (4 * h)
        num = (4 * d1 - d2) / 3
        claimed, g_round = self._claimed(p)
        trunc = abs(d1 - d2) / 3
        rnd = 1.5 * sigma / h
        j1 = (fp1 - 2 * f0 + fm1) / h
        j2 = (fp2 - 2 * f0 + fm2) / (2 * h)
        j0 = 2 * j1 - j2                        # one-sided slope gap extrapolated to h -> 0
        kinked = abs(j0) > KINK_MULTIPLE * (5 * sigma / h + trunc)
        if p.sharp:
            # A third step: Richardson's value has an error estimate of its own (its h^4 term,
            # 16x at 2h) -- where the differences converge as h^2 (|D2 - D4| / |D1 - D2| near 4).
            # Elsewhere the step is too long for any asymptotic estimate: the spread of the
            # differences is the bound.
            d4 = (p.values[4] - p.values[5]) / (8 * h)
            a, b = abs(d1 - d2), abs(d2 - d4)
            if a > 0 and SHARP_RATIO[0] <= b / a <= SHARP_RATIO[1]:
                trunc = abs(num - (4 * d2 - d4) / 3) / SHARP_TRUNCATION
            else:
                trunc = max(a, b)
        if kinked:
            slopes = [(fp1 - f0) / h, (f0 - fm1) / h, (fp2 - f0) / (2 * h), (f0 - fm2) / (2 * h)]
            low, high = min(slopes), max(slopes)
            err = 2 * sigma / h + g_round
            disc = claimed - high if claimed > high else (claimed - low if claimed < low else 0.0)
        else:
            low = high = num
            err = trunc + rnd + g_round
            disc = claimed - num
        r = ProbeResult(where=p.where, claimed=claimed, numerical=num, low=low, high=high, error=err,
                        discrepancy=disc, kinked=kinked, step=h, truncation=trunc)
        r.flagged = abs(disc) > self.multiple * err
        return r

    def first_step(self, scale):
        """STEP for float64, scaled by the cube root of the loss's precision (the step that
        balances truncation and rounding of central differences)."""
        return self.step * (self.eps_loss / np.finfo(np.float64).eps) ** (1 / 3) * max(1.0, scale)

    def new_probe(self, lo, hi, where):
        z = self.rng.standard_normal(hi - lo)
        if (lo, hi) not in self.rms:
            self.rms[(lo, hi)] = float(np.linalg.norm(self.theta[lo:hi]) / np.sqrt(hi - lo)) if hi > lo else 0.0
        return _Probe(lo, hi, z, self.first_step(self.rms[(lo, hi)]), where, sharp=self.sharp)

    # ---- the run --------------------------------------------------------------------------
    def run(self, localise, taylor):
        n = self.theta.size
        self.f0 = self._loss_values([self.theta])[0]        # its dtype gives the loss's precision
        self.sharp = self.eps_loss > np.finfo(np.float64).eps
        plist = [self.new_probe(0, n, self.set_name(0, n)) for _ in range(self.probes)]
        if len(self.blocks) > 1:
            for name, _, a, b in self.blocks:
                plist += [self.new_probe(a, b, name) for _ in range(self.block_probes)]
        self.evaluate(plist)
        self._refine(plist)
        report = Report(ok=not any(p.result.disagrees for p in plist), probes=[p.result for p in plist],
                        multiple=self.multiple, max_wrong=self.max_wrong)
        sets = {}
        for p in plist:
            sets.setdefault((p.lo, p.hi), []).append(p)
        for (a, b), ps in sets.items():
            lim = _miss_limit([p.result.error for p in ps], self.multiple)
            gn = float(np.linalg.norm(self.g[a:b]))
            report.limits[self.set_name(a, b)] = (lim, lim / gn if gn > 0 else math.inf)
        if not report.ok and localise:
            self._localise_all(plist, sets, report)
        report.precision = "float64"
        if self.eps_loss > np.finfo(np.float64).eps:
            report.precision = str(np.dtype(self.dtype_seen or self.loss_dtype))
            report.notes.append(f"the loss is computed in {report.precision}: the bound is widened to its "
                                f"rounding, so errors below the limits above pass")
        elif self.f0 and self.sigma > 1e3 * ROUNDING * np.finfo(np.float64).eps * abs(self.f0):
            noise = f"{self.sigma / abs(self.f0):.1g} of |L|"
            report.precision = f"float64 values, noise {noise} (lower precision inside)"
            report.notes.append(f"the loss values are noisier ({noise}) than float64 "
                                f"arithmetic: the bound is widened to that noise")
        report.noise = self.sigma
        report.kinked = self.kinked
        if self.kinked:
            report.notes.append(f"{self.kinked} probe(s) crossed a kink: judged against the interval of the "
                                f"one-sided slopes")
        if taylor:
            report.taylor = taylor_test(self.call, self.g, self.theta, batched=True,
                                        seed=int(self.rng.integers(1 << 31)))
            report.evaluations += len(report.taylor.steps) + 1
            report.calls += 1
        report.evaluations += self.evaluations
        report.calls += self.calls
        return report

    def _set_grad(self, g):
        self.g = g
        self.abs_g = np.abs(g)

    def _localise_all(self, plist, sets, report):
        """Localise, then check that the entries found, set to their own differences, explain every
        detection probe (no evaluation needed); if not, another pass with fresh directions on the
        gradient so corrected finds the entries the first pass's directions missed."""
        original, found = self.g, {}
        for _ in range(MAX_PASSES):
            self._localise(sets, report)
            new = [e for e in report.wrong if e.index not in found]
            found.update((e.index, e) for e in new)
            if report.spread or not new:
                break
            corrected = original.copy()
            for i, e in found.items():
                corrected[i] = min(max(original[i], e.low), e.high)
            self._set_grad(corrected)
            for p in plist:
                p.result = self._judge(p)
            if not any(p.result.disagrees for p in plist):
                break
            plist = [self.new_probe(p.lo, p.hi, p.where) for p in plist]
            self.evaluate(plist)
            self._refine(plist)
            if not any(p.result.disagrees for p in plist):
                break
            sets = {}
            for p in plist:
                sets.setdefault((p.lo, p.hi), []).append(p)
        self._set_grad(original)
        report.wrong = sorted(found.values(), key=lambda e: -max(e.low - e.claimed, e.claimed - e.high, 0.0))

    def _refine(self, plist, pool=True, verdict_made_by_any=True):
        """Repeat (once) the probes whose step is far from balancing truncation and rounding; not
        when a probe already disagrees and one is enough for the verdict (sharper agreeing probes
        then add nothing)."""
        if verdict_made_by_any and any(p.result.disagrees for p in plist):
            return
        redo = []
        for p in plist:
            r = p.result
            if r.kinked or (r.disagrees and verdict_made_by_any):
                continue
            trunc, rnd = r.truncation, 1.5 * max(self._floor(p), self.sigma) / p.h
            power = 4 if p.sharp else 2         # truncation of Richardson's value, or of D1
            if trunc + rnd == 0:
                continue                # exact (e.g. a loss that is 0 all along the direction)
            if trunc < rnd / REFINE_GAIN:
                if p.sharp:
                    # the h^4 estimate of a longer step cannot be trusted to see its own failure
                    # (Richardson's series may stop converging before the ratio test notices)
                    continue
                # the truncation measured is rounding noise (its true size is unknown, smaller):
                # try a step REFINE_GROWTH times longer, and keep whichever probe is sharper
                q = REFINE_GROWTH
            else:
                # error(h') = trunc (h'/h)^power + rnd h/h', least at h' = q h (longer only for D1)
                q = max((rnd / (power * trunc)) ** (1 / (power + 1)), 1 / 64)
                if p.sharp:
                    q = min(q, 1.0)
                if trunc + rnd <= REFINE_GAIN * (trunc * q ** power + rnd / q):
                    continue
            redo.append((p, p.h, p.values, p.result))
            p.h *= q
        if redo:
            self.evaluate([r[0] for r in redo], pool=pool)
            for p, h, values, result in redo:
                new = p.result
                # a longer step that meets a kink (or leaves the region where the function is
                # smooth at this scale) is not sharper, whatever its error estimate says
                if (new.kinked and not result.kinked) or (
                        new.error + new.high - new.low > result.error + result.high - result.low):
                    p.h, p.values, p.result = h, values, result

    def _localise(self, sets, report):
        # the sets to open: per block, the most discrepant directions (hot first)
        frontier = []
        for (a, b), ps in sets.items():
            if any(p.result.disagrees for p in ps):
                chains = sorted((p for p in ps if not p.result.kinked),
                                key=lambda p: -abs(p.result.discrepancy) / max(p.result.error, 1e-300))
                frontier.append((a, b, chains[:LOCALISE_CHAINS]))
        # whole-vector probes and block probes may both point at one block: open the smallest sets
        frontier = [f for f in frontier if not any(g is not f and f[0] <= g[0] and g[1] <= f[1] and
                                                   (g[0], g[1]) != (f[0], f[1]) for g in frontier)]
        leaves, retried = [], set()
        while frontier:
            if len(frontier) > self.max_wrong:
                report.spread = True
                return
            nxt = []
            todo = [(a, b, chains) for a, b, chains in frontier if b - a > 1]
            leaves += [(a, b) for a, b, _ in frontier if b - a == 1]
            # fresh directions for sets without usable ones
            fresh = []
            for i, (a, b, chains) in enumerate(todo):
                if not chains:
                    chains = [self.new_probe(a, b, "") for _ in range(LOCALISE_CHAINS)]
                    fresh += chains
                    todo[i] = (a, b, chains)
            if fresh:
                self.evaluate(fresh)
            halves = []
            for a, b, chains in todo:
                mid = (a + b) // 2
                for c in chains:
                    halves.append((a, b, c, _Probe(a, mid, c.z[:mid - c.lo], c.h, "", full=False,
                                                   sharp=c.sharp, trunc=c.result.truncation)))
            self.evaluate([h[3] for h in halves])
            others = []
            for a, b, c, left in halves:
                mid = (a + b) // 2
                if c.result.kinked or left.result.kinked:
                    others.append(_Probe(mid, b, c.z[mid - c.lo:b - c.lo], c.h, "", full=False,
                                         sharp=c.sharp, trunc=left.trunc))
                else:
                    # the other half's discrepancy follows by linearity: no evaluation
                    right = _Probe(mid, b, c.z[mid - c.lo:b - c.lo], c.h, "", full=False, sharp=c.sharp,
                                   trunc=left.trunc)
                    r = c.result
                    d = r.discrepancy - left.result.discrepancy
                    e = r.error + left.result.error
                    right.result = ProbeResult("", 0.0, 0.0, 0.0, 0.0, e, d, False, c.h, left.trunc)
                    right.result.flagged = abs(d) > STEER_MULTIPLE * e
                    others.append(right)
            need = [o for o in others if o.result is None]
            if need:
                self.evaluate(need)
            for k, (a, b, c, left) in enumerate(halves):
                halves[k] = (a, b, c, left, others[k])
            for a, b in dict.fromkeys((h[0], h[1]) for h in halves):
                mine = [h for h in halves if (h[0], h[1]) == (a, b)]
                mid = (a + b) // 2
                hot_l = [h[3] for h in mine if h[3].result.disagrees]
                hot_r = [h[4] for h in mine if h[4].result.disagrees]
                if hot_l:
                    nxt.append((a, mid, [q for q in (h[3] for h in mine) if not q.result.kinked]))
                if hot_r:
                    nxt.append((mid, b, [q for q in (h[4] for h in mine) if not q.result.kinked]))
                if not hot_l and not hot_r:
                    if (a, b) in retried:
                        report.unresolved.append(self.set_name(a, b))
                    else:
                        retried.add((a, b))
                        nxt.append((a, b, []))        # fresh directions next level
            frontier = [(a, b, chains) for a, b, chains in nxt]
            # a set whose fresh directions agree was a noise blip: drop it
            frontier = self._drop_quiet(frontier)
        self._confirm(sorted(set(leaves)), report)

    def _drop_quiet(self, frontier):
        fresh_sets = [(a, b) for a, b, chains in frontier if not chains and b - a > 1]
        if not fresh_sets:
            return frontier
        probes = {ab: [self.new_probe(ab[0], ab[1], "") for _ in range(LOCALISE_CHAINS)] for ab in fresh_sets}
        self.evaluate([p for ps in probes.values() for p in ps])
        out = []
        for a, b, chains in frontier:
            if (a, b) in probes:
                ps = probes[(a, b)]
                if any(p.result.disagrees for p in ps):
                    out.append((a, b, [p for p in ps if not p.result.kinked]))
                # else: the set's earlier disagreement is not reproduced by fresh directions
            else:
                out.append((a, b, chains))
        return out

    def _confirm(self, leaves, report):
        if not leaves:
            return
        plist = []
        for a, _ in leaves:
            p = _Probe(a, a + 1, np.ones(1), self.first_step(abs(float(self.theta[a]))), "", sharp=self.sharp)
            plist.append(p)
        self.evaluate(plist, pool=False)      # suspects: often at kinks, they would inflate the noise
        self._refine(plist, pool=False, verdict_made_by_any=False)
        wrong = []
        for p in plist:
            r = p.result
            if r.disagrees:
                wrong.append(Entry(p.lo, self.name(p.lo), float(self.g[p.lo]), r.low, r.high, r.error))
        report.wrong = wrong
