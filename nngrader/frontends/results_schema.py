"""Validate a Gradescope results.json against the shipped JSON Schema and the rules it cannot hold."""
import json
import math
from pathlib import Path


SCHEMA_PATH = Path(__file__).resolve().with_name("gradescope_results.schema.json")

# Tolerance for score <= max_score: scores are sums of float fractions of points.
SCORE_SLACK = 1e-9

_validator = None


def load_schema():
    """The results.json schema as a dict."""
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def _get_validator():
    global _validator
    if _validator is None:
        # here, not at the top: the grader imports this module, and only validating needs jsonschema
        from jsonschema import Draft202012Validator
        schema = load_schema()
        Draft202012Validator.check_schema(schema)
        _validator = Draft202012Validator(schema)
    return _validator


def _where(path):
    """`tests[3].status` for the path ('tests', 3, 'status'); `top level` for the root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def _sort_key(path):
    # Paths mix ints and strings; tag each part so tuples always compare.
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def _schema_message(error):
    # jsonschema's anyOf message repeats the whole document; say which keys are missing instead.
    if error.validator == "anyOf" and all(set(s) == {"required"} for s in error.validator_value):
        names = [n for s in error.validator_value for n in s["required"]]
        return "needs at least one of " + ", ".join(repr(n) for n in names)
    return error.message


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_finite(value, path=()):
    """Paths of NaN/inf anywhere: Python's json reads and writes them, Gradescope's parser would not."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, path + (i,))


def _extra_checks(doc, require_tags, schema_paths):
    found = []
    for path, value in _non_finite(doc):
        # A wrongly typed value is already reported by the schema; one line per fault is enough.
        if path not in schema_paths:
            found.append((path, f"{value!r} is not a finite number"))
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        return found
    for i, test in enumerate(doc["tests"]):
        if not isinstance(test, dict):
            continue
        score, top = test.get("score"), test.get("max_score")
        if _is_number(score) and math.isfinite(score):
            if score < 0:
                found.append((("tests", i, "score"), f"{score!r} is negative"))
            if _is_number(top) and math.isfinite(top) and score > top + SCORE_SLACK:
                found.append((("tests", i, "score"), f"{score!r} is more than max_score {top!r}"))
        if require_tags and not test.get("tags"):
            found.append((("tests", i, "tags"), "no tags (every test must have at least one)"))
    return found


def problems(doc, require_tags=False):
    """Every problem with a parsed results.json document, one readable line each; [] if valid."""
    found = []
    for error in _get_validator().iter_errors(doc):
        found.append((tuple(error.absolute_path), _schema_message(error)))
    schema_paths = {path for path, _ in found}
    found += _extra_checks(doc, require_tags, schema_paths)
    # sorted() is stable: at one path, schema lines stay ahead of the extra checks.
    found.sort(key=lambda item: _sort_key(item[0]))
    return [f"{_where(path)}: {message}" for path, message in found]


def problems_in_file(path, require_tags=False):
    """Like problems(), reading the file; an unreadable file or invalid JSON is a problem line too."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return [f"{path}: cannot read: {e.strerror or e}"]
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return [f"{path}: not UTF-8 text: {e.reason} at byte {e.start}"]
    except json.JSONDecodeError as e:
        return [f"{path}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"]
    return problems(doc, require_tags)
