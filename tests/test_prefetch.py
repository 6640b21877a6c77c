"""Student calls sent ahead in one batch (StudentProcess.prefetch, StudentTarget.prefetch,
scenario.plan, search.Prefetch) and the reference's results kept per example (memo.References):
the submission meets the same calls, in the same order, with the same limits, and the grader
reads the same values and failures as when it sends the calls one by one."""
import textwrap
import time

import numpy as np
import pytest

from nngrader.boundary.process import StudentProcess
from nngrader.core.caches import Held
from nngrader.core.errors import StudentFailure
from nngrader.core.limits import Limits
from nngrader.core.model import Where
from nngrader.core.protocol import FailureKind
from nngrader.engine import memo, scenario, search
from nngrader.engine.targets import ReferenceTarget, StudentTarget

STATEFUL = """
    import time
    import numpy as np
    CALLS = []

    def f(x):
        CALLS.append(("f", float(np.sum(x))))
        return x * 2.0, np.sum(x)

    def g(a, s):
        CALLS.append(("g", float(np.sum(a))))
        return a + s

    def boom(x):
        print("about to fail")
        raise ValueError("boom")

    def slow(seconds):
        time.sleep(seconds)
        return seconds

    def calls():
        return list(CALLS)
"""


@pytest.fixture
def worker(tmp_path):
    made = []

    def make(source=STATEFUL, **limits):
        folder = tmp_path / f"sub{len(made)}"
        folder.mkdir()
        (folder / "mod.py").write_text(textwrap.dedent(source))
        proc = StudentProcess(str(folder), ["mod"], Limits().with_overrides(limits))
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.close()


def req(name, *args):
    return {"op": "call", "target": ("name", name), "args": list(args), "kwargs": {}, "keep": None}


def test_replies_taken_ahead_are_the_replies_sent_one_by_one(worker):
    xs = [np.arange(3.0) + i for i in range(4)]
    one_by_one = worker()
    alone = [one_by_one.request(req("f", x), "f") for x in xs]
    ahead = worker()
    assert ahead.prefetch([req("f", x) for x in xs], ["f"] * 4)
    assert ahead.ahead() == 4
    taken = [ahead.take_ahead() for _ in xs]
    assert ahead.ahead() == 0
    for (a1, s1), (a2, s2) in zip(alone, taken):
        assert np.array_equal(a1, a2) and float(s1) == float(s2)
    assert one_by_one.request(req("calls"), "calls") == ahead.request(req("calls"), "calls")


def test_a_failing_call_ends_the_batch_and_its_output_is_reported(worker):
    proc = worker()
    proc.prefetch([req("f", np.ones(2)), req("boom", 1), req("f", np.zeros(2))], ["f", "boom", "f"])
    proc.take_ahead()
    with pytest.raises(StudentFailure) as failed:
        proc.take_ahead()
    assert failed.value.category == FailureKind.EXCEPTION and "boom" in failed.value.message
    assert "about to fail" in failed.value.output
    assert proc.ahead() == 0                    # nothing follows a failure
    # the call after the failing one never ran
    assert [c[0] for c in proc.request(req("calls"), "calls")] == ["f"]


def test_replies_not_taken_are_drained_before_another_request(worker):
    proc = worker()
    proc.prefetch([req("f", np.full(2, float(i))) for i in range(3)], ["f"] * 3)
    proc.take_ahead()
    seen = proc.request(req("calls"), "calls")      # drains the two replies not taken first
    assert [c[1] for c in seen] == [0.0, 2.0, 4.0]  # the worker ran all three, in order


def test_a_call_that_overran_its_limit_while_the_grader_was_busy_is_a_timeout(worker):
    proc = worker(call_timeout=0.5)
    proc.prefetch([req("slow", 0.8), req("f", np.ones(1))], ["slow", "f"])
    time.sleep(1.2)                             # the reply is there already, but too late
    with pytest.raises(StudentFailure) as failed:
        proc.take_ahead()
    assert failed.value.category == FailureKind.TIMEOUT
    assert proc.ahead() == 0 and not proc.alive()
    assert proc.request(req("calls"), "calls") == []     # a fresh worker serves what follows


def test_a_call_that_hangs_in_a_batch_is_killed_at_its_limit(worker):
    proc = worker(call_timeout=0.5)
    proc.prefetch([req("slow", 30.0)], ["slow"])
    started = time.monotonic()
    with pytest.raises(StudentFailure) as failed:
        proc.take_ahead()
    assert failed.value.category == FailureKind.TIMEOUT and time.monotonic() - started < 5


def test_a_planned_chain_passes_on_what_the_earlier_call_returned(worker):
    """Training loops: a call made with what the previous call returned is answered from the
    batch, with the value exactly as it would have crossed back and forth."""
    steps = scenario.parse_steps(Where("test.yaml", "check"), [
        {"call": "f", "args": ["x"], "returns": [{"name": "a"}, {"name": "s"}]},
        {"call": "g", "args": ["a", "s"], "returns": {"name": "out"}}])
    env = {"x": np.arange(4.0)}
    one_by_one = StudentTarget(worker())
    expected = scenario.run(one_by_one, steps, env)
    target = StudentTarget(worker())
    planned = scenario.plan(target, steps, env)
    assert len(planned) == 2
    target.prefetch(planned)
    got = scenario.run(target, steps, env)
    assert target.process.ahead() == 0          # both replies were taken, none sent again
    assert np.array_equal(got["out"], expected["out"]) and got["out"].dtype == expected["out"].dtype
    assert type(got["s"]) is type(expected["s"]) and np.array_equal(got["s"], expected["s"])
    assert target.process.request(req("calls"), "calls") == one_by_one.process.request(req("calls"), "calls")


def test_a_call_with_other_arguments_is_sent_and_the_batch_drained(worker):
    steps = scenario.parse_steps(Where("test.yaml", "check"), [{"call": "f", "args": ["x"], "returns": [{"name": "a"}, {"name": "s"}]}])
    target = StudentTarget(worker())
    env = {"x": np.arange(2.0)}
    target.prefetch(scenario.plan(target, steps, env))
    other = {"x": np.arange(2.0)}               # equal values, another object: not what was sent
    scenario.run(target, steps, other)
    assert target.process.ahead() == 0
    assert [c[0] for c in target.process.request(req("calls"), "calls")] == ["f", "f"]


def test_steps_that_keep_objects_are_not_planned(worker):
    steps = scenario.parse_steps(Where("test.yaml", "check"), [{"new": "Thing", "as": "t"}, {"call": "t.run", "returns": {"name": "r"}}])
    assert scenario.plan(StudentTarget(worker()), steps, {}) is None


WARNS = """
    import warnings
    import numpy as np
    CALLS = []

    def f(x):
        CALLS.append(float(np.sum(x)))
        warnings.warn("careful")
        return x * 2.0, np.sum(x)

    def calls():
        return list(CALLS)
"""


def test_a_call_on_the_graders_own_inputs_runs_once_per_grading(worker):
    """Checks that make the very same call (five checks of one function's five results, on the
    same examples) send it once: later ones get an equal fresh copy and the same warnings."""
    steps = scenario.parse_steps(Where("test.yaml", "check"), [{"call": "f", "args": ["x"], "returns": [{"name": "a"}, {"name": "s"}]}])
    x = np.arange(3.0)
    x.setflags(write=False)                     # as memo.INPUTS hands it out
    target = StudentTarget(worker(WARNS))
    first = scenario.run(target, steps, {"x": x})
    target.warnings_log = []
    second = scenario.run(target, steps, {"x": x})
    assert np.array_equal(first["a"], second["a"]) and first["a"] is not second["a"]
    second["a"][0] = 99.0                       # a fresh copy: the kept reply is untouched
    assert scenario.run(target, steps, {"x": x})["a"][0] == 0.0
    assert any("careful" in w for w in target.warnings_log) and any("careful" in w for w in target.last_warnings)
    assert target.reused == 2
    assert target.process.request(req("calls"), "calls") == [3.0]
    # planned ahead, a call answered before is not sent again
    target.prefetch(scenario.plan(target, steps, {"x": x}))
    assert target.process.ahead() == 0


def test_a_call_on_values_that_may_change_is_sent_every_time(worker):
    steps = scenario.parse_steps(Where("test.yaml", "check"), [{"call": "f", "args": ["x"], "returns": [{"name": "a"}, {"name": "s"}]}])
    target = StudentTarget(worker(WARNS))
    writable = np.arange(3.0)
    frozen_view = np.arange(4.0)[:3]
    frozen_view.setflags(write=False)           # read-only, but its base may still change
    for x in (writable, writable, frozen_view, frozen_view):
        scenario.run(target, steps, {"x": x})
    assert target.reused == 0
    assert target.process.request(req("calls"), "calls") == [3.0, 3.0, 3.0, 3.0]


def test_checks_whose_inputs_say_the_same_get_the_same_objects():
    from nngrader.engine import inputs
    where = Where("test.yaml", "check")
    raw = ({"n": [1, 3]}, {"x": {"shape": ["n"], "normal": 1.0}})
    one, two = inputs.parse_inputs(where, *raw), inputs.parse_inputs(where, *raw)
    other = inputs.parse_inputs(where, {"n": [1, 3]}, {"x": {"shape": ["n"], "normal": 2.0}})
    draw = {"dims": {"n": 2}, "seed": 5}
    cache = memo.Inputs()
    a, b, c = (cache.get(spec, draw, search._draw_key(draw)) for spec in (one, two, other))
    assert a["x"] is b["x"] and not a["x"].flags.writeable
    assert c["x"] is not a["x"] and not np.array_equal(c["x"], a["x"])


class _Ref:
    """A stand-in reference module."""
    drew = 0

    @staticmethod
    def double(x):
        return 2 * x

    @staticmethod
    def noisy(x):
        return x + np.random.uniform()


def test_reference_results_are_kept_only_when_computed_from_the_example_alone(monkeypatch):
    monkeypatch.setattr(memo, "REFERENCES", memo.References())
    ref = ReferenceTarget(_Ref)
    steps = scenario.parse_steps(Where("test.yaml", "check"), [{"call": "double", "args": ["x"], "returns": {"name": "y"}}])
    def frozen():
        x = np.arange(3.0)
        x.setflags(write=False)     # as memo.INPUTS hands inputs out
        return {"x": x}
    env = frozen()
    first = search.run_reference(ref, steps, env)
    again = search.run_reference(ReferenceTarget(_Ref), steps, frozen())     # equal content, other objects
    assert memo.REFERENCES.hits == 1 and np.array_equal(first["y"], again["y"])
    search.run_reference(ref, steps, {"x": np.arange(3.0)})    # a submission's values (writable): not kept
    search.run_reference(ref, steps, {"x": np.arange(3.0)})
    assert memo.REFERENCES.hits == 1
    with pytest.raises(ValueError):             # shared read-only: no use can change it for the next
        again["y"][0] = 99.0
    assert search.run_reference(ref, steps, env)["y"][0] == 0.0
    noisy = scenario.parse_steps(Where("test.yaml", "check"), [{"call": "noisy", "args": ["x"], "returns": {"name": "y"}}])
    a = search.run_reference(ref, noisy, env)["y"]
    b = search.run_reference(ref, noisy, env)["y"]
    assert not np.array_equal(a, b)             # drew from the global generator: computed each time


def test_a_reply_that_arrived_is_read_even_after_a_pause_of_the_grading_process():
    """Only a reply that is not there is late: a pause of the grading side (a long garbage
    collection, a loaded machine) past the deadline must not turn a finished call into a timeout,
    while a worker that only prints still times out."""
    import os
    from nngrader.boundary.channel import Channel
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    channel = Channel(req_w, rep_r, out_r, 1024)
    try:
        os.write(rep_w, b"reply")
        assert channel.read(5, time.monotonic() - 1.0) == b"reply"
        os.write(out_w, b"printing, printing")
        with pytest.raises(TimeoutError):
            channel.read(5, time.monotonic() - 1.0)
        assert "printing" in channel.output_tail()
    finally:
        channel.close()
        for fd in (req_r, rep_w, out_w):
            os.close(fd)


def test_a_searchs_plan_is_made_once_and_each_submission_meets_the_same_calls(worker, monkeypatch):
    """The calls a search sends ahead depend on the example inputs alone (the same objects for
    every submission, `memo.INPUTS`), the aliases and the tracing: planned once per process, the
    batch's bytes kept, each submission's worker meets the very calls, in order. Another alias or
    other inputs get a plan of their own."""
    from nngrader.engine import inputs
    monkeypatch.setattr(search, "_PLANS", Held(search.PLAN_ENTRIES))
    where = Where("test.yaml", "check")
    spec = inputs.parse_inputs(where, {"n": [1, 3]}, {"x": {"shape": ["n"], "normal": 1.0}})
    steps = scenario.parse_steps(where, [{"call": "f", "args": ["x"], "returns": [{"name": "a"}, {"name": "s"}]},
                                         {"call": "g", "args": ["a", "s"], "returns": {"name": "out"}}])
    draws = [{"dims": {"n": n}, "seed": s} for n, s in ((1, 4), (3, 5), (2, 6))]
    made = []
    real_plan = scenario.plan
    monkeypatch.setattr(scenario, "plan", lambda *a, **k: made.append(1) or real_plan(*a, **k))
    seen = []
    for _ in range(2):
        target = StudentTarget(worker())
        prefetch = search.Prefetch(target, spec, steps)
        prefetch(draws)
        outs = [scenario.run(target, steps, prefetch.inputs(d))["out"] for d in draws]
        assert target.process.ahead() == 0          # every reply was taken: nothing was sent twice
        seen.append((outs, target.process.request(req("calls"), "calls")))
    assert len(made) == len(draws)                  # planned for the first submission only
    plan = search._plan(target, steps, 1, [prefetch.inputs(d) for d in draws])
    assert plan.data is not None and len(plan.planned) == 2 * len(draws)
    assert seen[0][1] == seen[1][1] and [c[0] for c in seen[1][1]] == ["f", "g"] * 3
    assert all(np.array_equal(a, b) for a, b in zip(*(outs for outs, _ in seen)))
    aliased = StudentTarget(worker(STATEFUL + "\n    h = f\n"))
    aliased.renames["f"] = "h"
    other = search._plan(aliased, steps, 1, [prefetch.inputs(d) for d in draws])
    assert other is not plan and other.planned[0][0]["target"] == ("name", "h")
    fresh = [dict(prefetch.inputs(d), x=np.array(prefetch.inputs(d)["x"])) for d in draws]
    assert search._plan(target, steps, 1, fresh) is not plan     # equal values, other objects


def test_replies_that_arrive_together_are_read_at_once_and_taken_in_order(monkeypatch):
    """A batch's replies often wait in the pipe together: one read takes them, each is then
    taken whole and in order, and a reply split across writes is joined."""
    import os
    from nngrader.boundary import channel as channel_module
    from nngrader.boundary.channel import Channel
    from nngrader.core.protocol import frame
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    reads = []
    real_read = os.read
    monkeypatch.setattr(channel_module.os, "read", lambda fd, n: reads.append(fd) or real_read(fd, n))
    ch = Channel(req_w, rep_r, out_r, 1024)
    try:
        first, second, third = frame(b"one"), frame(b"second reply"), frame(b"3")
        os.write(rep_w, first + second + third[:2])
        deadline = time.monotonic() + 5
        got = [ch.read(ch.receive_header(deadline), deadline) for _ in range(2)]
        assert got == [b"one", b"second reply"] and reads.count(rep_r) == 1
        os.write(rep_w, third[2:])
        assert ch.read(ch.receive_header(deadline), deadline) == b"3"
    finally:
        ch.close()
        for fd in (req_r, rep_w, out_w):
            os.close(fd)
