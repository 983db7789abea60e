"""Reads. Snapshots and frame replay for the socket, results for REST and admins."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import rows
from .constants import EvaluationStatus, Status
from .models import AIInterviewQuestion, AIInterviewResponse, AIInterviewResult, AIInterviewSession, SessionFrame
from .rows import Id

REPLAY_LIMIT = 500


def session_get(*, session_id: Id) -> AIInterviewSession | None:
    try:
        pk = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").filter(pk=pk).first()


def current_question(session: AIInterviewSession) -> AIInterviewQuestion | None:
    if session.current_index >= session.question_count:
        return None
    return AIInterviewQuestion.objects.filter(
        session=session, order=session.current_index, asked_at__isnull=False
    ).first()


def session_snapshot(*, session_id: Id) -> dict[str, Any]:
    """The whole state a client needs, current as of `seq` (frames after it follow as pushes).
    Exact only under the session row lock (services.session_connect / session_sync take it)."""
    session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session_id)
    result = AIInterviewResult.objects.filter(session=session).first() if session.status == Status.COMPLETED else None
    return rows.snapshot(session, current_question(session), result)


def answer_summaries(*, session_id: Id) -> list[dict[str, Any]]:
    """Every answer of a session as the result lists it."""
    return [
        rows.answer_summary(r)
        for r in rows.answers_of(AIInterviewSession(pk=rows.parse_uuid(session_id, "session_id")))
    ]


def frames_after(*, session_id: Id, seq: int, limit: int = REPLAY_LIMIT) -> list[dict[str, Any]]:
    rows = SessionFrame.objects.filter(session_id=uuid.UUID(str(session_id)), seq__gt=seq).order_by("seq")[:limit]
    return [row.payload for row in rows]


def pending_work(*, older_than: float = 0.0) -> tuple[list[str], list[str]]:
    """Sessions without questions and answers without a grade that no live worker holds: what the
    background service must (re)do after a crash or a lost nudge. `older_than` (seconds) leaves
    alone work so new that its nudge is surely still on the way."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AI_JOB_LEASE_SECONDS)
    settled = now - timedelta(seconds=older_than)
    sessions = (
        AIInterviewSession.objects.filter(questions_ready=False, created_at__lte=settled)
        .exclude(status__in=(Status.COMPLETED, Status.EXPIRED))
        .filter(Q(generation_claimed_at__isnull=True) | Q(generation_claimed_at__lt=stale))
    )
    responses = AIInterviewResponse.objects.filter(
        evaluation_status=EvaluationStatus.PENDING, received_at__lte=settled
    ).filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
    return (
        [str(pk) for pk in sessions.values_list("pk", flat=True)[:200]],
        [str(pk) for pk in responses.order_by("received_at").values_list("pk", flat=True)[:500]],
    )


def pending_evaluations() -> int:
    """Acknowledged answers not graded yet (all workers; the `/metrics` gauge)."""
    return AIInterviewResponse.objects.filter(evaluation_status=EvaluationStatus.PENDING).count()


def session_result_detail(*, session: AIInterviewSession) -> dict[str, Any]:
    """Everything a reviewer sees: result, human review, each answer with its provenance."""
    result = AIInterviewResult.objects.filter(session=session).first()
    inv = session.invitation
    answers = [rows.answer_detail(r) for r in rows.answers_of(session)]
    return {
        "session_id": str(session.id),
        "status": session.status,
        "candidate": {"name": inv.candidate.name, "email": inv.candidate.email},
        "job": {"title": inv.job.title, "skills": inv.job.required_skills},
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "completed_at": session.completed_at.isoformat() if session.completed_at else None,
        "result": (
            {
                **rows.result_payload(result),
                "human_review": {
                    "reviewer": result.reviewer.get_username() if result.reviewer else None,
                    "human_score": result.human_score,
                    "notes": result.review_notes,
                    "final_decision": result.final_decision or None,
                    "reviewed_at": result.reviewed_at.isoformat() if result.reviewed_at else None,
                },
            }
            if result
            else None
        ),
        "answers": answers,
    }
