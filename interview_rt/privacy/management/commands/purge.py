"""Erase candidates inactive for longer than the retention period, keeping anonymised aggregates.

    manage.py purge [--older-than 180d] [--dry-run] [--no-progress]

Without --older-than, INTERVIEW_RETENTION_DAYS (0 turns purging off). Durations: 180d, 26w, 12h.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from interview_rt.privacy import services as privacy

UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text.lower())
    if not match:
        raise CommandError(f"--older-than takes a number and a unit (h, d, w), like 180d; not {text!r}")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Erase candidates with no activity for longer than the retention period (anonymised aggregates stay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", help="e.g. 180d (default: INTERVIEW_RETENTION_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be erased; change nothing")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"]:
            older_than = duration(options["older_than"])
        elif settings.INTERVIEW_RETENTION_DAYS > 0:
            older_than = timedelta(days=settings.INTERVIEW_RETENTION_DAYS)
        else:
            self.stdout.write("INTERVIEW_RETENTION_DAYS is 0: nothing is purged (give --older-than to purge anyway).")
            return
        plan = privacy.purge_plan(older_than=older_than)
        self.stdout.write(
            f"cutoff {plan.cutoff.isoformat()}: {len(plan.candidate_ids)} candidates inactive since, "
            f"{plan.old_deliveries} webhook deliveries older"
        )
        if options["dry_run"]:
            if plan.candidate_ids:
                counts = privacy.purge_preview(plan=plan).counts()
                self.stdout.write("would erase: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            self.stdout.write("dry run: nothing changed")
            return
        with tqdm(
            total=len(plan.candidate_ids),
            unit="candidate",
            desc="purging",
            # The raw stream: Django's wrapper would end every redraw with a newline.
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["no_progress"] or not plan.candidate_ids,
        ) as bar:
            report = privacy.data_purge(plan=plan, progress=bar.update)
        self.stdout.write("erased: " + ", ".join(f"{k} {v}" for k, v in report.counts().items()))
