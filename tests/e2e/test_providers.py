"""Each networked provider runs whole interviews through a real daphne socket against the
reference model server on loopback; under every fault switch the interview still completes and
each answer's provenance records the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ai_service.conftest import ReferenceServer, start_reference_server

from .conftest import Server
from .test_daphne_interview import run_interview

pytestmark = pytest.mark.slow

API_KEY = "sk-e2e-SECRET-0123456789abcdef"
STAFF_PASSWORD = "staff-pass-e2e-123"
# The availability faults (5xx, 429, hang) come last: they may open the circuit breaker, which
# then answers the rest with "circuit_open" (still a recorded fallback).
FAULTS = ["garbage", "wrong-schema", "out-of-range", "empty", "5xx", "429", "hang"]


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceServer]:
    server = start_reference_server(api_key=API_KEY)
    yield server
    server.stop()


def start_server(server_factory: Any, reference: ReferenceServer, kind: str) -> Server:
    server: Server = server_factory(
        AI_PROVIDER=kind,
        AI_MODEL_API_ENDPOINT=reference.url + ("/v1" if kind == "openai" else ""),
        AI_MODEL_API_KEY=API_KEY,
        AI_MODEL_NAME="reference-model",
        AI_MODEL_VERSION="1",
        AI_MODEL_READ_TIMEOUT="1",
        AI_MODEL_TOTAL_TIMEOUT="4",
        AI_MODEL_MAX_RETRIES="1",
        AI_MODEL_MAX_FOLLOW_UPS="0",
        DJANGO_SUPERUSER_PASSWORD=STAFF_PASSWORD,
    )
    server.manage("createsuperuser", "--noinput", "--username", "staff", "--email", "staff@example.com")
    server.start()
    return server


async def interview(server: Server, staff: httpx.AsyncClient) -> dict[str, Any]:
    created = await staff.post(
        "/api/ai-interview/invitations/",
        json={
            "candidate_name": "Lin",
            "candidate_email": "lin@example.com",
            "job_title": "Backend Engineer",
            "skills": ["python", "sql"],
            "question_count": 2,
        },
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    outcome = await run_interview(server, token)
    session_id = (await staff.get(f"/api/interviews/access/{token}/")).json()["session_id"]
    results = await staff.get(f"/api/ai-interview/sessions/{session_id}/results/")
    assert results.status_code == 200
    return {"outcome": outcome, "results": results.json()}


@pytest.mark.parametrize("kind", ["http", "openai"])
async def test_provider_interviews_and_every_fault_falls_back(
    kind: str, server_factory: Any, reference: ReferenceServer
) -> None:
    reference.reset()
    server = start_server(server_factory, reference, kind)
    async with httpx.AsyncClient(base_url=server.http, auth=("staff", STAFF_PASSWORD), timeout=30) as staff:
        healthy = await interview(server, staff)
        assert healthy["results"]["status"] == "completed"
        for answer in healthy["results"]["answers"]:
            assert answer["provenance"]["provider"] == {"http": "http_model", "openai": "openai_compat"}[kind]
            assert answer["provenance"]["fallback_used"] is False
            assert answer["question_provenance"]["fallback_used"] is False
        assert reference.stats()["requests"] > 0

        for fault in FAULTS:
            reference.control(fault=fault)
            faulty = await interview(server, staff)
            assert faulty["results"]["status"] == "completed", fault
            for answer in faulty["results"]["answers"]:
                assert answer["evaluation_status"] == "done", fault
                assert answer["provenance"]["fallback_used"] is True, (fault, answer["provenance"])
                assert answer["provenance"]["error_kind"], fault
                # out-of-range corrupts only scores; every other fault breaks question generation too.
                assert answer["question_provenance"]["fallback_used"] is (fault != "out-of-range"), fault
        reference.control(fault="none")
    # The key never reaches logs or stored records.
    log = Path(server.env["E2E_DIR"], "daphne.log").read_text(encoding="utf-8", errors="replace")
    assert API_KEY not in log
    assert API_KEY not in str(healthy) and API_KEY not in str(faulty)


async def test_slow_model_still_completes_without_fallback(server_factory: Any, reference: ReferenceServer) -> None:
    reference.reset()
    reference.control(fault="latency", latency_ms=300)
    server = start_server(server_factory, reference, "http")
    async with httpx.AsyncClient(base_url=server.http, auth=("staff", STAFF_PASSWORD), timeout=30) as staff:
        slow = await interview(server, staff)
    reference.control(fault="none", latency_ms=0)
    assert all(a["provenance"]["fallback_used"] is False for a in slow["results"]["answers"])
    assert min(slow["outcome"]["feedback_s"]) >= 0.3  # the model's latency, not a fallback's
