"""Interviewers' live actions: message, extend time, add a question, end early (audited)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from .. import access, rows, state
from ..constants import (
    MAX_EXTEND_SECONDS,
    MAX_FOLLOW_UP_CHARS,
    MAX_KEY_POINT_CHARS,
    MAX_KEY_POINTS,
    MAX_MESSAGE_CHARS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    ActionKind,
    Permission,
)
from ..errors import ErrorCode, InterviewError
from ..events import Emitted, append
from ..models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewSession,
)
from ..rows import Id, locked, state_of
from ._common import (
    _ask,
    _complete,
    _feed,
    _make_room,
    _transition_error,
)

T = TypeVar("T")


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
