"""answers: numeric answers in a submitted YAML file (e.g. worked-backprop's answers.yaml) against
the reference's values. Partial credit: the fraction of keys within tolerance. Feedback says how
far off each wrong answer is (relative error, sign, factor), not the expected number itself, so
feedback teaches without handing out the answer sheet.

    - name: problem1_forward
      kind: answers
      file: answers.yaml
      reference: answers                # reference function returning the nested answers
      keys: [problem1.net_h1, problem1.out_h1, "problem1.E_*"]    # glob patterns allowed

The patterns are matched against the reference's answer keys when the check runs (loading a
spec never imports reference code); a pattern that matches nothing is the spec's error.

Numbers written by hand are graded at the precision written, with `precision`:

      precision: {minimum_digits: 4, coarse_credit: 0.5}

- an answer given with at least `minimum_digits` significant digits passes when it is within the
  tolerance, or when it is the reference value correctly rounded to the digits written (within
  half a unit of its last digit): 0.1498 for 0.14978;
- an answer correctly rounded to fewer digits is told so ("rounded to 3 significant digits; give
  at least 4") and earns `coarse_credit` of that answer's share, instead of nothing;
- significant digits are counted in the text as written (0.1500 has 4, 0.15 has 2, 4.386e-4 has 4).
"""
import fnmatch
from dataclasses import dataclass

import numpy as np
import yaml

from nngrader.core.errors import SpecError
from nngrader.core.model import integer, number, req_map, str_list, string
from nngrader.core.outcome import Outcome
from nngrader.engine import diagnosis
from nngrader.engine.kind import Kind

FIELDS = ("file", "reference", "keys", "precision", "variants")


@dataclass
class Config:
    file: str
    reference: str            # the reference function returning the nested answers
    patterns: list            # answer keys, glob patterns allowed
    minimum_digits: int = 0   # with precision: fewest significant digits an answer must give (0: no rule)
    coarse_credit: float = 0.0   # share of an answer's credit when correctly rounded but too coarsely
    variants: tuple = ()      # known mistakes, as the reference with one planted (diagnosis)


def flatten(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = d
    return out


def parse(where, raw, asg):
    for k in ("file", "reference", "keys"):
        if k not in raw:
            raise SpecError(f"{where}: an answers check needs `{k}`.")
    cfg = Config(file=string(where.at("file"), raw["file"]),
                 reference=string(where.at("reference"), raw["reference"]),
                 patterns=str_list(where.at("keys"), raw["keys"]),
                 variants=tuple(diagnosis.parse_variants(where.at("variants"), raw.get("variants", []))))
    if "precision" in raw:
        p = req_map(where.at("precision"), raw["precision"], {"minimum_digits", "coarse_credit"},
                    required=("minimum_digits",))
        cfg.minimum_digits = integer(where.at("precision", "minimum_digits"), p["minimum_digits"], minimum=1)
        cfg.coarse_credit = number(where.at("precision", "coarse_credit"), p.get("coarse_credit", 0.0), nonneg=True)
        if cfg.coarse_credit > 1:
            where.at("precision", "coarse_credit").fail("a share of an answer's credit, between 0 and 1",
                                                        cfg.coarse_credit)
    return cfg


def significant_digits(text):
    """Significant digits of a number as written: '0.1498' -> 4, '0.1500' -> 4, '4.386e-4' -> 4,
    '120' -> 2, '0' -> 0; None when the text is not a plain decimal number."""
    t = str(text).strip().lower().lstrip("+-")
    mantissa = t.split("e")[0]
    if not mantissa or not all(c.isdigit() or c == "." for c in mantissa) or mantissa.count(".") > 1:
        return None
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits.rstrip("0")
    return len(digits)


def rounded_to(want, digits):
    """Half a unit in the last of `digits` significant digits of `want`."""
    if want == 0 or digits <= 0:
        return 0.0
    exponent = int(np.floor(np.log10(abs(want))))
    return 0.5 * 10.0 ** (exponent - digits + 1)


def written_texts(path):
    """{flattened key: the scalar's text as written} of a YAML answers file (digits are counted
    in the text: 0.1500 and 0.15 are the same float)."""
    with open(path, encoding="utf-8") as f:
        node = yaml.compose(f)
    out = {}

    def walk(n, prefix):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                walk(v, f"{prefix}{k.value}.")
        elif isinstance(n, yaml.ScalarNode):
            out[prefix[:-1]] = n.value

    if node is not None:
        walk(node, "")
    return out


def reference_answers(check, module):
    """-> (the keys the patterns name, in order; {key: reference value})."""
    cfg = check.config
    fn = getattr(module, cfg.reference, None)
    if not callable(fn):
        raise SpecError(f"{check.where.at('reference')}: {module.__name__} has no function {cfg.reference!r}.")
    known = flatten(fn())
    keys = []
    for i, pat in enumerate(cfg.patterns):
        hits = [k for k in known if fnmatch.fnmatchcase(k, pat)]
        if not hits:
            raise SpecError(f"{check.where.at('keys', i)}: {pat!r} matches no answer key of {cfg.reference}() "
                            f"(keys look like {next(iter(known))}).")
        keys += [h for h in hits if h not in keys]
    return keys, known


def exercised(cfg):
    return []


def _describe(got, want):
    if want != 0 and np.isclose(got, -want, rtol=1e-6):
        return "the sign is flipped"
    if want != 0 and got != 0:
        r = got / want
        for k, text in ((2.0, "twice the right value"), (0.5, "half the right value")):
            if np.isclose(r, k, rtol=1e-6):
                return text
        return f"relative error {abs(got - want) / abs(want):.2g}"
    return f"absolute error {abs(got - want):.2g}"


def run(check, ctx):
    cfg = check.config
    tol = check.tolerance["float64"]
    keys, want_all = reference_answers(check, ctx.reference_module())
    checked = (f"checked: {len(keys)} answer(s) in your {cfg.file} ({', '.join(keys[:4])}"
               + (", ..." if len(keys) > 4 else "") + f") against the reference, tolerance {tol.describe()}"
               + (f", or the reference value correctly rounded to the digits you give (at least "
                  f"{cfg.minimum_digits} significant)" if cfg.minimum_digits else ""))
    path = ctx.submitted_file(cfg.file)
    if path is None:
        line = f"{cfg.file} was not submitted"
        return Outcome(False, checked, lines=[line], short=line, score_fraction=0.0)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        line = f"{cfg.file} is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        return Outcome(False, checked, lines=[line], short=line, score_fraction=0.0)
    got_all = flatten(data) if isinstance(data, dict) else {}
    texts = written_texts(path) if cfg.minimum_digits and isinstance(data, dict) else {}
    wrong, coarse = [], []
    for key in keys:
        want = float(want_all[key])
        got = got_all.get(key)
        if got is None:
            wrong.append(f"{key}: missing (no value given)")
            continue
        if isinstance(got, str):
            try:
                got = float(got)            # YAML 1.1 reads 1e-5 as a string: accept it here
            except ValueError:
                wrong.append(f"{key}: {got!r} is not a number")
                continue
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            wrong.append(f"{key}: {got!r} is not a number")
            continue
        if abs(got - want) <= tol.atol + tol.rtol * abs(want):
            continue
        digits = significant_digits(texts.get(key, "")) if cfg.minimum_digits else None
        if digits and abs(got - want) <= rounded_to(want, digits) * (1 + 1e-9):
            if digits >= cfg.minimum_digits:
                continue                # the reference value, correctly rounded to the digits written
            coarse.append(f"{key}: your {texts[key]} is rounded to {digits} significant digit"
                          f"{'s' if digits > 1 else ''}; give at least {cfg.minimum_digits}")
            continue
        wrong.append(f"{key}: your {got!r} is wrong ({_describe(float(got), want)})")
    fraction = 1 - (len(wrong) + (1 - cfg.coarse_credit) * len(coarse)) / len(keys)
    if not wrong and not coarse:
        return Outcome(True, checked)
    lines = []
    if wrong:
        lines += [f"{len(wrong)} of {len(keys)} answers wrong:"] + ["  " + w for w in wrong]
        hint = _diagnosis(ctx, cfg, keys, got_all, want_all, tol)
        if hint:
            lines.append(f"  hint: {hint}")
    if coarse:
        lines += [f"{len(coarse)} of {len(keys)} answers right but rounded too coarsely "
                  f"({cfg.coarse_credit:g} of their credit):"] + ["  " + c for c in coarse]
    if check.visibility == "hidden":
        lines = lines[:1]
    return Outcome(False, checked, lines=lines, short=lines[0], score_fraction=fraction)


def _diagnosis(ctx, cfg, keys, got_all, want_all, tol):
    """The catalog's mistakes that reproduce the answers given (`diagnosis.name_answers`)."""
    got = {k: float(got_all[k]) for k in keys if _number(got_all.get(k)) is not None}
    declared = [(mid, flatten(fns[cfg.reference]()))
                for mid, fns in diagnosis.declared_functions(ctx, cfg.variants) if cfg.reference in fns]
    return diagnosis.name_answers(got, {k: float(want_all[k]) for k in keys}, tol, declared)


def _number(v):
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


KIND = Kind(name="answers", fields=FIELDS, parse=parse, exercised=exercised, run=run)
