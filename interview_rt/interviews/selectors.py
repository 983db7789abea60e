"""Reads. Snapshots and frame replay for the socket, results for REST and admins."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from django.db.models import Q
from django.utils import timezone

from . import access, payloads, rows
from .constants import EvaluationStatus, Status
from .errors import ErrorCode, InterviewError
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    FeedFrame,
    SessionFrame,
)
from .prepared import Select
from .rows import Id

REPLAY_LIMIT = 500

# Read on every connect and gap fill: compiled once (prepared.py).
_FRAMES_AFTER = Select(SessionFrame, ["session", "seq__gt"], order_by=["seq"], limit=REPLAY_LIMIT)


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
