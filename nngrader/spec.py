"""Loading and validating checks/<assignment>.yaml into typed objects, once.

Every error names the file, the check, the field, the bad value and the fix, e.g.
`checks/x.yaml › gradients_dW1 › rtol: expected a positive number, got '1e-5' (str). YAML 1.1
reads 1e-5 as a string; write 1.0e-5.`
"""
import os
import re
from dataclasses import dataclass, field

import yaml

from nngrader import kinds as kind_registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKS_DIR = os.path.join(ROOT, "checks")
FIXTURES_DIR = os.path.join(ROOT, "fixtures")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(Exception):
    """A broken assignment spec: fails at load, never scores anyone zero."""


class Where:
    """Location of a value inside a spec file, for error messages."""

    def __init__(self, path, check=None, trail=()):
        self.path = path
        self.check = check
        self.trail = tuple(trail)

    def at(self, *keys):
        return Where(self.path, self.check, self.trail + tuple(str(k) for k in keys))

    def in_check(self, name):
        return Where(self.path, name, ())

    def __str__(self):
        rel = os.path.relpath(self.path, ROOT) if os.path.isabs(self.path) else self.path
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

    @property
    def max_points(self):
        return sum(c.points for c in self.checks)

    def check(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def fixture_path(self, check_name):
        return os.path.join(FIXTURES_DIR, self.id, f"{check_name}.pkl")


COMMON_CHECK_KEYS = {"name", "kind", "points", "visibility", "exercises", "description", "seed",
                     "max_examples", "tolerance", "timeout"}


def assignment_path(assignment_id):
    return os.path.join(CHECKS_DIR, f"{assignment_id}.yaml")


def available():
    return sorted(f[:-5] for f in os.listdir(CHECKS_DIR) if f.endswith(".yaml"))


def load(assignment_id_or_path):
    """Load and validate one assignment spec; raises SpecError with a precise message."""
    path = assignment_id_or_path
    if not path.endswith((".yaml", ".yml")):
        path = assignment_path(assignment_id_or_path)
        if not os.path.exists(path):
            raise SpecError(f"unknown assignment {assignment_id_or_path!r}; available: {', '.join(available())}")
    where = Where(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except OSError as exc:
        raise SpecError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"{where}: not valid YAML{pos}: {getattr(exc, 'problem', exc)}") from None
    req_map(where, raw, {"assignment", "defaults", "limits", "checks"}, required=("assignment", "checks"))
    a = req_map(where.at("assignment"), raw["assignment"],
                {"id", "title", "module", "files", "optional_files", "reference", "contract", "support"},
                required=("id", "module", "reference", "contract"))
    wa = where.at("assignment")
    aid = string(wa.at("id"), a["id"], pattern=r"[a-z0-9][a-z0-9-]*")
    if os.path.basename(path)[:-5] != aid:
        raise SpecError(f"{wa.at('id')}: the id {aid!r} must equal the file name {os.path.basename(path)!r} without .yaml.")
    module = string(wa.at("module"), a["module"], pattern=r"[A-Za-z_][A-Za-z0-9_]*")
    defaults = _read_defaults(where.at("defaults"), raw.get("defaults") or {})
    limits = _read_limits(where.at("limits"), raw.get("limits") or {})
    support = str_list(wa.at("support"), a.get("support", []))
    base = os.path.dirname(path)
    for i, s in enumerate(support):
        if not os.path.exists(os.path.join(base, s)):
            raise SpecError(f"{wa.at('support', i)}: support file {s!r} not found next to the spec "
                            f"(looked for {os.path.join(base, s)}).")
    asg = Assignment(
        id=aid, title=a.get("title", aid), module=module,
        files=str_list(wa.at("files"), a.get("files", [module + ".py"])),
        optional_files=str_list(wa.at("optional_files"), a.get("optional_files", [])),
        reference=string(wa.at("reference"), a["reference"]),
        contract=str_list(wa.at("contract"), a["contract"]),
        support=[os.path.join(base, s) for s in support],
        limits=limits, defaults=defaults, checks=[], path=path)
    raw_checks = raw["checks"]
    if not isinstance(raw_checks, list) or not raw_checks:
        where.at("checks").fail("a non-empty list of checks", raw_checks)
    seen = set()
    for i, rc in enumerate(raw_checks):
        wc = where.at("checks", i)
        if not isinstance(rc, dict):
            wc.fail("a mapping describing one check", rc)
        name = rc.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            wc.at("name").fail("an identifier-like check name (letters, digits, _)", name)
        if name in seen:
            raise SpecError(f"{wc.at('name')}: duplicate check name {name!r}.")
        seen.add(name)
        asg.checks.append(_read_check(where.in_check(name), rc, asg))
    for n, c in enumerate(asg.checks, start=1):
        c.number = str(n)
    return asg


def _read_defaults(where, raw):
    v = req_map(where, raw, {"seed", "max_examples", "visibility", "tolerance"})
    d = Defaults()
    if "seed" in v:
        d.seed = integer(where.at("seed"), v["seed"], minimum=0)
    if "max_examples" in v:
        d.max_examples = integer(where.at("max_examples"), v["max_examples"], minimum=1)
    if "visibility" in v:
        d.visibility = string(where.at("visibility"), v["visibility"], VISIBILITIES)
    if "tolerance" in v:
        d.tolerance = _read_tol_pair(where.at("tolerance"), v["tolerance"], d.tolerance)
    return d


def _read_tol_pair(where, raw, base):
    v = req_map(where, raw, {"float64", "float32"})
    out = dict(base)
    for k in v:
        out[k] = read_tolerance(where.at(k), v[k], base.get(k))
    return out


def _read_limits(where, raw):
    from nngrader.sandbox import Limits
    if not isinstance(raw, dict):
        where.fail("a mapping of limit names to values", raw)
    for k, val in raw.items():
        if k not in Limits.names():
            raise SpecError(f"{where.at(k)}: unknown limit {k!r}; known limits: {', '.join(Limits.names())}.")
        if k != "unprivileged_user":
            number(where.at(k), val, positive=True)
    return dict(raw)


def _read_check(where, rc, asg):
    kind_name = rc.get("kind")
    kind = kind_registry.get(kind_name, where.at("kind"))
    allowed = COMMON_CHECK_KEYS | set(kind.FIELDS)
    req_map(where, rc, allowed, required=("name", "kind", "points"))
    points = number(where.at("points"), rc["points"], nonneg=True)
    visibility = string(where.at("visibility"), rc.get("visibility", asg.defaults.visibility), VISIBILITIES)
    config = kind.parse(where, rc, asg)
    exercises = str_list(where.at("exercises"), rc["exercises"]) if "exercises" in rc else kind.exercised(config)
    for i, e in enumerate(exercises):
        if e.split(".")[0] not in asg.contract:
            raise SpecError(f"{where.at('exercises', i)}: {e!r} is not in the assignment's contract "
                            f"({', '.join(asg.contract)}).")
    tol = asg.defaults.tolerance
    if "tolerance" in rc:
        tol = _read_tol_pair(where.at("tolerance"), rc["tolerance"], tol)
    return Check(
        name=rc["name"], kind=kind_name, points=points, visibility=visibility,
        exercises=exercises,
        description=string(where.at("description"), rc.get("description", "")),
        config=config, where=where,
        seed=integer(where.at("seed"), rc.get("seed", asg.defaults.seed), minimum=0),
        max_examples=integer(where.at("max_examples"), rc.get("max_examples", asg.defaults.max_examples), minimum=1),
        tolerance=tol, raw=rc,
        timeout=number(where.at("timeout"), rc["timeout"], positive=True) if "timeout" in rc else None)
