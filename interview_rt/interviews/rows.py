"""Rows <-> the pure state. The one place both services (writes) and selectors (reads) turn a
session row into a `state.SessionState`, apply a decided state back onto it, lock a session and
store an evaluation on an answer row; so services and selectors never import each other. What
clients see of the rows is `payloads.py`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db.models import Q

from ai_service.types import Evaluation

from . import scoring, state
from .constants import EvaluationStatus
from .errors import ErrorCode, InterviewError
from .models import AIInterviewQuestion, AIInterviewResponse, AIInterviewSession, IntegritySignal, WorkerBeat
from .prepared import Select, SelectOne, Update
from .standard import Calibration
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
    session = _LOCK_SESSION.get(parse_uuid(session_id, "session_id"))
    if session is None:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
    return cast(AIInterviewSession, session)


def question_at(session_id: uuid.UUID, index: int) -> AIInterviewQuestion | None:
    """The question at `index` of a session (compiled once: read on every connect and answer)."""
    return cast(AIInterviewQuestion | None, _QUESTION_AT.first(session_id, index))


def state_of(
    session: AIInterviewSession,
    *,
    current: AIInterviewQuestion | None = None,
    known: tuple[datetime | None, str] | None = None,
) -> state.SessionState:
    """The pure state of a session row. `current`, when it is the question at current_index, or
    `known` (its asked_at and added_by_name, read in bulk) saves the query for whether it was asked."""
    if current is not None and current.session_id == session.pk and current.order == session.current_index:
        current_asked, next_added = current.asked_at is not None, bool(current.added_by_name)
    elif known is not None:
        current_asked, next_added = known[0] is not None, bool(known[1])
    else:
        row = question_at(session.pk, session.current_index)
        current_asked = row is not None and row.asked_at is not None
        next_added = row is not None and row.asked_at is None and bool(row.added_by_name)
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
        consent_required=session.invitation.consent_required,
        consented=session.consented_at is not None,
        ended_early=session.ended_early,
        next_added=next_added and not current_asked,
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
    "feed_seq",
    "ended_early",
    "consent_version",
    "consented_at",
    "ended_by",
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
    session.ended_early = new.ended_early
    session.last_activity_at = now


def save(session: AIInterviewSession) -> None:
    """session.save(update_fields=SESSION_FIELDS), compiled once (every answer saves twice)."""
    _SAVE_SESSION.run(session)


EVALUATION_FIELDS = [
    "evaluation_status",
    "score",
    "raw_score",
    "calibration_version",
    "graded_examples",
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

# Run on every answer (and every connect): compiled once (prepared.py).
_LOCK_SESSION = SelectOne(AIInterviewSession, related=["invitation"], for_update=True)
_SAVE_SESSION = Update(AIInterviewSession, SESSION_FIELDS)
_SAVE_EVALUATION = Update(AIInterviewResponse, EVALUATION_FIELDS)
_QUESTION_AT = Select(AIInterviewQuestion, ["session", "order"], limit=1)
_QUESTION_SIGNALS = Select(IntegritySignal, ["question"], order_by=["created_at", "id"])


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
    _SAVE_EVALUATION.run(response)


# Where an answer's team calibration was applied (evaluation_details["calibrated_by"]): a
# re-grade can re-apply the project's mapping to a raw score, but not a provider's.
CALIBRATED_HERE = "project"
CALIBRATED_BY_PROVIDER = "provider"


def _zero_shot(details: Any) -> float | None:
    value = details.get("calibration", {}).get("zero_shot_score") if isinstance(details, dict) else None
    return round(min(10.0, max(0.0, float(value))), 2) if isinstance(value, int | float) else None


def calibrated(raw_score: float | None, calibration: Calibration | None) -> tuple[float | None, int | None]:
    """(score shown, calibration version) of a raw AI score: through the calibration's leniency,
    as a provider applies it, to the 2 decimals scores are kept in."""
    if raw_score is None or calibration is None:
        return raw_score, None
    return round(calibration.leniency.apply(raw_score), 2), calibration.version


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


def answers_of(session: AIInterviewSession) -> list[AIInterviewResponse]:
    return list(
        AIInterviewResponse.objects.filter(session=session).select_related("question").order_by("question__order")
    )


def integrity_summary(signals: list[tuple[str, int | None]], *, time_to_submit_ms: int | None = None) -> dict[str, Any]:
    """The signals of one question as counts and times, for a person to judge (never scored)."""
    summary: dict[str, Any] = {
        "paste_count": 0,
        "paste_chars": 0,
        "focus_lost_count": 0,
        "focus_away_ms": 0,
        "first_keystroke_ms": None,
        "time_to_submit_ms": time_to_submit_ms,
    }
    for kind, value in signals:
        if kind == "paste":
            summary["paste_count"] += 1
            summary["paste_chars"] += value or 0
        elif kind == "focus_lost":
            summary["focus_lost_count"] += 1
        elif kind == "focus_regained":
            summary["focus_away_ms"] += value or 0
        elif kind == "first_keystroke" and summary["first_keystroke_ms"] is None:
            summary["first_keystroke_ms"] = value
    return summary


def question_signals(question: AIInterviewQuestion) -> list[tuple[str, int | None]]:
    return [(s.kind, s.value) for s in cast(list[IntegritySignal], _QUESTION_SIGNALS.all(question.pk))]
