"""The team's grading standard, as the lifecycle's grading sees it: reviewed answers of the same
question (graded examples for the grader) and the active calibration of raw AI scores.

The review app keeps both (its rows, its fits); grading only reads them, through this interface,
so the lifecycle imports no app above it. The implementation is a setting, like Django's pluggable
backends: GRADING_STANDARD names a class (by default `interview_rt.review.selectors.ReviewStandard`;
`NoStandard` grades with neither)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from ai_service.types import Leniency

    from .models import AIInterviewQuestion


@dataclass(frozen=True)
class GradedExample:
    """A reviewed answer to the same question: what the grader gets as a graded example."""

    review_id: int
    response_id: str
    answer: str
    score: float  # the reviewer's score, 0-10
    note: str
    ai_score: float | None


class Calibration(Protocol):
    """A team calibration: its version (kept on each answer it scored) and its mapping, in the one
    form every layer reads: ai_service's `Leniency`. A provider applies it itself when it was fitted
    for its grader; otherwise the lifecycle does (rows.calibrated), with the same `Leniency.apply`."""

    @property
    def version(self) -> int: ...

    @property
    def leniency(self) -> Leniency: ...


class GradingStandard(Protocol):
    def graded_examples(
        self, question: AIInterviewQuestion | str, *, exclude_response_id: uuid.UUID | str | None = None
    ) -> list[GradedExample]:
        """The reviewed answers of a question (a row, or its text), newest first; an answer being
        re-graded (`exclude_response_id`) is never its own example."""
        ...

    def active_calibration(self) -> Calibration | None: ...


class NoStandard:
    """No reviews, no calibration: the grader's scores as they are."""

    def graded_examples(
        self, question: AIInterviewQuestion | str, *, exclude_response_id: uuid.UUID | str | None = None
    ) -> list[GradedExample]:
        return []

    def active_calibration(self) -> Calibration | None:
        return None


@functools.cache
def _standard(path: str) -> GradingStandard:
    return import_string(path)()


def current() -> GradingStandard:
    """The configured standard (one instance per dotted path, so a test may switch it)."""
    return _standard(settings.GRADING_STANDARD)
