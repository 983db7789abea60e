"""What the services share: asking a question, the staff feed frame, expiry, completion."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import payloads, rows, signals, state
from ..errors import ErrorCode, InterviewError
from ..events import Emitted, Frame, append, feed
from ..models import (
    AIInterviewQuestion,
    AIInterviewResult,
    AIInterviewSession,
)
from ..prepared import Update
from ..rows import Id, locked, state_of

T = TypeVar("T")

# The statement every asked question runs, compiled once (prepared.py).
_SAVE_ASKED = Update(AIInterviewQuestion, ["asked_at"])


def _transition_error(exc: state.TransitionError) -> InterviewError:
    field = "question_id" if exc.code == ErrorCode.QUESTION_NOT_CURRENT else None
    return InterviewError(exc.code, exc.message, field=field)


def _feed(session: AIInterviewSession, frame_type: str, payload: dict[str, Any], out: Emitted) -> Frame:
    """A staff feed frame with the session's progress after it."""
    return feed(session, frame_type, {**payload, "progress": payloads.progress(session)}, out)


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
    _feed(session, "question.asked", {"question": payloads.staff_question(question)}, out)
    return append(
        session,
        "question.asked",
        {"question": payloads.question_payload(question), "total": session.question_count},
        out,
    )


def _expire_if_due(session: AIInterviewSession, now: datetime) -> None:
    current = state_of(session)
    expired = state.expire(current, now)
    if expired.status != current.status:
        rows.apply(session, expired, now)
        rows.save(session)


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


def _make_room(session: AIInterviewSession, at: int) -> None:
    """Shift the questions from index `at` on by one (two steps keep (session, order) unique at
    every row update, on PostgreSQL too)."""
    later = AIInterviewQuestion.objects.filter(session=session, order__gte=at)
    later.update(order=F("order") + 1000)
    AIInterviewQuestion.objects.filter(session=session, order__gte=at + 1000).update(order=F("order") - 999)


def _complete(session: AIInterviewSession, out: Emitted) -> AIInterviewResult:
    answers = rows.answers_of(session)
    result, _ = AIInterviewResult.objects.update_or_create(
        session=session,
        defaults={**rows.result_fields(rows.summarize(answers)), "ended_early": session.ended_early},
    )
    _feed(session, "interview.completed", {"result": payloads.result_payload(result)}, out)
    append(
        session,
        "interview.completed",
        {"result": payloads.result_payload(result), "answers": [payloads.answer_summary(r) for r in answers]},
        out,
    )
    # In the same transaction: what subscribers write (a webhook delivery) commits with the completion.
    signals.interview_completed.send(AIInterviewSession, session=session, result=result, answers=answers)
    return result
