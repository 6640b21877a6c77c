"""fixture: inputs and expected outputs from a pickle fixture under fixtures/<assignment>/,
generated from the reference (`python grader.py fixtures --assignment ID`), either from the
check's own generated arguments or from real published data converted by a reference function.

    - name: unittest_linear_forward
      kind: fixture
      source: {data: data/ocr-neuralnet/unittest_data.pk, convert: unittest_linear_forward}
      steps: [...]
      compare: [out]

    - name: gradients_regression
      kind: fixture
      source: generated
      cases: 8
      dims: ...; args: ...
      steps: [...]

`data` is a path from the course folder; the file is read with the restricted unpickler. A
converter (a function of the reference module) returns a list of {"inputs": {...},
"published": {...}}; regeneration fails loudly if the reference no longer reproduces a
published value.
"""
import os
from dataclasses import dataclass

import numpy as np

from nngrader.boundary import safe_pickle
from nngrader.core.errors import SpecError
from nngrader.core.model import integer, req_map, str_list, string
from nngrader.core.outcome import Outcome
from nngrader.engine import compared, diagnosis, fixtures, inputs, orders, precision, scenario, search
from nngrader.engine.kind import Kind
from nngrader.engine.targets import ReferenceTarget

FIELDS = ("source", "cases", "dims", "args", "steps", "compare", "fixture", "return_orders")


@dataclass
class Config:
    source: object            # "generated" or {"data": path, "convert": name}
    cases: int
    inputs: inputs.InputSpec
    steps: list
    compare: list
    fixture: str
    return_orders: dict = None      # {call: [other accepted orders of its results]} (engine.orders)


def parse(where, raw, asg):
    if "steps" not in raw:
        raise SpecError(f"{where}: a fixture check needs `steps`.")
    src = raw.get("source", "generated")
    if src != "generated":
        req_map(where.at("source"), src, {"data", "convert"}, required=("data", "convert"))
    spec = inputs.parse_inputs(where, raw.get("dims"), raw.get("args"))
    steps = scenario.parse_steps(where.at("steps"), raw["steps"])
    produced = scenario.result_names(steps)
    names = str_list(where.at("compare"), raw["compare"]) if "compare" in raw else produced
    for i, n in enumerate(names):
        if n not in produced:
            raise SpecError(f"{where.at('compare', i)}: {n!r} is not returned by any step.")
    return Config(source=src, cases=integer(where.at("cases"), raw.get("cases", 8), minimum=1),
                  inputs=spec, steps=steps, compare=names,
                  fixture=string(where.at("fixture"), raw.get("fixture", raw["name"])),
                  return_orders=orders.parse(where.at("return_orders"), raw.get("return_orders"), steps))


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def run(check, ctx):
    cfg = check.config
    data = fixtures.load(ctx.asg, check)
    accept = search.accept_map(cfg.steps)
    calls = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new", "get"))
    origin = "published course data" if cfg.source != "generated" else "the reference"
    checked = (f"checked: {calls} — on the {len(data['cases'])} cases of fixture {cfg.fixture} "
               f"(expected values from {origin}); compared: {', '.join(cfg.compare)}")
    float32_note = ""
    for n, case in enumerate(data["cases"], start=1):
        env = dict(case["inputs"])
        stu_env, problem = search.run_student(ctx.student, cfg.steps, env, None)
        if problem is None:
            stu_env, notes = orders.resolve(cfg.steps, cfg.return_orders or {}, case["expected"], stu_env,
                                            check.tolerance, {}, accept)
            mism = search.compare_envs(cfg.compare, case["expected"], stu_env, check, accept)
            if mism and "float32" in check.tolerance:
                why = precision.traced(ctx.student, cfg.steps, env, None)
                if why and not search.compare_envs(cfg.compare, case["expected"], stu_env, check, accept,
                                                   tolerances=precision.as_float32(check, cfg.compare)):
                    mism, float32_note = [], precision.note(check, why)
            if mism:
                problem = search.Problem(env=env, draw=None, mismatches=mism, note="\n".join(notes))
        if problem is not None:
            diagnosis.diagnose_cases(check, ctx, cfg.steps, cfg.compare, problem,
                                     [(dict(c["inputs"]), c["expected"]) for c in data["cases"]])
            out = compared.outcome_for(check, cfg, problem)
            out.checked = checked
            if check.visibility != "hidden":
                out.lines.insert(0, f"case {n} of {len(data['cases'])} fails:")
            return out
    return Outcome(True, checked, lines=[float32_note] if float32_note else [])


# ---- making the fixture ---------------------------------------------------------------------

def _cases(asg, check, module):
    cfg = check.config
    if cfg.source == "generated":
        rng = np.random.default_rng(check.seed)
        out = []
        for _ in range(cfg.cases):
            dims = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in cfg.inputs.dims.items()}
            env = inputs.build(cfg.inputs, {"dims": dims, "seed": int(rng.integers(0, 2 ** 32 - 1))})
            out.append({"inputs": env})
        return out
    convert = getattr(module, cfg.source["convert"], None)
    if convert is None:
        raise SpecError(f"{check.where}: {asg.reference} has no converter {cfg.source['convert']!r}.")
    return convert(safe_pickle.restricted_load(asg.course.path(cfg.source["data"])))


def make_fixture(asg, check):
    """The check's cases: its inputs run through the reference's steps."""
    module = asg.course.import_reference(asg.reference)
    ref = ReferenceTarget(module, {os.path.basename(p): p for p in asg.support})
    cases = []
    for case in _cases(asg, check, module):
        env = search.run_reference(ref, check.config.steps, case["inputs"])
        expected = {n: env[n] for n in check.config.compare}
        for name, value in case.get("published", {}).items():
            mism = search.compare_envs([name], {name: value}, env, check, {})
            if mism:
                raise SpecError(f"{check.where}: the reference no longer reproduces the published {name}: "
                                f"{mism[0].summary}; {' '.join(mism[0].lines)}")
        cases.append({"inputs": case["inputs"], "expected": expected})
    return cases


KIND = Kind(name="fixture", fields=FIELDS, parse=parse, exercised=exercised, run=run, fixture=make_fixture)
