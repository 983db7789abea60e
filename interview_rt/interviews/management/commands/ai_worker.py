"""Run the background AI service as its own process (over a shared channel layer, e.g. Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand

from interview_rt.runtime import runtime


class Command(BaseCommand):
    help = "Run the AI worker: generates questions and grades answers; sweeps for pending work."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--concurrency", type=int, default=None, help="default: AI_WORKER_CONCURRENCY")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("AI worker started; Ctrl-C stops it.")
        try:
            asyncio.run(runtime.run_worker(concurrency=options["concurrency"]))
        except KeyboardInterrupt:
            pass
