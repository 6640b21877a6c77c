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
from nngrader.core.model import number, req_map, str_list, string
from nngrader.engine import feedback, inputs, scenario, search

FIELDS = ("dims", "args", "call", "returns", "steps", "compare", "alternatives", "kink")


@dataclass
class Config:
    inputs: inputs.InputSpec
    steps: list
    compare: list
    alternatives: dict = field(default_factory=dict)
    kink: tuple = None          # (argument name, value) where the alternatives may differ


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
    return Config(inputs=spec, steps=steps, compare=names, alternatives=dict(alts), kink=kink)


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

    def one(draw):
        env = inputs.build(cfg.inputs, draw)
        ref_env = search.run_reference(ref, cfg.steps, env)
        upper = search.run_reference(alt, cfg.steps, env) if alt else None
        if upper is not None and cfg.kink:
            upper = localize_kink(cfg, check, env, ref_env, upper)
        ctx.student.warnings_log = []
        stu_env, problem = search.run_student(ctx.student, cfg.steps, env, draw)
        if problem:
            return problem
        mismatches = verify(stu_env, env) if verify else []
        mismatches += search.compare_envs(cfg.compare, ref_env, stu_env, check, accept, upper)
        return search.Problem(env=env, draw=draw, mismatches=mismatches) if mismatches else None

    problem = search.search(cfg.inputs, check.seed, check.max_examples, one)
    return outcome_for(check, cfg, problem, what)


def outcome_for(check, cfg, problem, what="against the reference"):
    return feedback.outcome(check, checked_text(check, cfg, what), problem, cfg.inputs.names())
