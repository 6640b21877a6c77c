"""What the sandbox costs: wall time of grading one sentiment-2layer submission, measured in one
run, against the bare interpreter floor.

    python bench/grading_speed.py [SUBMISSION] [--repeat N]

Three commands, each run N times in turn (interleaved, so all see the same machine), median
wall time of each:
  floor       python -c "import numpy, yaml, hypothesis"     (what any grader pays to start)
  sandboxed   python grader.py grade SUBMISSION ...           (the real path: worker process)
  in-process  the same checks with the student module imported into the grading process
              (a ReferenceTarget pointed at it: no worker, no limits, no protection)
and the ratios. Also: how many times the worker starts for one grading (target: once), and
what one worker start and close cost.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ASSIGNMENT = "sentiment-2layer"
DEFAULT_SUBMISSION = os.path.join(REPO, "tests", "corpus", ASSIGNMENT, "correct_vectorized")
TARGET_RATIO = 4.0


def grade_in_process(submission, results_path):
    """The grader's checks, with the submission imported here instead of in a worker."""
    sys.path.insert(0, REPO)
    import importlib

    from nngrader.boundary.process import StudentProcess
    from nngrader.engine import fixtures, grading
    from nngrader.engine.targets import ReferenceTarget
    from nngrader.frontends import assignments, results
    asg = assignments.load(ASSIGNMENT)
    fixtures.verify(asg)
    staged, _ = grading.stage(asg, submission)
    scratch = tempfile.mkdtemp(prefix="nngrader-bench-")
    for path in asg.support + [os.path.join(staged, n) for n in os.listdir(staged)]:
        shutil.copy(path, scratch)
    os.chdir(scratch)
    sys.path.insert(0, scratch)
    process = StudentProcess(staged, [asg.module])       # never started: checks read its limits
    g = grading.Grading(asg, submission)                  # not entered: no worker, no staging
    g.ctx = grading.Context(asg, process, submission, staged)
    g.ctx.student = ReferenceTarget(importlib.import_module(asg.module),
                                    {n: os.path.join(scratch, n) for n in os.listdir(scratch)})
    g.ctx.student.warnings_log = []
    run = g.run_all()
    results.write_atomic(results_path, results.to_gradescope(run))
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    return run


def worker_starts(submission):
    """-> (worker starts during one grading, seconds of one start + close)."""
    sys.path.insert(0, REPO)
    from nngrader.boundary.process import StudentProcess
    from nngrader.engine import grading
    from nngrader.frontends import assignments
    starts = []
    real = StudentProcess.start

    def counting(self, *args, **kwargs):
        starts.append(1)
        return real(self, *args, **kwargs)

    StudentProcess.start = counting
    try:
        run = grading.grade(assignments.load(ASSIGNMENT), submission)
    finally:
        StudentProcess.start = real
    assert run.score == run.max_score, f"the submission is not correct: {run.score}/{run.max_score}"
    staged, _ = grading.stage(assignments.load(ASSIGNMENT), submission)
    proc = StudentProcess(staged, ["assignment2"], support_files=assignments.load(ASSIGNMENT).support)
    started = time.perf_counter()
    proc.ensure()
    proc.close()
    seconds = time.perf_counter() - started
    shutil.rmtree(staged, ignore_errors=True)
    return len(starts), seconds


def timed(cmd):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("submission", nargs="?", default=DEFAULT_SUBMISSION)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--in-process", metavar="RESULTS", help=argparse.SUPPRESS)   # one in-process grading
    args = p.parse_args(argv)
    submission = os.path.abspath(args.submission)
    if args.in_process:
        grade_in_process(submission, args.in_process)
        return 0
    out = tempfile.mkdtemp(prefix="nngrader-bench-out-")
    commands = {
        "floor": [sys.executable, "-c", "import numpy, yaml, hypothesis"],
        "sandboxed": [sys.executable, os.path.join(REPO, "grader.py"), "grade", submission, "--assignment",
                      ASSIGNMENT, "--results", os.path.join(out, "sandboxed.json"), "--quiet"],
        "in-process": [sys.executable, os.path.abspath(__file__), submission, "--in-process",
                       os.path.join(out, "in_process.json")],
    }
    for cmd in commands.values():                        # warm the file cache once
        timed(cmd)
    times = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    shutil.rmtree(out, ignore_errors=True)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    starts, start_seconds = worker_starts(submission)
    print(f"grading {os.path.relpath(submission, REPO)} ({ASSIGNMENT}), median of {args.repeat} runs each:")
    for name, ts in times.items():
        print(f"  {name:<11} {med[name]:6.3f} s   (min {min(ts):.3f}, max {max(ts):.3f})")
    print(f"  sandboxed / floor       {med['sandboxed'] / med['floor']:5.2f}x   (target <= {TARGET_RATIO:g}x)")
    print(f"  in-process / floor      {med['in-process'] / med['floor']:5.2f}x")
    print(f"  sandboxed / in-process  {med['sandboxed'] / med['in-process']:5.2f}x   "
          f"(the sandbox costs {med['sandboxed'] - med['in-process']:+.3f} s)")
    print(f"  worker starts per grading: {starts}; one worker start + close: {start_seconds:.3f} s")
    print(f"  machine load (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
