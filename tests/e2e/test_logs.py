"""No interview token or session key in any log: the web process exactly as the Procfile runs it
(daphne's own access log, Django's request warnings, debug logging on, DEBUG off and on), through a
socket connect, a reconnect with ?last_seq, the access endpoint, an expired link's 410, an unknown
path's 404, a wrong method's 405 and a bad body's 400 on token paths."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from .conftest import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.slow

PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in the Procfile")


@pytest.mark.parametrize("debug", ["0", "1"])
async def test_no_token_or_session_key_in_any_log(server_factory: Any, tmp_path: Path, debug: str) -> None:
    server = server_factory(LOG_LEVEL="DEBUG", DEBUG=debug)
    link = server.create_interview(questions=1)
    expired = server.create_interview(questions=1, expires_days="0.00001")
    token = link["token"]
    port = free_port()
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            ["bash", "-c", procfile_command("web")],
            cwd=ROOT,
            # `python` in the Procfile is the environment's: this test's interpreter.
            env={**server.env, "PORT": str(port), "LOG_LEVEL": "DEBUG", "PATH": PATH},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, web)
        base = f"127.0.0.1:{port}"
        async with websockets.connect(f"ws://{base}/ws/interview/{token}/") as ws:
            state = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert state["type"] == "session.state"
        async with websockets.connect(f"ws://{base}/ws/interview/{token}/?last_seq=0") as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "session.state"
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=30) as client:
            access = await client.get(f"/api/interviews/access/{token}/")
            assert access.status_code == 200
            key = access.json()["session_key"]
            run = await client.post(
                "/api/ai-interview/run-interview/",
                json={
                    "action": "question",
                    "session_id": access.json()["session_id"],
                    "session_key": key,
                    "wait_seconds": 0,
                },
            )
            assert run.status_code == 200
            gone = await client.get(f"/api/interviews/access/{expired['token']}/")
            assert gone.status_code == 410
            assert (await client.get(f"/interview/{token}/")).status_code == 200
            assert (await client.get(f"/api/nope/{token}/")).status_code == 404
            # django.request warns about these two with the path, i.e. the token:
            assert (await client.post(f"/api/interviews/access/{token}/")).status_code == 405
            bad = await client.post(f"/api/interviews/access/{token}/demographics/", content=b"{not json")
            assert bad.status_code == 400
    finally:
        web.terminate()
        web.wait(timeout=15)
    text = log_path.read_text(errors="replace")
    assert "WSCONNECTING" in text or "HTTP" in text or "GET" in text, text[-2000:]  # the log is there
    for secret in (token, expired["token"], key, token.split(":")[-1]):
        assert secret not in text, f"a credential is in the log: {secret[:12]}..."
    assert "[redacted]" in text
