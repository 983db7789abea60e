"""The AI worker's leases and outages: a dead worker's lease is taken over once its heartbeat is
stale (not after the whole lease); a live worker's is not; the worker's loops ride out a channel
layer that fails and a sweep that fails, and go on grading when they come back."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from interview_rt.interviews import selectors, services
from interview_rt.interviews.models import AIInterviewResponse, WorkerBeat
from interview_rt.interviews.worker import AIWorker
from interview_rt.runtime import runtime

from .consumers.helpers import GOOD_ANSWER

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]


async def pending_answer(amake_invitation: Any) -> AIInterviewResponse:
    """An acknowledged answer no worker has seen (the in-process worker is off)."""
    await runtime.stop()
    await runtime.start(inprocess_worker=False)
    _, token = await amake_invitation(question_count=2)
    session = (await database_sync_to_async(services.session_open)(token=token)).session
    await database_sync_to_async(services.session_start)(session_id=session.pk)
    await AIWorker(runtime).generate(str(session.pk))
    question = await database_sync_to_async(lambda: session.questions.get(order=0))()
    receipt = await database_sync_to_async(services.answer_submit)(
        session_id=session.pk, client_id="c1", question_id=question.pk, text=GOOD_ANSWER
    )
    return await AIInterviewResponse.objects.aget(pk=receipt.response_id)


async def leased_by(response: AIInterviewResponse, owner: str, beat_ago: float | None) -> None:
    await AIInterviewResponse.objects.filter(pk=response.pk).aupdate(claimed_at=timezone.now(), claimed_by=owner)
    if beat_ago is not None:
        await WorkerBeat.objects.aupdate_or_create(
            id=owner, defaults={"beat_at": timezone.now() - timedelta(seconds=beat_ago)}
        )


async def pending_ids() -> list[str]:
    return (await database_sync_to_async(selectors.pending_work)())[1]


async def test_a_live_workers_lease_is_left_alone(amake_invitation: Any) -> None:
    response = await pending_answer(amake_invitation)
    await leased_by(response, "host:1:live", beat_ago=0.0)
    assert str(response.pk) not in await pending_ids()
    assert await database_sync_to_async(services.evaluation_claim)(response_id=response.pk, owner="other") is None
    # The pretend live worker never finishes: end its job, or background_work_settles waits 30 s.
    await AIInterviewResponse.objects.filter(pk=response.pk).aupdate(evaluation_status="failed")


@pytest.mark.parametrize("beat_ago", [10.0, None], ids=["stale-heartbeat", "no-heartbeat"])
async def test_a_dead_workers_lease_is_taken_over_at_once(amake_invitation: Any, beat_ago: float | None) -> None:
    response = await pending_answer(amake_invitation)
    await leased_by(response, "host:1:dead", beat_ago=beat_ago)
    assert str(response.pk) in await pending_ids()
    worker = AIWorker(runtime)
    assert await worker.sweep() >= 1
    await worker.drain()
    await response.arefresh_from_db()
    assert response.evaluation_status == "done" and response.claimed_by == worker.id
    await worker.gone()


async def test_a_stopped_worker_removes_its_heartbeat(amake_invitation: Any) -> None:
    await runtime.stop()
    await runtime.start(inprocess_worker=False)
    worker = AIWorker(runtime)
    await worker.alive()
    assert await WorkerBeat.objects.filter(id=worker.id).aexists()
    await worker.gone()
    assert not await WorkerBeat.objects.filter(id=worker.id).aexists()


class FlakyLayer:
    """A channel layer whose receive fails `failures` times (Redis restarting), then waits."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def receive(self, channel: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("Connection refused")
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_worker_rides_out_a_failing_channel_layer_and_database(
    amake_invitation: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.AI_WORKER_MAX_BACKOFF_SECONDS = 0.2
    response = await pending_answer(amake_invitation)
    layer = FlakyLayer(failures=5)
    monkeypatch.setattr("interview_rt.interviews.worker.get_channel_layer", lambda: layer)
    real_pending = selectors.pending_work
    sweeps = {"failed": 0}

    def failing_pending(**kwargs: Any) -> Any:
        if sweeps["failed"] < 3:  # the database is down for the first sweeps
            sweeps["failed"] += 1
            raise ConnectionError("database unavailable")
        return real_pending(**kwargs)

    monkeypatch.setattr(selectors, "pending_work", failing_pending)
    worker = AIWorker(runtime)
    task = asyncio.get_running_loop().create_task(worker.run())
    try:

        async def graded() -> bool:
            await response.arefresh_from_db()
            return response.evaluation_status == "done"

        async def receiving_again() -> bool:
            return layer.calls > layer.failures

        await until(graded)
        await until(receiving_again)
        assert sweeps["failed"] == 3
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
