"""Outbound frames: typed builders, the per-session log with `seq`, and send-after-commit.

A frame is appended to the session's log inside the caller's transaction (the session row must be
locked by the caller) and broadcast to the session's group only after that transaction commits, so
no client ever sees a frame the database could still roll back.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from .models import AIInterviewQuestion, AIInterviewResponse, AIInterviewResult, AIInterviewSession, SessionFrame

log = logging.getLogger(__name__)

Frame = dict[str, Any]


def session_group(session_id: object) -> str:
    return f"interview.{session_id}"


def admin_group() -> str:
    return "interview-admins"


def question_payload(q: AIInterviewQuestion) -> dict[str, Any]:
    """What the candidate may see of a question (never the reference answer or key points)."""
    deadline = None
    if q.asked_at is not None:
        deadline = (q.asked_at.timestamp() + q.time_limit_seconds) * 1000
    return {
        "id": str(q.id),
        "order": q.order,
        "text": q.text,
        "type": q.question_type,
        "competency": q.competency,
        "difficulty": q.difficulty,
        "time_limit_seconds": q.time_limit_seconds,
        "follow_up_of": str(q.follow_up_of_id) if q.follow_up_of_id else None,
        "asked_at": q.asked_at.isoformat() if q.asked_at else None,
        "deadline_ms": int(deadline) if deadline else None,
    }


def ack_payload(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        "client_id": r.client_id,
        "question_id": str(r.question_id),
        "response_id": str(r.id),
        "received_at": r.received_at.isoformat(),
        "late": r.is_late,
        "evaluation": "pending" if r.evaluation_status == "pending" else r.evaluation_status,
    }


def feedback_payload(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        "client_id": r.client_id,
        "question_id": str(r.question_id),
        "response_id": str(r.id),
        "score": r.score,
        "insufficient_evidence": r.insufficient_evidence,
        "feedback": r.feedback,
        "strengths": r.strengths,
        "improvements": r.improvements,
        "covered_key_points": r.covered_key_points,
        "missed_key_points": r.missed_key_points,
        "late": r.is_late,
    }


def result_payload(result: AIInterviewResult) -> dict[str, Any]:
    return {
        "overall_score": result.overall_score,
        "recommendation": result.recommendation,
        "summary": result.summary,
        "competency_scores": result.competency_scores,
        "strengths": result.strengths,
        "weaknesses": result.weaknesses,
        "insufficient_evidence_count": result.insufficient_evidence_count,
    }


def append(session: AIInterviewSession, frame_type: str, payload: dict[str, Any]) -> Frame:
    """Log a frame with the next seq and broadcast it after commit. Caller holds the row lock."""
    assert transaction.get_connection().in_atomic_block, "append() must run inside a transaction"
    session.last_seq += 1
    AIInterviewSession.objects.filter(pk=session.pk).update(last_seq=session.last_seq)
    frame = {"type": frame_type, "seq": session.last_seq, **payload}
    SessionFrame.objects.create(session=session, seq=session.last_seq, type=frame_type, payload=frame)
    session_id = session.pk
    transaction.on_commit(lambda: broadcast(session_id, frame))
    return frame


def broadcast(session_id: object, frame: Frame) -> None:
    """Push a committed frame to the candidate's group and the admins' group (best effort:
    a lost push is recovered from the log on the next frame or reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_id), {"type": "session.frame", "frame": frame})
        async_to_sync(layer.group_send)(
            admin_group(), {"type": "admin.event", "session_id": str(session_id), "frame": frame}
        )
    except Exception:  # the log is the source of truth; never fail a committed write over a push
        log.exception("broadcast of frame %s for session %s failed", frame.get("seq"), session_id)


def enqueue_job(kind: str, object_id: object) -> None:
    """Nudge the background service after commit. The database, not this message, is the queue:
    a lost nudge is picked up by the worker's periodic sweep."""
    message = {"type": "ai.job", "kind": kind, "id": str(object_id)}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.send)(settings.AI_WORKER_CHANNEL, message)
        except Exception:
            log.exception("could not enqueue %s %s; the sweep will pick it up", kind, object_id)

    transaction.on_commit(send)
