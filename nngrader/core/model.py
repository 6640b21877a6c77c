"""The spec model: an assignment and its checks as typed objects, and the small typed readers
that build them, each raising SpecError naming the place (`engine.loader` reads the YAML).

Every error names the file, the check, the field, the bad value and the fix, e.g.
`checks/x.yaml › gradients_dW1 › rtol: expected a positive number, got '1e-5' (str). YAML 1.1
reads 1e-5 as a string; write 1.0e-5.`
"""
import os
import re
from dataclasses import dataclass, field

from nngrader.core.errors import SpecError

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Where:
    """Location of a value inside a spec file, for error messages."""

    def __init__(self, path, check=None, trail=(), root=None):
        self.path = path
        self.check = check
        self.trail = tuple(trail)
        self.root = root            # the course folder: paths are shown relative to it

    def at(self, *keys):
        return Where(self.path, self.check, self.trail + tuple(str(k) for k in keys), self.root)

    def in_check(self, name):
        return Where(self.path, name, (), self.root)

    def __str__(self):
        rel = os.path.relpath(self.path, self.root) if self.root and os.path.isabs(self.path) else self.path
        parts = [rel] + ([self.check] if self.check else []) + (["".join(self.trail[:1]) + "".join(
            f".{t}" if not t.isdigit() else f"[{t}]" for t in self.trail[1:])] if self.trail else [])
        return " › ".join(parts)

    def fail(self, expected, value, fix=""):
        got = f"{value!r} ({type(value).__name__})"
        hint = fix
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value.strip()):
            hint = (f"YAML 1.1 reads {value} as a string; write {_yaml_float(value)}." + (" " + fix if fix else ""))
        raise SpecError(f"{self}: expected {expected}, got {got}." + (f" {hint}" if hint else ""))


def _yaml_float(text):
    mant, exp = re.split(r"[eE]", text.strip())
    if "." not in mant:
        mant += ".0"
    return f"{mant}e{exp}"


# ---- small typed readers: each raises SpecError naming the place --------------------------

def req_map(where, value, allowed, required=()):
    if not isinstance(value, dict):
        where.fail("a mapping", value)
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise SpecError(f"{where.at(unknown[0])}: unknown key {unknown[0]!r}; allowed keys here: "
                        f"{', '.join(sorted(allowed))}.")
    for k in required:
        if k not in value:
            raise SpecError(f"{where}: missing required key {k!r}.")
    return value


def number(where, value, positive=False, nonneg=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        where.fail("a positive number" if positive else "a number", value)
    if positive and not value > 0:
        where.fail("a positive number", value)
    if nonneg and value < 0:
        where.fail("a number >= 0", value)
    return float(value)


def integer(where, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        where.fail("an integer" + (f" >= {minimum}" if minimum is not None else ""), value)
    if minimum is not None and value < minimum:
        where.fail(f"an integer >= {minimum}", value)
    return value


def string(where, value, choices=None, pattern=None):
    if not isinstance(value, str):
        where.fail("a string" if not choices else f"one of {', '.join(choices)}", value)
    if choices and value not in choices:
        where.fail(f"one of {', '.join(choices)}", value)
    if pattern and not re.fullmatch(pattern, value):
        where.fail(f"a string matching {pattern}", value)
    return value


def str_list(where, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        where.fail("a list of strings", value)
    return list(value)


@dataclass(frozen=True)
class Tolerance:
    """|received - expected| <= atol + rtol * |expected|, elementwise, after an exact shape check."""
    rtol: float
    atol: float

    def describe(self):
        return f"atol {self.atol:g} + rtol {self.rtol:g}·|expected|"


def read_tolerance(where, value, base=None):
    v = req_map(where, value, {"rtol", "atol"})
    rtol = number(where.at("rtol"), v["rtol"], nonneg=True) if "rtol" in v else (base.rtol if base else None)
    atol = number(where.at("atol"), v["atol"], nonneg=True) if "atol" in v else (base.atol if base else None)
    if rtol is None or atol is None:
        raise SpecError(f"{where}: both rtol and atol are needed here.")
    return Tolerance(rtol, atol)


@dataclass
class Defaults:
    seed: int = 20260209
    max_examples: int = 20
    visibility: str = "visible"
    # float64 outputs are held to near machine precision; float32 outputs (a correct float32
    # implementation must get full marks) to float32's ~1e-7 epsilon times a growth margin.
    tolerance: dict = field(default_factory=lambda: {
        "float64": Tolerance(rtol=1e-6, atol=1e-9),
        "float32": Tolerance(rtol=2e-4, atol=1e-5)})


@dataclass
class Policies:
    """How an assignment treats what surrounds the graded functions (`policies:` in the YAML)."""
    # Points taken off the total when importing the submission failed because of its module-level
    # statements, so that only its definitions could be graded (0: nothing is deducted).
    top_level_code_penalty: float = 0.0
    # Other names a contract function may have, where the handout itself uses another name
    # ({contract name: [accepted names]}); a submission defining only an accepted name is graded
    # under it, with a note. The contract name wins when both are defined.
    aliases: dict = field(default_factory=dict)
    # A contract file absent under its own name but handed in once under a name a computer or a
    # course site gives a copy of it (another letter case, `assignment2 (1).py`,
    # `assignment2-1.py`, `assignment2 copy.py`) is graded as that file, with a note (False: only
    # the exact name is graded).
    accept_renamed_files: bool = True


@dataclass
class Check:
    name: str
    kind: str
    points: float
    visibility: str
    exercises: list
    description: str
    config: object            # the kind's own typed fields
    where: Where
    number: str = ""
    seed: int = 0
    max_examples: int = 0
    tolerance: dict = None
    timeout: float = None     # per-call time limit for this check (else the sandbox default)
    raw: dict = None          # the check as written (fixtures record its digest)
    kind_impl: object = None  # the registered CheckKind named by `kind` (engine.kind)


@dataclass
class Assignment:
    id: str
    title: str
    module: str
    files: list
    optional_files: list
    reference: str
    contract: list
    support: list
    limits: dict
    defaults: Defaults
    checks: list
    path: str
    course: object            # the Course it belongs to (core.course)
    packages: list = field(default_factory=list)    # packages grading needs really installed
    policies: "Policies" = None

    def __post_init__(self):
        if self.policies is None:
            self.policies = Policies()

    @property
    def max_points(self):
        return sum(c.points for c in self.checks)

    def check(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def fixture_path(self, check_name):
        return os.path.join(self.course.fixtures_dir, self.id, f"{check_name}.pkl")


