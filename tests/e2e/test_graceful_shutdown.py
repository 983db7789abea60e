"""SIGTERM to a real server mid-interview: it stops accepting, closes the candidate's socket with
1012, gives back the lease of the evaluation it was running (so another worker takes it at once,
not after the lease expires), and exits; the candidate reconnects to a second server and the
interview completes there, each answer stored and graded once. PostgreSQL and Redis, like
tests/e2e/test_scale_out.py."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import psycopg
import pytest
import websockets

from tests.ai_service.conftest import start_reference_server

from .conftest import Server, free_port
from .test_daphne_interview import ANSWER
from .test_scale_out import REDIS, postgres_url, redis_prefix  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def claimed(postgres: str, client_id: str) -> tuple[Any, ...] | None:
    with psycopg.connect(postgres) as conn:
        return conn.execute(
            "SELECT claimed_at, attempts, evaluation_status FROM interviews_aiinterviewresponse WHERE client_id = %s",
            (client_id,),
        ).fetchone()


async def next_frame(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 60)))


async def test_sigterm_mid_interview_and_the_interview_completes_on_another_server(
    server_factory: Any,
    postgres_url: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
) -> None:
    slow = start_reference_server()  # made slow once the questions exist: A's evaluation never finishes
    fast = start_reference_server()
    try:
        common = {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS,
            "CHANNELS_REDIS_PREFIX": redis_prefix,
            "AI_WORKER_INPROCESS": "1",  # each server grades: A holds a lease when it gets SIGTERM
            "AI_PROVIDER": "http",
            "AI_MODEL_READ_TIMEOUT": "120",
            "AI_MODEL_TOTAL_TIMEOUT": "120",
            "AI_MODEL_MAX_FOLLOW_UPS": "0",
            "AI_WARM_UP": "0",
            # A lease that is not given back would block the interview for ten minutes.
            "AI_JOB_LEASE_SECONDS": "600",
            "SHUTDOWN_GRACE_SECONDS": "1",
            # This test is about the shutdown, not consent (tests/e2e/test_daphne_interview.py).
            "INTERVIEW_REQUIRE_CONSENT": "0",
        }
        a = server_factory(**common, AI_MODEL_API_ENDPOINT=slow.url)
        link = a.create_interview(questions=2, type="technical")
        a.start()
        token = link["token"]
        async with websockets.connect(f"{a.ws}/ws/interview/{token}/") as ws:
            snapshot = await next_frame(ws)
            last_seq = snapshot["seq"]
            question = snapshot["session"]["current_question"]
            while question is None:
                frame = await next_frame(ws)
                last_seq = frame["seq"]
                question = frame.get("question")
            slow.control(fault="latency", latency_ms=30000)
            await ws.send(
                json.dumps({"type": "answer.submit", "client_id": "q1", "question_id": question["id"], "text": ANSWER})
            )
            ack = await next_frame(ws)
            assert ack["type"] == "answer.accepted"
            last_seq = ack["seq"]
            # Wait (bounded by a count) until A's worker has claimed the evaluation: it is now
            # waiting on the slow model.
            for _ in range(300):
                row = claimed(postgres_url, "q1")
                if row is not None and row[0] is not None:
                    break
                await asyncio.sleep(0.1)
            assert row is not None and row[0] is not None and row[1] == 1 and row[2] == "pending"

            assert a.proc is not None
            a.proc.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await next_frame(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert a.proc.wait(timeout=60) == 0
        log = a.log_path.read_text(errors="replace")
        assert "stopped accepting" in log and "closed 1 candidate sockets with 1012" in log
        # The lease was given back: the answer is pending and unclaimed, ready for any worker.
        row = claimed(postgres_url, "q1")
        assert row is not None and row[0] is None and row[2] == "pending"

        # The candidate reconnects, to another server, with the last seq it saw.
        b = Server({**a.env, "AI_MODEL_API_ENDPOINT": fast.url}, free_port(), name="daphne-b")
        b.start()
        try:
            answered = {question["id"]}
            seen: list[int] = []
            async with websockets.connect(f"{b.ws}/ws/interview/{token}/?last_seq={last_seq}") as ws:
                while True:
                    frame = await next_frame(ws)
                    if frame["type"] == "session.state":
                        current = frame["session"]["current_question"]
                        if current and current["id"] not in answered:
                            frame = {"type": "question.asked", "seq": None, "question": current}
                    else:
                        seen.append(frame["seq"])
                    if frame["type"] == "question.asked" and frame["question"]["id"] not in answered:
                        answered.add(frame["question"]["id"])
                        await ws.send(
                            json.dumps(
                                {
                                    "type": "answer.submit",
                                    "client_id": f"q{len(answered)}",
                                    "question_id": frame["question"]["id"],
                                    "text": ANSWER,
                                }
                            )
                        )
                    if frame["type"] == "interview.completed":
                        break
            assert seen == list(range(last_seq + 1, seen[-1] + 1)), seen  # nothing missed, nothing twice
        finally:
            b.stop()
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                "SELECT client_id, evaluation_status, attempts FROM interviews_aiinterviewresponse ORDER BY client_id"
            ).fetchall()
        assert [(c, s) for c, s, _ in rows] == [("q1", "done"), ("q2", "done")]
        assert dict((c, n) for c, _, n in rows)["q1"] == 2  # A's attempt, released; B's, stored
    finally:
        slow.stop()
        fast.stop()
