"""`python manage.py runworker ai-worker`: the background service as a channels worker."""

from __future__ import annotations

from typing import Any

from channels.consumer import AsyncConsumer

from interview_rt.runtime import AIWorker, runtime


class AIWorkerConsumer(AsyncConsumer):
    worker: AIWorker | None = None

    async def ai_job(self, message: dict[str, Any]) -> None:
        if AIWorkerConsumer.worker is None:
            AIWorkerConsumer.worker = AIWorker(runtime)
        await AIWorkerConsumer.worker.handle(message)
