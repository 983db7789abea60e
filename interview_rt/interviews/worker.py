"""The background service: writes questions, grades answers, persists through services.

The database is the queue. A channel-layer message ("ai.job") is only a nudge that makes the
work start at once; a periodic sweep finds whatever a lost nudge or a crashed worker left pending
(questions not generated, evaluations pending and not leased), so nothing acknowledged is lost.

It runs inside the web process on the embedded default (the server runtime starts it with the
process), or as its own process: `python manage.py ai_worker` (sweeps + channel). What a job
stores is published by the runtime's lanes after commit.

Outages: the heartbeat, the sweep and the channel receive are separate loops, and each one rides
out a failure of the channel layer (Redis restarting) or of the database by logging it once and
retrying with a growing pause (tenacity; 0.4 s doubling, at most AI_WORKER_MAX_BACKOFF_SECONDS):
grading resumes by itself when they come back, and the sweep finds whatever nudges were lost
meanwhile.

Leases: every claim names its owner (this worker's id) and the worker writes a heartbeat; a lease
whose owner stopped beating is taken over within seconds (`rows.lease_free`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

import interview_rt.runtime.metrics as metrics
from ai_service import AIProvider, ProviderError
from ai_service.registry import question_provenance
from ai_service.types import EvaluationRequest, GeneratedQuestion, GradedExample, InterviewContext
from interview_rt.runtime.outbox import send

from . import selectors, services
from .events import EVALUATE, GENERATE, Job

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


class Host(Protocol):
    """What the worker needs of the runtime that runs it (runtime.core.Runtime, which builds it
    from RUNTIME_WORKER and never imports this app)."""

    def waiting_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]: ...
    def worker_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]: ...
    def provider(self) -> AIProvider: ...
    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]: ...


async def until_it_works(
    what: str,
    call: Callable[[], Awaitable[T]],
    stopped: Callable[[], bool],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T | None:
    """`call()` retried after every exception with a growing pause (0.4 s, doubling, at most
    AI_WORKER_MAX_BACKOFF_SECONDS) until it returns (its result) or `stopped()` is true after a
    failure (None). One log line when it starts failing and one when it works again."""

    def failing(state: RetryCallState) -> None:
        if state.attempt_number == 1 and state.outcome is not None:
            exc = state.outcome.exception()
            log.warning("%s failed (%s: %s); retrying with backoff", what, type(exc).__name__, exc)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=0.4, max=settings.AI_WORKER_MAX_BACKOFF_SECONDS),
        stop=lambda state: stopped(),
        before_sleep=failing,
        retry_error_callback=lambda state: None,
        sleep=sleep,
    )
    async for attempt in retrying:
        with attempt:
            result = await call()
            if attempt.retry_state.attempt_number > 1:
                log.warning("%s works again after %s failed attempts", what, attempt.retry_state.attempt_number - 1)
            return result
    return None


def worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AIWorker:
    def __init__(self, runtime: Host, *, concurrency: int | None = None) -> None:
        self.runtime = runtime
        self.id = worker_id()
        self._slots = asyncio.Semaphore(concurrency or settings.AI_WORKER_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        # Jobs queued or running here: a sweep or a repeated nudge must not run them twice.
        self._inflight: set[tuple[str, str]] = set()
        # Leases this worker holds now, by job: released at shutdown if the job cannot finish.
        self._leases: dict[tuple[str, str], datetime] = {}
        self.stopping = False
        self._heartbeat: asyncio.Task[None] | None = None

    # --- heartbeat -----------------------------------------------------------------------------

    async def alive(self) -> None:
        """Beat once (so a lease this worker takes is never seen as a dead one's), then keep
        beating in the background. Idempotent."""
        if self._heartbeat is not None and not self._heartbeat.done():
            return
        await self.runtime.worker_db(services.worker_beat)(worker_id=self.id)
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat(), name="ai-worker-heartbeat")

    async def _beat(self) -> None:
        async def beat() -> None:
            await self.runtime.worker_db(services.worker_beat)(worker_id=self.id)

        while True:
            await asyncio.sleep(settings.AI_WORKER_HEARTBEAT_SECONDS)
            await until_it_works("worker heartbeat", beat, stopped=lambda: False)

    async def gone(self) -> None:
        """Stop beating and say so: leases left behind are free at once."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
            try:
                await self.runtime.worker_db(services.worker_gone)(worker_id=self.id)
            except Exception as exc:  # the database is down: the beat goes stale on its own
                log.warning("could not remove worker heartbeat: %s", exc)

    # --- jobs ----------------------------------------------------------------------------------

    async def generate(self, session_id: str, claimed: services.GenerationJob | None = None) -> None:
        """Write a session's questions: claim the job, or take `claimed`, claimed for this worker
        when the session was created (services.session_connect's claim_for)."""
        await self.alive()
        # A connected candidate waits on this one (the first question): its database calls go
        # ahead of new connects and evaluation writes.
        job = claimed or await self.runtime.waiting_db(services.generation_claim)(session_id=session_id, owner=self.id)
        if job is None:
            return
        key = (GENERATE, session_id)
        self._leases[key] = job.claimed_at
        try:
            await self._generate(session_id, job)
        finally:
            self._leases.pop(key, None)

    async def _generate(self, session_id: str, job: services.GenerationJob) -> None:
        provider = self.runtime.provider()
        started = time.perf_counter()
        metrics.child(metrics.PROVIDER_CALLS, GENERATE, provider.name).inc()
        try:
            questions = await self.runtime.generate_questions(job.context)
        except ProviderError as exc:
            log.warning("question generation failed for %s: %s", session_id, exc.kind)
            metrics.child(metrics.PROVIDER_ERRORS, GENERATE, exc.kind).inc()
            await self.runtime.worker_db(services.generation_failed)(session_id=session_id, error=exc.kind)
            return
        elapsed = time.perf_counter() - started
        metrics.child(metrics.PROVIDER_LATENCY, GENERATE).observe(elapsed)
        latency = round(elapsed * 1000, 2)
        stated = question_provenance(questions)
        provenance: dict[str, object] = {"provider": provider.name, "alias": provider.alias, "latency_ms": latency}
        if stated is not None:
            provenance.update(
                provider=stated.provider,
                model_name=stated.model_name,
                model_version=stated.model_version,
                rubric_version=stated.rubric_version,
                fallback_used=stated.fallback_used,
                error_kind=stated.error_kind,
            )
            if stated.fallback_used:
                metrics.child(metrics.PROVIDER_FALLBACKS, GENERATE, stated.error_kind or "unknown").inc()
        emitted = await self.runtime.waiting_db(services.questions_store)(
            session_id=session_id, questions=questions, provenance=provenance
        )
        if emitted.of_type("question.asked"):
            metrics.FIRST_QUESTION.observe(max(0.0, (timezone.now() - job.session_created_at).total_seconds()))

    async def evaluate(self, response_id: str, claimed: services.EvaluationJob | None = None) -> None:
        """Grade one answer: claim it, or take `claimed`, a job whose lease a service already took
        for this worker (services.answer_submit's claim_for)."""
        await self.alive()
        job = claimed or await self.runtime.worker_db(services.evaluation_claim)(response_id=response_id, owner=self.id)
        if job is None:
            return
        key = (EVALUATE, response_id)
        if job.claimed_at is not None:
            self._leases[key] = job.claimed_at
        try:
            await self._evaluate(response_id, job)
        finally:
            self._leases.pop(key, None)

    async def _evaluate(self, response_id: str, job: services.EvaluationJob) -> None:
        request = EvaluationRequest(
            question=job.question,
            response=job.answer,
            question_type="behavioral" if job.question_type == "behavioral" else "technical",
            difficulty=job.difficulty,  # type: ignore[arg-type]
            reference_answer=job.reference_answer,
            key_points=job.key_points,
            competency=job.competency,
            # The team's standard: reviewed answers of the same question, and its leniency (a
            # provider applies it only for its own grader; else the store applies it).
            graded_examples=tuple(
                GradedExample(answer=e.answer, score=e.score, note=e.note, id=str(e.review_id))
                for e in job.graded_examples
            ),
            leniency=job.calibration.leniency if job.calibration else None,
        )
        provider = self.runtime.provider()
        metrics.child(metrics.PROVIDER_CALLS, EVALUATE, provider.name).inc()
        started = time.perf_counter()
        try:
            evaluation = await provider.evaluate(request)
        except ProviderError as exc:
            log.warning("evaluation of %s failed (attempt %s): %s", response_id, job.attempts, exc.kind)
            metrics.child(metrics.PROVIDER_ERRORS, EVALUATE, exc.kind).inc()
            if job.last_attempt:
                await self.runtime.worker_db(services.evaluation_store)(
                    response_id=response_id, evaluation=None, error_kind=exc.kind
                )
            else:
                await self.runtime.worker_db(services.evaluation_release)(response_id=response_id)
                metrics.child(metrics.LEASES_RELEASED, EVALUATE).inc()
            return
        metrics.child(metrics.PROVIDER_LATENCY, EVALUATE).observe(time.perf_counter() - started)
        if evaluation.provenance.fallback_used:
            metrics.child(metrics.PROVIDER_FALLBACKS, EVALUATE, evaluation.provenance.error_kind or "unknown").inc()
        # Did the provider apply the team's leniency itself (its provenance names the version)?
        calibration: Any = evaluation.provenance.details.get("calibration") or {}
        applied = request.leniency is not None and bool(calibration.get("leniency_version"))
        emitted = await self.runtime.worker_db(services.evaluation_store)(
            response_id=response_id,
            evaluation=evaluation,
            graded_example_ids=[e.review_id for e in job.graded_examples],
            calibration_applied=job.calibration.version if applied and job.calibration else None,
            # The one read with the job: the store need not read it again.
            calibration=job.calibration,
        )
        if emitted and job.received_at is not None:
            metrics.ANSWER_FEEDBACK.observe(max(0.0, (timezone.now() - job.received_at).total_seconds()))

    async def handle(self, message: dict[str, Any], claimed: Any = None) -> None:
        kind, object_id = message.get("kind"), str(message.get("id", ""))
        gauge = metrics.child(metrics.JOBS_IN_PROGRESS, str(kind))
        gauge.inc()
        try:
            if kind == GENERATE:
                await self.generate(object_id, claimed)
            elif kind == EVALUATE:
                await self.evaluate(object_id, claimed)
            else:
                log.warning("unknown AI job %r", kind)
        except Exception:  # one bad job must not stop the service; the sweep retries it
            log.exception("AI job %s %s crashed", kind, object_id)
        finally:
            gauge.dec()

    def submit(self, message: dict[str, Any], claimed: Any = None) -> bool:
        """Run a job concurrently with others; False if the same job is already queued here, or
        the worker is stopping (the job stays in the database for another worker). `claimed`: the
        job's inputs when a service already took its lease for this worker (services.GenerationJob
        or EvaluationJob), so it runs without a claim of its own."""
        key = (str(message.get("kind")), str(message.get("id")))
        if key in self._inflight or self.stopping:
            return False
        self._inflight.add(key)
        if claimed is not None and claimed.claimed_at is not None:
            # Held from now on, so shutdown gives it back even while the job waits for a slot.
            self._leases[key] = claimed.claimed_at

        async def run() -> None:
            try:
                async with self._slots:
                    await self.handle(message, claimed)
            finally:
                self._inflight.discard(key)

        task = asyncio.get_running_loop().create_task(run(), name=f"ai-job {key[0]} {key[1]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def sweep(self, *, older_than: float = 0.0) -> int:
        session_ids, response_ids = await self.runtime.worker_db(selectors.pending_work)(older_than=older_than)
        submitted = [self.submit({"kind": GENERATE, "id": sid}) for sid in session_ids]
        submitted += [self.submit({"kind": EVALUATE, "id": rid}) for rid in response_ids]
        return sum(submitted)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the jobs in hand; past `timeout`, cancel them (their leases lapse and another
        worker or the next sweep takes them)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                for task in self._tasks:
                    task.cancel()
                await asyncio.wait(list(self._tasks), timeout=1.0)
                return
            await asyncio.wait(list(self._tasks), timeout=remaining)

    async def shutdown(self, grace: float) -> dict[str, int]:
        """Graceful stop: take no new job; give the jobs in hand `grace` seconds to finish; then
        cancel the rest, give their leases back and nudge the channel so another worker (over a
        shared channel layer) takes them at once instead of after the lease expires."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, grace)
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(list(self._tasks), timeout=deadline - loop.time())
        unfinished = list(self._inflight)
        held = dict(self._leases)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        released = 0
        for (kind, object_id), claimed_at in held.items():
            try:
                if kind == EVALUATE:
                    ok = await self.runtime.worker_db(services.evaluation_release)(
                        response_id=object_id, claimed_at=claimed_at
                    )
                else:
                    ok = await self.runtime.worker_db(services.generation_release)(
                        session_id=object_id, claimed_at=claimed_at
                    )
            except Exception:
                log.exception("releasing the lease of %s %s failed", kind, object_id)
                continue
            if ok:
                released += 1
                metrics.child(metrics.LEASES_RELEASED, kind).inc()
        for kind, object_id in unfinished:
            await send(("send", settings.AI_WORKER_CHANNEL, Job(kind, object_id).message()))
        if unfinished:
            log.warning(
                "AI worker stopped with %d jobs unfinished (%d leases released, handed back to the channel)",
                len(unfinished),
                released,
            )
        await self.gone()
        return {"unfinished": len(unfinished), "released": released}

    # --- loop ----------------------------------------------------------------------------------

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Receive nudges from the channel layer and sweep the database, until `stop` is set, the
        task is cancelled or `shutdown` begins; neither a channel-layer nor a database outage ends
        it. The sweep runs in a task of its own: its query runs on the worker lane, which a connect
        storm keeps busy, and the nudges must keep flowing meanwhile (bench storm: first questions
        stalled for the length of the storm while the loop waited on its sweep)."""
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS must be configured"
        await until_it_works("worker start (heartbeat)", self.alive, stopped=lambda: stop is not None and stop.is_set())
        sweeper = asyncio.get_running_loop().create_task(self._sweep_loop(stop), name="ai-worker-sweep")
        try:
            await self._receive_loop(layer, stop)
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            if not self.stopping:  # else `shutdown` removes the heartbeat once the jobs are done
                await self.gone()

    def _stopped(self, stop: asyncio.Event | None) -> bool:
        return (stop is not None and stop.is_set()) or self.stopping

    async def _sweep_loop(self, stop: asyncio.Event | None) -> None:
        interval = settings.AI_WORKER_SWEEP_SECONDS
        first = True

        async def sweep() -> bool:
            # At start everything pending is an orphan; later, leave fresh work to its nudge.
            await self.sweep(older_than=0.0 if first else interval)
            return True

        while not self._stopped(stop):
            if await until_it_works("sweep (database)", sweep, stopped=lambda: self._stopped(stop)):
                first = False
                await asyncio.sleep(interval)

    async def _receive_loop(self, layer: Any, stop: asyncio.Event | None) -> None:
        interval = settings.AI_WORKER_SWEEP_SECONDS

        async def receive() -> dict[str, Any] | None:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as the
            # receive completes, and the worker would never stop. A timeout is no failure.
            try:
                async with asyncio.timeout(interval):
                    message: dict[str, Any] = await layer.receive(settings.AI_WORKER_CHANNEL)
                    return message
            except TimeoutError:
                return None

        while not self._stopped(stop):
            # Redis down or restarting: retried with backoff; the sweep goes on meanwhile.
            message = await until_it_works("channel layer receive", receive, stopped=lambda: self._stopped(stop))
            if message is not None:
                self.submit(message)
