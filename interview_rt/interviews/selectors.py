"""Reads. Snapshots and frame replay for the socket, results for REST and admins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import access, payloads, rows
from .constants import EvaluationStatus, Status
from .errors import ErrorCode, InterviewError
from .models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    AnswerReview,
    Calibration,
    FeedFrame,
    ScoreRevision,
    SessionFrame,
)
from .prepared import Select
from .rows import Id

REPLAY_LIMIT = 500


def session_get(*, session_id: Id) -> AIInterviewSession | None:
    try:
        pk = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").filter(pk=pk).first()


def current_question(session: AIInterviewSession) -> AIInterviewQuestion | None:
    if session.current_index >= session.question_count:
        return None
    question = rows.question_at(session.pk, session.current_index)
    return question if question is not None and question.asked_at is not None else None


def session_snapshot(*, session_id: Id, session: AIInterviewSession | None = None) -> dict[str, Any]:
    """The whole state a client needs, current as of `seq` (frames after it follow as pushes).
    Exact only under the session row lock (services.session_connect / session_sync take it).
    `session`: the row, already read under that lock with its invitation, job and candidate."""
    if session is None:
        session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(
            pk=session_id
        )
    result = AIInterviewResult.objects.filter(session=session).first() if session.status == Status.COMPLETED else None
    answers = rows.answers_of(session) if result is not None else []
    return payloads.snapshot(session, current_question(session), result, answers)


def frames_after(*, session_id: Id, seq: int, limit: int = REPLAY_LIMIT) -> list[dict[str, Any]]:
    if limit == REPLAY_LIMIT:  # every connect and every gap fill: compiled once
        found = _FRAMES_AFTER.all(uuid.UUID(str(session_id)), seq)
    else:
        found = list(SessionFrame.objects.filter(session_id=uuid.UUID(str(session_id)), seq__gt=seq)[:limit])
    return [cast(SessionFrame, row).payload for row in found]


def pending_work(*, older_than: float = 0.0) -> tuple[list[str], list[str]]:
    """Sessions without questions and answers without a grade that no live worker holds: what the
    background service must (re)do after a crash or a lost nudge. `older_than` (seconds) leaves
    alone work so new that its nudge is surely still on the way."""
    now = timezone.now()
    settled = now - timedelta(seconds=older_than)
    sessions = (
        AIInterviewSession.objects.filter(questions_ready=False, created_at__lte=settled)
        .exclude(status__in=(Status.COMPLETED, Status.EXPIRED))
        .filter(rows.lease_free("generation_claimed_at", "generation_claimed_by", now))
    )
    responses = AIInterviewResponse.objects.filter(
        evaluation_status=EvaluationStatus.PENDING, received_at__lte=settled
    ).filter(rows.lease_free("claimed_at", "claimed_by", now))
    return (
        [str(pk) for pk in sessions.values_list("pk", flat=True)[:200]],
        [str(pk) for pk in responses.order_by("received_at").values_list("pk", flat=True)[:500]],
    )


def pending_evaluations() -> int:
    """Acknowledged answers not graded yet (all workers; the `/metrics` gauge)."""
    return AIInterviewResponse.objects.filter(evaluation_status=EvaluationStatus.PENDING).count()


def session_result_detail(*, session: AIInterviewSession) -> dict[str, Any]:
    """Everything a reviewer sees: result, human review, each answer with its provenance."""
    result = AIInterviewResult.objects.filter(session=session).first()
    inv = session.invitation
    current = {
        r.response_id: review_payload(r) for r in AnswerReview.objects.filter(response__session=session, current=True)
    }
    answers = [
        {
            **payloads.answer_detail(r),
            "raw_score": r.raw_score,
            "calibration_version": r.calibration_version,
            "human_review": current.get(r.pk),
        }
        for r in rows.answers_of(session)
    ]
    return {
        "session_id": str(session.id),
        "status": session.status,
        "candidate": {"name": inv.candidate.name, "email": inv.candidate.email},
        "job": {"title": inv.job.title, "skills": inv.job.required_skills},
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "completed_at": session.completed_at.isoformat() if session.completed_at else None,
        "consent": (
            {"notice_version": session.consent_version, "consented_at": session.consented_at.isoformat()}
            if session.consented_at
            else None
        ),
        "ended_early": session.ended_early,
        "actions": [payloads.action_payload(a) for a in AdminAction.objects.filter(session=session).order_by("id")],
        "result": (
            {
                **payloads.result_payload(result),
                "human_review": {
                    "reviewer": result.reviewer.get_username() if result.reviewer else None,
                    "human_score": result.human_score,
                    "notes": result.review_notes,
                    "final_decision": result.final_decision or None,
                    "reviewed_at": result.reviewed_at.isoformat() if result.reviewed_at else None,
                },
            }
            if result
            else None
        ),
        "answers": answers,
    }


# --- reviews, graded examples, calibration ---------------------------------------------------------


@dataclass(frozen=True)
class GradedExample:
    """A reviewed answer to the same question: what the grader gets as a graded example."""

    review_id: int
    response_id: str
    answer: str
    score: float  # the reviewer's score, 0-10
    note: str
    ai_score: float | None


def graded_examples_for(
    question: AIInterviewQuestion | str, *, exclude_response_id: Id | None = None, limit: int | None = None
) -> list[GradedExample]:
    """The reviewed answers of a question (a question row, or its text): the current review of
    every answer to the same question text in any session, newest first, at most `limit`
    (GRADED_EXAMPLES_LIMIT). The grader picks the nearest of them; `exclude_response_id` keeps
    an answer from being its own example when it is re-graded."""
    text = question if isinstance(question, str) else question.text
    key = rows.question_key(text)
    if _ANY_REVIEW.first(key, True) is None:  # most questions have none: one cheap statement
        return []
    reviews = AnswerReview.objects.filter(question_key=key, current=True).select_related("response")
    if exclude_response_id is not None:
        reviews = reviews.exclude(response_id=rows.parse_uuid(exclude_response_id, "response_id"))
    return [
        GradedExample(
            review_id=r.pk,
            response_id=str(r.response_id),
            answer=r.response.response_text,
            score=r.score,
            note=r.note,
            ai_score=r.response.score,
        )
        for r in reviews.order_by("-created_at", "-pk")[: limit or settings.GRADED_EXAMPLES_LIMIT]
    ]


def active_calibration() -> Calibration | None:
    return cast(Calibration | None, _ACTIVE_CALIBRATION.first(True))


# Read for every graded answer: compiled once (prepared.py).
_FRAMES_AFTER = Select(SessionFrame, ["session", "seq__gt"], order_by=["seq"], limit=REPLAY_LIMIT)
_ANY_REVIEW = Select(AnswerReview, ["question_key", "current"], limit=1)
_ACTIVE_CALIBRATION = Select(Calibration, ["active"], order_by=["-version"], limit=1)


def calibration_pairs() -> tuple[list[float], list[float]]:
    """(raw AI score, human score) of every answer with a current review and a raw AI score:
    what a leniency mapping is fitted on. Raw, not calibrated, scores: a new mapping replaces the
    old one rather than stacking on it."""
    pairs = AnswerReview.objects.filter(current=True, response__raw_score__isnull=False).values_list(
        "response__raw_score", "score"
    )
    ai: list[float] = []
    human: list[float] = []
    for raw, score in pairs.order_by("pk"):
        if raw is not None:  # filtered out above; the ORM's types do not know
            ai.append(raw)
            human.append(score)
    return ai, human


def review_payload(review: AnswerReview) -> dict[str, Any]:
    return {
        "id": review.pk,
        "response_id": str(review.response_id),
        "score": review.score,
        "note": review.note,
        "reviewer": review.reviewer_name or None,
        "ai_score": review.ai_score,
        "ai_raw_score": review.ai_raw_score,
        "calibration_version": review.calibration_version,
        "current": review.current,
        "created_at": review.created_at.isoformat(),
    }


def revision_payload(revision: ScoreRevision) -> dict[str, Any]:
    return {
        "kind": revision.kind,
        "score": revision.score,
        "raw_score": revision.raw_score,
        "recommendation": revision.recommendation or None,
        "provenance": revision.provenance,
        "reason": revision.reason,
        "replaced_at": revision.replaced_at.isoformat(),
    }


def answer_review_state(*, response_id: Id) -> dict[str, Any] | None:
    """An answer's AI score (with its provenance), its current human review and the history of
    both; None if there is no such answer."""
    response = (
        AIInterviewResponse.objects.select_related("question")
        .filter(pk=rows.parse_uuid(response_id, "response_id"))
        .first()
    )
    if response is None:
        return None
    reviews = [review_payload(r) for r in response.reviews.all()]
    return {
        "response_id": str(response.pk),
        "session_id": str(response.session_id),
        "question_id": str(response.question_id),
        "question": response.question.text,
        "answer": response.response_text,
        "ai_score": response.score,
        "raw_score": response.raw_score,
        "calibration_version": response.calibration_version,
        "graded_examples": response.graded_examples,
        "evaluation_status": response.evaluation_status,
        "review": next((r for r in reviews if r["current"]), None),
        "reviews": reviews,
        "score_history": [revision_payload(r) for r in response.score_revisions.all()],
    }


def calibration_payload(calibration: Calibration) -> dict[str, Any]:
    return {
        "version": calibration.version,
        "active": calibration.active,
        "fit_name": calibration.fit_name,
        "pair_count": calibration.pair_count,
        "mapping": calibration.mapping,
        "summary": calibration.summary,
        "created_by": calibration.created_by.get_username() if calibration.created_by else None,
        "created_at": calibration.created_at.isoformat(),
    }


def calibrations() -> list[dict[str, Any]]:
    return [calibration_payload(c) for c in Calibration.objects.select_related("created_by")[:100]]


# --- staff -----------------------------------------------------------------------------------------

# The staff list: sessions not yet over, and those that ended recently (to review).
RECENT_HOURS = 24
SNAPSHOT_LIMIT = 500


def feed_snapshot(*, user: Any) -> list[dict[str, Any]]:
    """The sessions the user sees that are live or ended in the last day, newest first, each
    current as of its own `feed_seq` (deltas with a higher seq follow)."""
    since = timezone.now() - timedelta(hours=RECENT_HOURS)
    sessions = list(
        access.visible_sessions(user)
        .filter(Q(status__in=(Status.CREATED, Status.IN_PROGRESS, Status.ABANDONED)) | Q(last_activity_at__gte=since))
        .select_related("invitation__job", "invitation__candidate")
        .order_by("-created_at")[:SNAPSHOT_LIMIT]
    )
    ids = [s.pk for s in sessions]
    scores: dict[Any, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for r in (
        AIInterviewResponse.objects.filter(session_id__in=ids)
        .order_by("question__order")
        .values("session_id", "question__order", "score", "insufficient_evidence", "evaluation_status")
    ):
        if r["evaluation_status"] != EvaluationStatus.PENDING:
            scores[r["session_id"]].append(payloads.score_of(dict(r)))
    results = {r.session_id: r for r in AIInterviewResult.objects.filter(session_id__in=ids)}
    # The question at each session's current index, in one query (for `awaiting`).
    at_index = {(s.pk, s.current_index) for s in sessions}
    known: dict[tuple[Any, int], tuple[Any, str]] = {
        (sid, order): (asked_at, added)
        for sid, order, asked_at, added in AIInterviewQuestion.objects.filter(session_id__in=ids).values_list(
            "session_id", "order", "asked_at", "added_by_name"
        )
        if (sid, order) in at_index
    }
    return [
        payloads.session_row(
            s,
            scores[s.pk],
            results.get(s.pk),
            awaiting=rows.state_of(s, known=known.get((s.pk, s.current_index), (None, ""))).awaiting,
        )
        for s in sessions
    ]


def session_row(*, session_id: Id) -> dict[str, Any]:
    session = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session_id)
    scores = [
        payloads.score_of(dict(r))
        for r in AIInterviewResponse.objects.filter(session=session)
        .exclude(evaluation_status=EvaluationStatus.PENDING)
        .order_by("question__order")
        .values("question__order", "score", "insufficient_evidence")
    ]
    return payloads.session_row(session, scores, AIInterviewResult.objects.filter(session=session).first())


def transcript(*, session: AIInterviewSession) -> dict[str, Any]:
    """Everything staff watching a session see so far, as of its `seq`: each asked question with
    its answer, grade and signals; actions; result. Folded from the session's feed log (one
    read, no lock: a session's frames commit in seq order, so any read sees a prefix of its
    log). `session` comes with its invitation's candidate and job; `awaiting` is as of that read."""
    base = {
        "seq": 0,
        "session": payloads.session_row(session, [], None, awaiting=rows.state_of(session).awaiting),
        "items": [],
        "actions": [],
        "result": None,
    }
    return payloads.fold_feed(
        base, FeedFrame.objects.filter(session=session).order_by("seq").values_list("payload", flat=True)
    )


def transcript_of(*, session_id: Id) -> dict[str, Any]:
    """`transcript` by id, for a caller that has checked who may see it."""
    session = (
        AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate")
        .filter(pk=rows.parse_uuid(session_id, "session_id"))
        .first()
    )
    if session is None:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
    return transcript(session=session)


def feed_frames_after(*, session_id: Id, seq: int, limit: int = REPLAY_LIMIT) -> list[dict[str, Any]]:
    found = FeedFrame.objects.filter(session_id=uuid.UUID(str(session_id)), seq__gt=seq).order_by("seq")[:limit]
    return [row.payload for row in found]
