"""Shared fixtures: invitations, a fresh in-memory channel layer per test, the in-process worker."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from ai_service.providers import embedded
from interview_rt.interviews import links, services
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewSession, InterviewInvitation
from interview_rt.runtime import ai, runtime


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    # The in-memory layer's queues belong to one event loop; each test has its own loop.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
async def server_runtime(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """What the ASGI server does for a process, per test loop: start the runtime (publish step,
    in-process worker) for async tests, and stop it, bounded, afterwards."""
    if inspect.iscoroutinefunction(getattr(request.node, "function", None)):
        # The in-process worker only where the test may use the database (not e2e tests, whose
        # servers run in their own processes).
        uses_db = request.node.get_closest_marker("django_db") is not None or bool(
            {"db", "transactional_db"} & set(request.fixturenames)
        )
        await runtime.start(inprocess_worker=None if uses_db else False)
    yield
    await runtime.stop(timeout=5)
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


def _background_work_left() -> bool:
    if AIInterviewResponse.objects.filter(evaluation_status="pending").exists():
        return True
    return (
        AIInterviewSession.objects.filter(questions_ready=False).exclude(status__in=("completed", "expired")).exists()
    )


@pytest.fixture
async def background_work_settles() -> AsyncIterator[None]:
    """Let the in-process worker finish what a test started before the runtime stops, so a test
    that checks rows afterwards sees them settled (bounded: a stuck job fails the test's own
    assertions, never hangs the suite)."""
    yield
    deadline = time.monotonic() + 30
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        busy = await database_sync_to_async(_background_work_left)()
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.05)


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
