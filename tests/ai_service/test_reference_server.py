"""The reference model server, spoken to over raw HTTP: routes, auth, faults, keep-alive at scale."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ai_service import prompts
from ai_service.providers.http_model import evaluate_request, generate_request, parse_evaluation, parse_questions

from .conftest import CONTEXT, SERVER_API_KEY, STRONG, ReferenceServer


async def raw_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw request on an open connection; (status, headers, body) of the answer."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def post(path: str, body: Any, *, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    data = json.dumps(body).encode()
    head = f"POST {path} {version}\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + extra + "\r\n").encode() + data


def host_port(server: ReferenceServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


# --- routes ------------------------------------------------------------------------------------


def test_health_models_and_unknown_routes(ref_server: ReferenceServer) -> None:
    http = ref_server.http
    assert http.get("/healthz").json()["status"] == "ok"
    assert http.get("/v1/models").json()["data"][0]["id"] == "reference-embedded"
    assert http.get("/nope").status_code == 404
    assert http.get("/evaluate-response").status_code == 405


def test_seed_api_answers_validate(ref_server: ReferenceServer) -> None:
    http = ref_server.http
    questions = http.post("/generate-questions", json=generate_request(CONTEXT))
    assert questions.status_code == 200 and questions.headers["content-type"] == "application/json"
    assert len(parse_questions(questions.json(), CONTEXT)) == CONTEXT.question_count
    evaluation = http.post("/evaluate-response", json=evaluate_request(STRONG))
    assert parse_evaluation(evaluation.json()).score is not None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/generate-questions", {}),
        ("/generate-questions", {"context": {**generate_request(CONTEXT)["context"], "question_count": 0}}),
        ("/generate-questions", {"context": {**generate_request(CONTEXT)["context"], "difficulty_level": "x"}}),
        ("/evaluate-response", {"question": "q"}),
        ("/evaluate-response", [1, 2]),
        ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hello"}]}),
        ("/v1/chat/completions", {"model": "m"}),
    ],
)
def test_invalid_requests_are_400(ref_server: ReferenceServer, path: str, body: Any) -> None:
    response = ref_server.http.post(path, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_invalid_json_is_400(ref_server: ReferenceServer) -> None:
    response = ref_server.http.post(
        "/evaluate-response", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_chat_completions_answer_prompts(ref_server: ReferenceServer) -> None:
    for path in ("/v1/chat/completions", "/chat/completions"):
        body = {
            "model": "any-model",
            "messages": prompts.question_messages(CONTEXT),
            "response_format": prompts.response_format(prompts.TASK_QUESTIONS, "json_schema"),
        }
        data = ref_server.http.post(path, json=body).json()
        assert data["object"] == "chat.completion" and data["model"] == "any-model"
        content = data["choices"][0]["message"]["content"]
        assert len(parse_questions(json.loads(content), CONTEXT)) == CONTEXT.question_count
    body = {"model": "m", "messages": prompts.evaluation_messages(STRONG, follow_up=True)}
    content = ref_server.http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert content.startswith("Here is the JSON")  # no response_format: prose around a fenced block
    assert parse_evaluation(prompts.extract_json_object(content)).score is not None


def test_json_schema_can_be_switched_off(ref_server: ReferenceServer) -> None:
    ref_server.control(json_schema=False)
    body = {
        "model": "m",
        "messages": prompts.evaluation_messages(STRONG, follow_up=False),
        "response_format": prompts.response_format(prompts.TASK_EVALUATION, "json_schema"),
    }
    rejected = ref_server.http.post("/v1/chat/completions", json=body)
    assert rejected.status_code == 400 and "not supported" in rejected.json()["error"]["message"]
    body["response_format"] = {"type": "json_object"}
    assert ref_server.http.post("/v1/chat/completions", json=body).status_code == 200


def test_api_key_is_checked(keyed_server: ReferenceServer) -> None:
    url = keyed_server.url
    assert httpx.get(f"{url}/healthz").status_code == 200  # health needs no key
    assert httpx.post(f"{url}/evaluate-response", json=evaluate_request(STRONG)).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.post(f"{url}/evaluate-response", json=evaluate_request(STRONG), headers=wrong).status_code == 401
    assert httpx.get(f"{url}/_stats").status_code == 401
    good = {"Authorization": f"Bearer {SERVER_API_KEY}"}
    assert httpx.post(f"{url}/evaluate-response", json=evaluate_request(STRONG), headers=good).status_code == 200


# --- faults ------------------------------------------------------------------------------------


def _evaluate(server: ReferenceServer) -> httpx.Response:
    return server.http.post("/evaluate-response", json=evaluate_request(STRONG))


def _chat_content(server: ReferenceServer) -> str:
    body: dict[str, Any] = {"model": "m", "messages": prompts.evaluation_messages(STRONG, follow_up=True)}
    body["response_format"] = {"type": "json_object"}
    return str(server.http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"])


FAULT_CHECKS: dict[str, Callable[[ReferenceServer], None]] = {
    "5xx": lambda s: _assert(_evaluate(s).status_code == 503),
    "429": lambda s: _assert(_evaluate(s).headers.get("retry-after") == "1"),
    "garbage": lambda s: _assert_not_json(_evaluate(s).content),
    "wrong-schema": lambda s: _assert("score" not in _evaluate(s).json() and "score" not in _chat_content(s)),
    "out-of-range": lambda s: _assert(
        _evaluate(s).json()["score"] == 42 and json.loads(_chat_content(s))["score"] == 42
    ),
    "empty": lambda s: _assert(_evaluate(s).content == b"" and _chat_content(s) == ""),
}


def _assert(condition: bool) -> None:
    assert condition


def _assert_not_json(content: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(content)


@pytest.mark.parametrize("fault", sorted(FAULT_CHECKS))
def test_fault_switches(ref_server: ReferenceServer, fault: str) -> None:
    ref_server.control(fault=fault)
    FAULT_CHECKS[fault](ref_server)
    assert ref_server.http.get("/healthz").status_code == 200  # health is never faulted
    assert ref_server.stats()["faults_applied"] >= 1


def test_latency_fault(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="latency", latency_ms=300, reset_stats=True)
    assert _evaluate(ref_server).status_code == 200
    assert ref_server.stats()["delayed_ms"] == 300


@pytest.mark.slow  # starts the server's CLI in subprocesses
def test_cli_fault_flags(server_factory: Callable[..., ReferenceServer]) -> None:
    flaky = server_factory("--fault", "429", "--fault-count", "1", "--latency-ms", "100")
    first = _evaluate(flaky)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert flaky.stats()["delayed_ms"] == 100
    assert _evaluate(flaky).status_code == 200  # the fault was injected once only

    hanging = server_factory("--fault", "hang", "--no-json-schema")
    assert hanging.http.get("/healthz").status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        hanging.http.post("/evaluate-response", json=evaluate_request(STRONG), timeout=0.3)
    assert hanging.stats()["requests"] == 1


# --- HTTP/1.1 ----------------------------------------------------------------------------------


async def test_keep_alive_chunked_and_close(ref_server: ReferenceServer) -> None:
    reader, writer = await asyncio.open_connection(*host_port(ref_server))
    for _ in range(3):  # three answers on one connection: it is kept alive
        status, headers, body = await raw_exchange(reader, writer, post("/evaluate-response", evaluate_request(STRONG)))
        assert status == 200 and headers.get("connection", "keep-alive").lower() == "keep-alive"
        assert json.loads(body)["score"] is not None
    data = json.dumps(evaluate_request(STRONG)).encode()
    chunked = (
        b"POST /evaluate-response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{10:x}\r\n".encode()
        + data[:10]
        + b"\r\n"
        + f"{len(data) - 10:x}\r\n".encode()
        + data[10:]
        + b"\r\n0\r\n\r\n"
    )
    status, _, body = await raw_exchange(reader, writer, chunked)
    assert status == 200 and json.loads(body)["feedback"]
    status, headers, _ = await raw_exchange(
        reader, writer, post("/evaluate-response", evaluate_request(STRONG), extra="Connection: close\r\n")
    )
    assert status == 200 and headers["connection"] == "close"
    assert await reader.read() == b""  # the server closed the connection
    writer.close()


async def test_holds_250_concurrent_keep_alive_connections(ref_server: ReferenceServer) -> None:
    ref_server.control(latency_ms=400, reset_stats=True)
    connections = 250
    request = post("/evaluate-response", evaluate_request(STRONG))

    async def client() -> list[int]:
        reader, writer = await asyncio.open_connection(*host_port(ref_server))
        statuses = []
        for _ in range(2):  # two requests on the same connection
            status, _, _ = await raw_exchange(reader, writer, request)
            statuses.append(status)
        writer.close()
        await writer.wait_closed()
        return statuses

    # A guard against a hang, not a speed target (pytest's own limit is 120 s per test).
    async with asyncio.timeout(100):
        results = await asyncio.gather(*(client() for _ in range(connections)))
    assert all(statuses == [200, 200] for statuses in results)
    stats = ref_server.stats()
    assert stats["requests"] == 2 * connections  # each connection carried both its requests
    assert stats["max_connections"] >= connections  # all held open at once
    assert stats["max_in_flight"] >= 200  # and their requests really overlapped
