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
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ai_service.types import Evaluation, GeneratedQuestion, InterviewContext

from . import access, audit, links, notices, rows, selectors, state, webhooks
from .constants import (
    CLIENT_ID_PATTERN,
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_ANSWER_CHARS,
    MAX_EVALUATION_ATTEMPTS,
    MAX_EXTEND_SECONDS,
    MAX_FOLLOW_UP_CHARS,
    MAX_KEY_POINT_CHARS,
    MAX_KEY_POINTS,
    MAX_MESSAGE_CHARS,
    MAX_PLANNED_QUESTIONS,
    MAX_SIGNALS_PER_SESSION,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    RESPONSE_TYPES,
    ActionKind,
    AuditAction,
    EvaluationStatus,
    FeedbackMode,
    Permission,
    SignalKind,
    Status,
)
from .errors import ErrorCode, InterviewError
from .events import EVALUATE, GENERATE, Emitted, Frame, append, feed
from .models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Calibration,
    Candidate,
    IntegritySignal,
    InterviewInvitation,
    Job,
    SessionFrame,
    WorkerBeat,
)
from .prepared import Insert, Select, SelectOne, Update
from .rows import Id, locked, parse_uuid, state_of
from .text import clean, clean_json

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


# --- helpers ----------------------------------------------------------------------------------


# The statements every answer runs, compiled once (prepared.py).
_ANSWER = SelectOne(AIInterviewResponse)
_ANSWER_WITH_QUESTION = SelectOne(AIInterviewResponse, related=["question"])
_ANSWER_BY_CLIENT_ID = Select(AIInterviewResponse, ["session", "client_id"], limit=1)
_QUESTION_OF_SESSION = Select(AIInterviewQuestion, ["session", "id"], limit=1)
_INSERT_ANSWER = Insert(AIInterviewResponse, [f.name for f in AIInterviewResponse._meta.concrete_fields])
_SAVE_ASKED = Update(AIInterviewQuestion, ["asked_at"])
_INSERT_QUESTIONS = Insert(AIInterviewQuestion, [f.name for f in AIInterviewQuestion._meta.concrete_fields])
_SESSION_OF_INVITATION = Select(AIInterviewSession, ["invitation"], limit=1)
_INSERT_SESSION = Insert(AIInterviewSession, [f.name for f in AIInterviewSession._meta.concrete_fields])


def _transition_error(exc: state.TransitionError) -> InterviewError:
    field = "question_id" if exc.code == ErrorCode.QUESTION_NOT_CURRENT else None
    return InterviewError(exc.code, exc.message, field=field)


def _feed(session: AIInterviewSession, frame_type: str, payload: dict[str, Any], out: Emitted) -> Frame:
    """A staff feed frame with the session's progress after it."""
    return feed(session, frame_type, {**payload, "progress": rows.progress(session)}, out)


def _ask(
    session: AIInterviewSession, index: int, now: datetime, out: Emitted, *, question: AIInterviewQuestion | None = None
) -> Frame:
    """Ask the question at `index`: `question` when the caller has its row (saves the SELECT)."""
    if question is None or question.order != index:
        question = AIInterviewQuestion.objects.get(session=session, order=index)
    question.asked_at = now
    _SAVE_ASKED.run(question)
    return _announce(session, question, out)


def _announce(session: AIInterviewSession, question: AIInterviewQuestion, out: Emitted) -> Frame:
    """The frames of a question just asked: the staff feed's and the candidate's."""
    _feed(session, "question.asked", {"question": rows.staff_question(question)}, out)
    return append(
        session,
        "question.asked",
        {"question": rows.question_payload(question), "total": session.question_count},
        out,
    )


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
        session.invitation = invitation  # already read: callers use its job without a query
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
        _start(locked(session_id), now, out)
    return out


def _start(session: AIInterviewSession, now: datetime, out: Emitted) -> None:
    """Start or resume a locked session (a completed one stays as it is)."""
    before = session.status
    try:
        new, decision = state.start(state_of(session), now)
    except state.TransitionError as exc:
        if exc.code == "interview_completed":
            return
        raise _transition_error(exc) from None
    rows.apply(session, new, now)
    if before == Status.CREATED:
        # The list's new row; its feed_seq is this frame's (the row is as of this frame).
        row = rows.session_row(session, [], None, awaiting=new.awaiting)
        _feed(session, "session.opened", {"session": {**row, "feed_seq": session.feed_seq + 1}}, out)
    elif before == Status.ABANDONED:
        _feed(session, "session.resumed", {}, out)
    if decision.ask_index is not None:
        _ask(session, decision.ask_index, now, out)
    rows.save(session)


@dataclass(frozen=True)
class Connection:
    session_id: str
    snapshot: dict[str, Any]
    missed: list[Frame]
    start_error: InterviewError | None = None
    emitted: Emitted = field(default_factory=Emitted)
    job_id: int = 0


def session_connect(*, token: str, last_seq: int | None, claim_for: str = "") -> Connection:
    """Everything a socket does on connect, in one transaction: open the link (the session is
    created the first time), start or resume it, take the snapshot and the frames after
    `last_seq`. `claim_for` (a worker of this process, as for answer_submit): a new session's
    question generation is claimed for it and handed over in the emitted job."""
    now = timezone.now()
    invitation = links.read_token(token, now=now)
    out = Emitted()
    start_error = None
    with transaction.atomic():
        found = cast(AIInterviewSession | None, _SESSION_OF_INVITATION.first(invitation.pk))
        if found is None:
            found = _create_session(invitation, now, out, claim_for)
        # Under the session lock no frame can be appended, so the snapshot is exactly "as of seq".
        session = locked(found.pk)
        # The job and the candidate were read with the token (the snapshot and the staff row show them).
        session.invitation.job = invitation.job
        session.invitation.candidate = invitation.candidate
        try:
            _start(session, now, out)
        except InterviewError as exc:
            start_error = exc
            if exc.code == ErrorCode.SESSION_EXPIRED:
                _expire_if_due(session, now)
        snapshot = selectors.session_snapshot(session_id=session.pk, session=session)
        missed = selectors.frames_after(session_id=session.pk, seq=last_seq) if last_seq is not None else []
    return Connection(str(session.pk), snapshot, missed, start_error, out, invitation.job_id)


def _create_session(invitation: InterviewInvitation, now: datetime, out: Emitted, claim_for: str) -> AIInterviewSession:
    """The link's session, created (with its generation job) unless a concurrent open just did."""
    session = AIInterviewSession(invitation=invitation, question_count=invitation.question_count, last_activity_at=now)
    if claim_for:
        session.generation_claimed_at, session.generation_claimed_by = now, claim_for
    try:
        with transaction.atomic():  # a savepoint: the race below leaves the outer transaction usable
            _INSERT_SESSION.run([session])
    except IntegrityError:  # a concurrent open won the race (PostgreSQL): same session for both
        return AIInterviewSession.objects.get(invitation=invitation)
    job = GenerationJob(_generation_context(session, invitation), now, session.created_at) if claim_for else None
    out.job(GENERATE, session.pk, claimed=job)
    return session


def session_authorize(*, session_id: Id, session_key: str | None = None, token: str | None = None) -> None:
    """A candidate's REST action names its session and proves it is the candidate's: the session
    key issued when the session was opened, or the link's token."""
    if token is not None:
        invitation = links.read_token(token, now=timezone.now())
        if not AIInterviewSession.objects.filter(
            pk=parse_uuid(session_id, "session_id"), invitation=invitation
        ).exists():
            raise InterviewError(ErrorCode.PERMISSION_DENIED, "This token is not for this session.", field="token")
        return
    if session_key is None:
        raise InterviewError(
            ErrorCode.NOT_AUTHENTICATED, "session_key (or the link's token) is required.", field="session_key"
        )
    if not links.session_key_valid(session_id, session_key):
        raise InterviewError(
            ErrorCode.PERMISSION_DENIED, "This session_key is not for this session.", field="session_key"
        )


def _check_access(session: AIInterviewSession) -> None:
    try:
        state.check_access(state_of(session), timezone.now())
    except state.TransitionError as exc:
        raise _transition_error(exc) from None


@_expiring
def session_check(*, session_id: Id) -> None:
    """A candidate's read is allowed: the link is neither revoked nor expired (REST `question`)."""
    _check_access(_session_row(session_id))


@_expiring
def session_sync(*, session_id: Id) -> dict[str, Any]:
    """A snapshot exactly as of its seq (taken under the session lock)."""
    with transaction.atomic():
        _check_access(locked(session_id))
        return selectors.session_snapshot(session_id=session_id)


@_expiring
def session_replay(*, session_id: Id, after: int) -> list[Frame]:
    """`session.resume`: the logged frames after `after`, once the read is allowed."""
    _check_access(_session_row(session_id))
    return selectors.frames_after(session_id=session_id, seq=after)


def _session_row(session_id: Id) -> AIInterviewSession:
    session = AIInterviewSession.objects.select_related("invitation").filter(pk=parse_uuid(session_id, "session_id"))
    found = session.first()
    if found is None:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
    return found


def staff_transcript(*, session_id: Id, user: Any) -> dict[str, Any]:
    """What a staff socket shows when it starts watching a session (if the user may see it),
    as of its feed seq."""
    return selectors.transcript(session=access.session_for(user, session_id, Permission.VIEW))


def session_leave(*, session_id: Id) -> Emitted:
    now = timezone.now()
    with transaction.atomic():
        session = locked(session_id)
        current = state_of(session)
        new = state.leave(current)
        out = Emitted()
        if new.status != current.status:
            rows.apply(session, new, now)
            _feed(session, "session.left", {}, out)
            rows.save(session)
    return out


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
    claim_for: str = "",
) -> AnswerReceipt:
    """Store an answer, then acknowledge it. The same client_id again returns the same receipt.

    `claim_for`: the id of a worker in this process. The answer is stored with that worker's lease
    on its evaluation already taken and the job's inputs are handed back in the emitted job, so
    the worker starts grading without a claim of its own (one database trip and a channel message
    fewer per answer). Without it the worker is nudged and claims as usual."""
    client_id, text, response_type = _validate_answer(client_id, text, response_type)
    text = clean(text)
    question_uuid = parse_uuid(question_id, "question_id")
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        existing = _ANSWER_BY_CLIENT_ID.first(session.pk, client_id)
        if existing is not None:
            return AnswerReceipt(existing.pk, True, _frames_for_answer(session, client_id))
        question = cast(AIInterviewQuestion | None, _QUESTION_OF_SESSION.first(session.pk, question_uuid))
        try:
            # A question of another interview is refused by the state machine too, after the
            # checks that come first (revoked, expired, not started).
            new, decision = state.answer(
                state_of(session, current=question),
                question_index=question.order if question else None,
                now=now,
                asked_at=question.asked_at if question else None,
                time_limit=timedelta(seconds=question.time_limit_seconds if question else 0),
                grace=timedelta(seconds=settings.INTERVIEW_LATE_GRACE_SECONDS),
            )
        except state.TransitionError as exc:
            raise _transition_error(exc) from None
        assert question is not None
        taken = (now - question.asked_at).total_seconds() if question.asked_at else None
        response = AIInterviewResponse(
            session=session,
            question=question,
            client_id=client_id,
            response_text=text,
            response_type=response_type,
            submitted_at=submitted_at,
            received_at=now,
            time_taken_seconds=taken,
            is_late=decision.late,
            integrity=rows.integrity_summary(
                rows.question_signals(question), time_to_submit_ms=round(taken * 1000) if taken is not None else None
            ),
            **({"claimed_at": now, "claimed_by": claim_for, "attempts": 1} if claim_for else {}),
        )
        _INSERT_ANSWER.run([response])
        rows.apply(session, new, now)
        _feed(session, "answer.received", {"answer": rows.staff_answer(response)}, out)
        ack = append(session, "answer.accepted", rows.ack_payload(response), out)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
        out.job(EVALUATE, response.pk, claimed=_evaluation_job(response, question, now) if claim_for else None)
    return AnswerReceipt(response.id, False, [ack], out)


# --- background work: questions ----------------------------------------------------------------


@dataclass(frozen=True)
class GenerationJob:
    context: InterviewContext
    # The lease taken (release it with this, so a lease another worker took since is never touched).
    claimed_at: datetime
    session_created_at: datetime


def generation_claim(*, session_id: Id, owner: str = "") -> GenerationJob | None:
    """Take the lease on a session's question generation and return what the provider needs;
    None when the questions exist, the session is over, or a live worker holds the lease."""
    now = timezone.now()
    claimed = (
        AIInterviewSession.objects.filter(pk=session_id, questions_ready=False)
        .exclude(status__in=(state.Status.COMPLETED, state.Status.EXPIRED))
        .filter(rows.lease_free("generation_claimed_at", "generation_claimed_by", now))
        .update(generation_claimed_at=now, generation_claimed_by=owner)
    )
    if not claimed:
        return None
    session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session_id)
    return GenerationJob(_generation_context(session, session.invitation), now, session.created_at)


def _generation_context(session: AIInterviewSession, inv: InterviewInvitation) -> InterviewContext:
    """What the provider writes a session's questions from (`inv` with its job and candidate)."""
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


def generation_release(*, session_id: Id, claimed_at: datetime) -> bool:
    """Give back a generation lease this worker holds (shutdown), so another worker takes it now."""
    return bool(
        AIInterviewSession.objects.filter(
            pk=session_id, questions_ready=False, generation_claimed_at=claimed_at
        ).update(generation_claimed_at=None, generation_claimed_by="")
    )


def questions_store(*, session_id: Id, questions: Sequence[GeneratedQuestion], provenance: dict[str, Any]) -> Emitted:
    """Persist generated questions once; a second call for the same session changes nothing."""
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        # Already stored, or an interviewer ended the interview before the questions came.
        if session.questions_ready or session.status == Status.COMPLETED:
            return out
        if len(questions) < session.question_count:
            raise InterviewError(ErrorCode.QUESTIONS_NOT_READY, "the provider returned too few questions")
        limit = session.invitation.time_limit_seconds
        created = [
            AIInterviewQuestion(
                session=session,
                order=i,
                # A model's text is stored cleaned like a candidate's (see text.py).
                text=clean(q.text),
                question_type=q.question_type,
                competency=clean(q.competency),
                difficulty=q.difficulty,
                reference_answer=clean(q.reference_answer),
                key_points=clean_json(list(q.key_points)),
                provenance=clean_json({**provenance, "source_id": q.source_id}),
                time_limit_seconds=limit,
            )
            for i, q in enumerate(questions[: session.question_count])
        ]
        # No question of this session existed (they are stored once, with questions_ready), so
        # none was asked: decide first, and insert the first question already asked.
        new, decision = state.questions_generated(state_of(session, known=(None, "")))
        rows.apply(session, new, now)
        asked = created[decision.ask_index] if decision.ask_index is not None else None
        if asked is not None:
            asked.asked_at = now
        _INSERT_QUESTIONS.run(created)
        if asked is not None:
            _announce(session, asked, out)
        rows.save(session)
    return out


def worker_beat(*, worker_id: str) -> None:
    """A worker is alive (its leases hold); rows of workers gone for an hour are dropped."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(id=worker_id, defaults={"beat_at": now})
    if now.second == 0:  # about once a minute per worker: enough to keep the table small
        WorkerBeat.objects.filter(beat_at__lt=now - timedelta(hours=1)).delete()


def worker_gone(*, worker_id: str) -> None:
    """A worker stopped cleanly: its leases (if any are left) may be taken at once."""
    WorkerBeat.objects.filter(id=worker_id).delete()


def generation_failed(*, session_id: Id, error: str) -> None:
    """Record the failure and give the lease back so the next sweep retries."""
    AIInterviewSession.objects.filter(pk=session_id).update(generation_error=error[:200], generation_claimed_at=None)


# --- background work: evaluations --------------------------------------------------------------


class _Unset:
    """Not given (None is a value: no calibration)."""


UNSET = _Unset()


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
    # Reviewed answers of the same question (selectors.graded_examples_for), for the grader;
    # the worker passes them on and hands their ids back to evaluation_store as provenance.
    graded_examples: tuple[selectors.GradedExample, ...] = ()
    # The active team calibration (version, mapping JSON), for a provider that applies it
    # itself; the worker then tells evaluation_store so (calibration_applied=version).
    calibration: Calibration | None = None
    received_at: datetime | None = None
    # The lease taken (release it with this, so a lease another worker took since is never touched).
    claimed_at: datetime | None = None

    @property
    def last_attempt(self) -> bool:
        return self.attempts >= MAX_EVALUATION_ATTEMPTS


def evaluation_claim(*, response_id: Id, owner: str = "") -> EvaluationJob | None:
    """Take the lease on a pending evaluation; None if done or leased by a live worker."""
    now = timezone.now()
    claimed = (
        AIInterviewResponse.objects.filter(pk=response_id, evaluation_status=EvaluationStatus.PENDING)
        .filter(rows.lease_free("claimed_at", "claimed_by", now))
        .update(claimed_at=now, claimed_by=owner, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    r = AIInterviewResponse.objects.select_related("question").get(pk=response_id)
    return _evaluation_job(r, r.question, now)


def _evaluation_job(r: AIInterviewResponse, question: AIInterviewQuestion, claimed_at: datetime) -> EvaluationJob:
    """What the grader needs for answer `r` (whose lease was taken at `claimed_at`)."""
    return EvaluationJob(
        response_id=r.id,
        question=question.text,
        answer=r.response_text,
        question_type=question.question_type,
        difficulty=question.difficulty,
        reference_answer=question.reference_answer,
        key_points=tuple(question.key_points or ()),
        competency=question.competency,
        attempts=r.attempts,
        graded_examples=tuple(selectors.graded_examples_for(question, exclude_response_id=r.id)),
        calibration=selectors.active_calibration(),
        received_at=r.received_at,
        claimed_at=claimed_at,
    )


def evaluation_release(*, response_id: Id, claimed_at: datetime | None = None) -> bool:
    """Give the lease back (a failed attempt, or shutdown) so the next sweep or another worker
    takes it soon. With `claimed_at`, only if that lease is still the one held."""
    held = AIInterviewResponse.objects.filter(pk=response_id, evaluation_status=EvaluationStatus.PENDING)
    if claimed_at is not None:
        held = held.filter(claimed_at=claimed_at)
    return bool(held.update(claimed_at=None))


def evaluation_store(
    *,
    response_id: Id,
    evaluation: Evaluation | None,
    error_kind: str = "",
    graded_example_ids: Sequence[int] = (),
    calibration_applied: int | None = None,
    calibration: Calibration | _Unset | None = UNSET,
) -> Emitted:
    """Store an evaluation (or a final failure when `evaluation` is None) exactly once, then push
    feedback / the next question / the result as the state machine decides. Nothing is emitted
    when another worker stored it first. `graded_example_ids` (the reviews the grader was given)
    are kept as provenance. The team calibration: `calibration_applied=N` when the provider was
    given version N and applied it; otherwise the active one is applied here (rows.store_evaluation):
    `calibration`, the one the job was claimed with, or the one active now when not given."""
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        owner = _ANSWER.get(parse_uuid(response_id, "response_id"))
        if owner is None:
            return out
        session = locked(owner.session_id)  # type: ignore[attr-defined]
        # Read again under the session lock: a concurrent store of the same answer is seen here.
        response = cast(AIInterviewResponse, _ANSWER_WITH_QUESTION.get(owner.pk))
        if response.evaluation_status != EvaluationStatus.PENDING:
            return out
        rows.store_evaluation(
            response,
            evaluation,
            error_kind,
            now,
            calibration=(selectors.active_calibration() if isinstance(calibration, _Unset) else calibration)
            if calibration_applied is None
            else None,
            provider_calibration_version=calibration_applied,
            graded_example_ids=graded_example_ids,
        )
        # The question at current_index (if any): whether it was asked, and the one to ask next
        # unless a follow-up is inserted before it; one query instead of an EXISTS and a SELECT.
        at_index = None
        if session.questions_ready and session.current_index < session.question_count:
            at_index = rows.question_at(session.pk, session.current_index)
        current = state_of(
            session, known=(at_index.asked_at, at_index.added_by_name) if at_index is not None else (None, "")
        )
        follow_up = _follow_up_text(response, evaluation, current)
        new, decision = state.evaluation_recorded(current, follow_up=bool(follow_up))
        rows.apply(session, new, now)
        if decision.insert_follow_up_at is not None:
            _insert_follow_up(session, response, follow_up, decision.insert_follow_up_at)
        # Staff see every grade as it lands, whatever the candidate's feedback mode.
        _feed(session, "answer.feedback", {"feedback": rows.staff_feedback(response)}, out)
        if session.invitation.feedback_mode == FeedbackMode.IMMEDIATE:
            append(
                session,
                "answer.feedback",
                {**rows.feedback_payload(response), "follow_up_next": bool(follow_up)},
                out,
            )
        if decision.ask_index is not None:
            reuse = at_index if decision.insert_follow_up_at is None else None
            _ask(session, decision.ask_index, now, out, question=reuse)
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
    return clean(text[:MAX_FOLLOW_UP_CHARS])


def _make_room(session: AIInterviewSession, at: int) -> None:
    """Shift the questions from index `at` on by one (two steps keep (session, order) unique at
    every row update, on PostgreSQL too)."""
    later = AIInterviewQuestion.objects.filter(session=session, order__gte=at)
    later.update(order=F("order") + 1000)
    AIInterviewQuestion.objects.filter(session=session, order__gte=at + 1000).update(order=F("order") - 999)


def _insert_follow_up(session: AIInterviewSession, response: AIInterviewResponse, text: str, at: int) -> None:
    """Insert the follow-up at index `at`, shifting later questions."""
    parent = response.question
    root = parent.follow_up_of or parent
    _make_room(session, at)
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
    result, _ = AIInterviewResult.objects.update_or_create(
        session=session,
        defaults={**rows.result_fields(rows.summarize(answers)), "ended_early": session.ended_early},
    )
    _feed(session, "interview.completed", {"result": rows.result_payload(result)}, out)
    append(
        session,
        "interview.completed",
        {"result": rows.result_payload(result), "answers": [rows.answer_summary(r) for r in answers]},
        out,
    )
    # In the same transaction: the delivery exists exactly when the completion does.
    webhooks.webhook_enqueue(**webhooks.completed_event(session, result, answers))
    return result


@_expiring
def session_request_complete(*, session_id: Id) -> None:
    """REST `complete`: refuses while questions are unanswered; the result follows evaluation."""
    with transaction.atomic():
        session = locked(session_id)
        try:
            state.request_completion(state_of(session), timezone.now())
        except state.TransitionError as exc:
            raise _transition_error(exc) from None


def result_review(
    *, session_id: Id, reviewer: Any, human_score: float | None, notes: str, final_decision: str
) -> AIInterviewResult:
    result = AIInterviewResult.objects.filter(session_id=parse_uuid(session_id, "session_id")).first()
    if result is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "This session has no result yet.")
    with transaction.atomic():
        result.reviewer = reviewer
        result.human_score = human_score
        result.review_notes = notes
        result.final_decision = final_decision
        result.reviewed_at = timezone.now()
        result.save()
        audit.record(
            actor=reviewer,
            action=AuditAction.RESULT_REVIEWED,
            target_type="session",
            target_id=str(result.session_id),
            details={"human_score": human_score, "final_decision": final_decision},
        )
        webhooks.webhook_enqueue(**webhooks.result_reviewed_event(result))
    return result


# --- the candidate's notice and integrity signals ----------------------------------------------


@_expiring
def consent_accept(*, session_id: Id, notice_version: str) -> Emitted:
    """The candidate accepted the consent and AI notice (this version of it): stored with the
    time, then the first question may be asked. Accepting again changes nothing."""
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        # The notice of this interview's job (or the deployment's): the one the page, the access
        # response and the snapshot showed.
        if notice_version != notices.notice_for(session.invitation.job).version:
            raise InterviewError(
                ErrorCode.CONSENT_OUTDATED, "That is not the current notice; reload the page.", field="notice_version"
            )
        current = state_of(session)
        try:
            new, decision = state.consent(current, now)
        except state.TransitionError as exc:
            raise _transition_error(exc) from None
        if current.consented:
            return out
        session.consent_version = notice_version
        session.consented_at = now
        rows.apply(session, new, now)
        payload = {"notice_version": notice_version, "consented_at": now.isoformat()}
        append(session, "consent.recorded", payload, out)
        _feed(session, "consent.accepted", payload, out)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
    return out


def signal_record(*, session_id: Id, kind: str, value: int | None, question_id: object = None) -> Emitted:
    """Store one integrity signal and show it to watching staff. Signals are for people to judge;
    nothing here or in grading reads them into a score. Past the per-session cap they are dropped."""
    if kind not in tuple(SignalKind):
        raise InterviewError(ErrorCode.INVALID_FIELD, "unknown signal kind", field="kind")
    out = Emitted()
    with transaction.atomic():
        session = locked(session_id)
        if session.status in (Status.COMPLETED, Status.EXPIRED):
            return out
        if IntegritySignal.objects.filter(session=session).count() >= MAX_SIGNALS_PER_SESSION:
            return out
        question = None
        if question_id is not None:
            question = AIInterviewQuestion.objects.filter(
                session=session, id=parse_uuid(question_id, "question_id")
            ).first()
            if question is None:
                raise InterviewError(
                    ErrorCode.QUESTION_NOT_CURRENT, "That question is not part of this interview.", field="question_id"
                )
        signal = IntegritySignal.objects.create(session=session, question=question, kind=kind, value=value)
        _feed(session, "integrity.signal", {"signal": rows.signal_payload(signal)}, out)
        session.save(update_fields=["feed_seq"])
    return out


# --- interviewers' live actions ----------------------------------------------------------------


@dataclass(frozen=True)
class ActionDone:
    action: dict[str, Any]
    emitted: Emitted


def _actor_name(actor: Any) -> str:
    return str(actor.get_username())[:150]


def _staff_locked(actor: Any, session_id: Id) -> AIInterviewSession:
    """The session locked, if the actor may act in it (else the same refusal as a missing one)."""
    access.session_for(actor, session_id, Permission.ACT)
    return locked(session_id)


def _audit(
    session: AIInterviewSession, actor: Any, kind: ActionKind, detail: dict[str, Any], out: Emitted
) -> dict[str, Any]:
    action = AdminAction.objects.create(
        session=session, actor=actor, actor_name=_actor_name(actor), kind=kind, detail=detail
    )
    payload = rows.action_payload(action)
    _feed(session, "admin.action", {"action": payload}, out)
    return payload


def _staff_transition(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except state.TransitionError as exc:
        raise _transition_error(exc) from None


def _text(value: object, name: str, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} must be text of 1-{limit} characters", field=name)
    return value.strip()


def staff_message(*, session_id: Id, actor: Any, text: object) -> ActionDone:
    """Message the candidate (shown on their page, logged so a reconnect shows it too)."""
    message = _text(text, "text", MAX_MESSAGE_CHARS)
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = _staff_locked(actor, session_id)
        _staff_transition(state.check_live, state_of(session), now)
        action = _audit(session, actor, ActionKind.MESSAGE, {"text": message}, out)
        append(session, "interviewer.message", {"text": message, "at": now.isoformat()}, out)
        rows.save(session)
    return ActionDone(action, out)


def staff_extend_time(*, session_id: Id, actor: Any, seconds: object) -> ActionDone:
    """Give the open question more time; the candidate's timer moves with it."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_EXTEND_SECONDS:
        raise InterviewError(
            ErrorCode.INVALID_FIELD, f"seconds must be an integer from 1 to {MAX_EXTEND_SECONDS}", field="seconds"
        )
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = _staff_locked(actor, session_id)
        _staff_transition(state.extend_time, state_of(session), now)
        question = AIInterviewQuestion.objects.get(session=session, order=session.current_index)
        question.time_limit_seconds += seconds
        question.save(update_fields=["time_limit_seconds"])
        detail = {
            "question_id": str(question.id),
            "seconds": seconds,
            "time_limit_seconds": question.time_limit_seconds,
        }
        action = _audit(session, actor, ActionKind.EXTEND_TIME, detail, out)
        payload = rows.question_payload(question)
        append(
            session,
            "question.extended",
            {
                "question_id": payload["id"],
                "added_seconds": seconds,
                "time_limit_seconds": payload["time_limit_seconds"],
                "deadline_ms": payload["deadline_ms"],
            },
            out,
        )
        session.last_activity_at = now
        rows.save(session)
    return ActionDone(action, out)


def _key_points(value: object) -> list[str]:
    if value is None:
        return []
    if (
        not isinstance(value, list | tuple)
        or len(value) > MAX_KEY_POINTS
        or not all(isinstance(p, str) and 0 < len(p.strip()) <= MAX_KEY_POINT_CHARS for p in value)
    ):
        raise InterviewError(
            ErrorCode.INVALID_FIELD,
            f"key_points must be at most {MAX_KEY_POINTS} texts of 1-{MAX_KEY_POINT_CHARS} characters",
            field="key_points",
        )
    return [p.strip() for p in value]


def staff_add_question(
    *,
    session_id: Id,
    actor: Any,
    text: object,
    key_points: object = None,
    competency: object = "",
    time_limit_seconds: object = None,
) -> ActionDone:
    """Add an interviewer's question to the running interview, asked next and graded like the
    others (against its key points when given)."""
    question_text = _text(text, "text", MAX_FOLLOW_UP_CHARS)
    points = _key_points(key_points)
    competency_name = _text(competency or "Interviewer question", "competency", 100)
    if time_limit_seconds is not None and (
        not isinstance(time_limit_seconds, int)
        or isinstance(time_limit_seconds, bool)
        or not MIN_TIME_LIMIT_SECONDS <= time_limit_seconds <= MAX_TIME_LIMIT_SECONDS
    ):
        raise InterviewError(
            ErrorCode.INVALID_FIELD,
            f"time_limit_seconds must be between {MIN_TIME_LIMIT_SECONDS} and {MAX_TIME_LIMIT_SECONDS}",
            field="time_limit_seconds",
        )
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = _staff_locked(actor, session_id)
        new, decision = _staff_transition(state.add_question, state_of(session), now)
        assert decision.insert_question_at is not None
        at = decision.insert_question_at
        inv = session.invitation
        _make_room(session, at)
        question = AIInterviewQuestion.objects.create(
            session=session,
            order=at,
            text=question_text,
            question_type="behavioral" if inv.interview_type == "behavioral" else "technical",
            competency=competency_name,
            difficulty=inv.difficulty,
            key_points=points,
            provenance={"source": "interviewer", "added_by": _actor_name(actor)},
            time_limit_seconds=time_limit_seconds or inv.time_limit_seconds,
            added_by=actor,
            added_by_name=_actor_name(actor),
        )
        rows.apply(session, new, now)
        detail = {"question_id": str(question.id), "order": at, "text": question_text, "key_points": points}
        action = _audit(session, actor, ActionKind.ADD_QUESTION, detail, out)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
    return ActionDone(action, out)


def staff_end(*, session_id: Id, actor: Any, reason: object = "") -> ActionDone:
    """End the interview early: nothing more is asked; the result (marked `ended_early`) follows
    at once, or once the answers already given are graded."""
    why = _text(reason or "", "reason", MAX_MESSAGE_CHARS, required=False)
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = _staff_locked(actor, session_id)
        new, decision = _staff_transition(state.end_early, state_of(session), now)
        session.ended_by = actor
        rows.apply(session, new, now)
        action = _audit(session, actor, ActionKind.END, {"reason": why}, out)
        append(session, "interview.ended", {"by": "interviewer", "at": now.isoformat()}, out)
        if decision.complete:
            _complete(session, out)
        rows.save(session)
    return ActionDone(action, out)
