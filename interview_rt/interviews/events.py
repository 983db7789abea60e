"""Outbound frames: typed builders, the per-session log with `seq`, and send-after-commit.

A frame is appended to the session's log inside the caller's transaction (the session row must be
locked by the caller) and broadcast to the session's group only after that transaction commits, so
no client ever sees a frame the database could still roll back.
"""

from __future__ import annotations

import asyncio
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
    """Log a frame with the next seq and broadcast it after commit. The caller holds the session
    row lock and saves the row (with its new last_seq) before the transaction ends."""
    assert transaction.get_connection().in_atomic_block, "append() must run inside a transaction"
    session.last_seq += 1
    frame = {"type": frame_type, "seq": session.last_seq, **payload}
    SessionFrame.objects.create(session=session, seq=session.last_seq, type=frame_type, payload=frame)
    session_id = session.pk
    transaction.on_commit(lambda: broadcast(session_id, frame))
    return frame


# --- after-commit delivery ---------------------------------------------------------------------
#
# Services run on database threads. Pushing from there with async_to_sync would park the database
# thread until the event loop got round to the send, so every write would also wait on the loop.
# Instead the thread hands the message to an ordered outbox that one task on the server's loop
# drains; sends stay in commit order and the database thread moves on at once.

_loop: asyncio.AbstractEventLoop | None = None
_outbox: asyncio.Queue[tuple[str, str, dict[str, Any]]] | None = None
_sender: asyncio.Task[None] | None = None


def bind_loop() -> None:
    """Call from async code of the server (consumers, views, worker): the outbox lives on its loop."""
    global _loop, _outbox, _sender
    loop = asyncio.get_running_loop()
    if _loop is loop and _sender is not None and not _sender.done():
        return
    _loop, _outbox = loop, asyncio.Queue()
    _sender = loop.create_task(_drain(_outbox), name="frame-outbox")


async def _drain(outbox: asyncio.Queue[tuple[str, str, dict[str, Any]]]) -> None:
    while True:
        method, target, message = await outbox.get()
        layer = get_channel_layer()
        if layer is None:
            continue
        try:
            await getattr(layer, method)(target, message)
        except Exception:  # the log is the source of truth; a lost push is replayed from it
            log.exception("%s to %s failed", method, target)


def _post(method: str, target: str, message: dict[str, Any]) -> None:
    loop, outbox = _loop, _outbox
    if loop is not None and outbox is not None and loop.is_running() and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            outbox.put_nowait((method, target, message))
        else:
            loop.call_soon_threadsafe(outbox.put_nowait, (method, target, message))
        return
    # No server loop in this process (a management command): send and wait.
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(getattr(layer, method))(target, message)
    except Exception:
        log.exception("%s to %s failed", method, target)


def broadcast(session_id: object, frame: Frame) -> None:
    """Push a committed frame to the session's sockets (best effort: a socket that misses it
    gets it from the log on the next frame, `session.resume` or reconnect)."""
    _post("group_send", session_group(session_id), {"type": "session.frame", "frame": frame})


def enqueue_job(kind: str, object_id: object) -> None:
    """Nudge the background service after commit. The database, not this message, is the queue:
    a lost nudge is picked up by the worker's periodic sweep."""
    message = {"type": "ai.job", "kind": kind, "id": str(object_id)}
    transaction.on_commit(lambda: _post("send", settings.AI_WORKER_CHANNEL, message))
