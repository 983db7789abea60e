"""The scale-out shape with real parts: PostgreSQL, Redis (channels-redis), two daphne processes
and a separate AI worker process. A candidate starts on one server, drops, and finishes on the
other; the worker, not the web processes, grades every answer."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis

from .conftest import ROOT, Server, free_port
from .test_daphne_interview import run_interview

pytestmark = pytest.mark.slow

PG_ADMIN = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"interview_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


async def test_two_servers_and_a_worker_over_redis_and_postgres(
    server_factory: Any, postgres_url: str, redis_prefix: str, tmp_path: Any
) -> None:
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS,
        "CHANNELS_REDIS_PREFIX": redis_prefix,
        "AI_WORKER_INPROCESS": "0",
    }
    first = server_factory(**env)
    second = Server(first.env, free_port())
    link = first.create_interview(questions=3, type="technical")
    worker_log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "ai_worker"], cwd=ROOT, env=first.env, stdout=worker_log, stderr=subprocess.STDOUT
    )
    try:
        first.start()
        second.start()
        # Connect to the first server, drop after the first ack, resume on the second.
        outcome = await run_interview(first, link["token"], drop_after_first_ack=True, resume_on=second)
        frames = outcome["frames"]
        assert frames == list(range(frames[0], outcome["last_seq"] + 1))
        assert len(outcome["feedback_s"]) == 3
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        second.stop()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT evaluation_status, provider FROM interviews_aiinterviewresponse").fetchall()
    assert len(rows) == 3 and all(status == "done" for status, _ in rows)


async def test_revoking_on_one_server_closes_the_socket_on_the_other(
    server_factory: Any, postgres_url: str, redis_prefix: str
) -> None:
    import asyncio
    import json

    import httpx
    import websockets

    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS,
        "CHANNELS_REDIS_PREFIX": redis_prefix,
        "AI_WARM_UP": "0",
        "AI_EMBEDDED_GRADER": "lexical",
        "DJANGO_SUPERUSER_PASSWORD": "staff-pass-revoke-1",
    }
    first = server_factory(**env)
    first.manage("createsuperuser", "--noinput", "--username", "staff", "--email", "s@example.com")
    second = Server(first.env, free_port())
    link = first.create_interview(questions=2)
    first.start()
    second.start()
    try:
        async with websockets.connect(f"{first.ws}/ws/interview/{link['token']}/") as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "session.state"
            async with httpx.AsyncClient(base_url=second.http, timeout=30) as staff:
                revoked = await staff.post(
                    f"/api/ai-interview/invitations/{link['invitation_id']}/revoke/",
                    auth=("staff", "staff-pass-revoke-1"),
                )
                assert revoked.status_code == 200, revoked.text
            while (frame := json.loads(await asyncio.wait_for(ws.recv(), 30)))["type"] != "error":
                pass
            assert frame["code"] == "link_revoked"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    finally:
        second.stop()
