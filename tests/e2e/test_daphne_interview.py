"""A full interview against a real daphne process, with a real WebSocket client (`websockets`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets

from interview_rt.interviews.constants import CONSENT_NOTICE_VERSION

from .conftest import Server

pytestmark = pytest.mark.slow

ANSWER = (
    "I would add an index on the filtered columns, check the query plan with EXPLAIN, cache hot reads "
    "in Redis with a TTL, and use a connection pool so requests do not open new connections."
)


async def run_interview(
    server: Server, token: str, *, drop_after_first_ack: bool = False, resume_on: Server | None = None
) -> dict[str, Any]:
    """Answer every question as it comes; optionally drop the socket after the first ack and
    reconnect with `last_seq`. Checks every logged frame arrives once, in seq order."""
    last_seq: int | None = None
    received: list[int] = []
    answered = 0
    timings: list[float] = []
    sent_at = 0.0
    url = f"{server.ws}/ws/interview/{token}/"
    while True:
        async with websockets.connect(url + (f"?last_seq={last_seq}" if last_seq is not None else "")) as ws:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
                question = None
                if frame["type"] == "session.state":
                    if last_seq is None:
                        last_seq = frame["seq"]
                    question = frame["session"]["current_question"]
                    if frame["session"]["awaiting"] == "consent":
                        await ws.send(json.dumps({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION}))
                else:
                    assert last_seq is not None and frame["seq"] == last_seq + 1, (frame, last_seq)
                    last_seq = frame["seq"]
                    received.append(frame["seq"])
                if frame["type"] == "question.asked":
                    question = frame["question"]
                if frame["type"] == "answer.feedback":
                    timings.append(time.perf_counter() - sent_at)
                if frame["type"] == "interview.completed":
                    return {"frames": received, "last_seq": last_seq, "result": frame["result"], "feedback_s": timings}
                if question is not None and question["order"] == answered:
                    answered += 1
                    sent_at = time.perf_counter()
                    await ws.send(
                        json.dumps(
                            {
                                "type": "answer.submit",
                                "client_id": f"c{answered}",
                                "question_id": question["id"],
                                "text": ANSWER,
                            }
                        )
                    )
                if frame["type"] == "answer.accepted" and drop_after_first_ack:
                    drop_after_first_ack = False
                    if resume_on is not None:
                        url = f"{resume_on.ws}/ws/interview/{token}/"
                    break  # reconnect with last_seq: the feedback must come from the log


async def test_full_interview_over_real_daphne(server_factory: Any) -> None:
    server = server_factory()
    link = server.create_interview(questions=4, type="mixed")
    server.start()
    outcome = await run_interview(server, link["token"], drop_after_first_ack=True)
    frames = outcome["frames"]
    assert frames == list(range(frames[0], outcome["last_seq"] + 1))
    assert len(outcome["feedback_s"]) == 4
    assert outcome["result"]["recommendation"]
    # The results are visible over REST to staff only.
    async with httpx.AsyncClient(base_url=server.http) as client:
        access = await client.get(f"/api/interviews/access/{link['token']}/")
        assert access.status_code == 200
        session_id = access.json()["session_id"]
        denied = await client.get(f"/api/ai-interview/sessions/{session_id}/results/")
        assert denied.status_code in (401, 403) and denied.json()["code"]


async def test_forged_token_is_closed_with_4401(server_factory: Any) -> None:
    server = server_factory()
    link = server.create_interview(questions=1)
    server.start()
    forged = link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB")
    async with websockets.connect(f"{server.ws}/ws/interview/{forged}/") as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["type"] == "error" and frame["code"] == "link_invalid"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_frame_over_daphnes_limit_gets_frame_too_large_and_1009_on_both_sockets(server_factory: Any) -> None:
    server = server_factory()
    link = server.create_interview(questions=1)
    staff_token = server.create_staff("big-frames", "big-frames-pass-1")
    server.start()
    huge = json.dumps({"type": "ping", "ref": "huge", "pad": "x" * (1024 * 1024 + 10)})
    for url in (f"{server.ws}/ws/interview/{link['token']}/", f"{server.ws}/ws/admin/live/?token={staff_token}"):
        async with websockets.connect(url) as ws:
            await asyncio.wait_for(ws.recv(), 60)  # the snapshot: the socket is open
            await ws.send(huge)
            frames = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
        errors = [f for f in frames if f["type"] == "error"]
        assert [e["code"] for e in errors] == ["frame_too_large"], frames
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009, (url, closed.value)
    # The server is fine afterwards: the candidate reconnects and gets its snapshot.
    async with websockets.connect(f"{server.ws}/ws/interview/{link['token']}/") as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] == "session.state"
