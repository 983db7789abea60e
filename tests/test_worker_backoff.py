"""The AI worker's retry helper (tenacity): a growing, capped pause; one log line when a call starts
failing and one when it works again; it gives up only when told to stop."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from interview_rt.interviews.worker import until_it_works


async def test_a_failing_call_is_retried_until_it_works(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.AI_WORKER_MAX_BACKOFF_SECONDS = 0.01
    calls = {"n": 0}

    async def flaky() -> int:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise ConnectionError("Connection refused")
        return 7

    with caplog.at_level(logging.WARNING, logger="interview_rt.interviews.worker"):
        assert await until_it_works("thing", flaky, stopped=lambda: False) == 7
    assert calls["n"] == 4
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "thing failed (ConnectionError: Connection refused); retrying with backoff",
        "thing works again after 3 failed attempts",
    ]


async def test_a_stop_ends_the_retries(settings: Any) -> None:
    settings.AI_WORKER_MAX_BACKOFF_SECONDS = 0.01
    calls = {"n": 0}

    async def down() -> int:
        calls["n"] += 1
        raise ConnectionError("still down")

    assert await until_it_works("thing", down, stopped=lambda: calls["n"] >= 2) is None
    assert calls["n"] == 2


async def test_the_pause_doubles_from_0_4_s_up_to_the_cap(settings: Any) -> None:
    settings.AI_WORKER_MAX_BACKOFF_SECONDS = 5.0
    pauses: list[float] = []

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def down() -> None:
        raise ConnectionError("down")

    await until_it_works("thing", down, stopped=lambda: len(pauses) >= 6, sleep=no_sleep)
    assert pauses == pytest.approx([0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
