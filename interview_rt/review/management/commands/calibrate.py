"""Fit the team's leniency on every current review, and re-grade stored scores through it.

    manage.py calibrate [--fit module.function] [--min-pairs N] [--no-activate] [--regrade]
    manage.py calibrate --regrade-only          # re-grade through the active calibration

`--fit` names any callable taking (raw AI scores, human scores) and returning ai_service's
Leniency (or its JSON) or a monotone function (see reviews.calibration_refit); the default is CALIBRATION_FIT
(reviews.grading_leniency_fit unless set; analytics.isotonic_fit is the project's own).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string
from tqdm import tqdm

from interview_rt.interviews.errors import InterviewError
from interview_rt.review import reviews


class Command(BaseCommand):
    help = "Fit a new calibration version from reviews (and optionally re-grade stored AI scores)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fit", help="dotted path of the fit callable")
        parser.add_argument("--min-pairs", type=int, default=None, help="default: CALIBRATION_MIN_PAIRS")
        parser.add_argument("--no-activate", action="store_true", help="store the version without using it")
        parser.add_argument("--regrade", action="store_true", help="re-grade stored scores afterwards")
        parser.add_argument("--regrade-only", action="store_true", help="no new fit; re-grade through the active one")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["regrade_only"]:
            try:
                fit = import_string(options["fit"]) if options["fit"] else None
            except ImportError as exc:
                raise CommandError(f"--fit: {exc}") from None
            try:
                calibration = reviews.calibration_refit(
                    fit=fit,
                    fit_name=options["fit"],
                    activate=not options["no_activate"],
                    min_pairs=options["min_pairs"],
                )
            except InterviewError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from None
            self.stdout.write(
                f"calibration v{calibration.version} ({'active' if calibration.active else 'inactive'}), "
                f"{calibration.pair_count} pairs, fit {calibration.fit_name}: {json.dumps(calibration.summary)}"
            )
            if not (options["regrade"] and calibration.active):
                return
        with tqdm(
            total=reviews.regrade_targets(),
            unit="session",
            desc="re-grading",
            # The raw stream: Django's wrapper would end every redraw with a newline.
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["no_progress"],
        ) as bar:
            report = reviews.answers_regrade(progress=bar.update)
        self.stdout.write(
            f"re-graded through calibration {report.calibration_version or 'none'}: {report.sessions} sessions, "
            f"{report.answers_changed} answer scores and {report.results_changed} results changed (history kept)"
            + (f"; {report.answers_skipped} calibrated by a provider left for it" if report.answers_skipped else "")
        )
