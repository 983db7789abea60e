"""A candidate's session: open, connect, start, read, leave, complete; the notice and signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import access, links, notices, payloads, rows, selectors, state
from ..constants import (
    MAX_SIGNALS_PER_SESSION,
    Permission,
    SignalKind,
    Status,
)
from ..errors import ErrorCode, InterviewError
from ..events import GENERATE, Emitted, Frame, append
from ..models import (
    AIInterviewQuestion,
    AIInterviewSession,
    IntegritySignal,
    InterviewInvitation,
)
from ..prepared import Insert, Select
from ..rows import Id, locked, parse_uuid, state_of
from ._common import (
    _ask,
    _expire_if_due,
    _expiring,
    _feed,
    _transition_error,
)
from .generation import GenerationJob, _generation_context

_SESSION_OF_INVITATION = Select(AIInterviewSession, ["invitation"], limit=1)
_INSERT_SESSION = Insert(AIInterviewSession, [f.name for f in AIInterviewSession._meta.concrete_fields])


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
        row = payloads.session_row(session, [], None, awaiting=new.awaiting)
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


@_expiring
def session_request_complete(*, session_id: Id) -> None:
    """REST `complete`: refuses while questions are unanswered; the result follows evaluation."""
    with transaction.atomic():
        session = locked(session_id)
        try:
            state.request_completion(state_of(session), timezone.now())
        except state.TransitionError as exc:
            raise _transition_error(exc) from None


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
        _feed(session, "integrity.signal", {"signal": payloads.signal_payload(signal)}, out)
        session.save(update_fields=["feed_seq"])
    return out
