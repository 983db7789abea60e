"""Rows <-> the pure state, and rows -> the dicts clients see. The one place both services
(writes) and selectors (reads) turn a session row into a `state.SessionState`, apply a decided
state back onto it, store an evaluation on an answer row, and serialize an answer, a question or
a result; so services and selectors never import each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ai_service.types import Evaluation

from . import state
from .constants import EvaluationStatus
from .errors import ErrorCode, InterviewError
from .models import AIInterviewQuestion, AIInterviewResponse, AIInterviewResult, AIInterviewSession

# Primary keys arrive as UUIDs from the ORM and as strings from clients and messages.
Id = uuid.UUID | str


def parse_uuid(value: object, name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} must be a UUID", field=name) from None


def locked(session_id: object) -> AIInterviewSession:
    """The session row, locked for the rest of the caller's transaction (seq and counters are
    only ever changed under this lock)."""
    try:
        return (
            AIInterviewSession.objects.select_for_update()
            .select_related("invitation")
            .get(pk=parse_uuid(session_id, "session_id"))
        )
    except AIInterviewSession.DoesNotExist:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.") from None


def state_of(
    session: AIInterviewSession, *, current: AIInterviewQuestion | None = None, current_asked: bool | None = None
) -> state.SessionState:
    """The pure state of a session row. `current`, when it is the question at current_index, or
    `current_asked` when the caller knows, saves the query for whether it was asked."""
    if current_asked is not None:
        pass
    elif current is not None and current.session_id == session.pk and current.order == session.current_index:
        current_asked = current.asked_at is not None
    else:
        current_asked = AIInterviewQuestion.objects.filter(
            session=session, order=session.current_index, asked_at__isnull=False
        ).exists()
    return state.SessionState(
        status=state.Status(session.status),
        question_count=session.question_count,
        questions_ready=session.questions_ready,
        current_index=session.current_index,
        current_asked=current_asked,
        answered=session.answered_count,
        evaluated=session.evaluated_count,
        feedback_mode=session.invitation.feedback_mode,
        expires_at=session.invitation.expires_at,
    )


SESSION_FIELDS = [
    "status",
    "question_count",
    "questions_ready",
    "current_index",
    "answered_count",
    "evaluated_count",
    "started_at",
    "completed_at",
    "last_activity_at",
    "last_seq",
]


def apply(session: AIInterviewSession, new: state.SessionState, now: datetime) -> None:
    """Copy a decided state onto the row in memory; `save` writes it (with last_seq) once."""
    if new.status == state.Status.IN_PROGRESS and session.started_at is None:
        session.started_at = now
    if new.status == state.Status.COMPLETED and session.completed_at is None:
        session.completed_at = now
    session.status = new.status.value
    session.question_count = new.question_count
    session.questions_ready = new.questions_ready
    session.current_index = new.current_index
    session.answered_count = new.answered
    session.evaluated_count = new.evaluated
    session.last_activity_at = now


def save(session: AIInterviewSession) -> None:
    session.save(update_fields=SESSION_FIELDS)


EVALUATION_FIELDS = [
    "evaluation_status",
    "score",
    "insufficient_evidence",
    "feedback",
    "strengths",
    "improvements",
    "covered_key_points",
    "missed_key_points",
    "provider",
    "model_name",
    "model_version",
    "rubric_version",
    "evaluation_latency_ms",
    "fallback_used",
    "error_kind",
    "evaluation_details",
    "evaluated_at",
]


def store_evaluation(
    response: AIInterviewResponse, evaluation: Evaluation | None, error_kind: str, now: datetime
) -> None:
    """Copy a provider's evaluation (or a final failure, when None) onto the answer row."""
    if evaluation is not None:
        score = evaluation.score
        if score is not None:
            score = round(min(10.0, max(0.0, float(score))), 2)
        p = evaluation.provenance
        response.evaluation_status = EvaluationStatus.DONE
        response.score = score
        response.insufficient_evidence = evaluation.insufficient_evidence or score is None
        response.feedback = evaluation.feedback
        response.strengths = list(evaluation.strengths)
        response.improvements = list(evaluation.improvements)
        response.covered_key_points = [
            {"point": m.point, "evidence": m.evidence, "similarity": round(float(m.similarity), 4)}
            for m in evaluation.covered_key_points
        ]
        response.missed_key_points = list(evaluation.missed_key_points)
        response.provider = p.provider
        response.model_name = p.model_name
        response.model_version = p.model_version
        response.rubric_version = p.rubric_version
        response.evaluation_latency_ms = p.latency_ms
        response.fallback_used = p.fallback_used
        response.error_kind = p.error_kind
        response.evaluation_details = dict(p.details)
    else:
        response.evaluation_status = EvaluationStatus.FAILED
        response.insufficient_evidence = True
        response.feedback = "This answer could not be graded automatically; a reviewer will grade it."
        response.error_kind = error_kind or "failed"
    response.evaluated_at = now
    response.save(update_fields=EVALUATION_FIELDS)


# --- what clients see ----------------------------------------------------------------------------


def question_payload(q: AIInterviewQuestion) -> dict[str, Any]:
    """What the candidate may see of a question (never the reference answer or key points)."""
    deadline = None
    if q.asked_at is not None:
        deadline = (q.asked_at.timestamp() + q.time_limit_seconds) * 1000
    return {
        "id": str(q.id),
        "order": q.order,
        "text": q.text,
        "type": q.question_type,
        "competency": q.competency,
        "difficulty": q.difficulty,
        "time_limit_seconds": q.time_limit_seconds,
        "follow_up_of": str(q.follow_up_of_id) if q.follow_up_of_id else None,
        "asked_at": q.asked_at.isoformat() if q.asked_at else None,
        "deadline_ms": int(deadline) if deadline else None,
    }


def ack_payload(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        "client_id": r.client_id,
        "question_id": str(r.question_id),
        "response_id": str(r.id),
        "received_at": r.received_at.isoformat(),
        "late": r.is_late,
        "evaluation": r.evaluation_status,
    }


def feedback_payload(r: AIInterviewResponse) -> dict[str, Any]:
    """An answer's grade as the candidate sees it (socket `answer.feedback`, REST `evaluation`)."""
    return {
        "client_id": r.client_id,
        "question_id": str(r.question_id),
        "response_id": str(r.id),
        "score": r.score,
        "insufficient_evidence": r.insufficient_evidence,
        "feedback": r.feedback,
        "strengths": r.strengths,
        "improvements": r.improvements,
        "covered_key_points": r.covered_key_points,
        "missed_key_points": r.missed_key_points,
        "late": r.is_late,
    }


def answer_summary(r: AIInterviewResponse) -> dict[str, Any]:
    """One answer in the result (`interview.completed`, REST `complete`); needs `r.question`."""
    return {**feedback_payload(r), "order": r.question.order}


def answer_detail(r: AIInterviewResponse) -> dict[str, Any]:
    """One answer as a reviewer sees it: the summary plus the question, timing and provenance."""
    q = r.question
    return {
        **answer_summary(r),
        "question": q.text,
        "competency": q.competency,
        "follow_up_of": str(q.follow_up_of_id) if q.follow_up_of_id else None,
        "question_provenance": q.provenance,
        "response_text": r.response_text,
        "received_at": r.received_at.isoformat(),
        "time_taken_seconds": r.time_taken_seconds,
        "evaluation_status": r.evaluation_status,
        "provenance": {
            "provider": r.provider,
            "model_name": r.model_name,
            "model_version": r.model_version,
            "rubric_version": r.rubric_version,
            "latency_ms": r.evaluation_latency_ms,
            "fallback_used": r.fallback_used,
            "error_kind": r.error_kind,
        },
    }


def result_payload(result: AIInterviewResult) -> dict[str, Any]:
    return {
        "overall_score": result.overall_score,
        "recommendation": result.recommendation,
        "summary": result.summary,
        "competency_scores": result.competency_scores,
        "strengths": result.strengths,
        "weaknesses": result.weaknesses,
        "insufficient_evidence_count": result.insufficient_evidence_count,
    }


def snapshot(
    session: AIInterviewSession,
    current: AIInterviewQuestion | None,
    result: AIInterviewResult | None,
) -> dict[str, Any]:
    """`session.state`: the whole state a client needs, as of `session.last_seq`. `current` is
    the question at current_index (shown only once asked); the session's invitation, job and
    candidate must be loaded."""
    asked = current if current is not None and current.asked_at is not None else None
    st = state_of(session, current_asked=asked is not None)
    inv = session.invitation
    out: dict[str, Any] = {
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
            "current_question": question_payload(asked) if asked else None,
        },
    }
    if result is not None:
        out["session"]["result"] = result_payload(result)
    return out


def answers_of(session: AIInterviewSession) -> list[AIInterviewResponse]:
    return list(
        AIInterviewResponse.objects.filter(session=session).select_related("question").order_by("question__order")
    )
