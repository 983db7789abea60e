"""The scale-out shape with real parts: PostgreSQL, Redis (channels-redis), two daphne processes
and a separate AI worker process. A candidate starts on one server, drops, and finishes on the
other; the worker, not the web processes, grades every answer."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import redis
import websockets

from interview_rt.interviews.constants import CONSENT_NOTICE_VERSION
from interview_rt.interviews.schemas import staff_server_frame_adapter

from .conftest import ROOT, Server, free_port
from .test_daphne_interview import ANSWER, run_interview

pytestmark = pytest.mark.slow

PG_ADMIN = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL database, dropped afterwards."""
    name = f"interview_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


# Both channels-redis layers serve an interview across servers; the list layer is the default
# because the pub/sub one silently misses messages across a Redis restart (docs/performance.md).
@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_two_servers_and_a_worker_over_redis_and_postgres(
    server_factory: Any, postgres_url: str, redis_prefix: str, tmp_path: Any, layer: str
) -> None:
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS,
        "REDIS_LAYER": layer,
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


async def test_admin_on_one_server_watches_a_candidate_on_another(
    server_factory: Any, postgres_url: str, redis_prefix: str, tmp_path: Any
) -> None:
    """The staff feed, drafts and actions cross processes over Redis: the admin's socket is on the
    first daphne, the candidate's on the second, the grades come from the worker process."""
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS,
        "CHANNELS_REDIS_PREFIX": redis_prefix,
        "AI_WORKER_INPROCESS": "0",
    }
    first = server_factory(**env)
    second = Server(first.env, free_port())
    staff_token = first.create_staff("watcher", "pw-watcher-1", role="admin")
    link = first.create_interview(questions=1, type="technical")
    worker_log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "ai_worker"], cwd=ROOT, env=first.env, stdout=worker_log, stderr=subprocess.STDOUT
    )
    staff_frames: list[dict[str, Any]] = []

    async def staff_until(ws: Any, predicate: Any) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            staff_server_frame_adapter.validate_python(frame)
            staff_frames.append(frame)
            if predicate(frame):
                return frame

    async def cand_until(ws: Any, frame_type: str) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["type"] == frame_type:
                return frame

    try:
        first.start()
        second.start()
        async with (
            websockets.connect(f"{first.ws}/ws/admin/live/?token={staff_token}") as admin,
            websockets.connect(f"{second.ws}/ws/interview/{link['token']}/") as cand,
        ):
            assert (await staff_until(admin, lambda f: True))["type"] == "feed.snapshot"
            state = await cand_until(cand, "session.state")
            assert state["session"]["awaiting"] == "consent"
            sid = state["session"]["id"]
            await cand.send(json.dumps({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION}))
            question = (await cand_until(cand, "question.asked"))["question"]
            await admin.send(json.dumps({"type": "watch", "session_id": sid}))
            transcript = await staff_until(admin, lambda f: f["type"] == "watch.transcript")
            assert [i["question"]["id"] for i in transcript["items"]] == [question["id"]]
            # A draft typed on the second server reaches the admin on the first.
            await cand.send(json.dumps({"type": "answer.draft", "question_id": question["id"], "text": "Use an"}))
            draft = await staff_until(admin, lambda f: f["type"] == "answer.draft")
            assert draft["text"] == "Use an"
            # An action taken on the first server reaches the candidate on the second.
            await admin.send(json.dumps({"type": "candidate.message", "session_id": sid, "text": "Hello"}))
            assert (await cand_until(cand, "interviewer.message"))["text"] == "Hello"
            await cand.send(
                json.dumps({"type": "answer.submit", "client_id": "c1", "question_id": question["id"], "text": ANSWER})
            )
            received = await staff_until(admin, lambda f: f["type"] == "answer.received")
            assert received["answer"]["text"] == ANSWER
            graded = await staff_until(admin, lambda f: f["type"] == "answer.feedback")  # from the worker
            assert graded["feedback"]["evaluation_status"] == "done"
            await staff_until(admin, lambda f: f["type"] == "interview.completed")
        # Feed frames (they carry `progress`) came once each, in seq order, from three processes;
        # those up to the transcript's seq came as the transcript instead.
        seqs = [f["seq"] for f in staff_frames if f.get("session_id") == sid and "progress" in f]
        covered = transcript["seq"]
        assert seqs == sorted(set(seqs)), seqs
        assert sorted(set(seqs) | set(range(1, covered + 1))) == list(range(1, seqs[-1] + 1)), (seqs, covered)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        second.stop()


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
