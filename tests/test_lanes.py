"""The SQLite thread's order of calls: candidates first, the worker next, staff last but never
starved (they take turns with the worker once they have waited)."""

from __future__ import annotations

import threading

from interview_rt.runtime import lanes
from interview_rt.runtime.lanes import ANSWER, CANDIDATE, STAFF, WORKER, PriorityThread


def run_order(submissions: list[tuple[int, str]], *, overdue: bool) -> list[str]:
    """Submit while the thread is held busy, then let it run; the order the calls ran in."""
    runner = PriorityThread("test-lane")
    gate, ran = threading.Event(), list[str]()
    first = runner.submit(ANSWER, gate.wait, 30)
    futures = [runner.submit(p, ran.append, name) for p, name in submissions]
    if overdue:
        # Age the queued staff calls instead of sleeping past the threshold.
        with runner._cv:
            runner._staff = type(runner._staff)((t - lanes.STAFF_TURN_AFTER - 1, c) for t, c in runner._staff)
    gate.set()
    first.result(30)
    for f in futures:
        f.result(30)
    return ran


def test_candidates_first_then_worker_then_staff() -> None:
    order = run_order([(STAFF, "s1"), (WORKER, "w1"), (CANDIDATE, "c1"), (ANSWER, "a1"), (WORKER, "w2")], overdue=False)
    assert order == ["a1", "c1", "w1", "w2", "s1"]


def test_overdue_staff_take_turns_with_the_worker_never_with_candidates() -> None:
    order = run_order(
        [(STAFF, "s1"), (STAFF, "s2"), (STAFF, "s3"), (WORKER, "w1"), (WORKER, "w2"), (CANDIDATE, "c1")],
        overdue=True,
    )
    assert order == ["c1", "s1", "w1", "s2", "w2", "s3"]


def test_staff_alone_run_without_waiting_their_turn() -> None:
    runner = PriorityThread("test-lane-2")
    assert runner.submit(STAFF, lambda: "done").result(30) == "done"
