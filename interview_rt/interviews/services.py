"""Writes. Every interface (socket consumer, REST view, worker, management command) goes through
these keyword-only functions: load -> state transition (state.py) -> persist -> log frames and
enqueue AI work after commit (events.py).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ai_service.types import Evaluation, GeneratedQuestion, InterviewContext

from . import events, links, scoring, state
from .errors import ErrorCode, InterviewError
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Candidate,
    EvaluationStatus,
    InterviewInvitation,
    Job,
    SessionFrame,
)

T = TypeVar("T")

# Primary keys arrive as UUIDs from the ORM and as strings from clients and messages.
Id = uuid.UUID | str

MAX_ANSWER_CHARS = 20_000
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
RESPONSE_TYPES = ("text", "code", "audio_transcript")
# An evaluation that failed this many times is stored as failed so the interview can finish.
MAX_EVALUATION_ATTEMPTS = 3


# --- invitations -----------------------------------------------------------------------------


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
) -> InterviewInvitation:
    if not 1 <= question_count <= 20:
        raise InterviewError(ErrorCode.INVALID_FIELD, "question_count must be between 1 and 20", field="question_count")
    if interview_type not in ("technical", "behavioral", "mixed"):
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown interview type", field="interview_type")
    if difficulty not in ("easy", "medium", "hard"):
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown difficulty", field="difficulty")
    if feedback_mode not in ("immediate", "end"):
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown feedback mode", field="feedback_mode")
    if time_limit_seconds < 10:
        raise InterviewError(ErrorCode.INVALID_FIELD, "time limit must be at least 10 s", field="time_limit_seconds")
    expires_in = expires_in or timedelta(days=settings.INTERVIEW_LINK_DEFAULT_DAYS)
    with transaction.atomic():
        job, _ = Job.objects.get_or_create(
            title=job_title, description=job_description, defaults={"required_skills": list(skills)}
        )
        if list(skills) and job.required_skills != list(skills):
            job = Job.objects.create(title=job_title, description=job_description, required_skills=list(skills))
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
        )


# --- state <-> rows ----------------------------------------------------------------------------


def _locked(session_id: object) -> AIInterviewSession:
    try:
        return (
            AIInterviewSession.objects.select_for_update()
            .select_related("invitation")
            .get(pk=_uuid(session_id, "session_id"))
        )
    except AIInterviewSession.DoesNotExist:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.", status=404) from None


def _uuid(value: object, name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} must be a UUID", field=name) from None


def _current_asked(session: AIInterviewSession) -> bool:
    return AIInterviewQuestion.objects.filter(
        session=session, order=session.current_index, asked_at__isnull=False
    ).exists()


def _state(session: AIInterviewSession, *, current: AIInterviewQuestion | None = None) -> state.SessionState:
    """The pure state of a session row. `current`, when it is the question at current_index,
    saves the query for whether it was asked."""
    if current is not None and current.session_id == session.pk and current.order == session.current_index:
        current_asked = current.asked_at is not None
    else:
        current_asked = _current_asked(session)
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


def _apply(session: AIInterviewSession, new: state.SessionState, now: datetime) -> None:
    """Copy a new state onto the row in memory; `_save` writes it (with last_seq) once at the end."""
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


def _save(session: AIInterviewSession) -> None:
    session.save(update_fields=SESSION_FIELDS)


def _transition_error(exc: state.TransitionError) -> InterviewError:
    status = 410 if exc.code == "session_expired" else 409
    return InterviewError(exc.code, exc.message, status=status)


def _ask(session: AIInterviewSession, index: int, now: datetime) -> events.Frame:
    question = AIInterviewQuestion.objects.get(session=session, order=index)
    question.asked_at = now
    question.save(update_fields=["asked_at"])
    return events.append(session, "question.asked", {"question": events.question_payload(question)})


def _expire_if_due(session: AIInterviewSession, now: datetime) -> None:
    current = _state(session)
    expired = state.expire(current, now)
    if expired.status != current.status:
        _apply(session, expired, now)
        _save(session)


# --- sessions ----------------------------------------------------------------------------------


def session_open(*, token: str) -> AIInterviewSession:
    """Opening a link creates its session once; opening it again returns the same session."""
    now = timezone.now()
    invitation = links.read_token(token, now=now)
    session = AIInterviewSession.objects.filter(invitation=invitation).first()
    if session is not None:
        return session
    try:
        with transaction.atomic():
            session = AIInterviewSession.objects.create(
                invitation=invitation, question_count=invitation.question_count, last_activity_at=now
            )
            events.enqueue_job("generate", session.pk)
            return session
    except IntegrityError:  # a concurrent open won the race: same session for both
        return AIInterviewSession.objects.get(invitation=invitation)


def _expiring(fn: Callable[..., T]) -> Callable[..., T]:
    """A refusal for expiry rolls its transaction back; mark the session expired in a
    transaction of its own so the refusal sticks."""

    @functools.wraps(fn)
    def wrapper(*, session_id: Id, **kwargs: Any) -> T:
        try:
            return fn(session_id=session_id, **kwargs)
        except InterviewError as exc:
            if exc.code == ErrorCode.SESSION_EXPIRED:
                with transaction.atomic():
                    _expire_if_due(_locked(session_id), timezone.now())
            raise

    return wrapper


@_expiring
def session_start(*, session_id: Id) -> AIInterviewSession:
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id)
        try:
            new, decision = state.start(_state(session), now)
        except state.TransitionError as exc:
            if exc.code == "interview_completed":
                return session
            raise _transition_error(exc) from None
        _apply(session, new, now)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now)
        _save(session)
        return session


@dataclass(frozen=True)
class Connection:
    session_id: str
    snapshot: dict[str, Any]
    missed: list[events.Frame]
    start_error: InterviewError | None = None


def session_connect(*, token: str, last_seq: int | None) -> Connection:
    """Everything a socket does on connect, in one trip to the database thread: open the link,
    start or resume the session, take the snapshot and the frames after `last_seq`."""
    from . import selectors  # selectors reads rows through _state, defined here

    session = session_open(token=token)
    start_error = None
    try:
        session_start(session_id=session.pk)
    except InterviewError as exc:
        start_error = exc
    with transaction.atomic():
        # Under the session lock no frame can be appended, so the snapshot is exactly "as of seq".
        _locked(session.pk)
        snapshot = selectors.session_snapshot(session_id=session.pk)
        missed = selectors.frames_after(session_id=session.pk, seq=last_seq) if last_seq is not None else []
    return Connection(str(session.pk), snapshot, missed, start_error)


def session_sync(*, session_id: Id) -> dict[str, Any]:
    """A snapshot exactly as of its seq (taken under the session lock)."""
    from . import selectors

    with transaction.atomic():
        _locked(session_id)
        return selectors.session_snapshot(session_id=session_id)


def session_leave(*, session_id: Id) -> None:
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id)
        current = _state(session)
        new = state.leave(current)
        if new.status != current.status:
            _apply(session, new, now)
            _save(session)


# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerReceipt:
    response_id: uuid.UUID
    duplicate: bool
    # Frames that answer this submission: the ack, plus the feedback for a duplicate if it exists.
    frames: list[events.Frame] = field(default_factory=list)


def _validate_answer(client_id: object, text: object, response_type: object) -> tuple[str, str, str]:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id):
        raise InterviewError(
            ErrorCode.INVALID_FIELD, "client_id must be 1-64 characters of A-Z a-z 0-9 _ . : -", field="client_id"
        )
    if not isinstance(text, str):
        raise InterviewError(ErrorCode.INVALID_FIELD, "text must be a string", field="text")
    if len(text) > MAX_ANSWER_CHARS:
        raise InterviewError(
            ErrorCode.INVALID_FIELD, f"text is longer than {MAX_ANSWER_CHARS} characters", field="text"
        )
    if not isinstance(response_type, str) or response_type not in RESPONSE_TYPES:
        raise InterviewError(
            ErrorCode.INVALID_FIELD, f"response_type must be one of {', '.join(RESPONSE_TYPES)}", field="response_type"
        )
    return client_id, text, response_type


def _frames_for_answer(session: AIInterviewSession, client_id: str) -> list[events.Frame]:
    rows = SessionFrame.objects.filter(
        session=session, type__in=("answer.accepted", "answer.feedback"), payload__client_id=client_id
    ).order_by("seq")
    return [row.payload for row in rows]


@_expiring
def answer_submit(
    *,
    session_id: Id,
    client_id: object,
    question_id: object,
    text: object,
    response_type: object = "text",
    submitted_at: datetime | None = None,
) -> AnswerReceipt:
    """Store an answer, then acknowledge it. The same client_id again returns the same receipt."""
    client_id, text, response_type = _validate_answer(client_id, text, response_type)
    question_uuid = _uuid(question_id, "question_id")
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id)
        existing = AIInterviewResponse.objects.filter(session=session, client_id=client_id).first()
        if existing is not None:
            return AnswerReceipt(existing.id, True, _frames_for_answer(session, client_id))
        question = AIInterviewQuestion.objects.filter(session=session, id=question_uuid).first()
        if question is None:
            raise InterviewError(
                ErrorCode.QUESTION_NOT_CURRENT, "That question is not part of this interview.", status=409
            )
        try:
            new, decision = state.answer(
                _state(session, current=question),
                question_index=question.order,
                now=now,
                asked_at=question.asked_at,
                time_limit=timedelta(seconds=question.time_limit_seconds),
                grace=timedelta(seconds=settings.INTERVIEW_LATE_GRACE_SECONDS),
            )
        except state.TransitionError as exc:
            raise _transition_error(exc) from None
        response = AIInterviewResponse.objects.create(
            session=session,
            question=question,
            client_id=client_id,
            response_text=text,
            response_type=response_type,
            submitted_at=submitted_at,
            received_at=now,
            time_taken_seconds=(now - question.asked_at).total_seconds() if question.asked_at else None,
            is_late=decision.late,
        )
        _apply(session, new, now)
        ack = events.append(session, "answer.accepted", events.ack_payload(response))
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now)
        _save(session)
        events.enqueue_job("evaluate", response.pk)
        return AnswerReceipt(response.id, False, [ack])


# --- background work: questions ----------------------------------------------------------------


def generation_claim(*, session_id: Id) -> InterviewContext | None:
    """Take the lease on a session's question generation and return what the provider needs;
    None when the questions exist, the session is over, or a live worker holds the lease."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AI_JOB_LEASE_SECONDS)
    claimed = (
        AIInterviewSession.objects.filter(pk=session_id, questions_ready=False)
        .exclude(status__in=("completed", "expired"))
        .filter(Q(generation_claimed_at__isnull=True) | Q(generation_claimed_at__lt=stale))
        .update(generation_claimed_at=now)
    )
    if not claimed:
        return None
    session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session_id)
    inv = session.invitation
    return InterviewContext(
        candidate_name=inv.candidate.name,
        job_title=inv.job.title,
        job_description=inv.job.description,
        skills=tuple(inv.job.required_skills or ()),
        interview_type=inv.interview_type,  # type: ignore[arg-type]
        difficulty=inv.difficulty,  # type: ignore[arg-type]
        question_count=session.question_count,
        seed=str(session.pk),
    )


def questions_store(*, session_id: Id, questions: Sequence[GeneratedQuestion], provenance: dict[str, Any]) -> bool:
    """Persist generated questions once; a second call for the same session changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id)
        if session.questions_ready:
            return False
        if len(questions) < session.question_count:
            raise InterviewError(ErrorCode.QUESTIONS_NOT_READY, "the provider returned too few questions")
        limit = session.invitation.time_limit_seconds
        AIInterviewQuestion.objects.bulk_create(
            [
                AIInterviewQuestion(
                    session=session,
                    order=i,
                    text=q.text,
                    question_type=q.question_type,
                    competency=q.competency,
                    difficulty=q.difficulty,
                    reference_answer=q.reference_answer,
                    key_points=list(q.key_points),
                    provenance={**provenance, "source_id": q.source_id},
                    time_limit_seconds=limit,
                )
                for i, q in enumerate(questions[: session.question_count])
            ]
        )
        new, decision = state.questions_generated(_state(session))
        _apply(session, new, now)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now)
        _save(session)
        return True


def generation_failed(*, session_id: Id, error: str) -> None:
    """Record the failure and give the lease back so the next sweep retries."""
    AIInterviewSession.objects.filter(pk=session_id).update(generation_error=error[:200], generation_claimed_at=None)


# --- background work: evaluations --------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationJob:
    response_id: uuid.UUID
    question: str
    answer: str
    question_type: str
    difficulty: str
    reference_answer: str
    key_points: tuple[str, ...]
    competency: str
    attempts: int


def evaluation_claim(*, response_id: Id) -> EvaluationJob | None:
    """Take the lease on a pending evaluation; None if done or leased by a live worker."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AI_JOB_LEASE_SECONDS)
    claimed = (
        AIInterviewResponse.objects.filter(pk=response_id, evaluation_status=EvaluationStatus.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    r = AIInterviewResponse.objects.select_related("question").get(pk=response_id)
    return EvaluationJob(
        response_id=r.id,
        question=r.question.text,
        answer=r.response_text,
        question_type=r.question.question_type,
        difficulty=r.question.difficulty,
        reference_answer=r.question.reference_answer,
        key_points=tuple(r.question.key_points or ()),
        competency=r.question.competency,
        attempts=r.attempts,
    )


def evaluation_release(*, response_id: Id) -> None:
    """Give the lease back after a failed attempt so the next sweep retries soon."""
    AIInterviewResponse.objects.filter(pk=response_id, evaluation_status=EvaluationStatus.PENDING).update(
        claimed_at=None
    )


def _covered_json(evaluation: Evaluation) -> list[dict[str, Any]]:
    return [
        {"point": m.point, "evidence": m.evidence, "similarity": round(float(m.similarity), 4)}
        for m in evaluation.covered_key_points
    ]


def evaluation_store(*, response_id: Id, evaluation: Evaluation | None, error_kind: str = "") -> bool:
    """Store an evaluation (or a final failure when `evaluation` is None) exactly once, then push
    feedback / the next question / the result as the state machine decides."""
    now = timezone.now()
    with transaction.atomic():
        session = (
            AIInterviewSession.objects.select_for_update()
            .select_related("invitation")
            .filter(responses__pk=_uuid(response_id, "response_id"))
            .first()
        )
        if session is None:
            return False
        # Read under the session lock: a concurrent store of the same answer is seen here.
        response = AIInterviewResponse.objects.select_related("question").get(pk=response_id)
        if response.evaluation_status != EvaluationStatus.PENDING:
            return False  # another worker finished first
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
            response.covered_key_points = _covered_json(evaluation)
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
        response.save()
        current = _state(session)
        follow_up = _follow_up_text(response, evaluation, current)
        new, decision = state.evaluation_recorded(current, follow_up=bool(follow_up))
        _apply(session, new, now)
        if decision.insert_follow_up_at is not None:
            _insert_follow_up(session, response, follow_up, decision.insert_follow_up_at)
        if session.invitation.feedback_mode == "immediate":
            events.append(
                session, "answer.feedback", {**events.feedback_payload(response), "follow_up_next": bool(follow_up)}
            )
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now)
        if decision.complete:
            _complete(session)
        _save(session)
        return True


def _follow_up_text(response: AIInterviewResponse, evaluation: Evaluation | None, current: state.SessionState) -> str:
    """The provider's follow-up question if the interview may still take one for this question."""
    text = (evaluation.follow_up if evaluation else "").strip()
    limit = settings.INTERVIEW_MAX_FOLLOW_UPS
    if not text or limit <= 0 or not state.follow_up_allowed(current):
        return ""
    root_id = response.question.follow_up_of_id or response.question.id
    if AIInterviewQuestion.objects.filter(follow_up_of_id=root_id).count() >= limit:
        return ""
    return text[:2000]


def _insert_follow_up(session: AIInterviewSession, response: AIInterviewResponse, text: str, at: int) -> None:
    """Insert the follow-up at index `at`, shifting later questions (two steps keep
    (session, order) unique at every row update, on PostgreSQL too)."""
    parent = response.question
    root = parent.follow_up_of or parent
    later = AIInterviewQuestion.objects.filter(session=session, order__gte=at)
    later.update(order=F("order") + 1000)
    AIInterviewQuestion.objects.filter(session=session, order__gte=at + 1000).update(order=F("order") - 999)
    AIInterviewQuestion.objects.create(
        session=session,
        order=at,
        text=text,
        question_type=parent.question_type,
        competency=parent.competency,
        difficulty=parent.difficulty,
        reference_answer=root.reference_answer,
        # The follow-up probes what the answer missed.
        key_points=list(response.missed_key_points) or list(root.key_points),
        provenance={"follow_up_of": str(root.id), "provider": response.provider, "model_name": response.model_name},
        time_limit_seconds=parent.time_limit_seconds,
        follow_up_of=root,
    )


def _complete(session: AIInterviewSession) -> AIInterviewResult:
    responses = list(
        AIInterviewResponse.objects.filter(session=session).select_related("question").order_by("question__order")
    )
    summary = scoring.summarize(
        [
            scoring.ScoredAnswer(
                competency=r.question.competency,
                score=None if r.insufficient_evidence else r.score,
                strengths=tuple(r.strengths),
                improvements=tuple(r.improvements),
            )
            for r in responses
        ]
    )
    result, _ = AIInterviewResult.objects.update_or_create(
        session=session,
        defaults={
            "overall_score": summary.overall_score,
            "competency_scores": summary.competency_scores,
            "recommendation": summary.recommendation,
            "summary": summary.summary,
            "strengths": list(summary.strengths),
            "weaknesses": list(summary.weaknesses),
            "insufficient_evidence_count": summary.insufficient_evidence_count,
        },
    )
    events.append(
        session,
        "interview.completed",
        {
            "result": events.result_payload(result),
            "answers": [
                {"question_id": str(r.question_id), "order": r.question.order, **_answer_summary(r)} for r in responses
            ],
        },
    )
    return result


def _answer_summary(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        "score": r.score,
        "insufficient_evidence": r.insufficient_evidence,
        "feedback": r.feedback,
        "strengths": r.strengths,
        "improvements": r.improvements,
        "late": r.is_late,
    }


def session_request_complete(*, session_id: Id) -> AIInterviewSession:
    """REST `complete`: refuses while questions are unanswered; the result follows evaluation."""
    with transaction.atomic():
        session = _locked(session_id)
        try:
            state.request_completion(_state(session))
        except state.TransitionError as exc:
            raise _transition_error(exc) from None
        return session


def result_review(
    *, session_id: Id, reviewer: Any, human_score: float | None, notes: str, final_decision: str
) -> AIInterviewResult:
    result = AIInterviewResult.objects.filter(session_id=_uuid(session_id, "session_id")).first()
    if result is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "This session has no result yet.", status=404)
    result.reviewer = reviewer
    result.human_score = human_score
    result.review_notes = notes
    result.final_decision = final_decision
    result.reviewed_at = timezone.now()
    result.save()
    return result
