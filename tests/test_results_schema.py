"""The results.json validator accepts what the grader writes and names each fault in one exact line."""
import copy
import json
import math

import jsonschema
import pytest

from nngrader.frontends import results_schema


def valid_doc():
    """Shaped like the grader's own results.json: top-level summary plus one entry per check."""
    return {
        "score": 4.5,
        "execution_time": 3.217,
        "output": "sentiment-2layer: 4.5 / 6 points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": "forward_shapes",
                "number": "1",
                "score": 3.0,
                "max_score": 3.0,
                "status": "passed",
                "output": "checked: forward on 12 generated examples",
                "tags": ["forward"],
                "visibility": "visible",
                "extra_data": {"kind": "compare", "seed": 1234},
            },
            {
                "name": "gradients",
                "number": "2",
                "score": 1.5,
                "max_score": 3.0,
                "status": "failed",
                "output": "hidden check: dW1 differs",
                "tags": ["gradients", "Linear.backward"],
                "visibility": "hidden",
                "extra_data": {"kind": "gradient", "seed": None},
            },
        ],
    }


def with_change(change):
    doc = valid_doc()
    change(doc)
    return doc


def test_the_schema_is_a_valid_draft_2020_12_schema_found_next_to_the_module():
    assert results_schema.SCHEMA_PATH.parent.name == "frontends"
    schema = results_schema.load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_realistic_document_has_no_problems():
    assert results_schema.problems(valid_doc()) == []
    assert results_schema.problems(valid_doc(), require_tags=True) == []


def test_other_documented_forms_are_accepted():
    # Only a top-level score; status-only informational tests; every format and a leaderboard.
    assert results_schema.problems({"score": 7}) == []
    assert results_schema.problems({"tests": [{"name": "Compilation check", "status": "passed"}]}) == []
    doc = valid_doc()
    doc.update(output_format="simple_format", test_output_format="md", test_name_format="ansi",
               extra_data={"any": [1, "thing"]},
               leaderboard=[{"name": "Accuracy", "value": 0.926},
                            {"name": "Time", "value": 15.1, "order": "asc"},
                            {"name": "Stars", "value": "*****"}])
    doc["tests"][0].update(output_format="html", name_format="text")
    assert results_schema.problems(doc) == []


def test_a_score_equal_to_max_score_up_to_rounding_is_accepted():
    doc = with_change(lambda d: d["tests"][0].update(score=0.1 + 0.2, max_score=0.3))
    assert results_schema.problems(doc) == []


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["tests"][1].update(status="ok"),
     "tests[1].status: 'ok' is not one of ['passed', 'failed']"),
    (lambda d: d["tests"][0].update(visibility="secret"),
     "tests[0].visibility: 'secret' is not one of ['hidden', 'after_due_date', 'after_published', 'visible']"),
    (lambda d: d.update(stdout_visibility="never"),
     "stdout_visibility: 'never' is not one of ['hidden', 'after_due_date', 'after_published', 'visible']"),
    (lambda d: d["tests"][0].update(output_format="markdown"),
     "tests[0].output_format: 'markdown' is not one of ['text', 'html', 'simple_format', 'md', 'ansi']"),
    (lambda d: d["tests"][0].update(number=1),
     "tests[0].number: 1 is not of type 'string'"),
    (lambda d: d["tests"][1].update(tags="gradients"),
     "tests[1].tags: 'gradients' is not of type 'array'"),
    (lambda d: d["tests"][1].update(tags=["gradients", 3]),
     "tests[1].tags[1]: 3 is not of type 'string'"),
    (lambda d: d["tests"][0].update(score=3.5),
     "tests[0].score: 3.5 is more than max_score 3.0"),
    (lambda d: d["tests"][1].update(score=-1.0),
     "tests[1].score: -1.0 is negative"),
    (lambda d: d["tests"][0].update(score=float("nan")),
     "tests[0].score: nan is not a finite number"),
    (lambda d: d["tests"][1]["extra_data"].update(seed=float("inf")),
     "tests[1].extra_data.seed: inf is not a finite number"),
    (lambda d: d["tests"][0].update(score=True),
     "tests[0].score: True is not of type 'number'"),
    (lambda d: d["tests"][0].update(pionts=3),
     "tests[0]: Additional properties are not allowed ('pionts' was unexpected)"),
    (lambda d: d.update(points=3),
     "top level: Additional properties are not allowed ('points' was unexpected)"),
    (lambda d: d.update(tests={}),
     "tests: {} is not of type 'array'"),
    (lambda d: d.update(leaderboard=[{"name": "Time", "value": 1.0, "order": "up"}]),
     "leaderboard[0].order: 'up' is not one of ['asc', 'desc']"),
])
def test_each_fault_gives_exactly_its_line(change, expected):
    assert results_schema.problems(with_change(change)) == [expected]


def test_a_document_with_neither_tests_nor_score():
    assert results_schema.problems({"output": "nothing graded"}) == \
        ["top level: needs at least one of 'tests', 'score'"]


def test_a_top_level_that_is_not_an_object():
    assert results_schema.problems([valid_doc()["tests"][0]]) == \
        ["top level: [{'name': 'forward_shapes', 'number': '1', 'score': 3.0, 'max_score': 3.0, "
         "'status': 'passed', 'output': 'checked: forward on 12 generated examples', "
         "'tags': ['forward'], 'visibility': 'visible', "
         "'extra_data': {'kind': 'compare', 'seed': 1234}}] is not of type 'object'"]
    assert results_schema.problems("results") == ["top level: 'results' is not of type 'object'"]


def test_several_problems_come_sorted_by_path():
    def change(d):
        d["tests"][1]["status"] = "ok"
        d["tests"][0]["number"] = 1
        d["visibility"] = "secret"
        d["tests"][0]["score"] = 9.0
    assert results_schema.problems(with_change(change)) == [
        "tests[0].number: 1 is not of type 'string'",
        "tests[0].score: 9.0 is more than max_score 3.0",
        "tests[1].status: 'ok' is not one of ['passed', 'failed']",
        "visibility: 'secret' is not one of ['hidden', 'after_due_date', 'after_published', 'visible']",
    ]


def test_require_tags_flags_a_test_without_tags():
    def change(d):
        del d["tests"][0]["tags"]
        d["tests"][1]["tags"] = []
    doc = with_change(change)
    assert results_schema.problems(doc) == []
    assert results_schema.problems(doc, require_tags=True) == [
        "tests[0].tags: no tags (every test must have at least one)",
        "tests[1].tags: no tags (every test must have at least one)",
    ]


def test_the_document_is_not_modified():
    doc = valid_doc()
    doc["tests"][0]["status"] = "ok"
    before = copy.deepcopy(doc)
    results_schema.problems(doc, require_tags=True)
    assert doc == before


def test_a_valid_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(valid_doc(), indent=2), encoding="utf-8")
    assert results_schema.problems_in_file(path) == []
    assert results_schema.problems_in_file(str(path), require_tags=True) == []


def test_nan_written_by_python_json_is_caught_in_a_file(tmp_path):
    doc = valid_doc()
    doc["score"] = math.nan
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")  # json.dumps writes a bare NaN token
    assert results_schema.problems_in_file(path) == ["score: nan is not a finite number"]


def test_an_unreadable_file_is_a_problem_line(tmp_path):
    missing = tmp_path / "nowhere" / "results.json"
    assert results_schema.problems_in_file(missing) == [f"{missing}: cannot read: No such file or directory"]


def test_invalid_json_is_a_problem_line(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"score": 1,\n "tests": [}\n', encoding="utf-8")
    assert results_schema.problems_in_file(path) == \
        [f"{path}: not valid JSON: Expecting value at line 2 column 12"]


def test_a_file_that_is_not_utf8_is_a_problem_line(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b'{"output": "\xff"}')
    assert results_schema.problems_in_file(path) == \
        [f"{path}: not UTF-8 text: invalid start byte at byte 12"]


def test_what_the_submission_wrote_is_shown_as_plain_text(tmp_path):
    """Its exception message (here HTML) is quoted in the output: Gradescope must show it as written."""
    from nngrader.engine import grading
    from nngrader.frontends import assignments, results
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "assignment2.py").write_text('raise ValueError(\'<a href="http://example.com">regrade here</a>\')\n')
    run = grading.grade(assignments.load("sentiment-2layer"), str(sub), only=["sigmoid_vector"])
    doc = results.to_gradescope(run)
    assert results_schema.problems(doc) == []
    assert doc["output_format"] == "text" and doc["test_output_format"] == "text"
    assert '<a href="http://example.com">regrade here</a>' in doc["output"]
    assert all("output_format" not in t for t in doc["tests"])     # each test takes the document's
