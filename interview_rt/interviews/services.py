"""Writes. Every interface (socket consumer, REST view, worker, management command) goes through
these keyword-only functions: load -> state transition (state.py) -> persist (rows.py) -> log
frames. A service returns what it emitted (an `events.Emitted`: logged frames and AI jobs); the
caller publishes it once the service returned, i.e. after commit (`interview_rt.runtime`).
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

from . import links, rows, scoring, selectors, state
from .constants import (
    CLIENT_ID_PATTERN,
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_ANSWER_CHARS,
    MAX_EVALUATION_ATTEMPTS,
    MAX_FOLLOW_UP_CHARS,
    MAX_PLANNED_QUESTIONS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    RESPONSE_TYPES,
    EvaluationStatus,
    FeedbackMode,
)
from .errors import ErrorCode, InterviewError
from .events import EVALUATE, GENERATE, Emitted, Frame, append
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Candidate,
    InterviewInvitation,
    Job,
    SessionFrame,
)
from .rows import Id, locked, parse_uuid, state_of

T = TypeVar("T")

__all__ = ["MAX_EVALUATION_ATTEMPTS", "Emitted", "Id"]

CLIENT_ID_RE = re.compile(CLIENT_ID_PATTERN)


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


# --- helpers ----------------------------------------------------------------------------------


def _transition_error(exc: state.TransitionError) -> InterviewError:
    field = "question_id" if exc.code == ErrorCode.QUESTION_NOT_CURRENT else None
    return InterviewError(exc.code, exc.message, field=field)


def _ask(session: AIInterviewSession, index: int, now: datetime, out: Emitted) -> Frame:
    question = AIInterviewQuestion.objects.get(session=session, order=index)
    question.asked_at = now
    question.save(update_fields=["asked_at"])
    return append(session, "question.asked", {"question": rows.question_payload(question)}, out)


def _expire_if_due(session: AIInterviewSession, now: datetime) -> None:
    current = state_of(session)
    expired = state.expire(current, now)
    if expired.status != current.status:
        rows.apply(session, expired, now)
        rows.save(session)


# --- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    session: AIInterviewSession
    emitted: Emitted


def session_open(*, token: str) -> Opened:
    """Opening a link creates its session once; opening it again returns the same session."""
    now = timezone.now()
    invitation = links.read_token(token, now=now)
    session = AIInterviewSession.objects.filter(invitation=invitation).first()
    if session is not None:
        return Opened(session, Emitted())
    out = Emitted()
    try:
        with transaction.atomic():
            session = AIInterviewSession.objects.create(
                invitation=invitation, question_count=invitation.question_count, last_activity_at=now
            )
            out.job(GENERATE, session.pk)
            return Opened(session, out)
    except IntegrityError:  # a concurrent open won the race: same session for both
        return Opened(AIInterviewSession.objects.get(invitation=invitation), Emitted())


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
                    _expire_if_due(locked(session_id), timezone.now())
            raise

    return wrapper


@_expiring
def session_start(*, session_id: Id) -> Emitted:
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        try:
            new, decision = state.start(state_of(session), now)
        except state.TransitionError as exc:
            if exc.code == "interview_completed":
                return out
            raise _transition_error(exc) from None
        rows.apply(session, new, now)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
    return out


@dataclass(frozen=True)
class Connection:
    session_id: str
    snapshot: dict[str, Any]
    missed: list[Frame]
    start_error: InterviewError | None = None
    emitted: Emitted = field(default_factory=Emitted)


def session_connect(*, token: str, last_seq: int | None) -> Connection:
    """Everything a socket does on connect, in one transaction under the session row lock: open
    the link (creating the session once), start or resume it, and take the snapshot and the
    frames after `last_seq`. About five statements for a new session (the invitation, the session
    lock, the insert) instead of one transaction per step: a connect storm is mostly this."""
    now = timezone.now()
    invitation = links.read_token(token, now=now)  # invitation, job and candidate in one query
    try:
        return _connect(invitation, last_seq, now)
    except IntegrityError:  # a concurrent connect created the session first: resume it
        return _connect(invitation, last_seq, now)


def _connect(invitation: InterviewInvitation, last_seq: int | None, now: datetime) -> Connection:
    out = Emitted()
    start_error: InterviewError | None = None
    with transaction.atomic():
        session = AIInterviewSession.objects.select_for_update().filter(invitation=invitation).first()
        created = session is None
        if session is None:
            session = AIInterviewSession(
                invitation=invitation, question_count=invitation.question_count, last_activity_at=now
            )
        session.invitation = invitation  # already loaded with its job and candidate
        current = None
        if session.questions_ready and session.current_index < session.question_count:
            current = AIInterviewQuestion.objects.filter(session=session, order=session.current_index).first()
        current_state = state_of(session, current_asked=bool(current and current.asked_at))
        changed = created
        try:
            new, decision = state.start(current_state, now)
        except state.TransitionError as exc:
            if exc.code != ErrorCode.INTERVIEW_COMPLETED:
                start_error = _transition_error(exc)
                expired = state.expire(current_state, now)
                if expired.status != current_state.status:
                    rows.apply(session, expired, now)  # the refusal sticks (see _expiring)
                    changed = True
        else:
            rows.apply(session, new, now)
            changed = True
            if decision.ask_index is not None:
                if current is not None and current.order == decision.ask_index:
                    current.asked_at = now
                    current.save(update_fields=["asked_at"])
                    append(session, "question.asked", {"question": rows.question_payload(current)}, out)
                else:
                    _ask(session, decision.ask_index, now, out)
        if created:
            session.save(force_insert=True)
            out.job(GENERATE, session.pk)
        elif changed:
            rows.save(session)
        completed = session.status == state.Status.COMPLETED
        result = AIInterviewResult.objects.filter(session=session).first() if completed else None
        snapshot = rows.snapshot(session, current, result)
        missed = selectors.frames_after(session_id=session.pk, seq=last_seq) if last_seq is not None else []
    return Connection(str(session.pk), snapshot, missed, start_error, out)


def session_sync(*, session_id: Id) -> dict[str, Any]:
    """A snapshot exactly as of its seq (taken under the session lock)."""
    with transaction.atomic():
        locked(session_id)
        return selectors.session_snapshot(session_id=session_id)


def session_leave(*, session_id: Id) -> Emitted:
    now = timezone.now()
    with transaction.atomic():
        session = locked(session_id)
        current = state_of(session)
        new = state.leave(current)
        if new.status != current.status:
            rows.apply(session, new, now)
            rows.save(session)
    return Emitted()


# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerReceipt:
    response_id: uuid.UUID
    duplicate: bool
    # Frames that answer this submission: the ack, plus the feedback for a duplicate if it exists.
    frames: list[Frame]
    emitted: Emitted = field(default_factory=Emitted)


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


def _frames_for_answer(session: AIInterviewSession, client_id: str) -> list[Frame]:
    logged = SessionFrame.objects.filter(
        session=session, type__in=("answer.accepted", "answer.feedback"), payload__client_id=client_id
    ).order_by("seq")
    return [row.payload for row in logged]


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
    question_uuid = parse_uuid(question_id, "question_id")
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        existing = AIInterviewResponse.objects.filter(session=session, client_id=client_id).first()
        if existing is not None:
            return AnswerReceipt(existing.id, True, _frames_for_answer(session, client_id))
        question = AIInterviewQuestion.objects.filter(session=session, id=question_uuid).first()
        if question is None:
            raise InterviewError(
                ErrorCode.QUESTION_NOT_CURRENT, "That question is not part of this interview.", field="question_id"
            )
        try:
            new, decision = state.answer(
                state_of(session, current=question),
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
        rows.apply(session, new, now)
        ack = append(session, "answer.accepted", rows.ack_payload(response), out)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
        out.job(EVALUATE, response.pk)
    return AnswerReceipt(response.id, False, [ack], out)


# --- background work: questions ----------------------------------------------------------------


@dataclass(frozen=True)
class GenerationJob:
    context: InterviewContext
    # The lease taken (release it with this, so a lease another worker took since is never touched).
    claimed_at: datetime
    session_created_at: datetime


def generation_claim(*, session_id: Id) -> GenerationJob | None:
    """Take the lease on a session's question generation and return what the provider needs;
    None when the questions exist, the session is over, or a live worker holds the lease."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AI_JOB_LEASE_SECONDS)
    claimed = (
        AIInterviewSession.objects.filter(pk=session_id, questions_ready=False)
        .exclude(status__in=(state.Status.COMPLETED, state.Status.EXPIRED))
        .filter(Q(generation_claimed_at__isnull=True) | Q(generation_claimed_at__lt=stale))
        .update(generation_claimed_at=now)
    )
    if not claimed:
        return None
    session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session_id)
    inv = session.invitation
    context = InterviewContext(
        candidate_name=inv.candidate.name,
        job_title=inv.job.title,
        job_description=inv.job.description,
        skills=tuple(inv.job.required_skills or ()),
        interview_type=inv.interview_type,  # type: ignore[arg-type]
        difficulty=inv.difficulty,  # type: ignore[arg-type]
        question_count=session.question_count,
        seed=str(session.pk),
    )
    return GenerationJob(context, now, session.created_at)


def generation_release(*, session_id: Id, claimed_at: datetime) -> bool:
    """Give back a generation lease this worker holds (shutdown), so another worker takes it now."""
    return bool(
        AIInterviewSession.objects.filter(
            pk=session_id, questions_ready=False, generation_claimed_at=claimed_at
        ).update(generation_claimed_at=None)
    )


def questions_store(*, session_id: Id, questions: Sequence[GeneratedQuestion], provenance: dict[str, Any]) -> Emitted:
    """Persist generated questions once; a second call for the same session changes nothing."""
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        if session.questions_ready:
            return out
        if len(questions) < session.question_count:
            raise InterviewError(ErrorCode.QUESTIONS_NOT_READY, "the provider returned too few questions")
        limit = session.invitation.time_limit_seconds
        created = [
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
        # No question of this session existed (they are stored once, with questions_ready), so
        # none was asked: decide first, and insert the first question already asked.
        new, decision = state.questions_generated(state_of(session, current_asked=False))
        rows.apply(session, new, now)
        asked = created[decision.ask_index] if decision.ask_index is not None else None
        if asked is not None:
            asked.asked_at = now
        AIInterviewQuestion.objects.bulk_create(created)
        if asked is not None:
            append(session, "question.asked", {"question": rows.question_payload(asked)}, out)
        rows.save(session)
    return out


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
    received_at: datetime | None = None
    # The lease taken (release it with this, so a lease another worker took since is never touched).
    claimed_at: datetime | None = None

    @property
    def last_attempt(self) -> bool:
        return self.attempts >= MAX_EVALUATION_ATTEMPTS


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
        received_at=r.received_at,
        claimed_at=now,
    )


def evaluation_release(*, response_id: Id, claimed_at: datetime | None = None) -> bool:
    """Give the lease back (a failed attempt, or shutdown) so the next sweep or another worker
    takes it soon. With `claimed_at`, only if that lease is still the one held."""
    held = AIInterviewResponse.objects.filter(pk=response_id, evaluation_status=EvaluationStatus.PENDING)
    if claimed_at is not None:
        held = held.filter(claimed_at=claimed_at)
    return bool(held.update(claimed_at=None))


def evaluation_store(*, response_id: Id, evaluation: Evaluation | None, error_kind: str = "") -> Emitted:
    """Store an evaluation (or a final failure when `evaluation` is None) exactly once, then push
    feedback / the next question / the result as the state machine decides. Nothing is emitted
    when another worker stored it first."""
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = (
            AIInterviewSession.objects.select_for_update()
            .select_related("invitation")
            .filter(responses__pk=parse_uuid(response_id, "response_id"))
            .first()
        )
        if session is None:
            return out
        # Read under the session lock: a concurrent store of the same answer is seen here.
        response = AIInterviewResponse.objects.select_related("question").get(pk=response_id)
        if response.evaluation_status != EvaluationStatus.PENDING:
            return out
        rows.store_evaluation(response, evaluation, error_kind, now)
        # The question at current_index (if any): whether it was asked, and the one to ask next
        # unless a follow-up is inserted before it; one query instead of an EXISTS and a SELECT.
        at_index = None
        if session.questions_ready and session.current_index < session.question_count:
            at_index = AIInterviewQuestion.objects.filter(session=session, order=session.current_index).first()
        current = state_of(session, current_asked=bool(at_index and at_index.asked_at))
        follow_up = _follow_up_text(response, evaluation, current)
        new, decision = state.evaluation_recorded(current, follow_up=bool(follow_up))
        rows.apply(session, new, now)
        if decision.insert_follow_up_at is not None:
            _insert_follow_up(session, response, follow_up, decision.insert_follow_up_at)
        if session.invitation.feedback_mode == FeedbackMode.IMMEDIATE:
            append(
                session,
                "answer.feedback",
                {**rows.feedback_payload(response), "follow_up_next": bool(follow_up)},
                out,
            )
        if decision.ask_index is not None:
            if at_index is not None and decision.insert_follow_up_at is None and at_index.order == decision.ask_index:
                at_index.asked_at = now
                at_index.save(update_fields=["asked_at"])
                append(session, "question.asked", {"question": rows.question_payload(at_index)}, out)
            else:
                _ask(session, decision.ask_index, now, out)
        if decision.complete:
            _complete(session, out)
        rows.save(session)
    return out


def _follow_up_text(response: AIInterviewResponse, evaluation: Evaluation | None, current: state.SessionState) -> str:
    """The provider's follow-up question if the interview may still take one for this question."""
    text = (evaluation.follow_up if evaluation else "").strip()
    limit = settings.INTERVIEW_MAX_FOLLOW_UPS
    if not text or limit <= 0 or not state.follow_up_allowed(current):
        return ""
    root_id = response.question.follow_up_of_id or response.question.id
    if AIInterviewQuestion.objects.filter(follow_up_of_id=root_id).count() >= limit:
        return ""
    return text[:MAX_FOLLOW_UP_CHARS]


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


def _complete(session: AIInterviewSession, out: Emitted) -> AIInterviewResult:
    answers = rows.answers_of(session)
    summary = scoring.summarize(
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
    append(
        session,
        "interview.completed",
        {"result": rows.result_payload(result), "answers": [rows.answer_summary(r) for r in answers]},
        out,
    )
    return result


def session_request_complete(*, session_id: Id) -> None:
    """REST `complete`: refuses while questions are unanswered; the result follows evaluation."""
    with transaction.atomic():
        session = locked(session_id)
        try:
            state.request_completion(state_of(session))
        except state.TransitionError as exc:
            raise _transition_error(exc) from None


def result_review(
    *, session_id: Id, reviewer: Any, human_score: float | None, notes: str, final_decision: str
) -> AIInterviewResult:
    result = AIInterviewResult.objects.filter(session_id=parse_uuid(session_id, "session_id")).first()
    if result is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "This session has no result yet.")
    result.reviewer = reviewer
    result.human_score = human_score
    result.review_notes = notes
    result.final_decision = final_decision
    result.reviewed_at = timezone.now()
    result.save()
    return result
