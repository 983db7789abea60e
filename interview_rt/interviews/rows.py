"""Rows <-> the pure state, and rows -> the dicts clients see. The one place both services
(writes) and selectors (reads) turn a session row into a `state.SessionState`, apply a decided
state back onto it, store an evaluation on an answer row, and serialize an answer, a question or
a result; so services and selectors never import each other.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from ai_service.types import Evaluation

from . import analytics, scoring, state
from .constants import EvaluationStatus
from .errors import ErrorCode, InterviewError
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Calibration,
    WorkerBeat,
)
from .text import clean, clean_json

# Primary keys arrive as UUIDs from the ORM and as strings from clients and messages.
Id = uuid.UUID | str


def parse_uuid(value: object, name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} must be a UUID", field=name) from None


def lease_free(at: str, by: str, now: datetime) -> Q:
    """Rows whose lease (`at`: when taken, `by`: the owner) may be taken: never taken, older than
    AI_JOB_LEASE_SECONDS (a live worker stuck on one job), or held by a worker that stopped
    beating (a dead process: taken over within seconds, not after the whole lease)."""
    stale = now - timedelta(seconds=settings.AI_JOB_LEASE_SECONDS)
    alive = WorkerBeat.objects.filter(beat_at__gte=now - timedelta(seconds=settings.AI_WORKER_DEAD_AFTER_SECONDS))
    return Q(**{f"{at}__isnull": True}) | Q(**{f"{at}__lt": stale}) | ~Q(**{f"{by}__in": alive.values("id")})


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


def state_of(session: AIInterviewSession, *, current: AIInterviewQuestion | None = None) -> state.SessionState:
    """The pure state of a session row. `current`, when it is the question at current_index,
    saves the query for whether it was asked."""
    if current is not None and current.session_id == session.pk and current.order == session.current_index:
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
        revoked=session.invitation.revoked,
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


def store_evaluation(
    response: AIInterviewResponse,
    evaluation: Evaluation | None,
    error_kind: str,
    now: datetime,
    *,
    calibration: Calibration | None = None,
    provider_calibration_version: int | None = None,
    graded_example_ids: Sequence[int] = (),
) -> None:
    """Copy a provider's evaluation (or a final failure, when None) onto the answer row.

    The team calibration is applied in one of two places. By default here: `calibration` (the
    active one) maps the provider's score, kept as `raw_score`. Or by the provider, when the worker
    gave it calibration version `provider_calibration_version`: the score is stored as returned,
    and `raw_score` is the zero-shot score the provider reports (`details.calibration`)."""
    if evaluation is not None:
        score = evaluation.score
        if score is not None:
            score = round(min(10.0, max(0.0, float(score))), 2)
        p = evaluation.provenance
        response.evaluation_status = EvaluationStatus.DONE
        if provider_calibration_version is not None:
            zero_shot = _zero_shot(p.details)
            response.raw_score = zero_shot if zero_shot is not None and score is not None else score
            response.score, response.calibration_version = score, provider_calibration_version
            calibrated_by = CALIBRATED_BY_PROVIDER
        else:
            response.raw_score = score
            response.score, response.calibration_version = calibrated(score, calibration)
            calibrated_by = CALIBRATED_HERE if response.calibration_version is not None else ""
        response.graded_examples = list(graded_example_ids)
        response.insufficient_evidence = evaluation.insufficient_evidence or score is None
        # A model's text is stored cleaned like a candidate's (text.py): PostgreSQL refuses NUL.
        response.feedback = clean(evaluation.feedback)
        response.strengths = clean_json(list(evaluation.strengths))
        response.improvements = clean_json(list(evaluation.improvements))
        response.covered_key_points = clean_json(
            [
                {"point": m.point, "evidence": m.evidence, "similarity": round(float(m.similarity), 4)}
                for m in evaluation.covered_key_points
            ]
        )
        response.missed_key_points = clean_json(list(evaluation.missed_key_points))
        response.provider = clean(p.provider)[:50]
        response.model_name = clean(p.model_name)[:100]
        response.model_version = clean(p.model_version)[:100]
        response.rubric_version = clean(p.rubric_version)[:100]
        response.evaluation_latency_ms = p.latency_ms
        response.fallback_used = p.fallback_used
        response.error_kind = clean(p.error_kind)[:50]
        response.evaluation_details = clean_json(
            {**p.details, **({"calibrated_by": calibrated_by} if calibrated_by else {})}
        )
    else:
        response.evaluation_status = EvaluationStatus.FAILED
        response.insufficient_evidence = True
        response.feedback = "This answer could not be graded automatically; a reviewer will grade it."
        response.error_kind = error_kind or "failed"
    response.evaluated_at = now
    response.save()


# Where an answer's team calibration was applied (evaluation_details["calibrated_by"]): a
# re-grade can re-apply the project's mapping to a raw score, but not a provider's.
CALIBRATED_HERE = "project"
CALIBRATED_BY_PROVIDER = "provider"


def _zero_shot(details: Any) -> float | None:
    value = details.get("calibration", {}).get("zero_shot_score") if isinstance(details, dict) else None
    return round(min(10.0, max(0.0, float(value))), 2) if isinstance(value, int | float) else None


def calibrated(raw_score: float | None, calibration: Calibration | None) -> tuple[float | None, int | None]:
    """(score shown, calibration version) of a raw AI score."""
    if raw_score is None or calibration is None:
        return raw_score, None
    return analytics.apply_mapping(calibration.mapping, raw_score), calibration.version


def question_key(text: str) -> str:
    """The same question asked in different sessions (each session has its own question rows):
    its text, whitespace-normalised and case-folded, hashed."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


def summarize(answers: Sequence[AIInterviewResponse]) -> scoring.ResultSummary:
    """A session's result from its answers (needs `r.question`)."""
    return scoring.summarize(
        [
            scoring.ScoredAnswer(
                competency=r.question.competency,
                score=None if r.insufficient_evidence else r.score,
                strengths=tuple(r.strengths),
                improvements=tuple(r.improvements),
            )
            for r in answers
        ]
    )


def result_fields(summary: scoring.ResultSummary) -> dict[str, Any]:
    return {
        "overall_score": summary.overall_score,
        "competency_scores": summary.competency_scores,
        "recommendation": summary.recommendation,
        "summary": summary.summary,
        "strengths": list(summary.strengths),
        "weaknesses": list(summary.weaknesses),
        "insufficient_evidence_count": summary.insufficient_evidence_count,
    }


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


def answers_of(session: AIInterviewSession) -> list[AIInterviewResponse]:
    return list(
        AIInterviewResponse.objects.filter(session=session).select_related("question").order_by("question__order")
    )
