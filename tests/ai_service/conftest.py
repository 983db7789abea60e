"""Fixtures of the networked-provider tests: the reference model server as a real subprocess.

Servers listen on a free loopback port (`--port 0`; the port is read from the "listening on"
line), are shared per session where the tests allow it, and are killed at the end.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai_service.providers.http_model import HTTPModelProvider
from ai_service.providers.openai_compat import OpenAICompatProvider
from ai_service.types import EvaluationRequest, InterviewContext

ROOT = Path(__file__).resolve().parents[2]
SERVER_API_KEY = "sk-test-REFERENCE-0123456789abcdef"
PROVIDER_KINDS = ("http", "openai")
# The reference server's faults and the error kind a networked provider reports for each.
FAULT_KINDS = {
    "5xx": "unavailable",
    "429": "rate_limited",
    "garbage": "bad_output",
    "wrong-schema": "bad_output",
    "hang": "timeout",
    "out-of-range": "bad_output",
    "empty": "bad_output",
    "latency": "timeout",
}
# The server loads the grading model before it listens (~20 s on a busy machine): wait for its
# line or its exit, up to just under pytest's 120 s per test.
START_TIMEOUT = 100.0


@dataclass
class ReferenceServer:
    url: str
    process: subprocess.Popen[str]
    api_key: str = ""
    stderr_path: str = ""
    lines: list[str] = field(default_factory=list)
    _http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """A keep-alive client for the control endpoints (creating one per call costs ~50 ms)."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=5)
        return self._http

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def control(self, **changes: Any) -> dict[str, Any]:
        response = self.http.post("/_control", json=changes)
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        response = self.http.get("/_stats")
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        self.control(fault="none", latency_ms=0, fault_count=None, json_schema=True, reset_stats=True)

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_reference_server(*args: str, api_key: str = "") -> ReferenceServer:
    """Start `python -m tools.reference_server` and wait for its "listening on" line."""
    stderr = tempfile.NamedTemporaryFile("w+", prefix="reference-server-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "tools.reference_server", "--host", "127.0.0.1", "--port", "0", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    if api_key:
        env["REFERENCE_SERVER_API_KEY"] = api_key  # not on the command line, where `ps` would show it
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # keeps draining stdout so the server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("listening on "):
            return ReferenceServer(line.split()[-1].strip(), process, api_key, stderr.name, seen)
    process.kill()
    stderr.seek(0)
    raise RuntimeError(f"reference server did not start: {seen!r}\n{stderr.read()[-2000:]}")


@pytest.fixture(scope="session")
def server_factory() -> Iterator[Callable[..., ReferenceServer]]:
    """Starts extra servers (e.g. with CLI fault flags); all are killed at the end of the session."""
    started: list[ReferenceServer] = []

    def factory(*args: str, api_key: str = "") -> ReferenceServer:
        server = start_reference_server(*args, api_key=api_key)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _shared_server(server_factory: Callable[..., ReferenceServer]) -> ReferenceServer:
    return server_factory()


@pytest.fixture(scope="session")
def _shared_keyed_server(server_factory: Callable[..., ReferenceServer]) -> ReferenceServer:
    return server_factory(api_key=SERVER_API_KEY)


@pytest.fixture
def ref_server(_shared_server: ReferenceServer) -> Iterator[ReferenceServer]:
    """The shared reference server, without faults and with fresh counters; reset again after the test."""
    _shared_server.reset()
    yield _shared_server
    _shared_server.reset()


@pytest.fixture
def keyed_server(_shared_keyed_server: ReferenceServer) -> Iterator[ReferenceServer]:
    """A reference server that requires `Authorization: Bearer SERVER_API_KEY`."""
    _shared_keyed_server.reset()
    yield _shared_keyed_server
    _shared_keyed_server.reset()


# Small timeouts and no retries: a fault surfaces in well under a second.
FAST_OPTIONS: dict[str, Any] = {
    "connect_timeout": 1.0,
    "read_timeout": 3.0,
    "write_timeout": 1.0,
    "pool_timeout": 3.0,
    "max_retries": 0,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "breaker_threshold": 1000,
}


def read_timeout(fault: str) -> float:
    """A read timeout that cuts the slow faults short and never any other: a busy machine may take
    seconds to grade an answer, but never makes a hung or 800 ms-late server answer sooner."""
    return 0.3 if fault in ("hang", "latency") else 30.0


def record_sleeps(provider: HTTPModelProvider | OpenAICompatProvider) -> list[float]:
    """The back-off waits `provider` takes from now on (it still waits them)."""
    sleeps: list[float] = []
    sleep = provider.http.sleep

    async def recording(delay: float) -> None:
        sleeps.append(delay)
        await sleep(delay)

    provider.http.sleep = recording
    return sleeps


def make_provider(kind: str, url: str, **options: Any) -> HTTPModelProvider | OpenAICompatProvider:
    """A networked provider of `kind` ("http" or "openai") pointed at a reference server URL."""
    merged = {**FAST_OPTIONS, **options}
    if kind == "http":
        return HTTPModelProvider("test-http", {"endpoint": url, **merged})
    return OpenAICompatProvider("test-openai", {"endpoint": url + "/v1", "model_name": "test-model", **merged})


CONTEXT = InterviewContext(
    candidate_name="Ada Lovelace",
    job_title="Backend Engineer",
    interview_type="mixed",
    difficulty="medium",
    question_count=4,
    job_description="Build Python and Django REST APIs on PostgreSQL; caching and background jobs.",
    skills=("python", "django", "postgresql"),
    seed="session-1",
)

KEY_POINTS = (
    "index speeds up reads on the filtered columns",
    "index slows down writes and uses storage",
    "check the query plan with explain",
    "composite index column order matters",
)
REFERENCE = (
    "An index speeds up reads on filtered columns at the cost of slower writes and extra storage. "
    "Check the query plan with EXPLAIN and mind the column order of composite indexes."
)
QUESTION = "When would you add a database index, and what does it cost?"

STRONG = EvaluationRequest(
    question=QUESTION,
    response=(
        "An index speeds up reads on the filtered columns. It slows down writes and uses storage. "
        "I check the query plan with explain. In a composite index the column order matters."
    ),
    question_type="technical",
    difficulty="medium",
    reference_answer=REFERENCE,
    key_points=KEY_POINTS,
)
WEAK = EvaluationRequest(
    question=QUESTION,
    response="An index speeds up reads on the filtered columns, which makes lookups fast for users.",
    question_type="technical",
    difficulty="medium",
    reference_answer=REFERENCE,
    key_points=KEY_POINTS,
)
