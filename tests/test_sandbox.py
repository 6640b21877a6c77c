"""The student worker and its limits (nngrader/boundary/: process.py, containment.py, worker.py): messages for each
way student code can fail, the worker replaced after a fatal event, import failures, privileges
as root, captured output, partial results when grading stops part-way, limit settings.
The submitted-pickle loader and the reply decoder are in test_sandbox_wire.py; whole hostile
submissions in test_sandbox_hostile.py."""
import json
import math
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from nngrader.frontends import cli
from nngrader.engine import grading
from nngrader.boundary import containment
from nngrader.frontends import assignments, results_schema
from nngrader.boundary.process import StudentProcess
from nngrader.core.errors import StudentFailure
from nngrader.core.limits import Limits
from nngrader.core.limits import format_size
from process_tools import cmdline

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
root_only = pytest.mark.skipif(not AS_ROOT, reason="privilege separation happens only when grading as root")


@pytest.fixture
def make_worker(tmp_path):
    """make_worker(source, **limits) -> a StudentProcess for module `mod` holding `source`."""
    made = []

    def make(source, name="mod.py", **limits):
        folder = tmp_path / f"sub{len(made)}"
        folder.mkdir()
        data = source if isinstance(source, bytes) else textwrap.dedent(source).encode()
        (folder / name).write_bytes(data)
        proc = StudentProcess(str(folder), [name[:-3]], Limits().with_overrides(limits))
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.close()


def call(proc, name, *args):
    return proc.request({"op": "call", "target": ("name", name), "args": list(args), "kwargs": {}, "keep": None},
                        name)


FAILING = """
    import os, signal, sys, time
    import numpy as np

    def ok(x):
        return x + 1

    def spin():
        while True:
            pass

    def sleeps():
        time.sleep(3600)

    def big_array():
        return np.ones(1 << 31)

    def doubling():
        s = b"x" * 1024
        while True:
            s = s + s

    def exits():
        os._exit(3)

    def sys_exits():
        sys.exit(7)

    def sigkill():
        os.kill(os.getpid(), signal.SIGKILL)

    def keyboard():
        raise KeyboardInterrupt("stop")

    def too_big_a_file():
        with open("big.bin", "wb") as f:
            for _ in range(64):
                f.write(b"\\0" * (1 << 20))

    def chatty_then_fails():
        for i in range(5000):
            print(f"line {i}")
        raise ValueError("after printing")
"""


@pytest.mark.parametrize("function,category,message", [
    ("spin", "timeout", "timed out after 1 s in spin"),
    ("sleeps", "timeout", "timed out after 1 s in sleeps"),
    ("big_array", "memory", "exceeded 512 MiB of memory in big_array (MemoryError: Unable to allocate"),
    ("doubling", "memory", "exceeded 512 MiB of memory in doubling"),
    ("exits", "died", "the submission's process exited (code 3) during exits"),
    ("sys_exits", "exception", "sys.exit(7) was called"),
    ("sigkill", "died", "the submission's process was killed (SIGKILL"),
    ("keyboard", "exception", "stop"),
    ("too_big_a_file", "exception", "File too large: it wrote more than 16 MiB to one file"),
])
def test_failure_messages_and_the_worker_is_replaced(make_worker, function, category, message):
    # a short limit only where the time limit is what is tested: filling 512 MiB may take more than
    # a second on a busy machine, and must still fail on memory
    proc = make_worker(FAILING, call_timeout=1 if category == "timeout" else 30, memory_bytes="512MiB",
                       max_file_bytes="16MiB")
    assert call(proc, "ok", 1) == 2
    first = proc.proc.pid
    with pytest.raises(StudentFailure) as info:
        call(proc, function)
    assert info.value.category == category
    assert message in info.value.message
    assert call(proc, "ok", 41) == 42                   # later calls work (a fresh worker if needed)
    if category in ("timeout", "memory", "died"):
        assert proc.proc.pid != first and proc.restarts == 1


def test_output_is_captured_per_call_and_capped(make_worker):
    proc = make_worker(FAILING, max_output_bytes="1KiB")
    with pytest.raises(StudentFailure) as info:
        call(proc, "chatty_then_fails")
    out = info.value.output
    assert "line 4999" in out and "line 0\n" not in out
    assert "earlier bytes not kept" in out and len(out) < 1200
    with pytest.raises(StudentFailure) as info:
        call(proc, "keyboard")
    assert info.value.output == ""                      # only what this call printed


def test_the_call_timeout_covers_no_startup(make_worker):
    """The interpreter and NumPy start before the call limits apply: an import-time limit of a
    fraction of a second still imports a small module."""
    proc = make_worker("X = 1\ndef f():\n    return X\n", call_timeout=0.5)
    assert call(proc, "f") == 1


@pytest.mark.parametrize("source,category,message", [
    (b"def f(:\n    pass\n", "syntax", "invalid syntax (mod.py, line 1)"),
    (b"x = 1\n\ny = 'caf\xe9'\n", "syntax", "'utf-8' codec can't decode byte 0xe9"),
    # saved as UTF-16 (Notepad's "Unicode"): Python names neither the file nor a line
    ("def f():\n    return 1\n".encode("utf-16"), "syntax",
     "source code string cannot contain null bytes: the file holds NUL bytes, so it is not Python source text"),
    # the definitions-only import fails too: a decorator runs at definition time
    (b"def deco(g):\n    while True:\n        pass\n\n@deco\ndef f():\n    pass\n", "timeout",
     "timed out after 1 s while importing mod.py"),
    (b"import os\ndef deco(g):\n    os._exit(4)\n\n@deco\ndef f():\n    pass\n", "died",
     "exited (code 4) while importing mod.py"),
], ids=["syntax", "latin-1", "utf-16", "decorator-hangs", "decorator-exits"])
def test_import_failures_are_precise_and_not_retried(make_worker, source, category, message):
    proc = make_worker(source, call_timeout=1)
    for _ in range(3):                                  # every later request fails the same way, at once
        started = time.monotonic()
        with pytest.raises(StudentFailure) as info:
            call(proc, "f")
        assert info.value.category == category
        assert message in info.value.message and "None" not in info.value.message
    assert time.monotonic() - started < 0.5
    assert proc.restarts == 0


@pytest.mark.parametrize("statement,skipped,failure", [
    ("import sys\nsys.exit(0)", "line 6: sys.exit(0) (SystemExit: 0)",
     {"type": "SystemExit", "message": "sys.exit(0) was called"}),
    ("raise RuntimeError('no data file')", "line 5: raise RuntimeError('no data file') (RuntimeError: no data file)",
     {"type": "RuntimeError", "message": "no data file (mod.py, line 5)"}),
    ("import os\nos._exit(4)", "line 6: os._exit(4)",
     {"type": "", "message": "the submission's process exited (code 4) while importing mod.py"}),
    ("while True:\n    pass", "line 5: while True:",
     {"type": "", "message": "timed out after 1 s while importing mod.py"}),
    ("_hoard = [bytearray(1 << 26) for _ in range(64)]", "line 5: _hoard = [bytearray(1 << 26) for _ in range(64)]",
     {"type": "", "message": "exceeded 512 MiB of memory while importing mod.py"}),
])
def test_when_module_level_code_fails_the_definitions_are_graded(make_worker, statement, skipped, failure):
    """Training, reading data or exiting at import: the functions are graded all the same, and
    the grading side learns what was skipped and why."""
    source = f"import math\nSCALE = 2 ** 3\ndef f():\n    return SCALE * math.pi\n{statement}\nLATE = 1\n"
    proc = make_worker(source, call_timeout=1, memory_bytes="512MiB")
    assert call(proc, "f") == 8 * math.pi
    assert proc.load_info["failure"] == failure
    assert proc.load_info["skipped"] == [skipped]           # LATE = 1 is a simple constant: kept


def test_a_file_the_grading_does_not_have_is_named_with_what_it_has(make_worker):
    """A data file read under a name of the student's machine, or not handed in: the message says
    what the folder the code runs in does hold, in a call and at import."""
    proc = make_worker("import numpy as np\n\ndef f():\n    return np.loadtxt('data/train.csv')\n"
                       "X = open('twitter_data.pkl', 'rb').read()\n")
    os.makedirs(os.path.join(proc.submission_dir, "data"))
    with open(os.path.join(proc.submission_dir, "notes.md"), "w") as f:
        f.write("notes")
    with pytest.raises(StudentFailure) as info:
        call(proc, "f")
    assert info.value.message == ("data/train.csv not found.; the folder your code runs in holds: data/, mod.py, "
                                  "notes.md")
    assert proc.load_info["failure"]["message"] == (
        "[Errno 2] No such file or directory: 'twitter_data.pkl' (mod.py, line 5); the folder your code runs in "
        "holds: data/, mod.py, notes.md")


def test_a_helper_module_with_failing_module_level_code_is_imported_the_same_way(make_worker):
    """The graded module imports its own helper, whose tail reads a file the grader does not have:
    the helper's functions still arrive."""
    proc = make_worker("from activations import relu\n\ndef f(x):\n    return relu(x)\n")
    with open(os.path.join(proc.submission_dir, "activations.py"), "w") as f:
        f.write("import numpy as np\n\ndef relu(x):\n    return np.maximum(0.0, x)\n\n"
                "xs = np.loadtxt('activations_test.csv')\n")
    assert call(proc, "f", -2.0) == 0.0
    assert proc.load_info["failure"]["type"] == "FileNotFoundError"
    assert proc.load_info["skipped"] == ["activations.py line 6: xs = np.loadtxt('activations_test.csv') "
                                         "(FileNotFoundError: activations_test.csv not found.)"]


def test_after_a_hang_the_retry_keeps_what_the_functions_need_and_skips_what_runs(make_worker):
    """The cautious retry: aliases and lambdas (their bodies run later) are kept; a comprehension
    next to a lambda, a call of the file's own function and the loop are skipped."""
    proc = make_worker("""
        import numpy as np
        F = np.float32
        act = lambda x: np.tanh(x)
        def train(n):
            return n
        TABLE = {"act": lambda x: x, "big": [i for i in range(10)]}
        W = train(3)
        def f(x):
            return float(act(F(x)))
        while True:
            pass
    """, call_timeout=1)
    assert call(proc, "f", 0.0) == 0.0
    assert proc.load_info["skipped"] == ['line 7: TABLE = {"act": lambda x: x, "big": [i for i in range(10)]}',
                                         "line 8: W = train(3)", "line 11: while True:"]


def test_a_package_the_grader_lacks_is_stood_in_for(make_worker):
    """The handout's own imports (nltk, with a download at import time) do not sink the file; a
    graded call that really uses the package fails naming it and the line."""
    proc = make_worker("""
        import numpy as np
        import nltk_not_installed as nltk
        from sklearn_not_installed.model_selection import train_test_split
        nltk.download("punkt")

        def uses_it(x):
            return nltk.word_tokenize(x)

        def does_not(x):
            return np.asarray(x) * 2
    """)
    assert call(proc, "does_not", [1.0]).tolist() == [2.0]
    with pytest.raises(StudentFailure) as info:
        call(proc, "uses_it", "a b")
    assert info.value.type_name == "ModuleNotFoundError"
    assert info.value.message == ("No module named 'nltk_not_installed': the grader does not have it, so "
                                  "nltk_not_installed.word_tokenize(...) cannot run")
    assert 'File "mod.py", line 8, in uses_it' in info.value.traceback
    assert proc.load_info["stood_in"] == {
        "nltk_not_installed": "imported at mod.py, line 3; nltk_not_installed.download(...) at mod.py, line 5 "
                              "did nothing",
        "sklearn_not_installed": "imported at mod.py, line 4"}


def test_matplotlib_plots_and_saves_as_in_a_normal_run(make_worker):
    """A title, a legend and savefig: as the unprivileged user matplotlib's own font files may be
    unreadable (Python under /root), so the worker loads them first when the submission uses it."""
    proc = make_worker("""
        import os
        import matplotlib.pyplot as plt

        def plot():
            fig, ax = plt.subplots()
            ax.plot([3.0, 2.0, 1.5], label="train")
            ax.set_title("Loss per epoch")
            ax.set_xlabel("epoch")
            ax.legend()
            fig.savefig("loss.png")
            return os.path.getsize("loss.png") > 1000
    """)
    assert call(proc, "plot") is True


def test_a_private_temporary_folder_does_not_stop_the_worker(make_worker, tmp_path, monkeypatch):
    """TMPDIR inside a folder only its owner may enter (pytest's own are 0700): as root, the
    unprivileged user could not reach a scratch folder there, so it goes where every user can."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", None)          # tempfile caches the folder it chose
    proc = make_worker("def f():\n    return 42\n")
    assert call(proc, "f") == 42
    assert proc.scratch.startswith(str(private)) != AS_ROOT   # as root: elsewhere


def test_stdlib_and_installed_packages_import_on_demand(make_worker):
    """As the unprivileged user the interpreter's folders may be unreadable (Python under /root):
    modules not imported before the drop still load, extension modules included."""
    proc = make_worker("""
        def f():
            import ctypes, decimal, fractions, glob, logging, sqlite3, xml.dom.minidom, yaml
            import numpy.polynomial
            return [glob.__name__, yaml.__name__, str(decimal.Decimal(1) / 4)]
    """)
    assert call(proc, "f") == ["glob", "yaml", "0.25"]


PROBE = """
    import importlib, os, sys

    def probe(repo, fixture):
        out = {"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups(), "path": sys.path,
               "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("nngrader", "reference"))}
        for key, path in (("reference", os.path.join(repo, "reference", "sentiment_2layer.py")),
                          ("fixture", fixture), ("checks", os.path.join(repo, "checks"))):
            try:
                with open(path, "rb") as f:
                    f.read(10)
                out[key] = "read"
            except OSError as exc:
                out[key] = type(exc).__name__
        try:
            open(os.path.join(repo, "planted.txt"), "w").close()
            out["write"] = "wrote"
        except OSError as exc:
            out["write"] = type(exc).__name__
        for name in ("reference", "reference.sentiment_2layer", "nngrader"):
            try:
                importlib.import_module(name)
                out["import " + name] = "imported"
            except ImportError as exc:
                out["import " + name] = type(exc).__name__
        return out
"""


@root_only
def test_as_root_the_worker_cannot_reach_the_harness(make_worker):
    proc = make_worker(PROBE)
    fixture = os.path.join(REPO, "fixtures", "sentiment-2layer", "gradients_regression.pkl")
    got = call(proc, "probe", REPO, fixture)
    assert got["uid"] == got["euid"] == proc.uid != 0 and got["groups"] == []
    assert got["reference"] == got["fixture"] == got["checks"] == "PermissionError"
    assert got["write"] == "PermissionError" and not os.path.exists(os.path.join(REPO, "planted.txt"))
    assert got["import reference"] == got["import reference.sentiment_2layer"] == "ModuleNotFoundError"
    assert got["import nngrader"] == "ModuleNotFoundError" and got["modules"] == []
    assert not any(REPO in os.path.realpath(p) for p in got["path"])
    assert stat.S_IMODE(os.stat(REPO).st_mode) & 0o007 == 0


@root_only
def test_each_grading_has_a_user_of_its_own_and_leaves_nothing(make_worker):
    source = """
        import os, time
        def spawn(path):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    while True:
                        open(path, "a").close()
                        time.sleep(0.02)
                os._exit(0)
            time.sleep(0.2)
            return os.getuid()
    """
    a, b = make_worker(source), make_worker(source)
    marker = f"/tmp/nngrader-test-{os.getpid()}-{time.monotonic_ns()}"
    uid_a = call(a, "spawn", marker)
    uid_b = call(b, "spawn", marker + "-b")
    assert uid_a != uid_b
    assert containment.processes_of(uid_a) and os.path.exists(marker)
    a.close()
    assert containment.processes_of(uid_a) == [] and not os.path.exists(marker)
    assert containment.processes_of(uid_b)                  # the other grading is untouched
    b.close()
    assert containment.processes_of(uid_b) == [] and not os.path.exists(marker + "-b")
    assert containment.files_of(uid_a) == containment.files_of(uid_b) == []


def test_limits_parse_sizes_and_refuse_nonsense():
    lim = Limits().with_overrides({"memory_bytes": "1GiB", "call_timeout": "2.5", "max_output_bytes": "64KiB"})
    assert (lim.memory_bytes, lim.call_timeout, lim.max_output_bytes) == (1 << 30, 2.5, 65536)
    assert format_size(1 << 30) == "1 GiB" and format_size(3 << 29) == "1.5 GiB"
    for bad in ({"memory": "1"}, {"call_timeout": "-1"}, {"cpu_seconds": "lots"}):
        with pytest.raises(ValueError):
            Limits().with_overrides(bad)


def test_command_line_limits_win_over_the_assignment(monkeypatch):
    asg = assignments.load("sentiment-2layer")
    monkeypatch.setattr(asg, "limits", {"call_timeout": 30, "cpu_seconds": 100})
    seen = {}

    class Spy(StudentProcess):
        def __init__(self, *a, limits=None, **k):
            seen["limits"] = limits
            super().__init__(*a, limits=limits, **k)

    monkeypatch.setattr(grading, "StudentProcess", Spy)
    grading.grade(asg, "reference", only=["sigmoid_vector"], overrides={"call_timeout": "3"})
    assert seen["limits"].call_timeout == 3 and seen["limits"].cpu_seconds == 100


SLOW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "sentiment-2layer",
                    "correct_vectorized", "assignment2.py")


def _validate(path):
    assert results_schema.problems_in_file(path, require_tags=True) == []
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_sigterm_mid_grading_leaves_valid_partial_results(tmp_path):
    """Gradescope stopping the grader (SIGTERM) part-way: results.json lists what was graded,
    marks the rest as not run, says so, and no student process survives."""
    sub = tmp_path / "sub"
    sub.mkdir()
    with open(SLOW, encoding="utf-8") as f:
        source = f.read()
    # Honest, but every gradients() call takes 0.3 s: grading is still busy when the signal comes.
    source = source.replace("def gradients(X, y, W1, W2, b1, b2):\n",
                            "def gradients(X, y, W1, W2, b1, b2):\n    import time; time.sleep(0.3)\n")
    (sub / "assignment2.py").write_text(source)
    results = tmp_path / "results.json"
    cmd = [sys.executable, os.path.join(REPO, "grader.py"), "grade", str(sub), "--assignment", "sentiment-2layer",
           "--results", str(results), "--quiet"]
    uid = lock = None
    if AS_ROOT:                                         # a user of the test's choosing, to look for after
        uid, _, lock = containment.claim_user("auto")
        cmd += ["--limit", f"unprivileged_user={uid}"]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _interrupt_and_check(proc, results, uid)
    finally:
        if uid is not None:
            containment.kill_user(uid)
        if lock is not None:
            lock.close()


def _interrupt_and_check(proc, results, uid):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _worker_started(proc.pid):
        time.sleep(0.05)
    time.sleep(1.5)                                     # past the first checks, inside gradients
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    doc = _validate(str(results))
    graded = [t for t in doc["tests"] if "not run" not in t["output"]]
    not_run = [t for t in doc["tests"] if "not run: grading stopped before this check" in t["output"]]
    assert graded and not_run, doc["output"]
    assert graded[0]["name"].startswith("sigmoid_matrix") and graded[0]["score"] == graded[0]["max_score"]
    assert all(t["score"] == 0 for t in not_run)
    assert len(doc["tests"]) == len(assignments.load("sentiment-2layer").checks)
    assert "grading was stopped by SIGTERM" in doc["output"] and "not a final grade" in doc["output"]
    assert doc["score"] == sum(t["score"] for t in graded)
    if uid is not None:
        assert containment.processes_of(uid) == [] and containment.files_of(uid) == []


def _worker_started(pid):
    return any("worker.py" in cmdline(p) for p in containment._descendants(pid))


def test_a_harness_exception_part_way_leaves_valid_partial_results(tmp_path, monkeypatch, capsys):
    real = grading.Grading.run
    calls = []

    def failing(self, check, harness_errors="record"):
        calls.append(check.name)
        if len(calls) == 3:
            raise RuntimeError("the harness broke")
        return real(self, check, harness_errors)

    monkeypatch.setattr(grading.Grading, "run", failing)
    handler = signal.getsignal(signal.SIGTERM)
    results = tmp_path / "results.json"
    code = cli.main(["grade", "reference", "--assignment", "sentiment-2layer", "--results", str(results),
                     "--quiet"])
    assert code == 1
    assert "RuntimeError: the harness broke" in capsys.readouterr().err
    doc = _validate(str(results))
    assert [t["status"] for t in doc["tests"][:2]] == ["passed", "passed"]
    assert all("not run" in t["output"] for t in doc["tests"][2:])
    assert "the grader itself failed part-way" in doc["output"]
    assert signal.getsignal(signal.SIGTERM) == handler          # the caller's handlers are back


def test_without_root_the_worker_and_its_runaways_are_killed(make_worker, monkeypatch, tmp_path):
    """Not root: no user of its own to kill. The worker's session, its descendants and orphans
    re-parented to the grader (a subreaper) that still carry the worker's folder or environment
    are killed; a double-forked daemon that left both is found by its environment."""
    monkeypatch.setattr(os, "geteuid", lambda: 12345)
    proc = make_worker("""
        import os, time
        def spawn(path):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    os.environ.clear()
                    while True:
                        open(path, "a").close()
                        time.sleep(0.02)
                os._exit(0)
            time.sleep(0.2)
            return os.getpid()
    """)
    assert not proc.as_root
    marker = tmp_path / "still-running"
    call(proc, "spawn", str(marker))
    assert marker.exists()
    proc.close()
    marker.unlink()
    time.sleep(0.3)
    assert not marker.exists()


def test_a_replaced_worker_starts_from_the_submission_as_submitted(make_worker):
    proc = make_worker("""
        import os
        def scribble():
            with open("mod.py", "w") as f:
                f.write("def look():\\n    return 'rewritten'\\n")
            open("left.txt", "w").close()
            os._exit(1)
        def look():
            return os.path.exists("left.txt")
    """)
    with pytest.raises(StudentFailure, match=r"exited \(code 1\) during scribble"):
        call(proc, "scribble")
    assert call(proc, "look") is False
