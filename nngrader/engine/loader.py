"""Loading and validating checks/<assignment>.yaml into the typed spec model (`core.model`),
once. The kinds come from the registry the caller passes (`nngrader.kinds.REGISTRY`): the engine
never imports a kind, and loading never imports reference code.
"""
import os

import yaml

from nngrader.core.course import default_course
from nngrader.core.errors import SpecError
from nngrader.core.limits import Limits
from nngrader.core.model import (VISIBILITIES, NAME_RE, Assignment, Check, Defaults, Policies, Where, integer,
                                 number, read_tolerance, req_map, str_list, string)
from nngrader.engine import scenario

COMMON_CHECK_KEYS = {"name", "kind", "points", "visibility", "exercises", "description", "seed",
                     "max_examples", "tolerance", "timeout"}

# libyaml's parser where PyYAML was built with it (the same safe constructor, ten times sooner: a
# spec is read at every start), else PyYAML's own.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(assignment_id_or_path, registry, course=None):
    """Load and validate one assignment spec of `course` (default: the project's own), with the
    check kinds of `registry`; raises SpecError with a precise message."""
    course = course or default_course()
    path = assignment_id_or_path
    if not path.endswith((".yaml", ".yml")):
        path = course.spec_path(assignment_id_or_path)
        if not os.path.exists(path):
            raise SpecError(f"unknown assignment {assignment_id_or_path!r}; available: "
                            f"{', '.join(course.available())}")
    where = Where(path, root=course.root)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=SAFE_LOADER)
    except OSError as exc:
        raise SpecError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"{where}: not valid YAML{pos}: {getattr(exc, 'problem', exc)}") from None
    req_map(where, raw, {"assignment", "defaults", "limits", "policies", "checks"}, required=("assignment", "checks"))
    a = req_map(where.at("assignment"), raw["assignment"],
                {"id", "title", "module", "files", "optional_files", "reference", "contract", "support", "packages"},
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
        limits=limits, defaults=defaults, checks=[], path=path, course=course,
        packages=str_list(wa.at("packages"), a.get("packages", [])),
        policies=_read_policies(where.at("policies"), raw.get("policies") or {}))
    for name in asg.policies.aliases:
        if name not in asg.contract:
            raise SpecError(f"{where.at('policies', 'aliases', name)}: {name!r} is not in the assignment's "
                            f"contract ({', '.join(asg.contract)}); aliases are keyed by contract names.")
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
        asg.checks.append(_read_check(where.in_check(name), rc, asg, registry))
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


def _read_policies(where, raw):
    v = req_map(where, raw, {"top_level_code_penalty", "aliases", "accept_renamed_files"})
    p = Policies()
    if "accept_renamed_files" in v:
        if not isinstance(v["accept_renamed_files"], bool):
            where.at("accept_renamed_files").fail("true or false", v["accept_renamed_files"])
        p.accept_renamed_files = v["accept_renamed_files"]
    if "top_level_code_penalty" in v:
        p.top_level_code_penalty = number(where.at("top_level_code_penalty"), v["top_level_code_penalty"], nonneg=True)
    if "aliases" in v:
        aliases = v["aliases"]
        if not isinstance(aliases, dict):
            where.at("aliases").fail("a mapping {contract name: [accepted names]}", aliases)
        for name, others in aliases.items():
            others = str_list(where.at("aliases", name), others)
            for i, other in enumerate(others):
                if not NAME_RE.match(other):
                    where.at("aliases", name, i).fail("a Python identifier", other)
            p.aliases[str(name)] = others
    return p


def _read_limits(where, raw):
    if not isinstance(raw, dict):
        where.fail("a mapping of limit names to values", raw)
    for k, val in raw.items():
        if k not in Limits.names():
            raise SpecError(f"{where.at(k)}: unknown limit {k!r}; known limits: {', '.join(Limits.names())}.")
        if k != "unprivileged_user":
            number(where.at(k), val, positive=True)
    return dict(raw)


def _read_check(where, rc, asg, registry):
    kind_name = rc.get("kind")
    kind = registry.get(kind_name, where.at("kind"))
    allowed = COMMON_CHECK_KEYS | set(kind.fields)
    req_map(where, rc, allowed, required=("name", "kind", "points"))
    points = number(where.at("points"), rc["points"], nonneg=True)
    visibility = string(where.at("visibility"), rc.get("visibility", asg.defaults.visibility), VISIBILITIES)
    config = kind.parse(where, rc, asg)
    # every name a step uses is defined before it is used (a typo is the spec's error, here)
    scenario.resolve_config(config, files={os.path.basename(p) for p in asg.support})
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
        tolerance=tol, raw=rc, kind_impl=kind,
        timeout=number(where.at("timeout"), rc["timeout"], positive=True) if "timeout" in rc else None)
