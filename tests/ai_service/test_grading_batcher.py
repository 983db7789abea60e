"""The micro-batcher: concurrent callers share a batch and each gets its own result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from ai_service.grading import semantic
from ai_service.grading.batcher import MicroBatcher
from ai_service.grading.types import GradeInput


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.delay = delay

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.batches.append(list(items))
        self.threads.add(threading.current_thread().name)
        if self.delay:
            threading.Event().wait(self.delay)
        return [f"result-{i}" for i in items]


async def test_concurrent_calls_share_one_batch() -> None:
    recorder = Recorder()
    batcher: MicroBatcher[int, str] = MicroBatcher(recorder, max_batch=64, max_delay=0.02)
    results = await asyncio.gather(*(batcher.grade(i) for i in range(10)))
    assert results == [f"result-{i}" for i in range(10)]
    assert len(recorder.batches) == 1
    assert sorted(recorder.batches[0]) == list(range(10))
    assert list(batcher.batch_sizes) == [10]
    # The work ran in the batcher's worker thread, not on the event loop.
    assert recorder.threads and threading.main_thread().name not in recorder.threads
    batcher.close()


async def test_batches_never_exceed_max_batch_and_keep_order_per_caller() -> None:
    recorder = Recorder(delay=0.01)
    batcher: MicroBatcher[int, str] = MicroBatcher(recorder, max_batch=4, max_delay=0.005)
    results = await asyncio.gather(*(batcher.grade(i) for i in range(11)))
    assert results == [f"result-{i}" for i in range(11)]
    assert all(len(b) <= 4 for b in recorder.batches)
    assert sum(len(b) for b in recorder.batches) == 11
    assert len(recorder.batches) >= 3
    batcher.close()


async def test_calls_arriving_while_a_batch_runs_form_the_next_batch() -> None:
    recorder = Recorder(delay=0.05)
    batcher: MicroBatcher[int, str] = MicroBatcher(recorder, max_batch=64, max_delay=0.001, max_concurrent=1)
    first = asyncio.ensure_future(batcher.grade(0))
    await asyncio.sleep(0.01)  # the first batch is running now
    rest = await asyncio.gather(*(batcher.grade(i) for i in range(1, 6)))
    assert await first == "result-0"
    assert rest == [f"result-{i}" for i in range(1, 6)]
    assert recorder.batches == [[0], [1, 2, 3, 4, 5]]
    batcher.close()


async def test_two_batches_can_run_at_once() -> None:
    # Each batch waits for the other at a barrier: it only passes if both run at once (a
    # condition, not a clock: sequential batches would break the barrier after its timeout).
    barrier = threading.Barrier(2, timeout=30)
    recorder = Recorder()

    def grade(items: Sequence[int]) -> list[str]:
        barrier.wait()
        return recorder(items)

    batcher: MicroBatcher[int, str] = MicroBatcher(grade, max_batch=4, max_delay=0.001, max_concurrent=2)
    results = await asyncio.gather(*(batcher.grade(i) for i in range(8)))
    assert results == [f"result-{i}" for i in range(8)]
    assert sorted(len(b) for b in recorder.batches) == [4, 4]
    assert not barrier.broken  # the two batches overlapped
    batcher.close()


async def test_a_failing_batch_raises_in_every_caller_and_the_batcher_recovers() -> None:
    calls = {"n": 0}

    def flaky(items: Sequence[int]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("boom")
        return [i * 2 for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(flaky, max_delay=0.01)
    results = await asyncio.gather(*(batcher.grade(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await batcher.grade(21) == 42
    batcher.close()


async def test_real_grader_batches_and_returns_each_caller_its_grade() -> None:
    question = "What does a load balancer do?"
    reference = "A load balancer spreads incoming requests over several servers and stops sending to unhealthy ones."
    answers = [
        "It distributes incoming requests across a pool of servers and skips servers that fail health checks.",
        "It spreads requests over servers.",
        "A load balancer is a database index that sorts rows by date.",
        "",
        "It routes each new request to one of several backend servers so no single server is overloaded.",
        "asdfgh qwrtzp lkjhgf",
    ]
    items = [GradeInput(question, reference, a) for a in answers]
    expected = await asyncio.to_thread(lambda: [semantic.grade(i) for i in items])
    batcher = MicroBatcher(semantic.grade_many, max_batch=64, max_delay=0.02)
    got = await asyncio.gather(*(batcher.grade(i) for i in items))
    assert len(batcher.batch_sizes) == 1 and batcher.batch_sizes[0] == len(items)
    for g, e in zip(got, expected, strict=True):
        assert g.insufficient_evidence == e.insufficient_evidence
        assert g.reason == e.reason
        if e.score is None:
            assert g.score is None
        else:
            assert g.score == pytest.approx(e.score, abs=0.2)  # bf16 batches differ by < 1e-4 in cosine
    assert got[3].reason == "empty" and got[5].reason == "garbled"
    batcher.close()
