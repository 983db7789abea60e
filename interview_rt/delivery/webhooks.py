"""Signed webhooks out of a queue kept in the database.

- `webhook_enqueue` adds one delivery per subscribed endpoint, inside the caller's transaction
  (the completion or review that caused it commits with its deliveries, or neither does); the
  callers are the receivers of the lifecycle's and review's signals (`receivers.py`);
- `webhook_claim_due` leases due deliveries and signs them (webhook_signature.py) for sending;
- `webhook_record` logs an attempt and either marks the delivery delivered, schedules the next
  attempt with exponential backoff, or gives up after WEBHOOK_MAX_ATTEMPTS;
- `webhook_deliver_due` is the whole loop with a blocking HTTP client (`manage.py
  deliver_webhooks`); the server runtime runs the same steps with an async client
  (`interview_rt/delivery/sender.py`, a task of the runtime).

The queue survives restarts: a delivery is a row; a sender that dies mid-attempt leaves a lease
that lapses after WEBHOOK_LEASE_SECONDS, and the next sender retakes it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from interview_rt.interviews import payloads
from interview_rt.interviews.constants import DeliveryStatus, WebhookEvent
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewResult, AIInterviewSession
from interview_rt.review.models import AnswerReview

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .webhook_signature import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

USER_AGENT = "interview-rt-webhooks/1"

# --- events ---------------------------------------------------------------------------------------


def _candidate(session: AIInterviewSession) -> dict[str, Any]:
    c = session.invitation.candidate
    return {"id": c.pk, "name": c.name, "email": c.email}


def _job(session: AIInterviewSession) -> dict[str, Any]:
    j = session.invitation.job
    return {"id": j.pk, "title": j.title}


def report_path(session_id: object) -> str:
    return f"/staff/sessions/{session_id}/report/"


def completed_event(
    session: AIInterviewSession, result: AIInterviewResult, answers: Sequence[AIInterviewResponse]
) -> dict[str, Any]:
    """webhook_enqueue's arguments for `interview.completed`; `answers` need `r.question`. The
    data is built only if an endpoint wants it (a completion without webhooks costs one query)."""
    return {
        "event": WebhookEvent.INTERVIEW_COMPLETED,
        "candidate_id": session.invitation.candidate_id,
        "data": lambda: {
            "session_id": str(session.pk),
            "candidate": _candidate(session),
            "job": _job(session),
            "started_at": session.started_at.isoformat() if session.started_at else None,
            "completed_at": session.completed_at.isoformat() if session.completed_at else None,
            "result": payloads.result_payload(result),
            "answers": [
                {
                    "response_id": str(r.pk),
                    "question_id": str(r.question_id),
                    "order": r.question.order,
                    "competency": r.question.competency,
                    "score": r.score,
                    "insufficient_evidence": r.insufficient_evidence,
                }
                for r in answers
            ],
            "report_path": report_path(session.pk),
        },
    }


def answer_reviewed_event(review: AnswerReview) -> dict[str, Any]:
    response = review.response
    session = response.session
    return {
        "event": WebhookEvent.ANSWER_REVIEWED,
        "candidate_id": session.invitation.candidate_id,
        "data": {
            "review_id": review.pk,
            "session_id": str(session.pk),
            "response_id": str(response.pk),
            "question_id": str(response.question_id),
            "candidate": _candidate(session),
            "job": _job(session),
            "ai_score": review.ai_score,
            "human_score": review.score,
            "note": review.note,
            "reviewer": review.reviewer_name,
            "reviewed_at": review.created_at.isoformat(),
        },
    }


def result_reviewed_event(result: AIInterviewResult) -> dict[str, Any]:
    session = AIInterviewSession.objects.select_related("invitation__candidate", "invitation__job").get(
        pk=result.session_id
    )
    return {
        "event": WebhookEvent.RESULT_REVIEWED,
        "candidate_id": session.invitation.candidate_id,
        "data": {
            "session_id": str(session.pk),
            "candidate": _candidate(session),
            "job": _job(session),
            "overall_score": result.overall_score,
            "recommendation": result.recommendation,
            "human_score": result.human_score,
            "final_decision": result.final_decision or None,
            "notes": result.review_notes,
            "reviewer": result.reviewer.get_username() if result.reviewer else None,
            "reviewed_at": result.reviewed_at.isoformat() if result.reviewed_at else None,
        },
    }


def webhook_enqueue(
    *,
    event: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    candidate_id: int | None = None,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """One pending delivery of `event` per active endpoint subscribed to it (none: nothing).
    `data` may be a function, called only when some endpoint wants the event."""
    now = now or timezone.now()
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if not e.events or event in e.events]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    body = data() if callable(data) else data
    payload = {"id": str(event_id), "type": str(event), "created_at": now.isoformat(), "data": body}
    return WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=e,
                event_id=event_id,
                event=str(event),
                payload=payload,
                candidate_id=candidate_id,
                next_attempt_at=now,
            )
            for e in endpoints
        ]
    )


# --- sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingWebhook:
    """A claimed delivery, signed and ready to POST."""

    delivery_id: uuid.UUID
    attempt: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str = ""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _due(now: datetime) -> Any:
    return WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    )


def webhook_claim_due(*, now: datetime | None = None, limit: int = 20) -> list[OutgoingWebhook]:
    """Lease up to `limit` due deliveries (a conditional UPDATE each, so two senders never send
    the same attempt) and sign them with the current time."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    out: list[OutgoingWebhook] = []
    for pk in _due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        if not _due(now).filter(pk=pk).update(claimed_until=lease, attempts=F("attempts") + 1):
            continue  # another sender took it
        d = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
        body = body_of(d.payload)
        out.append(
            OutgoingWebhook(
                delivery_id=d.pk,
                attempt=d.attempts,
                url=d.endpoint.url,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    EVENT_HEADER: d.event,
                    DELIVERY_HEADER: str(d.event_id),
                    SIGNATURE_HEADER: sign(d.endpoint.secret, int(time.time()), body),
                },
            )
        )
    return out


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base ... capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def webhook_record(
    *, delivery_id: uuid.UUID | str, attempt: int, outcome: Outcome, now: datetime | None = None
) -> WebhookDelivery | None:
    """Log one attempt and move the delivery on: delivered, retried later, or failed for good."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:  # erased meanwhile
        return None
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=attempt,
        started_at=now,
        status_code=outcome.status_code,
        error=outcome.error[:300],
        duration_ms=round(outcome.duration_ms, 2),
    )
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:300]
    delivery.claimed_until = None
    if delivery.status != DeliveryStatus.PENDING:
        pass  # cancelled while in flight: keep the log, change nothing else
    elif outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    return delivery


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def send(client: httpx.Client, webhook: OutgoingWebhook) -> Outcome:
    started = time.perf_counter()
    try:
        response = client.post(webhook.url, content=webhook.body, headers=webhook.headers)
    except httpx.HTTPError as exc:
        return Outcome(None, _describe(exc), (time.perf_counter() - started) * 1000)
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return Outcome(response.status_code, error, (time.perf_counter() - started) * 1000)


async def send_async(client: httpx.AsyncClient, webhook: OutgoingWebhook) -> Outcome:
    started = time.perf_counter()
    try:
        response = await client.post(webhook.url, content=webhook.body, headers=webhook.headers)
    except httpx.HTTPError as exc:
        return Outcome(None, _describe(exc), (time.perf_counter() - started) * 1000)
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return Outcome(response.status_code, error, (time.perf_counter() - started) * 1000)


def client_options() -> dict[str, Any]:
    # Redirects are not followed: a signed body must reach the URL it was configured for.
    return {"timeout": settings.WEBHOOK_TIMEOUT_SECONDS, "follow_redirects": False}


@dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def webhook_deliver_due(
    *, now: datetime | None = None, limit: int = 500, client: httpx.Client | None = None
) -> DeliveryRun:
    """Send everything due now, one attempt each, with a blocking client (commands, cron)."""
    run = DeliveryRun()
    own = client is None
    http = client or httpx.Client(**client_options())
    try:
        while run.attempted < limit:
            batch = webhook_claim_due(now=now, limit=min(20, limit - run.attempted))
            if not batch:
                break
            for webhook in batch:
                outcome = send(http, webhook)
                delivery = webhook_record(
                    delivery_id=webhook.delivery_id, attempt=webhook.attempt, outcome=outcome, now=now
                )
                tally(run, delivery, outcome)
    finally:
        if own:
            http.close()
    return run


def tally(run: DeliveryRun, delivery: WebhookDelivery | None, outcome: Outcome) -> None:
    if delivery is None:
        return
    if delivery.status == DeliveryStatus.DELIVERED:
        run.delivered += 1
    elif delivery.status == DeliveryStatus.FAILED:
        run.failed += 1
    else:
        run.retrying += 1
    if not outcome.ok:
        run.errors.append(f"{delivery.endpoint_id}: {outcome.error}")


def webhook_retry(*, delivery_ids: Sequence[uuid.UUID | str], now: datetime | None = None) -> int:
    """Staff 'send again now' (admin action): failed or pending deliveries become due at once."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        pk__in=delivery_ids, status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=now, claimed_until=None)


def webhook_cancel(*, delivery_ids: Sequence[uuid.UUID | str]) -> int:
    return WebhookDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, claimed_until=None
    )
