"""What only PostgreSQL refuses (NUL in text and jsonb; lone surrogates cannot even be encoded),
through a real daphne on PostgreSQL: answers over the socket and REST are stored cleaned, a
staff filter with NUL is `invalid_field` (a report's job text is cleaned), a Basic login with
NUL is refused (401); no 500, no internal_error. And the embedded default's worker starts with
the server: work pending before the
server started is done with no client."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from .test_scale_out import postgres_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

PASSWORD = "staff-pass-pg-input-1"
TEXT = "A\\ud83d B\\u0000C and an answer about indexes, caching and connection pools."


async def until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return value


async def test_unstorable_text_on_postgres(server_factory: Any, postgres_url: str) -> None:  # noqa: F811
    server = server_factory(
        DATABASE_URL=postgres_url,
        AI_EMBEDDED_GRADER="lexical",
        AI_WARM_UP="0",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        INTERVIEW_REQUIRE_CONSENT="0",
    )
    server.manage("createsuperuser", "--noinput", "--username", "staff", "--email", "s@example.com")
    socket_link = server.create_interview(questions=1)
    rest_link = server.create_interview(questions=1)
    server.start()
    async with websockets.connect(f"{server.ws}/ws/interview/{socket_link['token']}/") as ws:
        question = None
        while question is None:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert frame["type"] != "error", frame
            question = (frame.get("session") or {}).get("current_question") or frame.get("question")
        frame_out = {"type": "answer.submit", "client_id": "pg-1", "question_id": question["id"], "text": "@"}
        raw = json.dumps(frame_out).replace('"@"', f'"{TEXT}"')  # the escapes as a client writes them
        await ws.send(raw)
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 60)))["type"] != "answer.accepted":
            assert frame["type"] != "error", frame
    async with httpx.AsyncClient(base_url=server.http, timeout=60) as client:
        started = (await client.post("/api/ai-interview/start/", json={"token": rest_link["token"]})).json()
        envelope = {
            "action": "response",
            "session_id": started["session_id"],
            "session_key": started["session_key"],
            "wait_seconds": 0,
            "data": {"question_id": started["question"]["id"], "response_text": "@"},
        }
        body = json.dumps(envelope).replace('"@"', f'"{TEXT}"')
        answered = await client.post(
            "/api/ai-interview/run-interview/", content=body, headers={"Content-Type": "application/json"}
        )
        assert answered.status_code == 200, answered.text
        bad_filter = await client.get("/api/ai-interview/sessions/?status=completed%00", auth=("staff", PASSWORD))
        assert bad_filter.status_code == 400 and bad_filter.json()["field"] == "status"
        # Basic auth with a NUL in the name or the password: refused like any wrong login, no 500.
        for auth in (("sta\x00ff", PASSWORD), ("staff", PASSWORD + "\x00")):
            refused = await client.get("/api/ai-interview/sessions/", auth=auth)
            assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated", refused.text
        assert (await client.get("/api/ai-interview/sessions/", auth=("staff", PASSWORD))).status_code == 200
        # A report's job filter is a free text: one with NUL is compared (and audited) cleaned, as
        # titles are stored (schemathesis found these 500s).
        for path in ("/api/ai-interview/analytics/", "/api/ai-interview/exports/sessions.csv"):
            filtered = await client.get(f"{path}?job=Data%00", auth=("staff", PASSWORD))
            assert filtered.status_code == 200, (path, filtered.text[:300])
    with psycopg.connect(postgres_url) as conn:
        texts = [row[0] for row in conn.execute("SELECT response_text FROM interviews_aiinterviewresponse")]
    assert sorted(texts) == [TEXT.replace("\\ud83d", "\ufffd").replace("\\u0000", "")] * 2


async def test_the_embedded_worker_starts_with_the_server(server_factory: Any) -> None:
    """A session opened while no server ran (its question-generation nudge went nowhere) gets its
    questions once the server starts, before any client connects."""
    server = server_factory(AI_EMBEDDED_GRADER="lexical", AI_WARM_UP="0", INTERVIEW_REQUIRE_CONSENT="0")
    link = server.create_interview(questions=2)
    opened = (
        server.manage(
            "shell",
            "-c",
            "from interview_rt.interviews import services; "
            f"print(services.session_open(token='{link['token']}').session.pk.hex)",
        )
        .strip()
        .splitlines()[-1]
    )
    db = server.env["DATABASE_URL"].removeprefix("sqlite:///")

    def ready() -> bool:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT questions_ready FROM interviews_aiinterviewsession WHERE id = ?", (opened,)
            ).fetchone()
        return bool(row and row[0])

    assert not ready()
    server.start()
    await until(ready)
