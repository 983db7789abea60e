"""Shared fixtures: invitations, a fresh in-memory channel layer per test, the in-process worker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from ai_service.providers import embedded
from interview_rt.interviews import ai, events, links, services, worker
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewSession, InterviewInvitation


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    # The in-memory layer's queues belong to one event loop; each test has its own loop.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
async def stop_inprocess_worker() -> AsyncIterator[None]:
    yield
    task = worker._inprocess
    # Cancel until it is done, bounded: a test must never hang on teardown.
    for _ in range(50):
        if task is None or task.done():
            break
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    worker._inprocess = None
    worker._inprocess_loop = None
    sender = events._sender
    if sender is not None and not sender.done():
        sender.cancel()
    events._loop = events._outbox = events._sender = None
    ai.reset()


@pytest.fixture
def make_invitation(db: Any) -> Callable[..., tuple[InterviewInvitation, str]]:
    def make(**overrides: Any) -> tuple[InterviewInvitation, str]:
        options: dict[str, Any] = {
            "candidate_name": "Ada Lovelace",
            "candidate_email": "ada@example.com",
            "job_title": "Backend Engineer",
            "job_description": "Python and Django APIs on PostgreSQL",
            "skills": ["python", "django", "postgresql"],
            "interview_type": "technical",
            "difficulty": "medium",
            "question_count": 3,
        }
        options.update(overrides)
        invitation = services.invitation_create(**options)
        return invitation, links.make_token(invitation)

    return make


@pytest.fixture
def amake_invitation(make_invitation: Callable[..., tuple[InterviewInvitation, str]]) -> Callable[..., Any]:
    async def make(**overrides: Any) -> tuple[InterviewInvitation, str]:
        return await database_sync_to_async(make_invitation)(**overrides)

    return make


def expired(invitation: InterviewInvitation) -> None:
    invitation.expires_at = invitation.expires_at - timedelta(days=365)
    invitation.save(update_fields=["expires_at"])


class _InflightPushes:
    """Counts calls in flight through interview_rt.interviews.events.async_to_sync: the pushes
    (group_send) and nudges (layer.send) that worker threads make after a commit."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, fn: Any) -> Any:
        inner = self.real(fn)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.count += 1
            try:
                return inner(*args, **kwargs)
            finally:
                with self.lock:
                    self.count -= 1

        return call


def _background_work_left() -> bool:
    if AIInterviewResponse.objects.filter(evaluation_status="pending").exists():
        return True
    return (
        AIInterviewSession.objects.filter(questions_ready=False).exclude(status__in=("completed", "expired")).exists()
    )


@pytest.fixture
async def background_work_settles(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Let the in-process worker finish what a test started before the test's event loop closes.

    Otherwise a worker thread that commits just as the test ends calls async_to_sync() towards the
    closing loop and waits forever; it is asgiref's single thread-sensitive executor, so every later
    database_sync_to_async() in the process hangs behind it (tests/conftest.py cancels the worker
    task but cannot stop its thread)."""
    pushes = _InflightPushes(events.async_to_sync)
    monkeypatch.setattr(events, "async_to_sync", pushes)
    yield
    deadline = time.monotonic() + 10
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        busy = pushes.count > 0 or await database_sync_to_async(_background_work_left)()
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.02)


@pytest.fixture
def model_free_ai(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the protocol, not about grading or question choice: run the embedded
    provider without its sentence-embedding model (lexical grader, keyword question ranking), so
    no model load (seconds, more on a busy machine) delays the first question and the file stays
    fast and independent of the model. tests/consumers and tests/ai_service cover the model."""
    settings.AI_PROVIDERS = {
        "default": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider", "OPTIONS": {"grader": "lexical"}}
    }
    monkeypatch.setattr(embedded, "_embedding_fit", lambda context, pool: None)
    ai.reset()
