"""fixture: inputs and expected outputs from a pickle fixture under fixtures/<assignment>/,
generated from the reference (`python grader.py fixtures --assignment ID`), either from the
check's own generated arguments or from real published data converted by a reference function.

    - name: unittest_linear_forward
      kind: fixture
      source: {data: ../shared/data/ocr-neuralnet/unittest_data.pk, convert: unittest_linear_forward}
      steps: [...]
      compare: [out]

    - name: gradients_regression
      kind: fixture
      source: generated
      cases: 8
      dims: ...; args: ...
      steps: [...]

A converter returns a list of {"inputs": {...}, "published": {...}}; regeneration fails loudly if
the reference no longer reproduces a published value.
"""
from dataclasses import dataclass

from nngrader import evaluate, inputs, scenario
from nngrader.kinds import compare as compare_kind
from nngrader.outcome import Outcome
from nngrader.spec import SpecError, integer, req_map, str_list, string

FIELDS = ("source", "cases", "dims", "args", "steps", "compare", "fixture")


@dataclass
class Config:
    source: object            # "generated" or {"data": path, "convert": name}
    cases: int
    inputs: inputs.InputSpec
    steps: list
    compare: list
    fixture: str


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
                  fixture=string(where.at("fixture"), raw.get("fixture", raw["name"])))


def exercised(cfg):
    return scenario.exercised(cfg.steps)


def run(check, ctx):
    from nngrader import fixtures
    cfg = check.config
    data = fixtures.load(ctx.asg, check)
    accept = evaluate.accept_map(cfg.steps)
    calls = ", ".join(s.describe() for s in cfg.steps if s.op in ("call", "new", "get"))
    origin = "published course data" if cfg.source != "generated" else "the reference"
    checked = (f"checked: {calls} — on the {len(data['cases'])} cases of fixture {cfg.fixture} "
               f"(expected values from {origin}); compared: {', '.join(cfg.compare)}")
    for n, case in enumerate(data["cases"], start=1):
        env = dict(case["inputs"])
        stu_env, problem = evaluate.run_student(ctx.student, cfg.steps, env, None)
        if problem is None:
            mism = evaluate.compare_envs(cfg.compare, case["expected"], stu_env, check, accept)
            if mism:
                problem = evaluate.Problem(env=env, draw=None, mismatches=mism)
        if problem is not None:
            out = compare_kind.outcome_for(check, cfg, problem)
            out.checked = checked
            if check.visibility != "hidden":
                out.lines.insert(0, f"case {n} of {len(data['cases'])} fails:")
            return out
    return Outcome(True, checked)
