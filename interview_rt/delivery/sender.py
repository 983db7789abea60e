"""The periodic webhook task of a process that runs the AI worker: send due deliveries from the
database queue with an async HTTP client, on the server's loop.

The queue and its rules (leases, signing, backoff) are `interview_rt.delivery.webhooks`; this is
only the driver, like `manage.py deliver_webhooks` is for cron. Database calls go through the
worker lane, so a slow receiver never holds a database thread, and an acknowledgement never
waits behind a webhook.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from . import webhooks

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from interview_rt.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 20


class WebhookSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def tick(self, client: httpx.AsyncClient) -> int:
        """One batch: claim what is due, send it concurrently, record each outcome."""
        batch = await self.runtime.worker_db(webhooks.webhook_claim_due)(limit=BATCH)
        if not batch:
            return 0
        outcomes = await asyncio.gather(*(webhooks.send_async(client, w) for w in batch))
        for webhook, outcome in zip(batch, outcomes, strict=True):
            await self.runtime.worker_db(webhooks.webhook_record)(
                delivery_id=webhook.delivery_id, attempt=webhook.attempt, outcome=outcome
            )
        return len(batch)

    async def run(self) -> None:
        async with httpx.AsyncClient(**webhooks.client_options()) as client:
            while True:
                try:
                    sent = await self.tick(client)
                except Exception:  # a database hiccup must not end the task; the rows wait
                    log.exception("webhook delivery tick failed")
                    sent = 0
                if sent < BATCH:
                    await asyncio.sleep(settings.WEBHOOK_POLL_SECONDS)


def webhook_sender(runtime: Runtime) -> Coroutine[Any, Any, None] | None:
    """The runtime's task (RUNTIME_TASKS): the sender's loop, unless WEBHOOKS_INPROCESS is off."""
    return WebhookSender(runtime).run() if settings.WEBHOOKS_INPROCESS else None
