"""Reads. Snapshots and frame replay for the socket, results for REST and admins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import rows
from .constants import EvaluationStatus, Status
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    AnswerReview,
    Calibration,
    ScoreRevision,
    SessionFrame,
)
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
    st = rows.state_of(session)
    question = current_question(session)
    inv = session.invitation
    snapshot: dict[str, Any] = {
        "type": "session.state",
        "seq": session.last_seq,
        "session": {
            "id": str(session.id),
            "status": session.status,
            "awaiting": st.awaiting.value,
            "question_count": session.question_count,
            "answered": session.answered_count,
            "evaluated": session.evaluated_count,
            "feedback_mode": inv.feedback_mode,
            "interview_type": inv.interview_type,
            "difficulty": inv.difficulty,
            "job_title": inv.job.title,
            "candidate_name": inv.candidate.name,
            "expires_at": inv.expires_at.isoformat(),
            "current_question": rows.question_payload(question) if question else None,
        },
    }
    result = AIInterviewResult.objects.filter(session=session).first()
    if result is not None:
        snapshot["session"]["result"] = rows.result_payload(result)
    return snapshot


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
    settled = now - timedelta(seconds=older_than)
    sessions = (
        AIInterviewSession.objects.filter(questions_ready=False, created_at__lte=settled)
        .exclude(status__in=(Status.COMPLETED, Status.EXPIRED))
        .filter(rows.lease_free("generation_claimed_at", "generation_claimed_by", now))
    )
    responses = AIInterviewResponse.objects.filter(
        evaluation_status=EvaluationStatus.PENDING, received_at__lte=settled
    ).filter(rows.lease_free("claimed_at", "claimed_by", now))
    return (
        [str(pk) for pk in sessions.values_list("pk", flat=True)[:200]],
        [str(pk) for pk in responses.order_by("received_at").values_list("pk", flat=True)[:500]],
    )


def session_result_detail(*, session: AIInterviewSession) -> dict[str, Any]:
    """Everything a reviewer sees: result, human review, each answer with its provenance."""
    result = AIInterviewResult.objects.filter(session=session).first()
    inv = session.invitation
    current = {
        r.response_id: review_payload(r) for r in AnswerReview.objects.filter(response__session=session, current=True)
    }
    answers = [
        {
            **rows.answer_detail(r),
            "raw_score": r.raw_score,
            "calibration_version": r.calibration_version,
            "human_review": current.get(r.pk),
        }
        for r in rows.answers_of(session)
    ]
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


# --- reviews, graded examples, calibration ---------------------------------------------------------


@dataclass(frozen=True)
class GradedExample:
    """A reviewed answer to the same question: what the grader gets as a graded example."""

    review_id: int
    response_id: str
    answer: str
    score: float  # the reviewer's score, 0-10
    note: str
    ai_score: float | None


def graded_examples_for(
    question: AIInterviewQuestion | str, *, exclude_response_id: Id | None = None, limit: int | None = None
) -> list[GradedExample]:
    """The reviewed answers of a question (a question row, or its text): the current review of
    every answer to the same question text in any session, newest first, at most `limit`
    (GRADED_EXAMPLES_LIMIT). The grader picks the nearest of them; `exclude_response_id` keeps
    an answer from being its own example when it is re-graded."""
    text = question if isinstance(question, str) else question.text
    reviews = AnswerReview.objects.filter(question_key=rows.question_key(text), current=True).select_related("response")
    if exclude_response_id is not None:
        reviews = reviews.exclude(response_id=rows.parse_uuid(exclude_response_id, "response_id"))
    return [
        GradedExample(
            review_id=r.pk,
            response_id=str(r.response_id),
            answer=r.response.response_text,
            score=r.score,
            note=r.note,
            ai_score=r.response.score,
        )
        for r in reviews.order_by("-created_at", "-pk")[: limit or settings.GRADED_EXAMPLES_LIMIT]
    ]


def active_calibration() -> Calibration | None:
    return Calibration.objects.filter(active=True).first()


def calibration_pairs() -> tuple[list[float], list[float]]:
    """(raw AI score, human score) of every answer with a current review and a raw AI score:
    what a leniency mapping is fitted on. Raw, not calibrated, scores: a new mapping replaces the
    old one rather than stacking on it."""
    pairs = AnswerReview.objects.filter(current=True, response__raw_score__isnull=False).values_list(
        "response__raw_score", "score"
    )
    ai: list[float] = []
    human: list[float] = []
    for raw, score in pairs.order_by("pk"):
        if raw is not None:  # filtered out above; the ORM's types do not know
            ai.append(raw)
            human.append(score)
    return ai, human


def review_payload(review: AnswerReview) -> dict[str, Any]:
    return {
        "id": review.pk,
        "response_id": str(review.response_id),
        "score": review.score,
        "note": review.note,
        "reviewer": review.reviewer_name or None,
        "ai_score": review.ai_score,
        "ai_raw_score": review.ai_raw_score,
        "calibration_version": review.calibration_version,
        "current": review.current,
        "created_at": review.created_at.isoformat(),
    }


def revision_payload(revision: ScoreRevision) -> dict[str, Any]:
    return {
        "kind": revision.kind,
        "score": revision.score,
        "raw_score": revision.raw_score,
        "recommendation": revision.recommendation or None,
        "provenance": revision.provenance,
        "reason": revision.reason,
        "replaced_at": revision.replaced_at.isoformat(),
    }


def answer_review_state(*, response_id: Id) -> dict[str, Any] | None:
    """An answer's AI score (with its provenance), its current human review and the history of
    both; None if there is no such answer."""
    response = (
        AIInterviewResponse.objects.select_related("question")
        .filter(pk=rows.parse_uuid(response_id, "response_id"))
        .first()
    )
    if response is None:
        return None
    reviews = [review_payload(r) for r in response.reviews.all()]
    return {
        "response_id": str(response.pk),
        "session_id": str(response.session_id),
        "question_id": str(response.question_id),
        "question": response.question.text,
        "answer": response.response_text,
        "ai_score": response.score,
        "raw_score": response.raw_score,
        "calibration_version": response.calibration_version,
        "graded_examples": response.graded_examples,
        "evaluation_status": response.evaluation_status,
        "review": next((r for r in reviews if r["current"]), None),
        "reviews": reviews,
        "score_history": [revision_payload(r) for r in response.score_revisions.all()],
    }


def calibration_payload(calibration: Calibration) -> dict[str, Any]:
    return {
        "version": calibration.version,
        "active": calibration.active,
        "fit_name": calibration.fit_name,
        "pair_count": calibration.pair_count,
        "mapping": calibration.mapping,
        "summary": calibration.summary,
        "created_by": calibration.created_by.get_username() if calibration.created_by else None,
        "created_at": calibration.created_at.isoformat(),
    }


def calibrations() -> list[dict[str, Any]]:
    return [calibration_payload(c) for c in Calibration.objects.select_related("created_by")[:100]]
