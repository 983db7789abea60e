"""A small reference model server: the documented model API and an OpenAI-compatible endpoint.

    python -m ai_service.reference_server --port 8001 [--host 127.0.0.1] [--fault KIND]
        [--latency-ms N] [--fault-count N] [--api-key KEY] [--no-json-schema] [--access-log]

It answers from the embedded provider (offline question bank and grader), so it needs no model
and no network, and it can misbehave on purpose (`--fault`) to exercise the clients' timeouts,
retries, circuit breaker and fallback. Stdlib + ai_service only: an asyncio HTTP/1.1 server with
keep-alive that holds hundreds of concurrent connections.

Routes (docs/ai-model-api.md has the schemas):

    POST /generate-questions, /evaluate-response     the documented model API
    POST /v1/chat/completions, /chat/completions     OpenAI-compatible, for prompts from ai_service.prompts
    GET  /v1/models, /models                         the one served model
    GET  /healthz                                    200 even while faults are injected; no auth
    GET  /_stats                                     request counters and max in-flight requests
    POST /_control                                   change fault/latency/fault_count/json_schema at run time

Faults (`--fault`, applied to the API routes): latency, 5xx, 429 (Retry-After: 1), garbage (body
is not JSON), wrong-schema, hang (never answers), out-of-range (score 42), empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from . import prompts
from .errors import ProviderError
from .providers.embedded import EmbeddedProvider
from .types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext

FAULTS = ("none", "latency", "5xx", "429", "garbage", "wrong-schema", "hang", "out-of-range", "empty")
DEFAULT_FAULT_LATENCY_MS = 2000
MODEL_NAME = "reference-embedded"
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT = 120.0
QUESTION_TYPES = ("technical", "behavioral")
DIFFICULTIES = ("easy", "medium", "hard")
INTERVIEW_TYPES = ("technical", "behavioral", "mixed")
API_ROUTES = ("/generate-questions", "/evaluate-response", "/v1/chat/completions", "/chat/completions")


@dataclass
class ServerConfig:
    fault: str = "none"
    latency_ms: int = 0
    # Apply the fault to this many API requests, then answer normally (None: to every request).
    fault_count: int | None = None
    api_key: str = ""
    # False: reject `response_format: json_schema` with 400, like servers that lack it.
    json_schema: bool = True
    access_log: bool = False


@dataclass
class Stats:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    faults_applied: int = 0
    connections: int = 0
    max_connections: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid JSON") from None

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, keep_alive: bool) -> bytes:
        reason = HTTPStatus(self.status).phrase
        lines = [
            f"HTTP/1.1 {self.status} {reason}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: ai-service-reference/1",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if self.body or self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        lines.extend(f"{k}: {v}" for k, v in self.headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers=dict(headers or {}))


def error_response(status: int, message: str, code: str = "", headers: Mapping[str, str] | None = None) -> Response:
    # OpenAI-style error envelope: clients of both APIs can read `error.message`.
    error = {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}
    if code:
        error["code"] = code
    return json_response(status, {"error": error}, headers)


HANG = Response(0)  # sentinel: never answer


# --- HTTP/1.1 parsing --------------------------------------------------------------------------


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None = None) -> Request | None:
    """The next request on the connection, or None at a clean end of stream."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large", 431) from None
    except TimeoutError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest("malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise BadRequest("only HTTP/1.x is supported", 505)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue" and writer is not None:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await _read_body(reader, headers)
    path = target.split("?", 1)[0]
    return Request(method.upper(), path, version, headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("malformed chunk size") from None
            if length == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            size += length
            if size > MAX_BODY_BYTES:
                raise BadRequest("request body too large", 413)
            chunks.append(await reader.readexactly(length))
            await reader.readexactly(2)
    raw_length = headers.get("content-length", "0") or "0"
    if not raw_length.isdigit():
        raise BadRequest("malformed Content-Length")
    length = int(raw_length)
    if length > MAX_BODY_BYTES:
        raise BadRequest("request body too large", 413)
    return await reader.readexactly(length) if length else b""


# --- input validation --------------------------------------------------------------------------


def _str(obj: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = obj.get(key, None if required else "")
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    return value


def _choice(obj: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    value = obj.get(key)
    if value not in choices:
        raise BadRequest(f"'{key}' must be one of {', '.join(choices)}")
    return str(value)


def _str_list(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{key}' must be a list of strings")
    return tuple(value)


def _count(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise BadRequest(f"'{key}' must be an integer in 1..50")
    return value


def context_from_seed_api(body: Any) -> InterviewContext:
    context = body.get("context") if isinstance(body, dict) else None
    if not isinstance(context, dict):
        raise BadRequest("the body must be an object with a 'context' object")
    candidate = _str(context, "candidate_name", required=False)
    job_title = _str(context, "job_title")
    return InterviewContext(
        candidate_name=candidate,
        job_title=job_title,
        interview_type=_choice(context, "interview_type", INTERVIEW_TYPES),  # type: ignore[arg-type]
        difficulty=_choice(context, "difficulty_level", DIFFICULTIES),  # type: ignore[arg-type]
        question_count=_count(context, "question_count"),
        job_description=_str(context, "job_description", required=False),
        skills=_str_list(context, "skills"),
        seed=f"{candidate}|{job_title}",
    )


def context_from_prompt(payload: Mapping[str, Any]) -> InterviewContext:
    return InterviewContext(
        candidate_name="",
        job_title=_str(payload, "job_title"),
        interview_type=_choice(payload, "interview_type", INTERVIEW_TYPES),  # type: ignore[arg-type]
        difficulty=_choice(payload, "difficulty", DIFFICULTIES),  # type: ignore[arg-type]
        question_count=_count(payload, "question_count"),
        job_description=_str(payload, "job_description", required=False),
        skills=_str_list(payload, "skills"),
        seed=_str(payload, "job_title"),
    )


def evaluation_request(obj: Any) -> EvaluationRequest:
    if not isinstance(obj, dict):
        raise BadRequest("the body must be a JSON object")
    return EvaluationRequest(
        question=_str(obj, "question"),
        response=_str(obj, "response"),
        question_type=_choice(obj, "question_type", QUESTION_TYPES),  # type: ignore[arg-type]
        difficulty=_choice(obj, "difficulty", DIFFICULTIES),  # type: ignore[arg-type]
        reference_answer=_str(obj, "reference_answer", required=False),
        key_points=_str_list(obj, "key_points"),
        competency=_str(obj, "competency", required=False),
    )


# --- answers -----------------------------------------------------------------------------------


def question_json(q: GeneratedQuestion) -> dict[str, Any]:
    return {
        "text": q.text,
        "question_type": q.question_type,
        "competency": q.competency,
        "difficulty": q.difficulty,
        "reference_answer": q.reference_answer,
        "key_points": list(q.key_points),
    }


def evaluation_json(evaluation: Evaluation, *, follow_up: bool) -> dict[str, Any]:
    proposal = ""
    if follow_up and evaluation.score is not None and evaluation.score < prompts.FOLLOW_UP_BELOW:
        if evaluation.missed_key_points:
            proposal = f"Could you expand on your answer? In particular: {evaluation.missed_key_points[0]}?"
        else:
            proposal = "Could you expand on your answer with a concrete example?"
    return {
        "score": evaluation.score,
        "feedback": evaluation.feedback,
        "strengths": list(evaluation.strengths),
        "improvements": list(evaluation.improvements),
        "covered_key_points": [{"point": m.point, "evidence": m.evidence} for m in evaluation.covered_key_points],
        "missed_key_points": list(evaluation.missed_key_points),
        "insufficient_evidence": evaluation.insufficient_evidence,
        "follow_up": proposal,
    }


class ReferenceServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.provider = EmbeddedProvider("reference", {"model_name": MODEL_NAME})
        self._faults_left = config.fault_count
        self._completions = 0

    async def warm_up(self) -> None:
        await self.provider.warm_up()
        context = InterviewContext("warm-up", "Software Engineer", "mixed", "medium", 2)
        questions = await self.provider.generate_questions(context)
        q = questions[0]
        await self.provider.evaluate(
            EvaluationRequest(
                q.text, q.reference_answer, q.question_type, q.difficulty, q.reference_answer, q.key_points
            )
        )

    @property
    def model_version(self) -> str:
        return str(getattr(self.provider, "model_version", ""))

    # -- connections

    async def handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self.stats.max_connections = max(self.stats.max_connections, self.stats.connections)
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except BadRequest as exc:
                    writer.write(error_response(exc.status, str(exc)).encode(keep_alive=False))
                    await writer.drain()
                    break
                if request is None:
                    break
                started = time.perf_counter()
                try:
                    response = await self.dispatch(request)
                except Exception as exc:  # a bug here must not kill the connection silently
                    print(f"error handling {request.method} {request.path}: {exc!r}", file=sys.stderr, flush=True)
                    response = error_response(500, "internal error in the reference server", "internal")
                if response is HANG:
                    await _wait_for_eof(reader)
                    break
                keep_alive = request.keep_alive
                writer.write(response.encode(keep_alive))
                await writer.drain()
                if self.config.access_log:
                    print(
                        f"{request.method} {request.path} {response.status} "
                        f"{(time.perf_counter() - started) * 1000:.1f}ms",
                        file=sys.stderr,
                        flush=True,
                    )
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.stats.connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    # -- routing

    def _authorized(self, request: Request) -> bool:
        if not self.config.api_key:
            return True
        expected = f"Bearer {self.config.api_key}".encode()
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    async def dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/healthz":
            return json_response(200, {"status": "ok", "model": MODEL_NAME})
        if path in API_ROUTES:
            if request.method != "POST":
                return error_response(405, "use POST", headers={"Allow": "POST"})
            return await self._api(request, path)
        if not self._authorized(request):
            return error_response(401, "missing or invalid API key", "unauthorized")
        if path in ("/v1/models", "/models") and request.method == "GET":
            return json_response(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
        if path == "/_stats" and request.method == "GET":
            return json_response(200, asdict(self.stats))
        if path == "/_control" and request.method == "POST":
            try:
                return self._control(request.json())
            except BadRequest as exc:
                return error_response(exc.status, str(exc))
            except (TypeError, ValueError) as exc:
                return error_response(400, f"invalid control value: {exc}")
        return error_response(404, f"no route for {request.method} {path}", "not_found")

    def _control(self, body: Any) -> Response:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        if "fault" in body:
            if body["fault"] not in FAULTS:
                raise BadRequest(f"fault must be one of {', '.join(FAULTS)}")
            self.config.fault = body["fault"]
            self._faults_left = self.config.fault_count
        if "latency_ms" in body:
            self.config.latency_ms = int(body["latency_ms"])
        if "fault_count" in body:
            self.config.fault_count = None if body["fault_count"] is None else int(body["fault_count"])
            self._faults_left = self.config.fault_count
        if "json_schema" in body:
            self.config.json_schema = bool(body["json_schema"])
        if body.get("reset_stats"):
            connections = self.stats.connections
            self.stats = Stats(connections=connections, max_connections=connections)
        config = asdict(self.config)
        config.pop("api_key")
        return json_response(200, config)

    def _take_fault(self) -> str:
        fault = self.config.fault
        if fault == "none":
            return fault
        if self._faults_left is not None:
            if self._faults_left <= 0:
                return "none"
            self._faults_left -= 1
        self.stats.faults_applied += 1
        return fault

    async def _api(self, request: Request, path: str) -> Response:
        stats = self.stats
        stats.requests += 1
        stats.by_path[path] = stats.by_path.get(path, 0) + 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            if not self._authorized(request):
                return error_response(401, "missing or invalid API key", "unauthorized")
            fault = self._take_fault()
            latency = self.config.latency_ms or (DEFAULT_FAULT_LATENCY_MS if fault == "latency" else 0)
            if latency:
                await asyncio.sleep(latency / 1000)
            if fault == "hang":
                return HANG
            if fault == "5xx":
                return error_response(503, "injected fault: service unavailable", "unavailable")
            if fault == "429":
                return error_response(429, "injected fault: rate limited", "rate_limited", {"Retry-After": "1"})
            if fault == "garbage":
                return Response(200, b'{"questions": [ <html>this is not JSON')
            try:
                if path.endswith("chat/completions"):
                    return await self._chat(request, fault)
                if path == "/generate-questions":
                    return await self._generate(request, fault)
                return await self._evaluate(request, fault)
            except BadRequest as exc:
                return error_response(exc.status, str(exc))
            except ProviderError as exc:
                return error_response(422, str(exc), exc.kind)
        finally:
            stats.in_flight -= 1

    async def _generate(self, request: Request, fault: str) -> Response:
        context = context_from_seed_api(request.json())
        if fault == "empty":
            return Response(200, b"")
        questions = [question_json(q) for q in await self.provider.generate_questions(context)]
        if fault == "wrong-schema":
            return json_response(200, {"items": [{"question": q["text"]} for q in questions]})
        return json_response(
            200, {"questions": questions, "model_name": MODEL_NAME, "model_version": self.model_version}
        )

    async def _evaluate(self, request: Request, fault: str) -> Response:
        evaluation_in = evaluation_request(request.json())
        if fault == "empty":
            return Response(200, b"")
        data = evaluation_json(await self.provider.evaluate(evaluation_in), follow_up=True)
        if fault == "wrong-schema":
            return json_response(200, {"grade": "B", "comment": data["feedback"]})
        if fault == "out-of-range":
            data.update(score=42, insufficient_evidence=False)
        data.update(model_name=MODEL_NAME, model_version=self.model_version)
        return json_response(200, data)

    async def _chat(self, request: Request, fault: str) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise BadRequest("the body must be an object with a 'messages' list")
        response_format = body.get("response_format")
        mode = response_format.get("type") if isinstance(response_format, dict) else None
        if mode == "json_schema" and not self.config.json_schema:
            return error_response(
                400, "response_format type 'json_schema' is not supported by this server; use 'json_object'"
            )
        if mode not in (None, "json_schema", "json_object", "text"):
            raise BadRequest(f"unknown response_format type {mode!r}")
        payload = self._prompt_payload(body["messages"])
        task = payload.get("task")
        result: dict[str, Any]
        if task == prompts.TASK_QUESTIONS:
            context = context_from_prompt(payload)
            result = {"questions": [question_json(q) for q in await self.provider.generate_questions(context)]}
        elif task == prompts.TASK_EVALUATION:
            evaluation = await self.provider.evaluate(evaluation_request(payload))
            result = evaluation_json(evaluation, follow_up=bool(payload.get("follow_up")))
            if fault == "out-of-range":
                result.update(score=42, insufficient_evidence=False)
        else:
            raise BadRequest(f"unknown task {task!r} in the prompt payload")
        if fault == "wrong-schema":
            result = {"answer": "Looks good to me.", "confidence": "high"}
        content = json.dumps(result, ensure_ascii=False)
        if mode is None or mode == "text":
            # Like a chat model without JSON mode: prose around a fenced block.
            content = f"Here is the JSON you asked for:\n\n```json\n{json.dumps(result, indent=2)}\n```\n"
        if fault == "empty":
            content = ""
        self._completions += 1
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body["messages"] if isinstance(m, dict))
        completion_words = len(content.split())
        return json_response(
            200,
            {
                "id": f"chatcmpl-ref-{self._completions}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model") or MODEL_NAME,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_words,
                    "completion_tokens": completion_words,
                    "total_tokens": prompt_words + completion_words,
                },
            },
        )

    @staticmethod
    def _prompt_payload(messages: list[Any]) -> dict[str, Any]:
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
                try:
                    return prompts.parse_prompt_payload(message["content"])
                except ValueError:
                    continue
        raise BadRequest(f"no user message carries an {prompts.PAYLOAD_MARKER!r} payload from ai_service.prompts")


async def _wait_for_eof(reader: asyncio.StreamReader) -> None:
    """Hold a connection open without answering until the client gives up."""
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(65536):
            pass


# --- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ai_service.reference_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed when ready)")
    parser.add_argument("--fault", choices=FAULTS, default="none", help="misbehave on purpose on the API routes")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help=f"delay every API answer (the latency fault defaults to {DEFAULT_FAULT_LATENCY_MS} ms)",
    )
    parser.add_argument("--fault-count", type=int, default=None, help="inject the fault this many times only")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("REFERENCE_SERVER_API_KEY", ""),
        help="require 'Authorization: Bearer KEY' (default: $REFERENCE_SERVER_API_KEY; none: no auth)",
    )
    parser.add_argument("--no-json-schema", action="store_true", help="reject response_format json_schema (400)")
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    return parser


async def serve(config: ServerConfig, host: str, port: int) -> None:
    app = ReferenceServer(config)
    await app.warm_up()
    server = await asyncio.start_server(
        app.handle_connection, host, port, backlog=2048, limit=MAX_HEAD_BYTES, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
        server.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    config = ServerConfig(
        fault=args.fault,
        latency_ms=max(0, args.latency_ms),
        fault_count=args.fault_count,
        api_key=args.api_key,
        json_schema=not args.no_json_schema,
        access_log=args.access_log,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.host, args.port))


if __name__ == "__main__":
    main()
