"""Reads for staff reporting: the facts analytics are computed from (live sessions plus the
anonymised records erased ones leave), the CSV exports, and the printable session report.

The statistics themselves are pure (`analytics.py`); this module only turns rows into
`analytics.SessionFact`s and rows into CSV cells.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from interview_rt.interviews import audit, rows
from interview_rt.interviews.constants import AuditAction
from interview_rt.interviews.errors import ErrorCode, InterviewError
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewResult, AIInterviewSession
from interview_rt.interviews.text import clean

from . import analytics
from .analytics import AnswerFact, SessionFact
from .models import AnswerReview, ErasedSession


@dataclass(frozen=True)
class Filters:
    """What staff narrow reports to: a job title, and sessions created in [since, until)."""

    job: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def sessions(self) -> QuerySet[AIInterviewSession]:
        qs = AIInterviewSession.objects.all()
        if self.job:
            qs = qs.filter(invitation__job__title=self.job)
        if self.since:
            qs = qs.filter(created_at__gte=self.since)
        if self.until:
            qs = qs.filter(created_at__lt=self.until)
        return qs

    def erased(self) -> QuerySet[ErasedSession]:
        # Erased sessions keep the month only: a month counts if it overlaps the range.
        qs = ErasedSession.objects.all()
        if self.job:
            qs = qs.filter(job_title=self.job)
        if self.since:
            qs = qs.filter(month__gte=date(self.since.year, self.since.month, 1))
        if self.until:
            qs = qs.filter(month__lt=self.until.date())
        return qs

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """From query parameters `job`, `since`, `until` (an RFC 3339 date, midnight UTC, or
        date-time with its offset; empty: no bound). The job is compared as titles are stored,
        cleaned (text.clean: PostgreSQL refuses NUL, so a query or audit row holding one failed)."""
        return cls(
            job=clean(params.get("job") or "").strip() or None,
            since=_when(params, "since"),
            until=_when(params, "until"),
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "job": self.job,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


# The OpenAPI formats `date` and `date-time` (RFC 3339), as the API documents `since` and `until`.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)
_EARLIEST, _LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def _when(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        if _DATE.fullmatch(raw):
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        if not _DATE_TIME.fullmatch(raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw.upper())
    except ValueError:
        raise InterviewError(
            ErrorCode.INVALID_FIELD, f"{name} must be an RFC 3339 date or date-time (with an offset)", field=name
        ) from None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before any UTC datetime: no bound
        return _EARLIEST if value.year == 1 else _LATEST


# --- facts ----------------------------------------------------------------------------------------


def _duration(session: AIInterviewSession) -> float | None:
    if session.started_at and session.completed_at:
        return (session.completed_at - session.started_at).total_seconds()
    return None


def live_facts(sessions: QuerySet[AIInterviewSession]) -> dict[Any, SessionFact]:
    """A fact per session (by pk), in three queries whatever the number of sessions."""
    answers: dict[Any, list[tuple[Any, str, float | None]]] = defaultdict(list)
    for pk, session_id, competency, score in AIInterviewResponse.objects.filter(session__in=sessions).values_list(
        "pk", "session_id", "question__competency", "score"
    ):
        answers[session_id].append((pk, competency, score))
    reviewed = {
        response_id: (score, name)
        for response_id, score, name in AnswerReview.objects.filter(
            current=True, response__session__in=sessions
        ).values_list("response_id", "score", "reviewer_name")
    }
    facts: dict[Any, SessionFact] = {}
    for s in sessions.select_related("invitation__job", "invitation__candidate", "result"):
        result: AIInterviewResult | None = getattr(s, "result", None)
        facts[s.pk] = SessionFact(
            job=s.invitation.job.title,
            status=s.status,
            started=s.started_at is not None,
            duration_seconds=_duration(s),
            overall_score=result.overall_score if result else None,
            recommendation=result.recommendation if result else "",
            final_decision=result.final_decision if result else "",
            group=s.invitation.candidate.demographic_group or None,
            answers=tuple(
                AnswerFact(
                    competency=competency,
                    ai_score=score,
                    human_score=reviewed[pk][0] if pk in reviewed else None,
                    reviewer=(reviewed[pk][1] or "(unknown)") if pk in reviewed else None,
                )
                for pk, competency, score in answers[s.pk]
            ),
        )
    return facts


def erased_fact(row: ErasedSession) -> SessionFact:
    return SessionFact(
        job=row.job_title,
        status=row.status,
        started=row.started,
        duration_seconds=row.duration_seconds,
        overall_score=row.overall_score,
        recommendation=row.recommendation,
        final_decision=row.final_decision,
        group=row.demographic_group,
        answers=tuple(
            AnswerFact(a.get("competency", ""), a.get("ai_score"), a.get("human_score"), a.get("reviewer"))
            for a in row.answers
        ),
    )


def session_facts(filters: Filters) -> list[SessionFact]:
    return list(live_facts(filters.sessions()).values()) + [erased_fact(r) for r in filters.erased()]


def analytics_overview(
    filters: Filters, *, facts: list[SessionFact] | None = None, resamples: int | None = None
) -> dict[str, Any]:
    """The staff analytics document (docs/analytics.md); `facts` if the caller has them."""
    facts = session_facts(filters) if facts is None else facts
    n = settings.ANALYTICS_BOOTSTRAP_RESAMPLES if resamples is None else resamples
    return {
        "filters": filters.as_dict(),
        "erased_sessions_included": filters.erased().count(),
        "bootstrap_resamples": n,
        **analytics.summarize(facts, resamples=n),
    }


# --- CSV exports ----------------------------------------------------------------------------------

SESSION_COLUMNS = [
    "session_id",
    "candidate_id",
    "candidate_name",
    "candidate_email",
    "job",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "duration_seconds",
    "question_count",
    "answered",
    "overall_score",
    "recommendation",
    "insufficient_evidence_count",
    "human_score",
    "final_decision",
    "reviewed_answers",
]

ANSWER_COLUMNS = [
    "session_id",
    "candidate_id",
    "candidate_name",
    "job",
    "order",
    "question_id",
    "competency",
    "follow_up",
    "question",
    "response_id",
    "answer",
    "received_at",
    "time_taken_seconds",
    "late",
    "evaluation_status",
    "ai_score",
    "raw_score",
    "calibration_version",
    "insufficient_evidence",
    "provider",
    "model_name",
    "model_version",
    "rubric_version",
    "fallback_used",
    "human_score",
    "reviewer",
    "review_note",
    "reviewed_at",
]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def session_rows(filters: Filters) -> Iterator[list[Any]]:
    """One row per session (SESSION_COLUMNS), oldest first, streamed in chunks."""
    sessions = filters.sessions()
    reviewed: dict[Any, int] = defaultdict(int)
    for session_id in AnswerReview.objects.filter(current=True, response__session__in=sessions).values_list(
        "response__session_id", flat=True
    ):
        reviewed[session_id] += 1
    for s in (
        sessions.select_related("invitation__job", "invitation__candidate", "result")
        .order_by("created_at", "pk")
        .iterator(chunk_size=500)
    ):
        result: AIInterviewResult | None = getattr(s, "result", None)
        c = s.invitation.candidate
        yield [
            s.pk,
            c.pk,
            c.name,
            c.email,
            s.invitation.job.title,
            s.status,
            _iso(s.created_at),
            _iso(s.started_at),
            _iso(s.completed_at),
            _duration(s),
            s.question_count,
            s.answered_count,
            result.overall_score if result else None,
            result.recommendation if result else "",
            result.insufficient_evidence_count if result else None,
            result.human_score if result else None,
            result.final_decision if result else "",
            reviewed[s.pk],
        ]


def answer_rows(filters: Filters) -> Iterator[list[Any]]:
    """One row per answer (ANSWER_COLUMNS) with its AI score, provenance and current review."""
    responses = AIInterviewResponse.objects.filter(session__in=filters.sessions())
    reviews = {
        r.response_id: r
        for r in AnswerReview.objects.filter(current=True, response__in=responses).only(
            "response_id", "score", "reviewer_name", "note", "created_at"
        )
    }
    for r in (
        responses.select_related("question", "session__invitation__job", "session__invitation__candidate")
        .order_by("session__created_at", "session_id", "question__order")
        .iterator(chunk_size=500)
    ):
        inv = r.session.invitation
        review = reviews.get(r.pk)
        yield [
            r.session_id,
            inv.candidate_id,
            inv.candidate.name,
            inv.job.title,
            r.question.order,
            r.question_id,
            r.question.competency,
            bool(r.question.follow_up_of_id),
            r.question.text,
            r.pk,
            r.response_text,
            _iso(r.received_at),
            r.time_taken_seconds,
            r.is_late,
            r.evaluation_status,
            r.score,
            r.raw_score,
            r.calibration_version,
            r.insufficient_evidence,
            r.provider,
            r.model_name,
            r.model_version,
            r.rubric_version,
            r.fallback_used,
            review.score if review else None,
            review.reviewer_name if review else "",
            review.note if review else "",
            _iso(review.created_at) if review else "",
        ]


def csv_cell(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text that starts like a formula is quoted with a
    leading apostrophe (CSV injection: an answer reading `=HYPERLINK(...)` must stay text)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- printable report -----------------------------------------------------------------------------


def session_report(*, session: AIInterviewSession) -> dict[str, Any]:
    """What the printable report shows: the candidate, the result and its human review, and each
    answer with its AI score, provenance and current review (demographics never appear)."""
    result = AIInterviewResult.objects.select_related("reviewer").filter(session=session).first()
    current = {r.response_id: r for r in AnswerReview.objects.filter(response__session=session, current=True)}
    inv = session.invitation
    return {
        "session": session,
        "candidate": inv.candidate,
        "job": inv.job,
        "duration_seconds": _duration(session),
        "result": result,
        "answers": [
            {"response": r, "question": r.question, "review": current.get(r.pk)} for r in rows.answers_of(session)
        ],
    }


def erasure_facts(session: AIInterviewSession) -> ErasedSession:
    """The anonymised record an erased session leaves (unsaved): no ids, the month only."""
    fact = live_facts(AIInterviewSession.objects.filter(pk=session.pk))[session.pk]
    return ErasedSession(
        job=session.invitation.job,
        job_title=fact.job,
        month=session.created_at.date().replace(day=1),
        status=fact.status,
        started=fact.started,
        duration_seconds=fact.duration_seconds,
        overall_score=fact.overall_score,
        recommendation=fact.recommendation,
        final_decision=fact.final_decision,
        demographic_group=fact.group,
        answers=[
            {"competency": a.competency, "ai_score": a.ai_score, "human_score": a.human_score, "reviewer": a.reviewer}
            for a in fact.answers
        ],
    )


# --- exports --------------------------------------------------------------------------------------


def export_record(*, actor: Any, kind: str, filters: dict[str, Any], target_id: str = "") -> None:
    """Audit an export of personal data (CSV, printable report) before it is served."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.EXPORTED,
            target_type=kind,
            target_id=target_id,
            details={"filters": filters},
        )
