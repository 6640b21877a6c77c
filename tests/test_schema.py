"""The shipped JSON Schema is current and accepts every shipped spec; it rejects what load rejects."""
import json

import jsonschema
import yaml

from nngrader.frontends import schema_gen
from nngrader.core.course import default_course
from nngrader.frontends import assignments


def test_schema_file_is_current():
    with open(schema_gen.path()) as f:
        assert json.load(f) == json.loads(json.dumps(schema_gen.build())), \
            "checks/schema.json is stale: run `python -m nngrader.frontends.schema_gen`"


def test_every_spec_validates_against_the_schema():
    schema = schema_gen.build()
    for aid in assignments.available():
        with open(default_course().spec_path(aid)) as f:
            jsonschema.validate(yaml.safe_load(f), schema)


def test_schema_rejects_an_unknown_check_key():
    with open(default_course().spec_path("sentiment-2layer")) as f:
        doc = yaml.safe_load(f)
    doc["checks"][0]["pionts"] = 3
    errors = list(jsonschema.Draft202012Validator(schema_gen.build()).iter_errors(doc))
    assert errors
