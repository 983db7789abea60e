"""Send due webhooks from the database queue: once (cron), or in a loop (`--loop`).

The server's AI worker sends them too (WEBHOOKS_INPROCESS); this is for deployments without an
in-process worker, for cron, and for an operator who wants the queue drained now.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from interview_rt.delivery import webhooks


class Command(BaseCommand):
    help = "Send due webhook deliveries (signed, retried with backoff) from the database queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="most attempts in one pass")
        parser.add_argument("--loop", action="store_true", help="keep sending until interrupted")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            run = webhooks.webhook_deliver_due(limit=options["limit"])
            if run.attempted or not options["loop"]:
                self.stdout.write(f"delivered {run.delivered}, retrying {run.retrying}, failed {run.failed}")
                for error in run.errors[:20]:
                    self.stderr.write(f"  endpoint {error}")
            if not options["loop"]:
                return
            if run.attempted < options["limit"]:
                time.sleep(settings.WEBHOOK_POLL_SECONDS)
