"""A candidate's answer: validated, stored once per client_id, acknowledged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import payloads, rows, state
from ..events import EVALUATE, Emitted, Frame, append
from ..models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewSession,
    SessionFrame,
)
from ..prepared import Insert, Select
from ..rows import Id, locked, parse_uuid, state_of
from ..text import clean
from ._common import (
    _ask,
    _expiring,
    _feed,
    _transition_error,
)
from .evaluations import _evaluation_job

# The statements every answer runs, compiled once (prepared.py).
_ANSWER_BY_CLIENT_ID = Select(AIInterviewResponse, ["session", "client_id"], limit=1)
_QUESTION_OF_SESSION = Select(AIInterviewQuestion, ["session", "id"], limit=1)
_INSERT_ANSWER = Insert(AIInterviewResponse, [f.name for f in AIInterviewResponse._meta.concrete_fields])


@dataclass(frozen=True)
class AnswerReceipt:
    response_id: uuid.UUID
    duplicate: bool
    # Frames that answer this submission: the ack, plus the feedback for a duplicate if it exists.
    frames: list[Frame]
    emitted: Emitted = field(default_factory=Emitted)


def _frames_for_answer(session: AIInterviewSession, client_id: str) -> list[Frame]:
    logged = SessionFrame.objects.filter(
        session=session, type__in=("answer.accepted", "answer.feedback"), payload__client_id=client_id
    ).order_by("seq")
    return [row.payload for row in logged]


@_expiring
def answer_submit(
    *,
    session_id: Id,
    client_id: str,
    question_id: Id,
    text: str,
    response_type: str = "text",
    submitted_at: datetime | None = None,
    claim_for: str = "",
) -> AnswerReceipt:
    """Store an answer, then acknowledge it. The same client_id again returns the same receipt.

    `claim_for`: the id of a worker in this process. The answer is stored with that worker's lease
    on its evaluation already taken and the job's inputs are handed back in the emitted job, so
    the worker starts grading without a claim of its own (one database trip and a channel message
    fewer per answer). Without it the worker is nudged and claims as usual.

    The fields come validated by the interface (schemas.AnswerSubmit on the socket,
    schemas.ResponseData over REST): one declaration of what an answer may be."""
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
        _feed(session, "answer.received", {"answer": payloads.staff_answer(response)}, out)
        ack = append(session, "answer.accepted", payloads.ack_payload(response), out)
        if decision.ask_index is not None:
            _ask(session, decision.ask_index, now, out)
        rows.save(session)
        out.job(EVALUATE, response.pk, claimed=_evaluation_job(response, question, now) if claim_for else None)
    return AnswerReceipt(response.id, False, [ack], out)
