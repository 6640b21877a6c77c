"""The `program` and `outputs` kinds: running a submitted file as a program in the sandbox
(worker.op_run_program, StudentTarget.run_program), comparing the files it writes, and the
feedback for real failure modes. ocr-neuralnet is the assignment that uses them."""
import os
import textwrap

import pytest

from corpus_tools import materialize
from nngrader.engine import fixtures
from nngrader.engine import grading
from nngrader.frontends import assignments
from nngrader.engine import filediff, programs
from nngrader.kinds import outputs, program
from nngrader.boundary.process import StudentProcess
from nngrader.core.errors import StudentFailure
from nngrader.core.limits import Limits
from nngrader.engine.targets import StudentTarget
from nngrader.core.errors import SpecError

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_OUT = os.path.join(ROOT_DIR, "data", "ocr-neuralnet",
                         "small_out")


@pytest.fixture(scope="module")
def ocr():
    return assignments.load("ocr-neuralnet")


# --------------------------------------------------------------------------- the worker side


@pytest.fixture()
def sandbox(tmp_path):
    """A worker on a folder of small programs; yields (target, folder)."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "mod.py").write_text("def value():\n    return 1\n")
    programs = {
        "writes.py": """
            import sys
            import numpy as np
            with open(sys.argv[1], "w") as f:
                f.write(" ".join(sys.argv[2:]) + "\\n")
            print("done", np.arange(3).sum())
        """,
        "exits.py": "import sys\nsys.exit(int(sys.argv[1]) if sys.argv[1:] else 'bad things')\n",
        "raises.py": "def f():\n    return 1 / 0\n\nopen('half.txt', 'w').write('1\\n')\nf()\n",
        "hangs.py": "print('working', flush=True)\nwhile True:\n    pass\n",
        "quiet.py": "x = 1\n",
        "chatty.py": "for i in range(5000):\n    print('line', i)\n",
        "killed.py": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        "uses_exit.py": "exit(4)\n",
        "syntax.py": "def f(:\n",
    }
    for name, text in programs.items():
        (folder / name).write_text(textwrap.dedent(text))
    process = StudentProcess(str(folder), ["mod"], limits=Limits())
    yield StudentTarget(process), folder
    process.close()


def test_program_runs_with_its_argv_and_its_files_come_back(sandbox):
    target, _ = sandbox
    r = target.run_program("writes.py", ["out.txt", 2, 0.5, "x"], ["out.txt"], timeout=20)
    assert (r["exit_code"], r["signal"], r["timed_out"]) == (0, None, False)
    assert r["files"] == {"out.txt": b"2 0.5 x\n"} and r["sizes"] == {"out.txt": 8}
    assert r["output"] == b"done 3\n"


def test_exit_codes_are_respected(sandbox):
    target, _ = sandbox
    assert target.run_program("exits.py", ["3"], [], timeout=20)["exit_code"] == 3
    r = target.run_program("exits.py", [], [], timeout=20)
    assert r["exit_code"] == 1 and b"bad things" in r["output"]
    assert target.run_program("uses_exit.py", [], [], timeout=20)["exit_code"] == 4   # no `site` in the worker


def test_a_crash_reports_a_traceback_of_the_program_and_keeps_what_it_wrote(sandbox):
    target, _ = sandbox
    r = target.run_program("raises.py", [], ["half.txt", "never.txt"], timeout=20)
    assert r["exit_code"] == 1
    text = r["output"].decode()
    assert 'File "raises.py", line 2, in f' in text and text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert r["files"] == {"half.txt": b"1\n", "never.txt": None}


def test_a_syntax_error_is_reported_with_a_relative_path(sandbox):
    target, folder = sandbox
    r = target.run_program("syntax.py", [], [], timeout=20)
    assert r["exit_code"] == 1 and b"SyntaxError" in r["output"] and str(folder).encode() not in r["output"]


def test_a_hanging_program_is_stopped_at_its_time_limit_and_the_worker_lives_on(sandbox):
    target, _ = sandbox
    r = target.run_program("hangs.py", [], [], timeout=1.0)
    assert r["timed_out"] and r["exit_code"] is None and r["output"] == b"working\n"
    assert r["seconds"] < 5
    assert target.call("value") == 1
    assert target.run_program("exits.py", ["0"], [], timeout=20)["exit_code"] == 0


def test_a_killed_program_reports_its_signal(sandbox):
    target, _ = sandbox
    r = target.run_program("killed.py", [], [], timeout=20)
    assert r["signal"] == 9 and r["exit_code"] is None


def test_output_files_of_an_earlier_run_do_not_count(sandbox):
    target, _ = sandbox
    target.run_program("writes.py", ["out.txt", "old"], ["out.txt"], timeout=20)
    r = target.run_program("quiet.py", [], ["out.txt"], timeout=20)
    assert r["files"] == {"out.txt": None}


def test_printed_output_and_files_are_capped(sandbox):
    target, _ = sandbox
    r = target.run_program("chatty.py", [], [], timeout=20, max_output=100)
    assert len(r["output"]) == 100 and r["output"].endswith(b"line 4999\n")
    r = target.run_program("writes.py", ["out.txt", "x" * 50], ["out.txt"], timeout=20, max_bytes=10)
    assert r["files"]["out.txt"] == b"x" * 10 and r["sizes"]["out.txt"] == 51


def test_paths_outside_the_scratch_folder_are_refused(sandbox):
    target, _ = sandbox
    with pytest.raises(StudentFailure, match="leaves the scratch folder"):
        target.run_program("writes.py", ["x"], ["../outside.txt"], timeout=20)
    with pytest.raises(StudentFailure, match="leaves the scratch folder"):
        target.run_program("/etc/passwd", [], [], timeout=20)


def test_a_missing_program_file_is_named(sandbox):
    target, _ = sandbox
    with pytest.raises(StudentFailure, match="absent.py is not in the submission"):
        target.run_program("absent.py", [], [], timeout=20)


def test_a_program_that_cannot_be_imported_still_runs(tmp_path):
    """No __main__ guard: importing runs the program with the worker's arguments and fails (its
    definitions, none here, are graded instead); run as a program with the right arguments, it
    works."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "prog.py").write_text("import sys\nif len(sys.argv) != 2:\n    sys.exit('usage: prog.py OUT')\n"
                                    "open(sys.argv[1], 'w').write('ok\\n')\n")
    process = StudentProcess(str(folder), ["prog"], limits=Limits())
    try:
        target = StudentTarget(process)
        process.ensure()
        assert process.load_info["failure"] == {"type": "SystemExit",
                                                "message": "sys.exit('usage: prog.py OUT') was called"}
        assert process.load_info["skipped"] == [
            "line 2: if len(sys.argv) != 2: (SystemExit: usage: prog.py OUT)",
            "line 4: open(sys.argv[1], 'w').write('ok\\n') (IndexError: list index out of range)"]
        r = target.run_program("prog.py", ["o.txt"], ["o.txt"], timeout=20)
        assert r["exit_code"] == 0 and r["files"]["o.txt"] == b"ok\n"
    finally:
        process.close()


# --------------------------------------------------------------------------- the fixture


def test_public_fixture_is_the_handouts_small_out(ocr):
    """The public `2 4 2 0.1` run of the reference equals small_out/: labels byte for byte,
    metrics line for line (the losses within 1e-12)."""
    expected = fixtures.load(ocr, ocr.check("public_program"))["cases"][0]["expected"]
    files = {"train_out": "small_train_output.labels", "validation_out": "small_validation_out.labels",
             "metrics_out": "small_metrics_out.txt"}
    with open(os.path.join(SMALL_OUT, files["train_out"]), "rb") as f:
        assert expected["train_out"].encode() == f.read()
    with open(os.path.join(SMALL_OUT, files["validation_out"]), "rb") as f:
        assert expected["validation_out"].encode() == f.read()
    with open(os.path.join(SMALL_OUT, files["metrics_out"])) as f:
        want = f.read().splitlines()
    got = expected["metrics_out"].splitlines()
    assert [t.rsplit(": ", 1)[0] for t in got] == [t.rsplit(": ", 1)[0] for t in want]
    for g, w in zip(got, want):
        assert abs(float(g.rsplit(": ", 1)[1]) - float(w.rsplit(": ", 1)[1])) <= 1e-12


def test_fixtures_record_the_data_and_the_known_mistake(ocr):
    case = fixtures.load(ocr, ocr.check("hidden_random_program"))["cases"][0]
    assert set(case["data"]) == {"small_train.csv", "small_validation.csv"}
    variant = case["variants"]["init_without_bias_column"]
    assert variant["train_out"] != case["expected"]["train_out"]          # RANDOM init: other values
    zero = fixtures.load(ocr, ocr.check("public_program"))["cases"][0]
    assert zero["variants"] == {}


def test_a_published_file_the_reference_does_not_reproduce_stops_regeneration(ocr, tmp_path):
    check = ocr.check("public_program")
    bad = tmp_path / "labels"
    bad.write_text("7\n" * 500)
    saved = dict(check.config.published)
    check.config.published["train_out"] = str(bad)
    try:
        with pytest.raises(SpecError, match="no longer reproduces the published train_out"):
            program.make_fixture(ocr, check)
    finally:
        check.config.published.clear()
        check.config.published.update(saved)


# --------------------------------------------------------------------------- comparing files


def _config(fmt, **kw):
    """An outputs check's config: what a file is compared as."""
    return outputs.Config(run="r", file="f", format=fmt,
                          metric_tolerance=kw.get("tol", outputs.DEFAULT_METRIC_TOLERANCE),
                          too_large_ratio=5.0, hints=dict(outputs.DEFAULT_HINTS, negative="never negative"),
                          exercises=[])


LABELS = _config("labels")
METRICS = _config("metrics")
M_EXPECTED = ("epoch=1 crossentropy(train): 2.141567091095015\nepoch=1 crossentropy(validation): 2.1502231738985627\n"
              "epoch=2 crossentropy(train): 1.864262996391707\nepoch=2 crossentropy(validation): 1.8780601379038742\n"
              "error(train): 0.73\nerror(validation): 0.72\n")


def metrics(*values, keys=None):
    keys = keys or [t.rsplit(": ", 1)[0] for t in M_EXPECTED.splitlines()]
    return "".join(f"{k}: {v}\n" for k, v in zip(keys, values)).encode()


def test_equal_labels_pass_and_the_first_differing_line_is_named():
    assert filediff.difference(LABELS, "6\n0\n9\n", b"6\n0\n9\n") is None
    d = filediff.difference(LABELS, "6\n0\n9\n", b"6\n1\n8\n")
    assert d.summary == "line 2: expected 0, received 1" and "2 of 3 labels differ" in d.lines[0]
    assert "expected 0" not in d.short            # hidden checks do not show expected values


@pytest.mark.parametrize("got,words", [
    (b"6.0\n0.0\n9.0\n", "labels must be written as integers: line 1 is '6.0'"),
    (b"6\n0\n9", "has no line break"),
    (b"6\r\n0\r\n9\r\n", "Windows line endings"),
    (b"", "the file is empty"),
    (b"6\n[0]\n9\n", "line 2 is '[0]', not an integer label"),
    (b"6\n\n0\n9\n", "line 2 is '', not an integer label"),
    (b"6\n0\n", "2 lines where 3 are expected"),
    (b"\xff\xfe\n", "not UTF-8 text"),
])
def test_label_format_problems_are_named(got, words):
    assert words in filediff.difference(LABELS, "6\n0\n9\n", got).summary


def test_label_hints():
    assert "off by +1" in filediff.difference(LABELS, "6\n0\n8\n", b"7\n1\n9\n").hint
    assert "one class for everything" in filediff.difference(LABELS, "6\n0\n8\n", b"0\n0\n0\n").hint


def test_metrics_within_tolerance_pass():
    assert filediff.difference(METRICS, M_EXPECTED, M_EXPECTED.encode()) is None
    assert filediff.difference(METRICS, M_EXPECTED, metrics(2.1415670910950144, 2.150223173898562, 1.8642629963917074,
                                                           1.8780601379038728, 0.73, 0.72)) is None


def test_train_loss_written_as_validation_loss_is_recognised():
    got = metrics(2.141567091095015, 2.141567091095015, 1.864262996391707, 1.864262996391707, 0.73, 0.72)
    d = filediff.difference(METRICS, M_EXPECTED, got)
    assert d.summary == ("line 2 `epoch=1 crossentropy(validation)`: expected 2.1502231738985627, "
                         "received 2.141567091095015")
    assert d.hint == ("line 2 (`epoch=1 crossentropy(validation)`) holds the value expected on line 1 "
                      "(`epoch=1 crossentropy(train)`)")


@pytest.mark.parametrize("lines,words", [
    ([0, 1, 2, 3], "no line `error(train): ...` (expected as line 5); 2 expected lines are missing"),
    ([0, 1, 2, 3, 2, 4, 5], "line 5 repeats `epoch=2 crossentropy(train)` (already on line 3)"),
    ([1, 0, 2, 3, 4, 5],
     "line 1 is `epoch=1 crossentropy(validation)` where `epoch=1 crossentropy(train)` is expected"),
])
def test_missing_duplicated_and_reordered_lines(lines, words):
    src = M_EXPECTED.splitlines()
    got = "".join(src[i] + "\n" for i in lines).encode()
    assert filediff.difference(METRICS, M_EXPECTED, got).summary.startswith(words)


def test_the_format_is_exact():
    got = M_EXPECTED.replace("epoch=1 crossentropy(train):", "epoch = 1 crossentropy (train):").encode()
    assert "reads `epoch = 1 crossentropy (train)` where `epoch=1 crossentropy(train)` is expected" in \
        filediff.difference(METRICS, M_EXPECTED, got).summary
    got = M_EXPECTED.replace("error(train): 0.73", "error(train):0.73").encode()
    assert "not `KEY: VALUE` (one space after the colon)" in filediff.difference(METRICS, M_EXPECTED, got).summary
    got = M_EXPECTED.replace("0.73", "np.float64(0.73)").encode()
    assert "the value 'np.float64(0.73)' is not a number" in filediff.difference(METRICS, M_EXPECTED, got).summary


@pytest.mark.parametrize("values,words", [
    ((24.1, 24.2, 26.3, 26.4, 0.73, 0.72), "far larger"),
    ((2.302585, 2.302585, 2.302585, 2.302585, 0.9, 0.9), "never changes"),
    ((1070.7835455475075, 215.02231738985627, 932.1314981958535, 187.80601379038742, 0.73, 0.72),
     "a sum where a mean is asked for (500 the number of examples?)"),
    ((2.14, 2.15, 1.86, 1.88, 0.73, 0.72), "only 2 decimals"),
    (("nan", "nan", "nan", "nan", 0.9, 0.9), "is nan: an overflow"),
    ((-0.2, -0.21, -0.77, -0.75, 0.73, 0.72), "never negative"),
])
def test_metric_value_hints(values, words):
    assert words in filediff.difference(METRICS, M_EXPECTED, metrics(*values)).hint


def test_a_small_error_gets_no_misleading_hint():
    d = filediff.difference(METRICS, M_EXPECTED, metrics(2.141567091095015, 2.1502231738985627, 1.8740613304979137,
                                                        1.8802, 0.73, 0.72))
    assert d.summary.startswith("line 3 `epoch=2 crossentropy(train)`: expected 1.864262996391707") and d.hint == ""


# --------------------------------------------------------------------------- grading


def _grade(asg, tmp_path, patch, only, **limits):
    sub = materialize("ocr-neuralnet", "correct_vectorized", str(tmp_path / "s"))
    path = os.path.join(sub, "neuralnet.py")
    with open(path) as f:
        text = f.read()
    old, new = patch
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    saved = asg.limits
    asg.limits = dict(asg.limits, **limits)
    try:
        return {r.check.name: r for r in grading.grade(asg, sub, only=only).results}
    finally:
        asg.limits = saved


def test_a_hanging_program_gets_a_clear_message_and_keeps_its_module_points(ocr, tmp_path):
    hang = ('if __name__ == "__main__":\n    main()', 'if __name__ == "__main__":\n    while True:\n        pass')
    res = _grade(ocr, tmp_path, hang, ["linear_forward", "public_program", "public_metrics"], program_timeout=1.0)
    assert res["linear_forward"].outcome.passed
    assert res["public_program"].outcome.lines[0].startswith("your program did not finish within 1 s")
    assert res["public_metrics"].outcome.lines[0].startswith("small_metrics_out.txt was not written: your program "
                                                               "did not finish within 1 s")


def test_garbage_and_crashes_half_way_get_clear_messages(ocr, tmp_path):
    res = _grade(ocr, tmp_path, ("    with open(out_metrics, \"w\") as f:\n",
                                 "    with open(out_metrics, \"wb\") as f:\n        f.write(bytes(range(256)))\n"
                                 "        raise RuntimeError('stopped half-way')\n"),
                 ["public_program", "public_train_labels", "public_metrics"])
    assert res["public_train_labels"].outcome.passed             # written before the crash
    assert res["public_program"].outcome.lines[0] == ("your program stopped with exit code 1: "
                                                       "RuntimeError: stopped half-way")
    assert "not UTF-8 text" in res["public_metrics"].outcome.lines[0]
    assert any("the file may be incomplete" in t for t in res["public_metrics"].outcome.lines)


def test_the_program_runs_once_for_all_the_checks_of_its_files(ocr, tmp_path, monkeypatch):
    calls = []
    real = StudentTarget.run_program

    def counting(self, *a, **kw):
        calls.append(a[0])
        return real(self, *a, **kw)

    monkeypatch.setattr(StudentTarget, "run_program", counting)
    res = _grade(ocr, tmp_path, ("", ""), ["public_train_labels", "public_validation_labels", "public_metrics",
                                           "public_program"])
    assert all(r.outcome.passed for r in res.values()) and calls == ["neuralnet.py"]


# --------------------------------------------------------------------------- spec errors

SPEC = """
assignment:
  id: toy
  module: neuralnet
  reference: reference.ocr_neuralnet
  contract: [main]
  support: [data.csv]
checks:
  - name: run
    kind: program
    points: 1
    exercises: [main]
    argv: [{file: data.csv}, {output: out}]
    outputs: {out: out.txt}
  - name: out_file
    kind: outputs
    points: 1
    run: run
    file: out
    format: labels
"""


def _spec_error(tmp_path, text):
    (tmp_path / "data.csv").write_text("0,1\n")
    path = tmp_path / "toy.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as exc:
        assignments.load(str(path))
    return str(exc.value)


def test_the_toy_spec_loads(tmp_path):
    (tmp_path / "data.csv").write_text("0,1\n")
    (tmp_path / "toy.yaml").write_text(textwrap.dedent(SPEC))
    asg = assignments.load(str(tmp_path / "toy.yaml"))
    assert asg.check("out_file").exercises == ["main"]
    assert programs.command_text(asg.check("run").config) == "python neuralnet.py data.csv out.txt"


@pytest.mark.parametrize("old,new,words", [
    ("{file: data.csv}", "{file: other.csv}", "argv[0]: expected a support file of the assignment (data.csv)"),
    ("{output: out}]", "{output: outt}]", "argv[1]: expected an output role (out)"),
    ("    exercises: [main]\n    argv", "    argv", "needs `exercises`"),
    ("run: run", "run: walk", "run: expected the name of a program check above this one (run)"),
    ("file: out\n", "file: err\n", "file: expected an output role of run (out)"),
    ("format: labels", "format: csv", "format: expected one of labels, metrics"),
    ("    outputs: {out: out.txt}", "    outputs: {out: out.txt, log: log.txt}", "role 'log' is not passed in `argv`"),
])
def test_spec_errors_name_the_field(tmp_path, old, new, words):
    assert old in SPEC
    assert words in _spec_error(tmp_path, SPEC.replace(old, new, 1))


def test_a_program_run_does_not_inherit_what_the_module_checks_did(tmp_path):
    """A logging call during a module check configures the root logger in the worker that imported
    the submission; the program's own logging.basicConfig(filename=...) must still take effect, as
    in a normal `python neuralnet.py` run. Here it names a folder that does not exist: a normal
    run crashes at start, so the program checks earn nothing, whichever checks ran before."""
    source = open(os.path.join(ROOT_DIR, "examples", "ocr-neuralnet", "correct", "neuralnet.py")).read()
    source = source.replace("import argparse", "import argparse\nimport logging", 1)
    source = source.replace('        x = np.insert(x, 0, 1.0)\n',
                            '        logging.warning("forward")\n        x = np.insert(x, 0, 1.0)\n', 1)
    source = source.replace('    args = build_parser().parse_args(argv)\n',
                            '    logging.basicConfig(filename="/nonexistent-folder/run.log")\n'
                            '    args = build_parser().parse_args(argv)\n', 1)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "neuralnet.py").write_text(source)
    asg = assignments.load("ocr-neuralnet")
    run = grading.grade(asg, str(sub), only=["unittest_linear_forward", "public_program", "public_train_labels"])
    verdicts = {r.check.name: r.outcome.passed for r in run.results}
    assert verdicts == {"unittest_linear_forward": True, "public_program": False, "public_train_labels": False}
    program = next(r for r in run.results if r.check.name == "public_program").outcome
    assert "your program stopped with exit code 1: FileNotFoundError: [Errno 2] No such file or directory: " \
           "'/nonexistent-folder/run.log'" in program.lines[0]


def test_a_program_that_plots_runs_as_it_would_normally(tmp_path):
    """A loss plot with a title and a legend after the outputs: every run is a forked child, and
    matplotlib reopens its fonts there (as root, from a copy the unprivileged user can read)."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "prog.py").write_text(textwrap.dedent("""
        import sys
        import matplotlib.pyplot as plt
        open(sys.argv[1], "w").write("ok\\n")
        plt.plot([3.0, 2.0, 1.0], label="train")
        plt.title("mean cross-entropy")
        plt.legend()
        plt.savefig("loss.png")
    """))
    process = StudentProcess(str(folder), [], limits=Limits())
    try:
        r = StudentTarget(process).run_program("prog.py", ["o.txt"], ["o.txt", "loss.png"], timeout=60)
        assert (r["exit_code"], r["files"]["o.txt"]) == (0, b"ok\n"), r["output"]
        assert r["sizes"]["loss.png"] > 1000
    finally:
        process.close()
