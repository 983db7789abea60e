"""Invitations: the link a candidate gets, and revoking it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..constants import (
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_PLANNED_QUESTIONS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    FeedbackMode,
)
from ..errors import ErrorCode, InterviewError
from ..events import Emitted
from ..models import (
    AIInterviewSession,
    Candidate,
    InterviewInvitation,
    Job,
)
from ..rows import Id, parse_uuid


def invitation_create(
    *,
    candidate_name: str,
    candidate_email: str,
    job_title: str,
    job_description: str = "",
    skills: Sequence[str] = (),
    interview_type: str = "technical",
    difficulty: str = "medium",
    question_count: int = 5,
    time_limit_seconds: int = 300,
    feedback_mode: str = "immediate",
    expires_in: timedelta | None = None,
    owner: Any = None,
    job: Job | None = None,
    consent_required: bool | None = None,
) -> InterviewInvitation:
    """`owner` (a recruiter inviting) owns the job the invitation creates or reuses: jobs are only
    shared between invitations of the same owner. `job` puts it in an existing job instead."""
    if not 1 <= question_count <= MAX_PLANNED_QUESTIONS:
        raise InterviewError(
            ErrorCode.INVALID_FIELD,
            f"question_count must be between 1 and {MAX_PLANNED_QUESTIONS}",
            field="question_count",
        )
    if interview_type not in INTERVIEW_TYPES:
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown interview type", field="interview_type")
    if difficulty not in DIFFICULTIES:
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown difficulty", field="difficulty")
    if feedback_mode not in tuple(FeedbackMode):
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown feedback mode", field="feedback_mode")
    if not MIN_TIME_LIMIT_SECONDS <= time_limit_seconds <= MAX_TIME_LIMIT_SECONDS:
        raise InterviewError(
            ErrorCode.INVALID_FIELD,
            f"time_limit_seconds must be between {MIN_TIME_LIMIT_SECONDS} and {MAX_TIME_LIMIT_SECONDS}",
            field="time_limit_seconds",
        )
    expires_in = expires_in or timedelta(days=settings.INTERVIEW_LINK_DEFAULT_DAYS)
    if consent_required is None:
        consent_required = settings.INTERVIEW_REQUIRE_CONSENT
    with transaction.atomic():
        if job is None:
            # The owner's job of this title and description, with these skills (any, if none are
            # named): the same opening invited twice shares its job; other skills make another.
            same = Job.objects.filter(title=job_title, description=job_description, owner=owner).order_by("pk")
            job = next((j for j in same if not skills or j.required_skills == list(skills)), None)
            if job is None:
                job = Job.objects.create(
                    title=job_title, description=job_description, required_skills=list(skills), owner=owner
                )
        candidate = Candidate.objects.create(name=candidate_name, email=candidate_email)
        return InterviewInvitation.objects.create(
            candidate=candidate,
            job=job,
            interview_type=interview_type,
            difficulty=difficulty,
            question_count=question_count,
            time_limit_seconds=time_limit_seconds,
            feedback_mode=feedback_mode,
            expires_at=timezone.now() + expires_in,
            consent_required=consent_required,
        )


def invitation_revoke(*, invitation_id: Id) -> Emitted:
    """Revoke a link: every later connect, answer and action of its session is refused with
    `link_revoked`, and the session's open sockets are closed (4403) once this returns."""
    out = Emitted()
    try:
        pk = parse_uuid(invitation_id, "invitation_id")
    except InterviewError:
        raise InterviewError(ErrorCode.NOT_FOUND, "No such invitation.") from None
    with transaction.atomic():
        invitation = InterviewInvitation.objects.select_for_update().filter(pk=pk).first()
        if invitation is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such invitation.")
        if not invitation.revoked:
            invitation.revoked = True
            invitation.save(update_fields=["revoked"])
        session = AIInterviewSession.objects.filter(invitation=invitation).only("pk").first()
        if session is not None:
            out.close(session.pk, ErrorCode.LINK_REVOKED)
    return out
