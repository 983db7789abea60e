"""Reads of the review app: an answer's reviews and score history, the graded examples and the
active calibration (the lifecycle's grading standard, `ReviewStandard`), calibration versions, and
the staff session detail (the lifecycle's result with each answer's current human review)."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings

from interview_rt.interviews import payloads, rows
from interview_rt.interviews.models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
)
from interview_rt.interviews.prepared import Select
from interview_rt.interviews.rows import Id
from interview_rt.interviews.standard import GradedExample

from .models import AnswerReview, Calibration, ScoreRevision

log = logging.getLogger(__name__)

__all__ = ["GradedExample", "ReviewStandard"]


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
    calibration = cast(Calibration | None, _ACTIVE_CALIBRATION.first(True))
    if calibration is None:
        return None
    try:
        calibration.leniency  # noqa: B018 - read once here: an unreadable row must not fail grading
    except (KeyError, TypeError, ValueError):
        # Only calibration_refit writes mappings (checked); a row edited by hand grades uncalibrated.
        log.error("calibration v%s has an unreadable mapping; answers are graded without it", calibration.version)
        return None
    return calibration


# Read for every graded answer: compiled once (prepared.py).
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


class ReviewStandard:
    """The lifecycle's grading standard (GRADING_STANDARD, `interviews.standard`) from this app's
    rows: reviewed answers of the same question as graded examples, and the active calibration."""

    def graded_examples(
        self, question: AIInterviewQuestion | str, *, exclude_response_id: Id | None = None
    ) -> list[GradedExample]:
        return graded_examples_for(question, exclude_response_id=exclude_response_id)

    def active_calibration(self) -> Calibration | None:
        return active_calibration()
