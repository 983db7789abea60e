"""Background work: a session's questions (the lease, the provider's inputs, storing them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ai_service.types import GeneratedQuestion, InterviewContext

from .. import rows, state
from ..constants import (
    Status,
)
from ..errors import ErrorCode, InterviewError
from ..events import Emitted
from ..models import (
    AIInterviewQuestion,
    AIInterviewSession,
    InterviewInvitation,
)
from ..prepared import Insert
from ..rows import Id, locked, state_of
from ..text import clean, clean_json
from ._common import (
    _announce,
)

_INSERT_QUESTIONS = Insert(AIInterviewQuestion, [f.name for f in AIInterviewQuestion._meta.concrete_fields])


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


def generation_failed(*, session_id: Id, error: str) -> None:
    """Record the failure and give the lease back so the next sweep retries."""
    AIInterviewSession.objects.filter(pk=session_id).update(generation_error=error[:200], generation_claimed_at=None)
