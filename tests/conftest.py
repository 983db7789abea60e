"""Shared fixtures: invitations, a fresh in-memory channel layer per test, the in-process worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from interview_rt.interviews import ai, events, links, services, worker
from interview_rt.interviews.models import InterviewInvitation


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
    if task is not None and not task.done():
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
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
