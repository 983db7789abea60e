"""Rate limits: frames on one socket, connects per token and per address, the public endpoints and
staff password checks per address; `rate_limited` with `retry_after` (a 429 with Retry-After over
REST, an error frame on the socket, close 4429 for a refused connect); buckets shared through Redis
across processes; not enforced (and no error) while Redis is down."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from interview_rt.runtime.ratelimit import Limiter, limiter

from .consumers.helpers import Candidate
from .test_socket_bad_input import expect_error, open_interview

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def limits(settings: Any) -> Iterator[dict[str, str]]:
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {
        "socket_frame": "5/0.01",
        "socket_connect_token": "2/0.01",
        "socket_connect_ip": "100/0.01",
        "public_ip": "3/0.01",
        "login_ip": "2/0.01",
    }
    limiter.reset()
    yield settings.RATE_LIMITS
    limiter.reset()


async def test_frames_on_one_socket_beyond_the_burst_are_refused(limits: Any, amake_invitation: Any) -> None:
    _, c, _ = await open_interview(amake_invitation)
    for i in range(4):  # open_interview's connect took no frame tokens; 5 frames fit the burst
        await c.send({"type": "ping", "ref": i})
        assert (await c.recv("pong"))["ref"] == i
    await c.send({"type": "ping", "ref": 4})
    await c.recv("pong")
    for _ in range(3):
        await c.send({"type": "answer.submit", "client_id": "flood", "question_id": str(uuid.uuid4()), "text": "x"})
        error = await expect_error(c, "rate_limited")
        assert error["retry_after"] >= 1 and error["client_id"] == "flood"
    await c.close()


async def test_connects_with_one_token_beyond_the_burst_close_4429(limits: Any, amake_invitation: Any) -> None:
    _, token = await amake_invitation()
    for _ in range(2):
        c = Candidate(token)
        await c.connect()
        await c.close()
    refused = Candidate(token)
    connected, _ = await refused.comm.connect(timeout=30)
    assert connected
    error = await refused.recv("error")
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    assert await refused.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4429}
    await refused.comm.disconnect(code=4429)


async def test_public_endpoints_per_address_answer_429_with_retry_after(limits: Any) -> None:
    client = AsyncClient()
    for _ in range(3):
        response = await client.get("/api/interviews/access/forged/")
        assert response.status_code == 403
    response = await client.post("/api/ai-interview/start/", data={"token": "x"}, content_type="application/json")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "rate_limited" and body["retry_after"] >= 1
    assert int(response["Retry-After"]) == body["retry_after"]


async def test_staff_password_checks_per_address_are_limited(limits: Any) -> None:
    await get_user_model().objects.acreate_superuser(username="boss", email="b@example.com", password="right")
    wrong = "Basic " + base64.b64encode(b"boss:wrong").decode()
    client = AsyncClient()
    for _ in range(2):
        assert (await client.get("/api/ai-interview/sessions/", headers={"Authorization": wrong})).status_code == 401
    response = await client.get("/api/ai-interview/sessions/", headers={"Authorization": wrong})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and response.json()["retry_after"] >= 1
    login = await client.post("/admin/login/", {"username": "boss", "password": "wrong"})
    assert login.status_code == 429, (login.status_code, login.content[:300])


def test_buckets_are_shared_through_redis_across_processes(settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = True
    settings.REDIS_URL = REDIS
    settings.RATE_LIMIT_PREFIX = f"test-rl-{uuid.uuid4().hex[:8]}"
    settings.RATE_LIMITS = {"public_ip": "3/0.01"}
    one, two = Limiter(), Limiter()  # two processes' limiters
    try:
        assert [one.hit("public_ip", "1.2.3.4"), two.hit("public_ip", "1.2.3.4"), one.hit("public_ip", "1.2.3.4")] == [
            None,
            None,
            None,
        ]
        wait = two.hit("public_ip", "1.2.3.4")
        assert wait is not None and wait > 1
        assert one.hit("public_ip", "5.6.7.8") is None
    finally:
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{settings.RATE_LIMIT_PREFIX}:*"):
            client.delete(key)


async def test_async_buckets_share_redis_with_sync_ones(settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = True
    settings.REDIS_URL = REDIS
    settings.RATE_LIMIT_PREFIX = f"test-rl-{uuid.uuid4().hex[:8]}"
    settings.RATE_LIMITS = {"socket_connect_token": "2/0.01"}
    sync, other = Limiter(), Limiter()
    try:
        assert await other.ahit("socket_connect_token", "tok") is None
        assert sync.hit("socket_connect_token", "tok") is None
        assert (await other.ahit("socket_connect_token", "tok") or 0) > 1
    finally:
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{settings.RATE_LIMIT_PREFIX}:*"):
            client.delete(key)


async def test_limits_are_not_enforced_while_redis_is_down(settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = True
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.RATE_LIMITS = {"public_ip": "1/0.01"}
    down = Limiter()
    assert [down.hit("public_ip", "a") for _ in range(3)] == [None, None, None]
    assert [await down.ahit("public_ip", "a") for _ in range(3)] == [None, None, None]
