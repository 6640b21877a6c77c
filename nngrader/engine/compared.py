"""Comparing a scenario's results, submission against reference, on generated inputs: the
machinery of the `compare` kind, which `composition` and `stability` run with conditions of
their own, and whose feedback `fixture` shares.

The fields are the compare kind's (its docstring, `nngrader/kinds/compare.py`, is the manual).
With `kink`, the two references must agree everywhere else (else the check is a harness error:
an alternative may only differ at the declared kink).
"""
from dataclasses import dataclass, field

import numpy as np

from nngrader.core.errors import HarnessBug, SpecError
from nngrader.core.protocol import FailureKind
from nngrader.core.model import number, req_map, str_list, string
from nngrader.engine import diagnosis, feedback, hints, inputs, orders, precision, scenario, search

FIELDS = ("dims", "args", "call", "returns", "steps", "compare", "alternatives", "kink", "layouts", "return_orders", "variants",
          "structure")


@dataclass
class Config:
    inputs: inputs.InputSpec
    steps: list
    compare: list
    alternatives: dict = field(default_factory=dict)
    kink: tuple = None          # (argument name, value) where the alternatives may differ
    variants: list = field(default_factory=list)   # the assignment's own mistakes (diagnosis)
    layouts: list = field(default_factory=list)     # [{argument: symbolic shape}]: other accepted input shapes
    return_orders: dict = field(default_factory=dict)   # {call: [other accepted orders of its results]}
    structure: dict = field(default_factory=dict)   # what the values mean, for hints (hints.parse_structure)


def parse(where, raw, asg):
    spec = inputs.parse_inputs(where, raw.get("dims"), raw.get("args"))
    if ("call" in raw) == ("steps" in raw):
        raise SpecError(f"{where}: give either `call` (with `returns`) or `steps`, not both or neither.")
    if "call" in raw:
        step = {"call": string(where.at("call"), raw["call"]), "args": spec.names()}
        if "returns" in raw:
            step["returns"] = raw["returns"]
        else:
            step["returns"] = {"name": "result"}
        steps = scenario.parse_steps(where.at("call"), [step])
    else:
        if "returns" in raw:
            raise SpecError(f"{where.at('returns')}: with `steps`, put `returns` on the step that returns.")
        steps = scenario.parse_steps(where.at("steps"), raw["steps"])
    produced = scenario.result_names(steps)
    # Named explicitly, a value an eval/mean/dot/item step derives from the results may be
    # compared too (e.g. `0 * W` compares only W's shape, `maximum(abs(W) - l, 0)` a bound).
    computed = scenario.computed_names(steps)
    names = str_list(where.at("compare"), raw["compare"]) if "compare" in raw else produced
    for i, n in enumerate(names):
        if n not in produced and n not in computed:
            raise SpecError(f"{where.at('compare', i)}: {n!r} is not returned by any step "
                            f"(returned: {', '.join(produced)}; computed: {', '.join(computed) or 'none'}).")
    alts = raw.get("alternatives", {})
    if not isinstance(alts, dict):
        where.at("alternatives").fail("a mapping of reference names to alternative reference names", alts)
    kink = None
    if "kink" in raw:
        k = req_map(where.at("kink"), raw["kink"], {"arg", "at"}, required=("arg", "at"))
        if not alts:
            raise SpecError(f"{where.at('kink')}: a kink only makes sense with `alternatives`.")
        if k["arg"] not in spec.names():
            raise SpecError(f"{where.at('kink', 'arg')}: {k['arg']!r} is not a generated argument.")
        kink = (k["arg"], number(where.at("kink", "at"), k["at"]))
    layouts = parse_layouts(where.at("layouts"), raw.get("layouts", []), spec)
    return_orders = orders.parse(where.at("return_orders"), raw.get("return_orders"), steps)
    return Config(inputs=spec, steps=steps, compare=names, alternatives=dict(alts), kink=kink,
                  layouts=layouts, return_orders=return_orders, variants=diagnosis.parse_variants(where.at("variants"), raw.get("variants", [])),
                  structure=hints.parse_structure(where.at("structure"), raw.get("structure")))


def parse_layouts(where, raw, spec):
    """`layouts: [{g: [n], y: [n]}, ...]`: the same generated values in other shapes the handout
    allows, tried in order when the submission raises on the declared shapes (e.g. its own
    `assert g.shape == y.shape`). Each layout keeps every entry: only the shape changes."""
    if not isinstance(raw, list):
        where.fail("a list of {argument: shape} mappings", raw)
    out = []
    args = {a.name: a for a in spec.args}
    for i, layout in enumerate(raw):
        if not isinstance(layout, dict) or not layout:
            where.at(i).fail("a mapping {argument: shape}, e.g. {g: [n], y: [n]}", layout)
        for name, shape in layout.items():
            if name not in args or args[name].shape is None:
                raise SpecError(f"{where.at(i, name)}: {name!r} is not a generated array argument "
                                f"(generated: {', '.join(a for a in args if args[a].shape is not None)}).")
            if not isinstance(shape, list) or not all(
                    (isinstance(d, str) and d in spec.dims) or (isinstance(d, int) and not isinstance(d, bool))
                    for d in shape):
                where.at(i, name).fail("a shape of declared dimensions and integers, e.g. [n] or [n, 1]", shape)
        out.append(dict(layout))
    return out


def relayout(env, layout):
    """The example's values in another accepted layout (same entries, other shapes)."""
    out = dict(env)
    for name, shape in layout.items():
        value = np.asarray(env[name])
        target = tuple(env[d] if isinstance(d, str) else int(d) for d in shape)
        if int(np.prod(target, dtype=np.int64)) != value.size:
            raise SpecError(f"layouts: {name} of shape {value.shape} cannot be laid out as {list(shape)} "
                            f"= {target} (a layout may only change the shape, not the number of entries).")
        out[name] = value.reshape(target)
    return out


def _shapes_text(env, names):
    return ", ".join(f"{n} {tuple(np.shape(env[n]))}" for n in names)


def localize_kink(cfg, check, env, ref_env, upper_env):
    """Keep the interval only at the declared kink; elsewhere the references must agree."""
    arg, at = cfg.kink
    x = np.asarray(env[arg], dtype=np.float64)
    at_kink = x == at
    out = dict(upper_env)
    for name in cfg.compare:
        lo = np.asarray(ref_env[name], dtype=np.float64)
        hi = np.asarray(upper_env[name], dtype=np.float64)
        if lo.shape != x.shape:
            continue
        tol = check.tolerance["float64"]
        off = ~at_kink & ~(np.abs(lo - hi) <= tol.atol + tol.rtol * np.abs(lo))
        if off.any():
            raise HarnessBug(f"the reference and its alternative ({cfg.alternatives}) disagree on "
                                      f"{name} away from the declared kink {arg} == {at}")
        out[name] = np.where(at_kink, hi, lo)
    return out


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def checked_text(check, cfg, what="against the reference"):
    calls = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new", "get"))
    return (f"checked: {calls} — {what} on up to {check.max_examples} generated examples "
            f"(seed {check.seed}); compared: {', '.join(cfg.compare)}")


def run(check, ctx, verify=None, what="against the reference"):
    """`verify(stu_env, env) -> [Mismatch]` adds kind-specific conditions (stability, composition)."""
    cfg = check.config
    ref = ctx.reference()
    alt = ctx.reference(cfg.alternatives) if cfg.alternatives else None
    accept = search.accept_map(cfg.steps)
    tolerances = search.tolerance_map(cfg.steps)

    prefetch = search.Prefetch(ctx.student, cfg.inputs, cfg.steps)

    def one(draw):
        env = prefetch.inputs(draw)
        ctx.student.warnings_log = []
        stu_env, problem = search.run_student(ctx.student, cfg.steps, env, draw)
        note = ""
        if problem and cfg.layouts and problem.failure is not None \
                and problem.failure.category == FailureKind.EXCEPTION:
            for layout in cfg.layouts:
                other = relayout(env, layout)
                ctx.student.warnings_log = []
                stu_other, again = search.run_student(ctx.student, cfg.steps, other, draw)
                if again is None:
                    note = (f"  note: your code raised on {_shapes_text(env, layout)} "
                            f"({problem.failure.type_name or 'an error'}); it was graded on "
                            f"{_shapes_text(other, layout)} instead, a layout the handout also allows")
                    env, stu_env, problem = other, stu_other, None
                    break
        if problem:
            search.run_reference(ref, cfg.steps, env)     # where the reference fails too, the spec is at fault
            return problem
        ref_env = search.run_reference(ref, cfg.steps, env)
        upper = search.run_reference(alt, cfg.steps, env) if alt else None
        if upper is not None and cfg.kink:
            upper = localize_kink(cfg, check, env, ref_env, upper)
        if verify is None and not search.compare_envs(cfg.compare, ref_env, stu_env, check, accept, upper,
                                                      tolerances=tolerances):
            # the values compared match in the order declared: so they do in any order found below
            # (found only where every value matches under it), and nothing else is judged
            return None
        dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
        stu_env, order_notes = orders.resolve(cfg.steps, cfg.return_orders, ref_env, stu_env,
                                              check.tolerance, dims, accept)
        note = "\n".join([note] + order_notes if note else order_notes)
        mismatches = verify(stu_env, env) if verify else []
        compared_ = search.compare_envs(cfg.compare, ref_env, stu_env, check, accept, upper, tolerances=tolerances)
        if compared_ and "float32" in check.tolerance:
            why = precision.evidence(ctx.student, ref, cfg.steps, env, cfg.compare, ref_env, stu_env, draw)
            if why:
                precision.record(ctx, check, why)
            else:
                why = precision.known(ctx, check)
            if why and not search.compare_envs(cfg.compare, ref_env, stu_env, check, accept, upper,
                                               tolerances=precision.as_float32(check, cfg.compare, tolerances)):
                compared_ = []
                float32_notes.add(precision.note(check, why))
        mismatches += compared_
        hints.structure_hints(mismatches, cfg.structure, env, ref_env, stu_env)
        return search.Problem(env=env, draw=draw, mismatches=mismatches, note=note) if mismatches else None

    float32_notes = set()
    problem = search.search(cfg.inputs, check.seed, check.max_examples, one, prefetch)
    diagnosis.diagnose(check, ctx, cfg.steps, cfg.inputs, cfg.compare, problem, cfg.variants)
    out = outcome_for(check, cfg, problem, what)
    if out.passed and float32_notes:
        out.lines = sorted(float32_notes)
    return out


def outcome_for(check, cfg, problem, what="against the reference"):
    names = cfg.inputs.names()
    if problem is not None and problem.env is not None:     # the example as the code received it
        names, problem.env = feedback.as_received(cfg.steps, problem.env, names)
    return feedback.outcome(check, checked_text(check, cfg, what), problem, names)
