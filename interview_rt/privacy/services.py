"""Privacy: erasure of a candidate everywhere, retention purges and the optional self-reported group
(exports are audited where they are made, `review/reports.export_record`).

Erasure deletes the candidate's rows (invitations, sessions, questions, answers, reviews, score
history, results, the frame log), the admin's change log about them, and the payloads of webhook
deliveries about them; before that, each session leaves an `ErasedSession`: anonymised facts (job,
month, status, durations, scores, the self-reported group) with no identifiers, so completion
rates, score distributions, agreement and adverse impact keep counting it. The audit log records
that an erasure happened, with ids and counts only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interview_rt.delivery.models import WebhookDelivery
from interview_rt.interviews import audit, links
from interview_rt.interviews.constants import MAX_DEMOGRAPHIC_GROUP_CHARS, AuditAction, DeliveryStatus
from interview_rt.interviews.errors import ErrorCode, InterviewError
from interview_rt.interviews.models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Candidate,
    InterviewInvitation,
    SessionFrame,
)
from interview_rt.review import reports
from interview_rt.review.models import AnswerReview, ScoreRevision

REDACTED = {"redacted": True}

# --- erasure --------------------------------------------------------------------------------------


@dataclass
class ErasureReport:
    candidates: int = 0
    invitations: int = 0
    sessions: int = 0
    answers: int = 0
    frames: int = 0
    reviews: int = 0
    webhook_deliveries_redacted: int = 0
    admin_log_entries: int = 0
    anonymised_sessions: int = 0
    dry_run: bool = False
    candidate_ids: list[int] = field(default_factory=list)

    def add(self, other: ErasureReport) -> None:
        for name in ("candidates", "invitations", "sessions", "answers", "frames", "reviews"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.webhook_deliveries_redacted += other.webhook_deliveries_redacted
        self.admin_log_entries += other.admin_log_entries
        self.anonymised_sessions += other.anonymised_sessions
        self.candidate_ids += other.candidate_ids

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("candidate_ids", "dry_run")}


def _admin_log(candidate_ids: Sequence[int]) -> Any:
    """The admin's change log entries about these candidates' rows (their `object_repr` holds
    names and emails)."""
    sessions = AIInterviewSession.objects.filter(invitation__candidate__in=candidate_ids)
    objects: list[tuple[type, list[str]]] = [
        (Candidate, [str(pk) for pk in candidate_ids]),
        (
            InterviewInvitation,
            [
                str(pk)
                for pk in InterviewInvitation.objects.filter(candidate__in=candidate_ids).values_list("pk", flat=True)
            ],
        ),
        (AIInterviewSession, [str(pk) for pk in sessions.values_list("pk", flat=True)]),
        (
            AIInterviewQuestion,
            [str(pk) for pk in AIInterviewQuestion.objects.filter(session__in=sessions).values_list("pk", flat=True)],
        ),
        (
            AIInterviewResponse,
            [str(pk) for pk in AIInterviewResponse.objects.filter(session__in=sessions).values_list("pk", flat=True)],
        ),
        (
            AIInterviewResult,
            [str(pk) for pk in AIInterviewResult.objects.filter(session__in=sessions).values_list("pk", flat=True)],
        ),
        (
            AnswerReview,
            [
                str(pk)
                for pk in AnswerReview.objects.filter(response__session__in=sessions).values_list("pk", flat=True)
            ],
        ),
    ]
    match = Q(pk__in=[])
    for model, ids in objects:
        if ids:
            match |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
    return LogEntry.objects.filter(match)


def _erase(candidate_ids: Sequence[int], *, dry_run: bool) -> ErasureReport:
    """Erase these candidate rows in one transaction (the caller's, or its own)."""
    ids = list(candidate_ids)
    sessions = AIInterviewSession.objects.filter(invitation__candidate__in=ids)
    deliveries = WebhookDelivery.objects.filter(candidate__in=ids)
    admin_log = _admin_log(ids)
    report = ErasureReport(
        candidates=len(ids),
        invitations=InterviewInvitation.objects.filter(candidate__in=ids).count(),
        sessions=sessions.count(),
        answers=AIInterviewResponse.objects.filter(session__in=sessions).count(),
        frames=SessionFrame.objects.filter(session__in=sessions).count(),
        reviews=AnswerReview.objects.filter(response__session__in=sessions).count(),
        webhook_deliveries_redacted=deliveries.count(),
        admin_log_entries=admin_log.count(),
        anonymised_sessions=sessions.count(),
        dry_run=dry_run,
        candidate_ids=ids,
    )
    if dry_run:
        return report
    with transaction.atomic():
        for session in sessions.select_related("invitation__job", "invitation__candidate"):
            reports.erasure_facts(session).save()
        deliveries.filter(status=DeliveryStatus.PENDING).update(status=DeliveryStatus.CANCELLED)
        deliveries.update(payload=REDACTED, candidate=None)
        admin_log.delete()
        # Explicit, though the cascade from Candidate reaches them: the frame log and the score
        # history are the rows most likely to be forgotten if a relation ever changes.
        SessionFrame.objects.filter(session__in=sessions).delete()
        ScoreRevision.objects.filter(session__in=sessions).delete()
        Candidate.objects.filter(pk__in=ids).delete()
    return report


def candidate_erase(
    *,
    candidate_id: int | None = None,
    email: str | None = None,
    actor: Any = None,
    reference: str = "",
    dry_run: bool = False,
) -> ErasureReport:
    """Erase one person everywhere: the candidate row named, or found by email, and every other
    candidate row with the same email (each invitation has its own row). `reference` (a ticket
    id, say) goes into the audit log; it must not be personal data."""
    if (candidate_id is None) == (email is None):
        raise InterviewError(ErrorCode.INVALID_FIELD, "Give either candidate_id or email.", field="candidate_id")
    if candidate_id is not None:
        row = Candidate.objects.filter(pk=candidate_id).first()
        if row is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such candidate.")
        email = row.email
    assert email is not None
    ids = list(Candidate.objects.filter(email__iexact=email.strip()).values_list("pk", flat=True))
    if not ids:
        raise InterviewError(ErrorCode.NOT_FOUND, "No candidate has that email.")
    with transaction.atomic():
        report = _erase(ids, dry_run=dry_run)
        if not dry_run:
            audit.record(
                actor=actor,
                action=AuditAction.CANDIDATE_ERASED,
                target_type="candidate",
                target_id=",".join(str(i) for i in ids),
                details={**report.counts(), "candidate_ids": ids, "reference": reference[:100]},
            )
    return report


# --- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgePlan:
    cutoff: datetime
    candidate_ids: tuple[int, ...]
    old_deliveries: int


def purge_plan(*, older_than: timedelta, now: datetime | None = None) -> PurgePlan:
    """Candidates with no activity since the cutoff: no invitation created or still valid, no
    session active or completed after it."""
    now = now or timezone.now()
    cutoff = now - older_than
    recent = (
        Q(invitations__created_at__gte=cutoff)
        | Q(invitations__expires_at__gte=now, invitations__revoked=False)
        | Q(invitations__session__last_activity_at__gte=cutoff)
        | Q(invitations__session__completed_at__gte=cutoff)
    )
    ids = (
        Candidate.objects.filter(created_at__lt=cutoff)
        .exclude(pk__in=Candidate.objects.filter(recent).values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return PurgePlan(cutoff, tuple(ids), WebhookDelivery.objects.filter(created_at__lt=cutoff).count())


def purge_preview(*, plan: PurgePlan) -> ErasureReport:
    """What `data_purge` would erase, counted; nothing changes."""
    return _erase(plan.candidate_ids, dry_run=True)


def data_purge(
    *,
    plan: PurgePlan,
    actor: Any = None,
    batch_size: int = 50,
    progress: Callable[[int], None] | None = None,
) -> ErasureReport:
    """Erase the plan's candidates (in batches, one transaction each, so a long purge can stop
    and resume) and delete webhook deliveries older than the cutoff."""
    total = ErasureReport()
    for start in range(0, len(plan.candidate_ids), batch_size):
        batch = plan.candidate_ids[start : start + batch_size]
        # Only those still there: a rerun after an interruption skips what is done.
        present = list(Candidate.objects.filter(pk__in=batch).values_list("pk", flat=True))
        if present:
            total.add(_erase(present, dry_run=False))
        if progress is not None:
            progress(len(batch))
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=plan.cutoff).delete()
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.DATA_PURGED,
            target_type="retention",
            target_id=plan.cutoff.date().isoformat(),
            details={**total.counts(), "cutoff": plan.cutoff.isoformat(), "old_webhook_deliveries": deleted},
        )
    return total


# --- the optional self-reported group -------------------------------------------------------------


def demographic_options() -> list[str]:
    return list(settings.INTERVIEW_DEMOGRAPHIC_GROUPS)


def candidate_self_report(*, token: str, group: object, consent: object) -> dict[str, Any]:
    """The candidate's own answer on the consent screen: a group with consent, or nothing (no
    consent, or `group` null: declined or withdrawn, which clears an earlier answer)."""
    invitation = links.read_token(token, now=timezone.now())
    if consent is True and group is not None:
        if not isinstance(group, str) or not group.strip() or len(group.strip()) > MAX_DEMOGRAPHIC_GROUP_CHARS:
            raise InterviewError(
                ErrorCode.INVALID_FIELD, f"group must be 1-{MAX_DEMOGRAPHIC_GROUP_CHARS} characters", field="group"
            )
        value: str | None = group.strip()
        options = demographic_options()
        if options and value not in options:
            raise InterviewError(ErrorCode.INVALID_FIELD, "group must be one of the offered options", field="group")
        consented_at: datetime | None = timezone.now()
    elif consent not in (True, False):
        raise InterviewError(ErrorCode.INVALID_FIELD, "consent must be true or false", field="consent")
    else:
        value, consented_at = None, None
    Candidate.objects.filter(pk=invitation.candidate_id).update(
        demographic_group=value, demographic_consent_at=consented_at
    )
    return {"group": value, "consented": value is not None, "options": demographic_options()}


def candidate_self_report_state(*, token: str) -> dict[str, Any]:
    invitation = links.read_token(token, now=timezone.now())
    group = invitation.candidate.demographic_group
    return {"group": group, "consented": group is not None, "options": demographic_options()}
