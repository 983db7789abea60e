"""Where ORM calls from async code run.

Channels' `database_sync_to_async` sends every call in the process to one thread. Here the
candidate-facing calls (connect, answer, sync) and the background worker's calls get lanes:

- on SQLite, which has one writer anyway, the lanes share one thread that runs waiting calls by
  priority (answers, then other candidate calls, then the worker, then staff sockets, which
  take turns with the worker once they have waited a little): an acknowledgement never
  queues behind a connect storm or a batch of evaluation writes, and no thread ever sleeps in
  SQLite's busy handler waiting for the lock;
- on PostgreSQL each lane has its own small pool of threads (and connections), so candidates'
  writes, which lock only their own session row, run in parallel.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

from channels.db import DatabaseSyncToAsync
from django.conf import settings

from .metrics import DB_WAIT

P = ParamSpec("P")
T = TypeVar("T")

# Priorities on the shared SQLite thread: an answer's acknowledgement first, then other candidate
# work (connects, syncs), then the background worker; staff sockets last, but never starved.
ANSWER, CANDIDATE, WORKER, STAFF = 0, 1, 2, 3
# A staff call waiting longer than this takes turns with the worker's calls (never with a
# candidate's). Measured: plain FIFO with the worker let a burst of watches (5 staff sockets x 100
# sessions) delay first questions by seconds; strictly last, a busy worker starved a watch.
STAFF_TURN_AFTER = 0.2
LANE_NAMES = {ANSWER: "answer", CANDIDATE: "candidate", WORKER: "worker", STAFF: "staff"}


# Resolved once: prometheus-client's labels() stringifies its arguments on every call (py-spy
# showed it among the hot leaves when resolved per database call).
_WAIT = {lane: DB_WAIT.labels(name) for lane, name in LANE_NAMES.items()}


def _timed(fn: Callable[..., T], lane: int) -> Callable[..., T]:
    """`fn`, observing how long it waited for its thread (the metric interview_db_lane_wait_seconds)."""
    histogram = _WAIT[lane]
    queued = time.perf_counter()

    def run(*args: Any, **kwargs: Any) -> T:
        histogram.observe(time.perf_counter() - queued)
        return fn(*args, **kwargs)

    return run


class PriorityThread:
    """One daemon thread running submitted calls by priority (lower first), FIFO within one; the
    lowest priority (staff) is served before the worker once its oldest call has waited
    `STAFF_TURN_AFTER`, one call at a time, alternating with the worker's."""

    def __init__(self, name: str) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._staff: collections.deque[tuple[float, Callable[[], None]]] = collections.deque()
        self._order = itertools.count()
        self._worker_turn = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, priority: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        with self._cv:
            if priority >= STAFF:
                self._staff.append((time.monotonic(), call))
            else:
                heapq.heappush(self._heap, (priority, next(self._order), call))
            self._cv.notify()
        return future

    def _next(self) -> Callable[[], None]:
        """Called with the lock held and something queued."""
        head = self._heap[0][0] if self._heap else None
        if self._staff:
            if head is None:
                return self._staff.popleft()[1]
            overdue = time.monotonic() - self._staff[0][0] >= STAFF_TURN_AFTER
            if head >= WORKER and overdue and not self._worker_turn:
                # An overdue staff call, then a worker call, then the next overdue staff call ...
                self._worker_turn = True
                return self._staff.popleft()[1]
        self._worker_turn = False
        return heapq.heappop(self._heap)[2]

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._staff:
                    self._cv.wait()
                call = self._next()
            call()


class Lane(Executor):
    """An Executor view of a PriorityThread at one priority (what asyncio's run_in_executor takes)."""

    def __init__(self, runner: PriorityThread, priority: int, lane: int | None = None) -> None:
        self.runner = runner
        self.priority = priority
        self.lane = priority if lane is None else lane

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.runner.submit(self.priority, _timed(fn, self.lane), *args, **kwargs)


class TimedPool(Executor):
    """A thread pool seen from one lane, observing each call's wait for a thread."""

    def __init__(self, pool: ThreadPoolExecutor, lane: int) -> None:
        self.pool = pool
        self.lane = lane

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.pool.submit(_timed(fn, self.lane), *args, **kwargs)


class Lanes:
    """The executors of one process, built on first use from the database settings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executors: dict[int, Executor] = {}

    def executor(self, kind: int) -> Executor:
        with self._lock:
            if not self._executors:
                if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
                    runner = PriorityThread("sqlite-db")
                    for lane in (ANSWER, CANDIDATE, WORKER, STAFF):
                        self._executors[lane] = Lane(runner, lane)
                else:
                    pool = ThreadPoolExecutor(settings.CANDIDATE_DB_THREADS, thread_name_prefix="candidate-db")
                    self._executors[ANSWER] = TimedPool(pool, ANSWER)
                    self._executors[CANDIDATE] = TimedPool(pool, CANDIDATE)
                    self._executors[WORKER] = TimedPool(
                        ThreadPoolExecutor(settings.AI_WORKER_DB_THREADS, thread_name_prefix="ai-worker-db"), WORKER
                    )
                    self._executors[STAFF] = TimedPool(
                        ThreadPoolExecutor(settings.STAFF_DB_THREADS, thread_name_prefix="staff-db"), STAFF
                    )
            return self._executors[kind]

    def wrap(self, fn: Callable[P, T], kind: int) -> Callable[P, Awaitable[T]]:
        executor = cast(ThreadPoolExecutor, self.executor(kind))  # asgiref's hint; any Executor works
        return cast(Callable[P, Awaitable[T]], DatabaseSyncToAsync(fn, thread_sensitive=False, executor=executor))
