"""The background service: writes questions, grades answers, persists through services.

The database is the queue. A channel-layer message ("ai.job") is only a nudge that makes the
work start at once; a periodic sweep finds whatever a lost nudge or a crashed worker left pending
(questions not generated, evaluations pending and not leased), so nothing acknowledged is lost.

It runs inside the web process on the embedded default (the server runtime starts it with the
process), or as its own process: `python manage.py ai_worker` (sweeps + channel) or channels'
`runworker ai-worker`. What a job stores is published by the runtime's lanes after commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from ai_service import ProviderError
from ai_service.registry import question_provenance
from ai_service.types import EvaluationRequest
from interview_rt.interviews import selectors, services
from interview_rt.interviews.events import EVALUATE, GENERATE, Job

from . import metrics
from .outbox import send

if TYPE_CHECKING:
    from . import Runtime

log = logging.getLogger(__name__)


class AIWorker:
    def __init__(self, runtime: Runtime, *, concurrency: int | None = None) -> None:
        self.runtime = runtime
        self._slots = asyncio.Semaphore(concurrency or settings.AI_WORKER_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        # Jobs queued or running here: a sweep or a repeated nudge must not run them twice.
        self._inflight: set[tuple[str, str]] = set()
        # Leases this worker holds now, by job: released at shutdown if the job cannot finish.
        self._leases: dict[tuple[str, str], datetime] = {}
        self.stopping = False

    # --- jobs ----------------------------------------------------------------------------------

    async def generate(self, session_id: str) -> None:
        # A connected candidate waits on this one (the first question): its database calls go
        # ahead of new connects and evaluation writes.
        job = await self.runtime.waiting_db(services.generation_claim)(session_id=session_id)
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

    async def evaluate(self, response_id: str) -> None:
        job = await self.runtime.worker_db(services.evaluation_claim)(response_id=response_id)
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
        emitted = await self.runtime.worker_db(services.evaluation_store)(
            response_id=response_id, evaluation=evaluation
        )
        if emitted and job.received_at is not None:
            metrics.ANSWER_FEEDBACK.observe(max(0.0, (timezone.now() - job.received_at).total_seconds()))

    async def handle(self, message: dict[str, Any]) -> None:
        kind, object_id = message.get("kind"), str(message.get("id", ""))
        gauge = metrics.child(metrics.JOBS_IN_PROGRESS, str(kind))
        gauge.inc()
        try:
            if kind == GENERATE:
                await self.generate(object_id)
            elif kind == EVALUATE:
                await self.evaluate(object_id)
            else:
                log.warning("unknown AI job %r", kind)
        except Exception:  # one bad job must not stop the service; the sweep retries it
            log.exception("AI job %s %s crashed", kind, object_id)
        finally:
            gauge.dec()

    def submit(self, message: dict[str, Any]) -> bool:
        """Run a job concurrently with others; False if the same job is already queued here, or
        the worker is stopping (the job stays in the database for another worker)."""
        key = (str(message.get("kind")), str(message.get("id")))
        if key in self._inflight or self.stopping:
            return False
        self._inflight.add(key)

        async def run() -> None:
            try:
                async with self._slots:
                    await self.handle(message)
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
        return {"unfinished": len(unfinished), "released": released}

    # --- loop ----------------------------------------------------------------------------------

    async def _sweep(self, older_than: float) -> None:
        try:
            await self.sweep(older_than=older_than)
        except Exception:
            log.exception("sweep failed")

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Receive nudges from the channel layer; sweep the database every interval, in a task of
        its own: the sweep's query runs on the worker lane, which a connect storm keeps busy, and
        the nudges must keep flowing meanwhile (bench storm: first questions stalled for the
        length of the storm while the loop waited on its sweep)."""
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS must be configured"
        interval = settings.AI_WORKER_SWEEP_SECONDS
        next_sweep = 0.0
        first = True
        sweeping: asyncio.Task[None] | None = None
        try:
            while (stop is None or not stop.is_set()) and not self.stopping:
                now = time.monotonic()
                if now >= next_sweep and (sweeping is None or sweeping.done()):
                    # At start everything pending is an orphan; later, leave fresh work to its nudge.
                    sweeping = asyncio.get_running_loop().create_task(
                        self._sweep(0.0 if first else interval), name="ai-worker-sweep"
                    )
                    first = False
                    next_sweep = now + interval
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands
                    # as the receive completes, and the worker would never stop.
                    async with asyncio.timeout(interval):
                        message = await layer.receive(settings.AI_WORKER_CHANNEL)
                except TimeoutError:
                    continue
                self.submit(message)
        finally:
            if sweeping is not None and not sweeping.done():
                sweeping.cancel()
