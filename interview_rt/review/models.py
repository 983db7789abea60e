"""Human review beside the AI score, the team calibration, score history, and the anonymised facts
an erased session leaves for the aggregates (which the reports here read; privacy writes them)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import models

from ai_service.types import Leniency
from interview_rt.interviews.constants import MAX_DEMOGRAPHIC_GROUP_CHARS, Status, choices
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewSession, Job


class AnswerReview(models.Model):
    """A reviewer's score of one answer. Reviews are never edited: a new review of the same answer
    supersedes the current one (`current`), so the history stays. The AI score beside it is what
    the reviewer saw, copied, and the answer's own AI score is never overwritten by a review."""

    response = models.ForeignKey(AIInterviewResponse, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept if the user account is deleted later.
    reviewer_name = models.CharField(max_length=150, blank=True)
    score = models.FloatField()
    note = models.TextField(blank=True)
    ai_score = models.FloatField(null=True, blank=True)
    ai_raw_score = models.FloatField(null=True, blank=True)
    calibration_version = models.PositiveIntegerField(null=True, blank=True)
    # The answered question's normalised text hash: reviews of "the same question" asked in other
    # sessions are found by it (rows.question_key), without an index on question text.
    question_key = models.CharField(max_length=64)
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=10), name="review_score_range"),
            models.UniqueConstraint(
                fields=["response"], condition=models.Q(current=True), name="one_current_review_per_answer"
            ),
        ]
        indexes = [models.Index(fields=["question_key", "current"])]

    def __str__(self) -> str:
        return f"review {self.pk} of {self.response_id}: {self.score}"


class Calibration(models.Model):
    """A team-leniency mapping of raw AI scores onto the reviewers' scale, fitted on reviews.
    `mapping` is ai_service's `Leniency` as JSON (`Leniency.to_json()`), the one form every layer
    reads (docs/analytics.md); at most one is active."""

    version = models.PositiveIntegerField(unique=True)
    mapping = models.JSONField()
    fit_name = models.CharField(max_length=100)
    pair_count = models.PositiveIntegerField()
    summary = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_calibration")
        ]

    def __str__(self) -> str:
        return f"calibration v{self.version}{' (active)' if self.active else ''}"

    @functools.cached_property
    def leniency(self) -> Leniency:
        """The stored mapping, read (and checked) once per row: what the lifecycle's grading reads
        (`interviews.standard.Calibration`) and hands to a provider."""
        return Leniency.from_json(self.mapping)


class ScoreRevision(models.Model):
    """A score as it was before a re-grade replaced it, with what produced it: answer scores and
    session results are changed in place, and their history is kept here."""

    ANSWER, RESULT = "answer", "result"

    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="score_revisions")
    response = models.ForeignKey(
        AIInterviewResponse, null=True, blank=True, on_delete=models.CASCADE, related_name="score_revisions"
    )
    kind = models.CharField(max_length=10, choices=[(ANSWER, ANSWER), (RESULT, RESULT)])
    score = models.FloatField(null=True, blank=True)
    raw_score = models.FloatField(null=True, blank=True)
    recommendation = models.CharField(max_length=30, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=200)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-replaced_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} score {self.score} replaced {self.replaced_at:%Y-%m-%d}"


class ErasedSession(models.Model):
    """What an erased or purged session leaves for aggregate figures: anonymised facts with no
    identifiers and the month only, so analytics keep counting it and nobody can be traced."""

    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job_title = models.CharField(max_length=200)
    month = models.DateField()
    status = models.CharField(max_length=20, choices=choices(Status))
    started = models.BooleanField(default=False)
    duration_seconds = models.FloatField(null=True, blank=True)
    overall_score = models.FloatField(null=True, blank=True)
    recommendation = models.CharField(max_length=30, blank=True)
    final_decision = models.CharField(max_length=30, blank=True)
    demographic_group = models.CharField(max_length=MAX_DEMOGRAPHIC_GROUP_CHARS, null=True, blank=True)  # noqa: DJ001
    # [{"competency", "ai_score", "human_score", "reviewer"}]
    answers = models.JSONField(default=list, blank=True)
    erased_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"erased session ({self.job_title}, {self.month:%Y-%m})"
