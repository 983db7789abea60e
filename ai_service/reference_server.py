"""A small reference model server: the documented model API and an OpenAI-compatible endpoint.

    python -m ai_service.reference_server --port 8001 [--host 127.0.0.1] [--fault KIND]
        [--latency-ms N] [--fault-count N] [--api-key KEY] [--no-json-schema] [--access-log]

It answers from the embedded provider (offline question bank and grader), so it needs no model
and no network, and it can misbehave on purpose (`--fault`) to exercise the clients' timeouts,
retries, circuit breaker and fallback. It is a plain ASGI application (no Django) served by
daphne, which does the HTTP/1.1 (keep-alive, chunked bodies, hundreds of connections); requests
and answers are the models of `ai_service.schemas`.

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
import hmac
import json
import os
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from . import prompts
from .errors import ProviderError
from .providers.embedded import EmbeddedProvider
from .schemas import (
    EvaluateRequest,
    EvaluationOutput,
    EvaluationPrompt,
    GenerateRequest,
    KeyPointOutput,
    QuestionOutput,
    QuestionsPrompt,
    describe_errors,
)
from .types import Evaluation, EvaluationRequest, GeneratedQuestion, GradedExample, InterviewContext

FAULTS = ("none", "latency", "5xx", "429", "garbage", "wrong-schema", "hang", "out-of-range", "empty")
DEFAULT_FAULT_LATENCY_MS = 2000
MODEL_NAME = "reference-embedded"
MAX_BODY_BYTES = 1024 * 1024
API_ROUTES = ("/generate-questions", "/evaluate-response", "/v1/chat/completions", "/chat/completions")
# Pending connections the kernel queues for us: load tests open hundreds at once.
LISTEN_BACKLOG = 2048

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PromptPayload = TypeAdapter(Annotated[QuestionsPrompt | EvaluationPrompt, Field(discriminator="task")])


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
    by_path: dict[str, int] = field(default_factory=dict)


class Connections:
    """Open TCP connections that carried a request, and the most open at once.

    daphne reports each request (`Server.protocol_connected`) with its connection's channel; a
    channel whose transport has disconnected is closed. Held weakly: twisted drops closed ones.
    """

    def __init__(self) -> None:
        self._channels: weakref.WeakSet[Any] = weakref.WeakSet()
        self.max_open = 0

    def track(self, channel: Any) -> None:
        if channel is not None and channel not in self._channels:
            self._channels.add(channel)
            self.max_open = max(self.max_open, self.open)

    @property
    def open(self) -> int:
        return sum(1 for c in list(self._channels) if getattr(getattr(c, "transport", None), "connected", False))

    def reset(self) -> None:
        self.max_open = self.open


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ClientGone(Exception):
    """The client disconnected before its request was read."""


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid JSON") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers=dict(headers or {}))


def error_response(status: int, message: str, code: str = "", headers: Mapping[str, str] | None = None) -> Response:
    # OpenAI-style error envelope: clients of both APIs can read `error.message`.
    error = {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}
    if code:
        error["code"] = code
    return json_response(status, {"error": error}, headers)


HANG = Response(0)  # sentinel: never answer


# --- ASGI plumbing -----------------------------------------------------------------------------


async def read_request(scope: Scope, receive: Receive) -> Request:
    """The request of an ASGI http scope, its body read whole (at most MAX_BODY_BYTES)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest("request body too large", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return Request(scope["method"].upper(), scope["path"], headers, b"".join(chunks))


async def send_response(send: Send, response: Response) -> None:
    # An explicit Content-Length: without it twisted would send the body chunked.
    headers = [(b"content-length", str(len(response.body)).encode())]
    if response.content_type:
        headers.append((b"content-type", response.content_type.encode()))
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def wait_for_disconnect(receive: Receive) -> None:
    """Hold the request without answering until the client gives up."""
    while (await receive())["type"] != "http.disconnect":
        pass


# --- answers -----------------------------------------------------------------------------------


def context_from_seed_api(request: GenerateRequest) -> InterviewContext:
    context = request.context
    return InterviewContext(
        candidate_name=context.candidate_name,
        job_title=context.job_title,
        interview_type=context.interview_type,
        difficulty=context.difficulty_level,
        question_count=context.question_count,
        job_description=context.job_description,
        skills=tuple(context.skills),
        seed=f"{context.candidate_name}|{context.job_title}",
    )


def context_from_prompt(payload: QuestionsPrompt) -> InterviewContext:
    return InterviewContext(
        candidate_name="",
        job_title=payload.job_title,
        interview_type=payload.interview_type,
        difficulty=payload.difficulty,
        question_count=payload.question_count,
        job_description=payload.job_description,
        skills=tuple(payload.skills),
        seed=payload.job_title,
    )


def evaluation_request(body: EvaluateRequest | EvaluationPrompt) -> EvaluationRequest:
    """What the embedded provider grades. Graded examples are passed on, so the grade moves toward
    the scores of the reviewed answers nearest to the response (grading/fewshot.py)."""
    return EvaluationRequest(
        question=body.question,
        response=body.response,
        question_type=body.question_type,
        difficulty=body.difficulty,
        reference_answer=body.reference_answer,
        key_points=tuple(body.key_points),
        competency=getattr(body, "competency", ""),
        graded_examples=tuple(
            GradedExample(answer=e.answer, score=e.score, note=e.note, id=getattr(e, "id", ""))
            for e in body.graded_examples
        ),
    )


def question_json(q: GeneratedQuestion) -> dict[str, Any]:
    return QuestionOutput(
        text=q.text,
        question_type=q.question_type,
        competency=q.competency,
        difficulty=q.difficulty,
        reference_answer=q.reference_answer,
        key_points=list(q.key_points),
    ).model_dump()


def evaluation_json(evaluation: Evaluation, *, follow_up: bool) -> dict[str, Any]:
    proposal = ""
    if follow_up and evaluation.score is not None and evaluation.score < prompts.FOLLOW_UP_BELOW:
        if evaluation.missed_key_points:
            proposal = f"Could you expand on your answer? In particular: {evaluation.missed_key_points[0]}?"
        else:
            proposal = "Could you expand on your answer with a concrete example?"
    return EvaluationOutput(
        score=evaluation.score,
        feedback=evaluation.feedback,
        strengths=list(evaluation.strengths),
        improvements=list(evaluation.improvements),
        covered_key_points=[KeyPointOutput(point=m.point, evidence=m.evidence) for m in evaluation.covered_key_points],
        missed_key_points=list(evaluation.missed_key_points),
        insufficient_evidence=evaluation.insufficient_evidence,
        follow_up=proposal,
    ).model_dump()


def _validated(adapter: Callable[[Any], Any], data: Any, where: str) -> Any:
    try:
        return adapter(data)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, where)) from None


class ReferenceServer:
    """The ASGI application."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.connections = Connections()
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets, no lifespan
            return
        started = time.perf_counter()
        try:
            request = await read_request(scope, receive)
        except ClientGone:
            return
        except BadRequest as exc:
            await send_response(send, error_response(exc.status, str(exc)))
            return
        try:
            response = await self.dispatch(request)
        except Exception as exc:  # a bug here must still answer, and say so
            print(f"error handling {request.method} {request.path}: {exc!r}", file=sys.stderr, flush=True)
            response = error_response(500, "internal error in the reference server", "internal")
        if response is HANG:
            await wait_for_disconnect(receive)
            return
        await send_response(send, response)
        if self.config.access_log:
            elapsed_ms = (time.perf_counter() - started) * 1000
            print(f"{request.method} {request.path} {response.status} {elapsed_ms:.1f}ms", file=sys.stderr, flush=True)

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
            stats = asdict(self.stats)
            stats.update(connections=self.connections.open, max_connections=self.connections.max_open)
            return json_response(200, stats)
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
            self.stats = Stats()
            self.connections.reset()
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
        context = context_from_seed_api(_validated(GenerateRequest.model_validate, request.json(), "body"))
        if fault == "empty":
            return Response(200, b"")
        questions = [question_json(q) for q in await self.provider.generate_questions(context)]
        if fault == "wrong-schema":
            return json_response(200, {"items": [{"question": q["text"]} for q in questions]})
        return json_response(
            200, {"questions": questions, "model_name": MODEL_NAME, "model_version": self.model_version}
        )

    async def _evaluate(self, request: Request, fault: str) -> Response:
        evaluation_in = evaluation_request(_validated(EvaluateRequest.model_validate, request.json(), "body"))
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
        payload = _validated(PromptPayload.validate_python, self._prompt_payload(body["messages"]), "payload")
        result: dict[str, Any]
        if isinstance(payload, QuestionsPrompt):
            questions = await self.provider.generate_questions(context_from_prompt(payload))
            result = {"questions": [question_json(q) for q in questions]}
        else:
            evaluation = await self.provider.evaluate(evaluation_request(payload))
            result = evaluation_json(evaluation, follow_up=payload.follow_up)
            if fault == "out-of-range":
                result.update(score=42, insufficient_evidence=False)
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


def endpoint_description(host: str, port: int) -> str:
    """A twisted server endpoint string for daphne (`:` in an IPv6 host escaped)."""
    interface = host.replace(":", "\\:")
    return f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"


def serve(app: ReferenceServer, host: str, port: int) -> int:
    """Serve `app` with daphne until SIGTERM/SIGINT; print `listening on URL` once warmed up."""
    # Imported here: importing daphne.server installs twisted's asyncio reactor, which only the
    # server process wants.
    from daphne.server import Server

    class CountingServer(Server):
        def protocol_connected(self, protocol: Any) -> None:
            super().protocol_connected(protocol)
            app.connections.track(getattr(protocol, "channel", None))

    server = CountingServer(
        app, endpoints=[endpoint_description(host, port)], verbosity=0, server_name="ai-service-reference"
    )

    async def announce() -> None:
        try:
            await app.warm_up()
        except Exception as exc:
            print(f"warm-up failed: {exc!r}", file=sys.stderr, flush=True)
            server.stop()
            return
        bound = server.listening_addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        print(f"listening on http://{shown}:{bound}", flush=True)

    tasks: list[asyncio.Task[None]] = []

    def ready() -> None:  # called by daphne after listening, before the loop runs
        if server.listening_addresses:
            tasks.append(asyncio.get_event_loop().create_task(announce()))

    server.ready_callable = ready
    server.run()
    return 0 if server.listening_addresses else 1


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
    sys.exit(serve(ReferenceServer(config), args.host, args.port))


if __name__ == "__main__":
    main()
