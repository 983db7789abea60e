"""Signed webhooks against a real HTTP receiver on loopback: delivery, signature verification and
replay rejection, retries with exponential backoff from the database queue (a receiver that fails
and then recovers, one that never answers), leases, the runtime's sender, the command in a fresh
process, and the admin's delivery log."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from interview_rt.delivery import webhooks
from interview_rt.delivery.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from interview_rt.delivery.webhook_signature import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    sign,
    verify,
)
from interview_rt.review import reviews

from .trust_helpers import answers_of, interview, staff_client, staff_user

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: answers with the next status of `script` (then 200)."""

    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def status(self) -> int:
        return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.status()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def endpoint(url: str, **kw: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="ats", url=url, **kw)


# --- signatures (pure) -------------------------------------------------------------------------------


def test_signature_verifies_and_rejects_tampering_and_replays() -> None:
    body = b'{"type":"interview.completed"}'
    header = sign("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, body, now=1_700_000_100) == 1_700_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify("s3cret", header, body + b" ", now=1_700_000_100)
    with pytest.raises(SignatureError, match="does not match"):
        verify("other", header, body, now=1_700_000_100)
    with pytest.raises(SignatureError, match="tolerance"):
        verify("s3cret", header, body, now=1_700_000_000 + 301)  # a captured request replayed later
    for bad in (None, "", "v1=abc", "t=x,v1=abc", "t=1700000000"):
        with pytest.raises(SignatureError):
            verify("s3cret", bad, body, now=1_700_000_000)


# --- delivery through the queue -----------------------------------------------------------------------


@pytest.mark.django_db
def test_completion_is_delivered_signed(receiver: Receiver) -> None:
    hook = endpoint(receiver.url)
    session = interview([6.0, 8.0])
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.candidate_id) == (
        "interview.completed",
        "pending",
        session.invitation.candidate_id,
    )
    out = StringIO()
    call_command("deliver_webhooks", stdout=out)
    assert "delivered 1" in out.getvalue()
    [request] = receiver.requests
    assert verify(hook.secret, request.headers[SIGNATURE_HEADER.lower()], request.body, now=time.time())
    assert request.headers[EVENT_HEADER.lower()] == "interview.completed"
    assert request.headers[DELIVERY_HEADER.lower()] == str(delivery.event_id)
    payload = json.loads(request.body)
    assert payload["id"] == str(delivery.event_id) and payload["type"] == "interview.completed"
    data = payload["data"]
    assert data["session_id"] == str(session.pk)
    assert data["candidate"]["email"] == "ada@example.com"
    assert data["result"]["overall_score"] == 7.0
    assert [a["score"] for a in data["answers"]] == [6.0, 8.0]
    assert data["report_path"] == f"/staff/sessions/{session.pk}/report/"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [200]
    # Delivered means done: another pass sends nothing.
    assert webhooks.webhook_deliver_due().attempted == 0


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_exponential_backoff_until_it_recovers(
    receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.script = [500, 503]
    endpoint(receiver.url)
    interview([5.0])
    t0 = timezone.now()
    first = webhooks.webhook_deliver_due(now=t0)
    assert (first.delivered, first.retrying) == (0, 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == t0 + timedelta(seconds=30)
    assert delivery.last_error == "HTTP 500"
    # Not due yet: nothing is sent.
    assert webhooks.webhook_deliver_due(now=t0 + timedelta(seconds=29)).attempted == 0
    t1 = t0 + timedelta(seconds=30)
    assert webhooks.webhook_deliver_due(now=t1).retrying == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t1 + timedelta(seconds=60)  # doubled
    t2 = t1 + timedelta(seconds=60)
    assert webhooks.webhook_deliver_due(now=t2).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True)) == [500, 503, 200]
    # Every attempt carried the same event id and body, freshly signed.
    assert len({r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1


@pytest.mark.django_db
def test_an_unreachable_receiver_fails_for_good_after_the_last_attempt(settings: Any) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint(f"http://127.0.0.1:{port}/")
    interview([5.0])
    now = timezone.now()
    for _ in range(3):
        webhooks.webhook_deliver_due(now=now)
        now += timedelta(hours=1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, None)
    assert "ConnectError" in delivery.last_error
    assert webhooks.webhook_deliver_due(now=now).attempted == 0
    # Staff can send it again (admin action).
    assert webhooks.webhook_retry(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending"


@pytest.mark.django_db
def test_backoff_is_capped(settings: Any) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


@pytest.mark.django_db
def test_a_claim_is_a_lease_that_lapses(receiver: Receiver, settings: Any) -> None:
    settings.WEBHOOK_LEASE_SECONDS = 60
    endpoint(receiver.url)
    interview([5.0])
    now = timezone.now()
    [claimed] = webhooks.webhook_claim_due(now=now)
    assert webhooks.webhook_claim_due(now=now) == []  # another sender gets nothing
    # The first sender died without recording; after the lease another sender retakes it.
    [again] = webhooks.webhook_claim_due(now=now + timedelta(seconds=61))
    assert again.delivery_id == claimed.delivery_id and again.attempt == 2


@pytest.mark.django_db
def test_endpoints_get_only_the_events_they_subscribe_to(receiver: Receiver) -> None:
    endpoint(receiver.url, events=["answer.reviewed"])
    endpoint(receiver.url, active=False)
    session = interview([5.0])
    assert not WebhookDelivery.objects.exists()
    user = staff_user()
    reviews.answer_review(response_id=answers_of(session)[0].pk, reviewer=user, score=8, note="fine")
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "answer.reviewed"
    data = delivery.payload["data"]
    assert (data["ai_score"], data["human_score"], data["note"], data["reviewer"]) == (5.0, 8, "fine", "reviewer")


@pytest.mark.django_db
def test_a_result_review_is_an_event_too(receiver: Receiver) -> None:
    endpoint(receiver.url)
    session = interview([5.0])
    client, _ = staff_client()
    response = client.post(
        f"/api/ai-interview/results/{session.pk}/review/",
        data={"human_score": 6, "final_decision": "hire"},
        content_type="application/json",
    )
    assert response.status_code == 200
    reviewed = WebhookDelivery.objects.get(event="result.reviewed")
    assert reviewed.payload["data"]["final_decision"] == "hire"
    webhooks.webhook_deliver_due()
    assert sorted(r.headers[EVENT_HEADER.lower()] for r in receiver.requests) == [
        "interview.completed",
        "result.reviewed",
    ]


@pytest.mark.django_db
def test_the_admin_shows_the_delivery_log_and_sends_again(receiver: Receiver) -> None:
    receiver.script = [500]
    endpoint(receiver.url)
    interview([5.0])
    webhooks.webhook_deliver_due()
    delivery = WebhookDelivery.objects.get()
    client, _ = staff_client()
    listing = client.get("/admin/delivery/webhookdelivery/")
    assert listing.status_code == 200 and b"interview.completed" in listing.content
    page = client.get(f"/admin/delivery/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and b"HTTP 500" in page.content
    response = client.post(
        "/admin/delivery/webhookdelivery/",
        {"action": "send_again_now", "_selected_action": [str(delivery.pk)]},
    )
    assert response.status_code == 302
    assert webhooks.webhook_deliver_due().delivered == 1


# --- drivers: the runtime's periodic task, and a fresh process --------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_runtime_sends_due_webhooks_by_itself(receiver: Receiver) -> None:
    receiver.script = [502]  # fails once, then recovers
    await WebhookEndpoint.objects.acreate(name="ats", url=receiver.url)
    await database_sync_to_async(interview)([7.0])
    # The first attempt fails; make the retry due at once instead of waiting out the backoff.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await WebhookDelivery.objects.filter(status="delivered").aexists():
            break
        await WebhookDelivery.objects.filter(status="pending", attempts__gte=1, claimed_until__isnull=True).aupdate(
            next_attempt_at=timezone.now()
        )
        await asyncio.sleep(0.1)
    delivery = await WebhookDelivery.objects.aget()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert [r.headers[EVENT_HEADER.lower()] for r in receiver.requests] == ["interview.completed"] * 2


def database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_queue_survives_a_restart_a_new_process_delivers_it(receiver: Receiver) -> None:
    receiver.script = [500]
    endpoint(receiver.url)
    interview([5.0])
    webhooks.webhook_deliver_due()  # this "process" fails once and stops
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "interview_rt.settings.local",
        "DATABASE_URL": database_url(),
        "LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "deliver_webhooks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "delivered 1" in out.stdout
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver.requests) == 2
