"""Reviews, calibrations, score history and erased sessions' facts: read-only history."""

from django.contrib import admin

from interview_rt.interviews.admin import ReadOnlyAdmin

from .models import AnswerReview, Calibration, ErasedSession, ScoreRevision


@admin.register(AnswerReview)
class AnswerReviewAdmin(ReadOnlyAdmin):
    list_display = ["response", "score", "ai_score", "reviewer_name", "current", "created_at"]
    list_filter = ["current", "reviewer_name"]


@admin.register(Calibration)
class CalibrationAdmin(ReadOnlyAdmin):
    list_display = ["version", "active", "fit_name", "pair_count", "created_by", "created_at"]


@admin.register(ScoreRevision)
class ScoreRevisionAdmin(ReadOnlyAdmin):
    list_display = ["session", "kind", "score", "raw_score", "recommendation", "reason", "replaced_at"]
    list_filter = ["kind"]


@admin.register(ErasedSession)
class ErasedSessionAdmin(ReadOnlyAdmin):
    list_display = ["job_title", "month", "status", "overall_score", "erased_at"]
