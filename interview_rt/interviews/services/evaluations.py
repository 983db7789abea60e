"""Background work: grading an answer (the lease, the grader's inputs, storing the grade and what follows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ai_service.types import Evaluation

from .. import payloads, rows, standard, state
from ..constants import (
    MAX_EVALUATION_ATTEMPTS,
    MAX_FOLLOW_UP_CHARS,
    EvaluationStatus,
    FeedbackMode,
)
from ..events import Emitted, append
from ..models import AIInterviewQuestion, AIInterviewResponse, AIInterviewSession
from ..prepared import SelectOne
from ..rows import Id, locked, parse_uuid, state_of
from ..standard import Calibration
from ..text import clean
from ._common import (
    _ask,
    _complete,
    _feed,
    _make_room,
)

# The statements every grade runs, compiled once (prepared.py).
_ANSWER = SelectOne(AIInterviewResponse)
_ANSWER_WITH_QUESTION = SelectOne(AIInterviewResponse, related=["question"])


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
    # Reviewed answers of the same question (the grading standard's, standard.py), for the
    # grader; the worker passes them on and hands their ids back to evaluation_store as provenance.
    graded_examples: tuple[standard.GradedExample, ...] = ()
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
        graded_examples=tuple(standard.current().graded_examples(question, exclude_response_id=r.id)),
        calibration=standard.current().active_calibration(),
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
            calibration=(standard.current().active_calibration() if isinstance(calibration, _Unset) else calibration)
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
        _feed(session, "answer.feedback", {"feedback": payloads.staff_feedback(response)}, out)
        if session.invitation.feedback_mode == FeedbackMode.IMMEDIATE:
            append(
                session,
                "answer.feedback",
                {**payloads.feedback_payload(response), "follow_up_next": bool(follow_up)},
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
