"""The JSON Schema of checks/<assignment>.yaml, written to checks/schema.json for editors
(`# yaml-language-server: $schema=schema.json`). Built from the kind registry so it cannot drift:
each kind's fields become the allowed keys of a check of that kind.

    python -m nngrader.frontends.schema_gen [--course DIR]   # rewrite checks/schema.json
"""
import argparse
import json
import os

from nngrader.core.course import course_at
from nngrader.core.limits import Limits
from nngrader.core.model import VISIBILITIES
from nngrader.kinds import REGISTRY

NUMBER = {"type": "number"}
TOL = {"type": "object", "additionalProperties": False,
       "properties": {"rtol": {"type": "number", "minimum": 0}, "atol": {"type": "number", "minimum": 0}}}
TOL_PAIR = {"type": "object", "additionalProperties": False,
            "properties": {"float64": {"$ref": "#/$defs/tolerance"}, "float32": {"$ref": "#/$defs/tolerance"}}}
STEPS = {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": False, "properties": {
    k: {} for k in ("call", "new", "set", "get", "mean", "dot", "item", "eval", "args", "kwargs",
                    "returns", "as", "value", "index")}}}
FIELD_SCHEMAS = {
    "dims": {"type": "object", "additionalProperties": {
        "oneOf": [{"type": "integer", "minimum": 0},
                  {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}]}},
    "args": {"type": "object", "additionalProperties": {"type": "object"}},
    "steps": {"$ref": "#/$defs/steps"}, "loss_steps": {"$ref": "#/$defs/steps"},
    "setup": {"$ref": "#/$defs/steps"}, "score_steps": {"$ref": "#/$defs/steps"},
    "call": {"type": "string"}, "compare": {"type": "array", "items": {"type": "string"}},
    "returns": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
    "alternatives": {"type": "object", "additionalProperties": {"type": "string"}},
    "kink": {"type": "object", "additionalProperties": False, "required": ["arg", "at"],
             "properties": {"arg": {"type": "string"}, "at": {"type": "number"}}},
    "wrt": {"type": "object", "additionalProperties": {"type": "string"}},
    "fd_step": NUMBER, "fd_tolerance": {"$ref": "#/$defs/tolerance"},
    "trajectory_tolerance": {"$ref": "#/$defs/tolerance"},
    "max_entries": {"type": "integer", "minimum": 1}, "kink_threshold": NUMBER,
    "verify_above": {"type": "integer", "minimum": 1},
    "iterations": {"type": "integer", "minimum": 1},
    "expect": {"enum": ["decrease", "match_reference"]}, "min_decrease": NUMBER,
    "min_accuracy": NUMBER, "cases": {"type": "integer", "minimum": 1},
    "attempts": {"type": "integer", "minimum": 1},
    "if_absent": {"enum": ["pass", "fail"]}, "file": {"type": "string"}, "fixture": {"type": "string"},
    "keys": {"type": "array", "items": {"type": "string"}},
    # program / outputs
    "argv": {"type": "array", "items": {"oneOf": [
        {"type": ["string", "number"]},
        {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
         "properties": {"file": {"type": "string"}, "output": {"type": "string"}}}]}},
    "outputs": {"type": "object", "additionalProperties": {"type": "string"}},
    "program": {"type": "string"}, "reference_main": {"type": "string"},
    "published": {"type": "object", "additionalProperties": {"type": "string"}},
    # outputs: {name: {reference_main, message}}; compare/composition/answers: known mistakes for the diagnosis
    "variants": {"oneOf": [
        {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["reference_main", "message"],
            "properties": {"reference_main": {"type": "string"}, "message": {"type": "string"}}}},
        {"type": "array", "items": {"type": "object"}}]},
    "read_bytes": {"type": "integer", "minimum": 1}, "run": {"type": "string"},
    "format": {"enum": ["labels", "metrics"]}, "metric_tolerance": {"$ref": "#/$defs/tolerance"},
    "layouts": {"type": "array", "items": {"type": "object", "minProperties": 1, "additionalProperties": {
        "type": "array", "items": {"type": ["string", "integer"]}}}},
    "return_orders": {"type": "object", "additionalProperties": {
        "type": "array", "items": {"type": "array", "items": {"type": "string"}}}},
    "precision": {"type": "object", "additionalProperties": False, "required": ["minimum_digits"],
                  "properties": {"minimum_digits": {"type": "integer", "minimum": 1},
                                 "coarse_credit": {"type": "number", "minimum": 0, "maximum": 1}}},
    "too_large_ratio": NUMBER, "hints": {"type": "object", "additionalProperties": {"type": "string"}},
}
COMMON = {"name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "kind": {"enum": REGISTRY.names()},
          "points": {"type": "number", "minimum": 0}, "visibility": {"enum": list(VISIBILITIES)},
          "exercises": {"type": "array", "items": {"type": "string"}}, "description": {"type": "string"},
          "seed": {"type": "integer", "minimum": 0}, "max_examples": {"type": "integer", "minimum": 1},
          "tolerance": {"$ref": "#/$defs/tolerance_pair"}, "timeout": {"type": "number", "exclusiveMinimum": 0}}


def build():
    variants = []
    for name in REGISTRY.names():
        kind = REGISTRY.get(name)
        props = dict(COMMON)
        for f in kind.fields:
            props[f] = FIELD_SCHEMAS.get(f, {})
        props["kind"] = {"const": name}
        variants.append({"type": "object", "additionalProperties": False, "required": ["name", "kind", "points"],
                         "properties": props})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nngrader assignment spec (checks/<assignment-id>.yaml)",
        "type": "object", "additionalProperties": False, "required": ["assignment", "checks"],
        "$defs": {"tolerance": TOL, "tolerance_pair": TOL_PAIR, "steps": STEPS},
        "properties": {
            "assignment": {"type": "object", "additionalProperties": False, "required": ["id", "module", "reference", "contract"],
                           "properties": {"id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                                          "title": {"type": "string"}, "module": {"type": "string"},
                                          "files": {"type": "array", "items": {"type": "string"}},
                                          "optional_files": {"type": "array", "items": {"type": "string"}},
                                          "reference": {"type": "string"},
                                          "contract": {"type": "array", "items": {"type": "string"}},
                                          "support": {"type": "array", "items": {"type": "string"}},
                                          "packages": {"type": "array", "items": {"type": "string"}}}},
            "policies": {"type": "object", "additionalProperties": False,
                         "properties": {"top_level_code_penalty": {"type": "number", "minimum": 0},
                                        "accept_renamed_files": {"type": "boolean"},
                                        "aliases": {"type": "object", "additionalProperties": {
                                            "type": "array", "items": {"type": "string"}}}}},
            "defaults": {"type": "object", "additionalProperties": False,
                         "properties": {"seed": {"type": "integer", "minimum": 0},
                                        "max_examples": {"type": "integer", "minimum": 1},
                                        "visibility": {"enum": list(VISIBILITIES)},
                                        "tolerance": {"$ref": "#/$defs/tolerance_pair"}}},
            "limits": {"type": "object", "additionalProperties": False,
                       "properties": {n: ({"type": "string"} if n == "unprivileged_user" else {"type": "number", "exclusiveMinimum": 0})
                                      for n in Limits.names()}},
            "checks": {"type": "array", "minItems": 1, "items": {"oneOf": variants}},
        },
    }


def path(course=None):
    return os.path.join((course or course_at()).checks_dir, "schema.json")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m nngrader.frontends.schema_gen")
    p.add_argument("--course", help="course folder (default: the project's own)")
    target = path(course_at(p.parse_args(argv).course))
    with open(target, "w") as f:
        json.dump(build(), f, indent=1)
        f.write("\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
