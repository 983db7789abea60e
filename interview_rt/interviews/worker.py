"""The background service: writes questions, grades answers, persists through services.

The database is the queue. A channel-layer message ("ai.job") is only a nudge that makes the
work start at once; a periodic sweep finds whatever a lost nudge or a crashed worker left pending
(questions not generated, evaluations pending and not leased), so nothing acknowledged is lost.

It runs inside the web process on the embedded default (started on the first request), or as its
own process: `python manage.py ai_worker` (sweeps + channel) or channels' `runworker ai-worker`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from ai_service import ProviderError
from ai_service.registry import question_provenance
from ai_service.types import EvaluationRequest

from . import ai, selectors, services

log = logging.getLogger(__name__)


class AIWorker:
    def __init__(self, *, concurrency: int = 64) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0

    # --- jobs ----------------------------------------------------------------------------------

    async def generate(self, session_id: str) -> None:
        context = await database_sync_to_async(services.generation_context)(session_id=session_id)
        if context is None:
            return
        provider = ai.provider()
        started = time.perf_counter()
        try:
            questions = await provider.generate_questions(context)
        except ProviderError as exc:
            log.warning("question generation failed for %s: %s", session_id, exc.kind)
            await database_sync_to_async(services.generation_failed)(session_id=session_id, error=exc.kind)
            return
        latency = round((time.perf_counter() - started) * 1000, 2)
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
        await database_sync_to_async(services.questions_store)(
            session_id=session_id, questions=questions, provenance=provenance
        )

    async def evaluate(self, response_id: str) -> None:
        job = await database_sync_to_async(services.evaluation_claim)(response_id=response_id)
        if job is None:
            return
        request = EvaluationRequest(
            question=job.question,
            response=job.answer,
            question_type="behavioral" if job.question_type == "behavioral" else "technical",
            difficulty=job.difficulty,
            reference_answer=job.reference_answer,
            key_points=job.key_points,
            competency=job.competency,
        )
        try:
            evaluation = await ai.provider().evaluate(request)
        except ProviderError as exc:
            log.warning("evaluation of %s failed (attempt %s): %s", response_id, job.attempts, exc.kind)
            if job.attempts >= services.MAX_EVALUATION_ATTEMPTS:
                await database_sync_to_async(services.evaluation_store)(
                    response_id=response_id, evaluation=None, error_kind=exc.kind
                )
            else:
                await database_sync_to_async(services.evaluation_release)(response_id=response_id)
            return
        await database_sync_to_async(services.evaluation_store)(response_id=response_id, evaluation=evaluation)

    async def handle(self, message: dict[str, Any]) -> None:
        kind, object_id = message.get("kind"), str(message.get("id", ""))
        try:
            if kind == "generate":
                await self.generate(object_id)
            elif kind == "evaluate":
                await self.evaluate(object_id)
            else:
                log.warning("unknown AI job %r", kind)
        except Exception:  # one bad job must not stop the service; the sweep retries it
            log.exception("AI job %s %s crashed", kind, object_id)
        finally:
            self.processed += 1

    def submit(self, message: dict[str, Any]) -> None:
        """Run a job concurrently with others, at most `concurrency` at once."""

        async def run() -> None:
            async with self._slots:
                await self.handle(message)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep(self) -> int:
        session_ids, response_ids = await database_sync_to_async(selectors.pending_work)()
        for sid in session_ids:
            self.submit({"kind": "generate", "id": sid})
        for rid in response_ids:
            self.submit({"kind": "evaluate", "id": rid})
        return len(session_ids) + len(response_ids)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- loop ----------------------------------------------------------------------------------

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Receive nudges from the channel layer; sweep the database between them."""
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS must be configured"
        try:
            await ai.provider().warm_up()
        except Exception:
            log.exception("provider warm-up failed; continuing")
        interval = settings.AI_WORKER_SWEEP_SECONDS
        next_sweep = 0.0
        while stop is None or not stop.is_set():
            now = time.monotonic()
            if now >= next_sweep:
                try:
                    await self.sweep()
                except Exception:
                    log.exception("sweep failed")
                next_sweep = now + interval
            try:
                message = await asyncio.wait_for(layer.receive(settings.AI_WORKER_CHANNEL), timeout=interval)
            except TimeoutError:
                continue
            self.submit(message)


_inprocess: asyncio.Task[None] | None = None
_inprocess_loop: asyncio.AbstractEventLoop | None = None


def ensure_inprocess_worker() -> None:
    """Start the worker inside this process's event loop once (embedded default)."""
    global _inprocess, _inprocess_loop
    if not settings.AI_WORKER_INPROCESS:
        return
    loop = asyncio.get_running_loop()
    if _inprocess is not None and _inprocess_loop is loop and not _inprocess.done():
        return
    _inprocess_loop = loop
    _inprocess = loop.create_task(AIWorker().run(), name="ai-worker")
