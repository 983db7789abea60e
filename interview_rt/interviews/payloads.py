"""Rows -> the dicts clients see: the candidate's frames and snapshot, the staff feed's rows and
frames, the REST bodies. Their shapes are declared in `schemas/` (the socket frames, public
REST) and `api/bodies.py` (staff REST), which the tests hold these to; the builders here stay plain
dicts because they run on every answer (a pydantic model per frame cost measurable CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import notices, state
from .models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    IntegritySignal,
)
from .rows import integrity_summary, state_of


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
        "evaluation": r.evaluation_status,
    }


def feedback_payload(r: AIInterviewResponse) -> dict[str, Any]:
    """An answer's grade as the candidate sees it (socket `answer.feedback`, REST `evaluation`)."""
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


def answer_summary(r: AIInterviewResponse) -> dict[str, Any]:
    """One answer in the result (`interview.completed`, REST `complete`); needs `r.question`."""
    return {**feedback_payload(r), "order": r.question.order}


def answer_detail(r: AIInterviewResponse) -> dict[str, Any]:
    """One answer as a reviewer sees it: the summary plus the question, timing and provenance."""
    q = r.question
    return {
        **answer_summary(r),
        "question": q.text,
        "competency": q.competency,
        "follow_up_of": str(q.follow_up_of_id) if q.follow_up_of_id else None,
        "question_provenance": q.provenance,
        "response_text": r.response_text,
        "received_at": r.received_at.isoformat(),
        "time_taken_seconds": r.time_taken_seconds,
        "added_by": q.added_by_name or None,
        # Signals for a person to judge; no score reads them.
        "integrity": r.integrity or None,
        "evaluation_status": r.evaluation_status,
        "provenance": {
            "provider": r.provider,
            "model_name": r.model_name,
            "model_version": r.model_version,
            "rubric_version": r.rubric_version,
            "latency_ms": r.evaluation_latency_ms,
            "fallback_used": r.fallback_used,
            "error_kind": r.error_kind,
        },
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
        "ended_early": result.ended_early,
    }


def snapshot(
    session: AIInterviewSession,
    current: AIInterviewQuestion | None,
    result: AIInterviewResult | None,
    answers: Sequence[AIInterviewResponse] = (),
) -> dict[str, Any]:
    """`session.state`: the whole state a client needs, as of `session.last_seq`. `current` is
    the question at current_index (shown only once asked); the session's invitation, job and
    candidate must be loaded. `answers`: with `result`, the session's answers, so that a client
    that missed `interview.completed` (a reconnect, a sync) can still list them."""
    asked = current if current is not None and current.asked_at is not None else None
    st = state_of(session, known=(current.asked_at, current.added_by_name) if current is not None else (None, ""))
    inv = session.invitation
    out: dict[str, Any] = {
        "type": "session.state",
        "seq": session.last_seq,
        "session": {
            "id": str(session.id),
            "status": session.status,
            "awaiting": st.awaiting.value,
            "question_count": session.question_count,
            "answered": session.answered_count,
            "evaluated": session.evaluated_count,
            "feedback_mode": inv.feedback_mode,
            "interview_type": inv.interview_type,
            "difficulty": inv.difficulty,
            "job_title": inv.job.title,
            "candidate_name": inv.candidate.name,
            "expires_at": inv.expires_at.isoformat(),
            "current_question": question_payload(asked) if asked else None,
        },
    }
    if st.consent_required and not st.consented and st.awaiting != state.Awaiting.NOTHING:
        # What the candidate is asked to accept (before starting, and while awaiting consent), for
        # any client (REST, third-party), not only the page.
        out["session"]["notice"] = notices.notice_for(inv.job).payload()
    if result is not None:
        out["session"]["result"] = result_payload(result)
        out["session"]["answers"] = [answer_summary(r) for r in answers]
    return out


def staff_question(q: AIInterviewQuestion) -> dict[str, Any]:
    """A question as staff see it: what the candidate sees, plus its key points and who added it."""
    return {**question_payload(q), "key_points": list(q.key_points or []), "added_by": q.added_by_name or None}


def staff_answer(r: AIInterviewResponse) -> dict[str, Any]:
    """An answer as staff see it when it arrives (needs `r.question`)."""
    return {
        "response_id": str(r.id),
        "question_id": str(r.question_id),
        "order": r.question.order,
        "client_id": r.client_id,
        "text": r.response_text,
        "response_type": r.response_type,
        "late": r.is_late,
        "received_at": r.received_at.isoformat(),
        "time_taken_seconds": r.time_taken_seconds,
        "integrity": r.integrity or integrity_summary([]),
    }


def staff_feedback(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        **feedback_payload(r),
        "order": r.question.order,
        "evaluation_status": r.evaluation_status,
        "fallback_used": r.fallback_used,
    }


def signal_payload(signal: IntegritySignal) -> dict[str, Any]:
    return {
        "kind": signal.kind,
        "value": signal.value,
        "question_id": str(signal.question_id) if signal.question_id else None,
        "at": signal.created_at.isoformat(),
    }


def action_payload(action: AdminAction) -> dict[str, Any]:
    return {
        "id": action.pk,
        "kind": action.kind,
        "actor": action.actor_name,
        "at": action.created_at.isoformat(),
        "detail": action.detail,
    }


def session_row(
    session: AIInterviewSession,
    scores: list[dict[str, Any]],
    result: AIInterviewResult | None,
    *,
    awaiting: state.Awaiting | None = None,
) -> dict[str, Any]:
    """One session in the staff list (needs `session.invitation.candidate` and `.job`)."""
    inv = session.invitation
    return {
        "id": str(session.id),
        "candidate_name": inv.candidate.name,
        "candidate_email": inv.candidate.email,
        "job_id": inv.job_id,
        "job_title": inv.job.title,
        "interview_type": inv.interview_type,
        "awaiting": (awaiting or state_of(session).awaiting).value,
        "created_at": session.created_at.isoformat(),
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "consented": session.consented_at is not None,
        "ended_early": session.ended_early,
        "scores": scores,
        "overall_score": result.overall_score if result else None,
        "recommendation": result.recommendation if result else None,
        "feed_seq": session.feed_seq,
        "progress": progress(session),
    }


def progress(session: AIInterviewSession) -> dict[str, Any]:
    """A session's place as the staff list shows it, from the row alone (no query); every staff
    feed frame carries it, so a list updates in place from any one frame."""
    return {
        "status": session.status,
        # A candidate's socket marks the session in progress on connect and abandoned on leave.
        "connected": session.status == "in_progress",
        "answered": session.answered_count,
        "evaluated": session.evaluated_count,
        "question_count": session.question_count,
        "last_activity_at": session.last_activity_at.isoformat() if session.last_activity_at else None,
    }


def fold_feed(transcript: dict[str, Any], frames: Any) -> dict[str, Any]:
    """Apply a session's staff feed frames (in seq order; those at or below the transcript's
    `seq` are skipped) to a watch transcript, in place. Pure: the log alone rebuilds what a
    watcher sees, so a transcript needs no lock and one read (selectors.transcript)."""
    row = transcript["session"]
    items = {item["question"]["id"]: item for item in transcript["items"]}
    for f in frames:
        if f["seq"] <= transcript["seq"]:
            continue
        kind = f["type"]
        if kind == "session.opened":
            row.update({k: v for k, v in f["session"].items() if k not in ("feed_seq", "progress", "awaiting")})
        elif kind == "consent.accepted":
            row["consented"] = True
        elif kind == "question.asked":
            item = {"question": f["question"], "answer": None, "feedback": None, "signals": []}
            items[f["question"]["id"]] = item
            transcript["items"].append(item)
        elif kind == "answer.received" and f["answer"]["question_id"] in items:
            items[f["answer"]["question_id"]]["answer"] = f["answer"]
        elif kind == "answer.feedback" and f["feedback"]["question_id"] in items:
            fb = f["feedback"]
            items[fb["question_id"]]["feedback"] = fb
            scores = [s for s in row["scores"] if s["order"] != fb["order"]]
            scores.append(
                {"order": fb["order"], "score": fb["score"], "insufficient_evidence": fb["insufficient_evidence"]}
            )
            row["scores"] = sorted(scores, key=lambda s: s["order"])
        elif kind == "integrity.signal" and f["signal"]["question_id"] in items:
            items[f["signal"]["question_id"]]["signals"].append(f["signal"])
        elif kind == "admin.action":
            transcript["actions"].append(f["action"])
        elif kind == "interview.completed":
            transcript["result"] = f["result"]
            row.update(
                overall_score=f["result"]["overall_score"],
                recommendation=f["result"]["recommendation"],
                ended_early=f["result"]["ended_early"],
            )
        row["progress"] = f["progress"]
        row["feed_seq"] = transcript["seq"] = f["seq"]
    return transcript


def score_of(r: AIInterviewResponse | dict[str, Any]) -> dict[str, Any]:
    if isinstance(r, dict):
        return {"order": r["question__order"], "score": r["score"], "insufficient_evidence": r["insufficient_evidence"]}
    return {"order": r.question.order, "score": r.score, "insufficient_evidence": r.insufficient_evidence}
