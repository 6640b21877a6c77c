"""Comparing a text file a submitted program wrote with the one the reference program wrote, as
the `outputs` kind reads it: `labels` (one integer per line, compared exactly) or `metrics`
(`KEY: NUMBER` lines, the reference's keys in its order, values within a tolerance). The
difference names the first differing line with both values, and a hint where the numbers prove
one (see the `outputs` kind for the list).

`fmt` is anything with `format`, `metric_tolerance`, `too_large_ratio` and `hints` (an outputs
check's config).
"""
import math
import re
from collections import Counter
from dataclasses import dataclass, field

SHOWN_LINES = 5                      # differing lines listed in the feedback
INTEGER = re.compile(r"-?[0-9]+")


@dataclass
class Diff:
    """How a written file differs from the expected one."""
    summary: str                                  # the first difference, with both values
    short: str                                    # the same without expected values (hidden checks)
    lines: list = field(default_factory=list)     # details
    hint: str = ""


# ---- text ------------------------------------------------------------------------------------

def _text_lines(got):
    """bytes -> (lines without their '\\n', None) or (None, Diff) for a file that is not line text."""
    try:
        text = got.decode("utf-8")
    except UnicodeDecodeError:
        return None, Diff(f"the file is not UTF-8 text (it starts with {got[:12]!r}): write text lines",
                          "the file is not text")
    if not text:
        return None, Diff("the file is empty", "the file is empty")
    if "\r" in text:
        return None, Diff("the file has Windows line endings ('\\r\\n'): end every line with '\\n' only",
                          "the file has '\\r\\n' line endings, not '\\n'")
    if not text.endswith("\n"):
        last = text.rsplit("\n", 1)[-1]
        return None, Diff(f"the last line ({last[:40]!r}) has no line break: every line, the last one "
                          f"included, must end with '\\n'", "the last line does not end with '\\n'")
    return text[:-1].split("\n"), None


def difference(fmt, expected, got):
    """expected: the reference's text; got: the bytes written -> None when they agree, else Diff."""
    lines, problem = _text_lines(got)
    if problem:
        return problem
    want = expected[:-1].split("\n") if expected.endswith("\n") else expected.split("\n")
    if fmt.format == "labels":
        return _labels(want, lines)
    return _metrics(fmt, want, lines)


# ---- labels ---------------------------------------------------------------------------------

def _integral_float(t):
    try:
        v = float(t)
    except ValueError:
        return False
    return math.isfinite(v) and v == int(v)


def _labels(want, lines):
    floats = [i for i, t in enumerate(lines) if not INTEGER.fullmatch(t) and _integral_float(t)]
    if floats:
        i = floats[0]
        return Diff(f"labels must be written as integers: line {i + 1} is {lines[i]!r} "
                    f"({len(floats)} of {len(lines)} lines look like floats)",
                    "labels are written as floats (like '6.0'), not integers",
                    hint="write int(label): '6.0' is not the label 6")
    others = [i for i, t in enumerate(lines) if not INTEGER.fullmatch(t)]
    if others:
        i = others[0]
        return Diff(f"line {i + 1} is {lines[i]!r}, not an integer label "
                    f"({len(others)} such line{'s' if len(others) > 1 else ''})",
                    f"line {i + 1} is not an integer label",
                    hint="one label per line, nothing else: no spaces, brackets or empty lines")
    exp, got = [int(t) for t in want], [int(t) for t in lines]
    if len(got) != len(exp):
        return Diff(f"{len(got)} lines where {len(exp)} are expected (one label per example)",
                    f"{len(got)} lines where {len(exp)} are expected (one label per example)",
                    hint="write one line per example of the file, in the file's order")
    bad = [i for i, (e, g) in enumerate(zip(exp, got)) if e != g]
    if not bad:
        return None
    i = bad[0]
    details = [f"{len(bad)} of {len(exp)} labels differ; first ones:"]
    details += [f"  line {j + 1}: expected {exp[j]}, received {got[j]}" for j in bad[:SHOWN_LINES]]
    return Diff(f"line {i + 1}: expected {exp[i]}, received {got[i]}",
                f"{len(bad)} of {len(exp)} labels differ from the reference's (first at line {i + 1})",
                details, _labels_hint(exp, got))


def _labels_hint(exp, got):
    offsets = {g - e for e, g in zip(exp, got)}
    if len(offsets) == 1:
        return f"every label is off by {offsets.pop():+d}: the class index is shifted"
    if len(set(got)) == 1 and len(set(exp)) > 1:
        return (f"every line is {got[0]}: the network predicts one class for everything (untrained, "
                "or the argmax taken over the wrong values)")
    return ""


# ---- metrics --------------------------------------------------------------------------------

def _parse_metric(t):
    key, sep, value = t.rpartition(": ")
    if not sep or not key:
        return None
    try:
        return key, float(value), value
    except ValueError:
        return key, None, value


def _metrics(cfg, want, lines):
    exp = [_parse_metric(t) for t in want]
    got = [_parse_metric(t) for t in lines]
    for i, (t, g) in enumerate(zip(lines, got)):
        if g is None:
            return Diff(f"line {i + 1} is {t[:60]!r}, not `KEY: VALUE` (one space after the colon)",
                        f"line {i + 1} is not `KEY: VALUE`", hint="write each line exactly as the handout shows")
        if g[1] is None:
            return Diff(f"line {i + 1}: the value {g[2][:40]!r} is not a number",
                        f"line {i + 1}: the value is not a number",
                        hint="write the number itself, e.g. f\"{key}: {float(value)}\"")
    ek, gk = [e[0] for e in exp], [g[0] for g in got]
    if ek != gk:
        return _keys_differ(ek, gk)
    tol = cfg.metric_tolerance
    ev, gv = [e[1] for e in exp], [g[1] for g in got]
    bad = [i for i, (e, g) in enumerate(zip(ev, gv)) if not abs(g - e) <= tol.atol + tol.rtol * abs(e)]
    if not bad:
        return None
    i = bad[0]
    details = [f"{len(bad)} of {len(ev)} values differ (tolerance {tol.describe()}); first ones:"]
    details += [f"  line {j + 1} `{ek[j]}`: expected {ev[j]!r}, received {got[j][2]}" for j in bad[:SHOWN_LINES]]
    hint = _metrics_hint(cfg, ek, ev, gv, [g[2] for g in got], bad)
    return Diff(f"line {i + 1} `{ek[i]}`: expected {ev[i]!r}, received {got[i][2]}",
                hint or f"line {i + 1} (`{ek[i]}`) differs from the reference's",
                details, hint)


def _keys_differ(ek, gk):
    counts = Counter(gk)
    for j, k in enumerate(gk):
        if counts[k] > 1 and k in ek and gk.index(k) < j:
            text = f"line {j + 1} repeats `{k}` (already on line {gk.index(k) + 1})"
            return Diff(text, text, _key_lines(ek, gk), "write each line once")
    missing = [k for k in ek if k not in gk]
    extra = [k for k in gk if k not in ek]
    for k in extra:
        close = next((e for e in ek if _squeeze(e) == _squeeze(k)), None)
        if close is not None:
            text = f"line {gk.index(k) + 1} reads `{k}` where `{close}` is expected: the format must be exact"
            return Diff(text, text, _key_lines(ek, gk), "copy the line format exactly: spaces, case, brackets")
    if missing:
        text = f"no line `{missing[0]}: ...` (expected as line {ek.index(missing[0]) + 1})" + (
            f"; {len(missing)} expected lines are missing" if len(missing) > 1 else "")
        return Diff(text, text, _key_lines(ek, gk), "write one line per epoch and split, then the error lines")
    if extra:
        text = f"line {gk.index(extra[0]) + 1} `{extra[0]}` is not expected"
        return Diff(text, text, _key_lines(ek, gk))
    j = next(i for i, (a, b) in enumerate(zip(ek, gk)) if a != b)
    text = f"line {j + 1} is `{gk[j]}` where `{ek[j]}` is expected: the lines are in another order"
    return Diff(text, text, _key_lines(ek, gk))


def _squeeze(k):
    return re.sub(r"\s+", "", k).lower()


def _key_lines(ek, gk):
    return (["  expected lines: " + " | ".join(ek[:8]) + (" ..." if len(ek) > 8 else ""),
             "  your lines:     " + " | ".join(gk[:8]) + (" ..." if len(gk) > 8 else "")])


def _metrics_hint(cfg, ek, ev, gv, texts, bad):
    tol = cfg.metric_tolerance

    def close(a, b):
        return abs(a - b) <= tol.atol + tol.rtol * abs(b)

    for i in bad:                                   # a value written on the wrong line
        j = next((j for j in range(len(ev)) if j != i and close(gv[i], ev[j]) and not close(ev[i], ev[j])), None)
        if j is not None:
            return f"line {i + 1} (`{ek[i]}`) holds the value expected on line {j + 1} (`{ek[j]}`)"
    if any(not math.isfinite(gv[i]) for i in bad):
        i = next(i for i in bad if not math.isfinite(gv[i]))
        return f"line {i + 1} (`{ek[i]}`) is {texts[i]}: " + cfg.hints["not_finite"]
    series = {}
    for i, k in enumerate(ek):
        series.setdefault(re.sub(r"\d+", "#", k), []).append(i)
    for key, members in series.items():             # a constant factor along a whole series
        if len(members) < 2 or not any(i in bad for i in members) or any(ev[i] == 0 for i in members):
            continue
        ratios = [gv[i] / ev[i] for i in members]
        if all(math.isclose(r, ratios[0], rel_tol=1e-6) for r in ratios) and abs(ratios[0] - 1) > 1e-3:
            k = ratios[0]
            text = f"every `{key}` line is {k:.6g} times the expected value"
            if k > 1.5 and math.isclose(k, round(k), rel_tol=1e-6):
                text += f": a sum where a mean is asked for ({round(k)} the number of examples?)"
            return text
    ratios = [gv[i] / ev[i] for i in bad if ev[i] != 0]
    if ratios and all(r > 1.5 and math.isclose(r, round(r), rel_tol=1e-9) for r in ratios):
        i = bad[0]
        return (f"line {i + 1} (`{ek[i]}`) is {ratios[0]:.6g} times the expected value: a sum where a "
                f"mean is asked for ({round(ratios[0])} the number of examples?)")
    if all(gv[i] < 0 for i in bad) and all(ev[i] > 0 for i in bad) and cfg.hints.get("negative"):
        return cfg.hints["negative"]
    if all(abs(gv[i]) > cfg.too_large_ratio * abs(ev[i]) for i in bad if ev[i] != 0):
        return cfg.hints["too_large"]
    for members in series.values():
        if len(members) > 1 and len({gv[i] for i in members}) == 1 and len({ev[i] for i in members}) > 1 \
                and any(i in bad for i in members):
            return cfg.hints["constant"]
    rounded = [i for i in bad if _decimals(texts[i]) < _decimals(repr(ev[i]))
               and round(ev[i], _decimals(texts[i])) == gv[i]]
    if rounded and rounded == bad:                  # every difference is a rounding
        i = bad[0]
        return (f"line {i + 1} has only {_decimals(texts[i])} decimals ({texts[i]}): write the full value "
                "(str(value) or f\"{value}\"), not a rounded one")
    return ""


def _decimals(text):
    """Digits after the point of a plain decimal number ('2.14' -> 2); others count as many."""
    if re.fullmatch(r"-?[0-9]+\.[0-9]*", text):
        return len(text.split(".")[1])
    return 99
