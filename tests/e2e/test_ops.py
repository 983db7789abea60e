"""What a host needs, against real processes: `/healthz`, `/readyz` (and its 503s), `/metrics`
(one process, and several through PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, Server, free_port
from .test_daphne_interview import run_interview

pytestmark = pytest.mark.slow


async def wait_ready(server: Server, attempts: int = 600) -> dict[str, Any]:
    """Poll /readyz until 200 (bounded by a count, not a clock: the model loads slowly on a busy
    machine); the last report."""
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as client:
        for _ in range(attempts):
            response = await client.get("/readyz")
            if response.status_code == 200:
                return dict(response.json())
            assert response.status_code == 503, response.text
            report = response.json()
            assert report["status"] == "not_ready" and report["reason"], report
            await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz never became ready: {report}")


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "") + r" (\S+)$"
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_health_ready_and_metrics_of_the_embedded_default(server_factory: Any, tmp_path: Path) -> None:
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    server = server_factory(PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    link = server.create_interview(questions=2, type="technical")
    server.start()
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
    report = await wait_ready(server)
    assert report["checks"]["database"] == "ok"
    assert report["checks"]["channel_layer"] == "ok"
    assert report["checks"]["grading_model"] == "ok"

    outcome = await run_interview(server, link["token"])
    assert len(outcome["feedback_s"]) >= 2
    # The socket's close and the AI process's batch report (about once a second) arrive a little
    # after the interview's last frame: scrape until both are in (bounded by a count).
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as client:
        for _ in range(100):
            response = await client.get("/metrics")
            assert response.status_code == 200
            text = response.text
            if sample(text, "interview_ws_connected") == 0 and sample(text, "interview_grader_batch_size_count"):
                break
            await asyncio.sleep(0.1)
    assert response.headers["content-type"].startswith("text/plain")
    answers = len(outcome["feedback_s"])
    assert sample(text, "interview_ws_frames_in_total", type="answer.submit") == answers
    assert sample(text, "interview_ws_frames_out_total", type="answer.accepted") == answers
    assert sample(text, "interview_ws_frames_out_total", type="question.asked") >= answers
    assert sample(text, "interview_ws_frames_out_total", type="interview.completed") == 1
    assert sample(text, "interview_ws_connects_total", outcome="ok") == 1
    assert sample(text, "interview_ws_connected") == 0  # the socket closed after the interview
    assert sample(text, "interview_answer_ack_seconds_count") == answers
    assert sample(text, "interview_answer_feedback_seconds_count") == answers
    assert sample(text, "interview_answer_feedback_seconds_bucket", le="+Inf") == answers
    assert sample(text, "interview_first_question_seconds_count") == 1
    assert sample(text, "interview_provider_calls_total", kind="evaluate", provider="embedded") == answers
    assert sample(text, "interview_provider_calls_total", kind="generate", provider="embedded") == 1
    # The grader runs in the AI process, which reports its batches to this one.
    assert sample(text, "interview_grader_batch_size_count") >= 1
    assert sample(text, "interview_grader_batch_seconds_count") >= 1
    assert sample(text, "interview_evaluations_pending") == 0
    assert "interview_evaluations_pending" in text
    assert "interview_db_lane_wait_seconds_bucket" in text
    assert any(multiproc.iterdir()), "multi-process mode writes its samples to PROMETHEUS_MULTIPROC_DIR"


async def test_readyz_is_503_with_the_reason_when_the_channel_layer_is_down(server_factory: Any) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = server_factory(REDIS_URL=dead_redis, AI_WORKER_INPROCESS="0")
    server.start()
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200  # alive, though not ready
        response = await client.get("/readyz")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "not_ready"
    assert report["reason"].startswith("channel_layer:")
    assert report["checks"]["database"] == "ok"
    assert report["checks"]["channel_layer"] != "ok"
    assert report["checks"]["grading_model"].startswith("not in this process")


async def test_readyz_is_503_when_the_database_is_unreachable(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory(AI_WARM_UP="0")
    server.env["DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    server.start()
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database:")


async def test_metrics_add_up_over_processes(server_factory: Any, tmp_path: Path) -> None:
    """Two web processes and a separate AI worker over Redis share PROMETHEUS_MULTIPROC_DIR; either
    web process reports the sum (sockets and frames from both, grading from the worker)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        pytest.skip("no Redis on this machine")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    prefix = f"e2eops{os.getpid()}"
    first = server_factory(
        REDIS_URL=url, CHANNELS_REDIS_PREFIX=prefix, AI_WORKER_INPROCESS="0", PROMETHEUS_MULTIPROC_DIR=str(multiproc)
    )
    second = Server(first.env, free_port(), name="daphne-2")
    links = [first.create_interview(questions=1, type="technical") for _ in range(2)]
    worker_log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "ai_worker"], cwd=ROOT, env=first.env, stdout=worker_log, stderr=subprocess.STDOUT
    )
    try:
        first.start()
        second.start()
        await run_interview(first, links[0]["token"])
        await run_interview(second, links[1]["token"])
        async with httpx.AsyncClient(base_url=second.http, timeout=10) as client:
            text = (await client.get("/metrics")).text
        assert sample(text, "interview_ws_connects_total", outcome="ok") == 2
        assert sample(text, "interview_ws_frames_in_total", type="answer.submit") == 2
        assert sample(text, "interview_answer_feedback_seconds_count") == 2  # observed by the worker
        assert sample(text, "interview_provider_calls_total", kind="evaluate", provider="embedded") == 2
    finally:
        worker.terminate()
        assert worker.wait(timeout=60) == 0  # SIGTERM stops the worker gracefully
        second.stop()
        client_ = redis.Redis.from_url(url)
        for key in client_.scan_iter(f"{prefix}*"):
            client_.delete(key)
