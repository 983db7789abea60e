"""Interviewers' live actions: message, extend time, add a question, end early (audited). Each takes
its fields as validated by `schemas` (the staff socket's frame or the REST body), declared once there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from .. import access, payloads, rows, schemas, state
from ..constants import (
    ActionKind,
    Permission,
)
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
    payload = payloads.action_payload(action)
    _feed(session, "admin.action", {"action": payload}, out)
    return payload


def _staff_transition(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except state.TransitionError as exc:
        raise _transition_error(exc) from None


def staff_message(*, session_id: Id, actor: Any, fields: schemas.MessageFields) -> ActionDone:
    """Message the candidate (shown on their page, logged so a reconnect shows it too)."""
    message = fields.text
    now = timezone.now()
    out = Emitted()
    with transaction.atomic():
        session = _staff_locked(actor, session_id)
        _staff_transition(state.check_live, state_of(session), now)
        action = _audit(session, actor, ActionKind.MESSAGE, {"text": message}, out)
        append(session, "interviewer.message", {"text": message, "at": now.isoformat()}, out)
        rows.save(session)
    return ActionDone(action, out)


def staff_extend_time(*, session_id: Id, actor: Any, fields: schemas.ExtendFields) -> ActionDone:
    """Give the open question more time; the candidate's timer moves with it."""
    seconds = fields.seconds
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
        payload = payloads.question_payload(question)
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


def staff_add_question(*, session_id: Id, actor: Any, fields: schemas.AddQuestionFields) -> ActionDone:
    """Add an interviewer's question to the running interview, asked next and graded like the
    others (against its key points when given)."""
    question_text = fields.text
    points = list(fields.key_points or ())
    competency_name = fields.competency or "Interviewer question"
    time_limit_seconds = fields.time_limit_seconds
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


def staff_end(*, session_id: Id, actor: Any, fields: schemas.EndFields) -> ActionDone:
    """End the interview early: nothing more is asked; the result (marked `ended_early`) follows
    at once, or once the answers already given are graded."""
    why = fields.reason or ""
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
