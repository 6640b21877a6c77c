"""Batch grading throughput, measured in one run: N generated submissions (correct, buggy and
hostile, from the project's corpora) graded by `grader.py batch` with --jobs 1 and --jobs 2.

    python bench/batch_speed.py [-n 200] [--assignment sentiment-2layer] [--hostile 0.05] [--keep DIR]

Prints, for each --jobs: the command's wall time and submissions per second (interpreter
start-up, the reference's own grading and the figures included); --jobs 2 again into the same
OUT_DIR after a check changed (every submission regraded, the longest last time first); and
--jobs 2 again without the hostile submissions; then the single-submission
time (`grader.py grade` of a correct submission, median of 3), and per submission of the
--jobs 1 run: the grading time, the time spent in student code (the worker's own clock, per
request), and the rest (the overhead); for the --jobs 2 run, the submissions that lent their core
while their worker slept, and when the longest grading ran; then the --jobs 2 run's CPU per submission, split between
the grading process, the workers and the fork server, and the rate that CPU allows on two busy
cores. The two runs' grades.csv must be identical.

The hostile share uses cases of tests/hostile/ that end by themselves within the limits
(exits, signals, exceptions, lies, missing names, a hang in one call...), graded with the limits
the hostile tests use; cases that attack the machine (fork and memory bombs, huge files,
writes outside the sandbox) are left out of a benchmark.
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, REPO)

LIMITS = ["call_timeout=2", "memory_bytes=1GiB", "submission_timeout=60"]
HOSTILE_CASES = ["exit_sys_exit_at_import", "exit_os_exit_at_import", "exit_sys_exit_in_call", "exit_os_exit_in_call",
                 "raise_keyboard_interrupt", "raise_base_exception", "sigkill_itself", "sleep_in_call",
                 "monkeypatch_numpy", "monkeypatch_builtins", "frames_and_gc", "ndarray_subclass_liar",
                 "lying_objects", "nan_outputs", "syntax_error", "bad_encoding", "missing_names",
                 "missing_package", "forged_reply"]
TARGET_PER_SECOND = 20.0
REGRADE_CHANGE = "submission_timeout=61"      # changes the checks digest, and no verdict of this mix


def hostile(name, dest):
    """tests/hostile/honest.py + the case's attack.py as assignment2.py (placeholders filled)."""
    import corpus_tools
    subs = {"@TOKEN@": uuid.uuid4().hex[:12], "@REPO@": REPO, "@RESULTS@": os.path.join(dest, "results.json"),
            "@SITE@": os.path.dirname(os.path.dirname(os.path.abspath(json.__file__)))}
    corpus_tools.materialize_hostile(name, dest, subs)


def generate(assignment, n, hostile_share, dest):
    """n submissions in dest, named s000, s001, ... -> ({kind: count}, {name: kind})."""
    import corpus_tools
    variants = corpus_tools.variants(assignment)
    correct = [name for name, spec in variants if (spec or {}).get("expect") == "full"]
    bugs = [name for name, spec in variants if "bug_in" in (spec or {})]
    n_hostile = int(round(n * hostile_share)) if assignment == "sentiment-2layer" else 0
    counts = {"correct": 0, "buggy": 0, "hostile": 0}
    kinds = {}
    hostile_at = {round(i * n / n_hostile) for i in range(n_hostile)} if n_hostile else set()
    c = b = h = 0
    for i in range(n):
        path = os.path.join(dest, f"s{i:03d}")
        if i in hostile_at:
            hostile(HOSTILE_CASES[h % len(HOSTILE_CASES)], path)
            h += 1
            counts["hostile"] += 1
            kinds[f"s{i:03d}"] = "hostile"
        elif i % 2 == 0:
            corpus_tools.materialize(assignment, correct[c % len(correct)], path)
            c += 1
            counts["correct"] += 1
            kinds[f"s{i:03d}"] = "correct"
        else:
            corpus_tools.materialize(assignment, bugs[b % len(bugs)], path)
            b += 1
            counts["buggy"] += 1
            kinds[f"s{i:03d}"] = "buggy"
    return counts, kinds


def run_batch(assignment, subs, out, jobs, extra=()):
    limits = [x for lim in list(LIMITS) + list(extra) for x in ("--limit", lim)]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), "batch", subs, "--assignment", assignment,
                           "--out", out, "--jobs", str(jobs), *limits], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({done.returncode}):\n{done.stderr}")
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        return seconds, json.load(f)


def single(assignment, submission, repeat=3):
    times = []
    with tempfile.TemporaryDirectory(prefix="nngrader-bench-") as tmp:
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, os.path.join(REPO, "grader.py"), "grade", submission, "--assignment",
                            assignment, "--results", os.path.join(tmp, "r.json"), "--quiet"], cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_submission(out, kinds):
    """-> {kind or "all": (mean grading seconds, mean student seconds, median grading seconds, count)}."""
    seconds, student = {}, {}
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "batch.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
            for group in ("all", kinds.get(name, "?")):
                seconds.setdefault(group, []).append(state["seconds"])
                student.setdefault(group, []).append(state["student_seconds"])
    return {g: (statistics.fmean(seconds[g]), statistics.fmean(student[g]), statistics.median(seconds[g]),
                len(seconds[g])) for g in seconds}


def print_lent(out):
    """Which submissions lent their core while their worker slept (batch.json's lent_cpu), and
    the longest grading: when it started and ended, counted from the first grading's start (the
    batch cannot end before it does)."""
    states = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "batch.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                states.append(json.load(f))
    if not states:
        return
    lent = [f"{s['student']} ({s['lent_cpu']}x)" for s in states if s.get("lent_cpu")]
    t0 = min(s["graded_from"] for s in states)
    last = max(s["graded_to"] for s in states) - t0
    longest = max(states, key=lambda s: s["seconds"])
    print(f"    lent their core while their worker slept: {', '.join(lent) or 'none'}; the longest grading, "
          f"{longest['student']}, {longest['seconds']:.2f} s, from {longest['graded_from'] - t0:.2f} s to "
          f"{longest['graded_to'] - t0:.2f} s (the last grading ended at {last:.2f} s)")


def print_ceiling(run, timing, cores=2):
    """A run's CPU per submission (summary.json's timing), and the rate that much CPU allows on
    `cores` fully busy cores."""
    cpu, student_code = timing.get("mean_cpu_seconds") or {}, timing.get("mean_student_code_seconds") or 0.0
    if any(not isinstance(cpu.get(part), (int, float)) for part in ("grading", "workers", "fork_server")):
        return
    total = cpu["grading"] + cpu["workers"] + cpu["fork_server"]
    print(f"  CPU per submission ({run}): {total:.3f} s = grading process {cpu['grading']:.3f} s + "
          f"workers {cpu['workers']:.3f} s (student code {student_code:.3f} s of their time) + "
          f"fork server {cpu['fork_server']:.3f} s")
    print(f"  on {cores} fully busy cores that CPU allows at most {cores / total:.1f} submissions/s; with a "
          f"grading process that cost nothing, {cores / (cpu['workers'] + cpu['fork_server']):.1f}/s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--assignment", default="sentiment-2layer")
    p.add_argument("--hostile", type=float, default=0.05, help="share of hostile submissions (sentiment-2layer)")
    p.add_argument("--keep", metavar="DIR", help="keep the submissions and outputs here")
    args = p.parse_args(argv)
    root = args.keep or tempfile.mkdtemp(prefix="nngrader-batch-bench-")
    subs = os.path.join(root, "submissions")
    if os.path.isdir(subs):
        shutil.rmtree(subs)
    os.makedirs(subs)
    counts, kinds = generate(args.assignment, args.n, args.hostile, subs)
    print(f"{args.n} {args.assignment} submissions: {counts['correct']} correct, {counts['buggy']} buggy, "
          f"{counts['hostile']} hostile; limits {' '.join(LIMITS)}; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    rows = {}
    for jobs in (1, 2):
        out = os.path.join(root, f"out-jobs{jobs}")
        shutil.rmtree(out, ignore_errors=True)
        seconds, summary = run_batch(args.assignment, subs, out, jobs)
        with open(os.path.join(out, "grades.csv"), newline="", encoding="utf-8") as f:
            rows[jobs] = list(csv.reader(f))
        print(f"  --jobs {jobs}: {seconds:7.2f} s for the command, {args.n / seconds:6.2f} submissions/s "
              f"(grading alone {summary['timing']['graded_per_second']:.2f}/s; target {TARGET_PER_SECOND:g}/s "
              f"with --jobs 2)")
        if jobs == 1:
            groups = per_submission(out, kinds)
        else:
            measured = ("--jobs 2", summary["timing"])
            print_lent(out)
    print(f"  the two runs' grades.csv are {'identical' if rows[1] == rows[2] else 'DIFFERENT'}")
    # A regrade after a check changed (here a limit no submission reaches, which is part of what
    # the checks digest covers): every submission again, into the same OUT_DIR, those that took
    # longest last time first.
    out = os.path.join(root, "out-jobs2")
    seconds, summary = run_batch(args.assignment, subs, out, 2, extra=[REGRADE_CHANGE])
    with open(os.path.join(out, "grades.csv"), newline="", encoding="utf-8") as f:
        same = list(csv.reader(f)) == rows[2]
    print(f"  --jobs 2, regrading into the same OUT_DIR after a check changed ({summary['graded']} graded again): "
          f"{seconds:7.2f} s for the command, {args.n / seconds:6.2f} submissions/s (grading alone "
          f"{summary['timing']['graded_per_second']:.2f}/s); grades.csv {'identical' if same else 'DIFFERENT'}")
    print_lent(out)
    if counts["hostile"]:
        # the same class without its hostile submissions (whose hangs cost their limits by design)
        calm = os.path.join(root, "submissions-without-hostile")
        shutil.rmtree(calm, ignore_errors=True)
        os.makedirs(calm)
        for name, kind in kinds.items():
            if kind != "hostile":
                shutil.copytree(os.path.join(subs, name), os.path.join(calm, name))
        out = os.path.join(root, "out-jobs2-without-hostile")
        shutil.rmtree(out, ignore_errors=True)
        n = args.n - counts["hostile"]
        seconds, summary = run_batch(args.assignment, calm, out, 2)
        print(f"  --jobs 2 without the {counts['hostile']} hostile ones: {seconds:7.2f} s for {n}, "
              f"{n / seconds:6.2f} submissions/s (grading alone {summary['timing']['graded_per_second']:.2f}/s)")
        measured = ("--jobs 2 without the hostile ones", summary["timing"])
    import corpus_tools
    with tempfile.TemporaryDirectory(prefix="nngrader-bench-one-") as tmp:
        correct = [n for n, s in corpus_tools.variants(args.assignment) if (s or {}).get("expect") == "full"][0]
        one = single(args.assignment, corpus_tools.materialize(args.assignment, correct, os.path.join(tmp, "sub")))
    print(f"  single submission (`grader.py grade`, a correct one, median of 3): {one:.3f} s")
    for group in ("all", "correct", "buggy", "hostile"):
        if group not in groups:
            continue
        mean, student, median, count = groups[group]
        print(f"  per submission (--jobs 1), {group} ({count}): grading {mean:.3f} s mean ({median:.3f} s median), "
              f"of which student code {student:.3f} s; overhead {mean - student:.3f} s = "
              f"{(mean - student) / student if student else 0:.1f}x the student code"
              + (" (target <= 2x)" if group == "all" else ""))
    print_ceiling(*measured)
    print(f"  machine load (1 min) after: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if rows[1] == rows[2] else 1


if __name__ == "__main__":
    sys.exit(main())
