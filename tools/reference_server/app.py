"""The Starlette application: the routes, the API key, the request counters and the error envelope.

Every API route (the model API and the OpenAI-compatible chat completions) is counted, checks the
key, takes its fault (faults.py), waits the latency, and answers from the grader (grading.py).
`/healthz` needs no key; every other route does, unknown ones included (401 before 404).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ai_service.errors import ProviderError
from ai_service.schemas import EvaluateRequest, GenerateRequest, QuestionsPrompt

from . import faults
from .faults import Faults, ServerConfig
from .grading import (
    MODEL_NAME,
    Grader,
    PromptPayload,
    context_from_prompt,
    context_from_seed_api,
    evaluation_json,
    evaluation_request,
    prompt_payload,
    validated,
)
from .responses import BadRequest, Unsent, error_response, json_response, parse_json, raw_response, read_body
from .stats import Connections, Stats

API_ROUTES = ("/generate-questions", "/evaluate-response", "/v1/chat/completions", "/chat/completions")

UNAUTHORIZED = "missing or invalid API key"

Answer = Callable[[bytes, str], Awaitable[Response]]


class ReferenceServer:
    """The server's state (switches, counters, grader) and its Starlette application, `app`."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.connections = Connections()
        self.faults = Faults(config)
        self.grader = Grader()
        self._completions = 0
        app = Starlette(
            routes=[
                Route("/healthz", self.health, methods=["GET"]),
                Route("/generate-questions", self.generate, methods=["POST"]),
                Route("/evaluate-response", self.evaluate, methods=["POST"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/models", self.models, methods=["GET"]),
                Route("/_stats", self.counters, methods=["GET"]),
                Route("/_control", self.control, methods=["POST"]),
            ],
            exception_handlers={
                BadRequest: self._bad_request,
                ProviderError: self._provider_error,
                ClientDisconnect: self._client_gone,
                404: self._no_route,
                405: self._wrong_method,
                Exception: self._internal_error,
            },
        )
        # Outside Starlette's error middleware, so that its 500 answers are logged too.
        self.app: ASGIApp = AccessLog(app) if config.access_log else app

    async def warm_up(self) -> None:
        await self.grader.warm_up()

    # -- the key and the errors

    def _authorized(self, request: Request) -> bool:
        if not self.config.api_key:
            return True
        expected = f"Bearer {self.config.api_key}".encode()
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    def _require_key(self, request: Request) -> None:
        if not self._authorized(request):
            raise BadRequest(UNAUTHORIZED, 401, "unauthorized")

    async def _bad_request(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return error_response(exc.status, str(exc), exc.code)

    async def _provider_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProviderError)
        return error_response(422, str(exc), exc.kind)

    async def _client_gone(self, request: Request, exc: Exception) -> Response:
        return Unsent()

    async def _no_route(self, request: Request, exc: Exception) -> Response:
        if not self._authorized(request):
            return error_response(401, UNAUTHORIZED, "unauthorized")
        return error_response(404, f"no route for {request.method} {request.url.path}", "not_found")

    async def _wrong_method(self, request: Request, exc: Exception) -> Response:
        if request.url.path in API_ROUTES:  # before the key, like every server that knows its routes
            return error_response(405, "use POST", headers={"Allow": "POST"})
        return await self._no_route(request, exc)

    async def _internal_error(self, request: Request, exc: Exception) -> Response:
        # A bug here must still answer, and say so.
        print(f"error handling {request.method} {request.url.path}: {exc!r}", file=sys.stderr, flush=True)
        return error_response(500, "internal error in the reference server", "internal")

    # -- routes without faults

    async def health(self, request: Request) -> Response:
        return json_response(200, {"status": "ok", "model": MODEL_NAME})

    async def models(self, request: Request) -> Response:
        self._require_key(request)
        return json_response(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})

    async def counters(self, request: Request) -> Response:
        self._require_key(request)
        stats = asdict(self.stats)
        stats.update(connections=self.connections.open, max_connections=self.connections.max_open)
        return json_response(200, stats)

    async def control(self, request: Request) -> Response:
        raw = await read_body(request)
        self._require_key(request)
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        try:
            self.faults.control(body)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"invalid control value: {exc}") from None
        if body.get("reset_stats"):
            self.stats = Stats()
            self.connections.reset()
        return json_response(200, self.config.public())

    # -- the API routes

    async def generate(self, request: Request) -> Response:
        return await self._api(request, self._generate)

    async def evaluate(self, request: Request) -> Response:
        return await self._api(request, self._evaluate)

    async def chat(self, request: Request) -> Response:
        return await self._api(request, self._chat)

    async def _api(self, request: Request, answer: Answer) -> Response:
        body = await read_body(request)
        stats = self.stats  # the one this request counts in, even if reset meanwhile
        stats.started(request.url.path)
        try:
            self._require_key(request)
            fault = self.faults.take()
            if fault != "none":
                stats.faults_applied += 1
            delay_ms = self.faults.delay_ms(fault)
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
                stats.delayed_ms += delay_ms
            return faults.early_answer(fault) or await answer(body, fault)
        finally:
            stats.finished()

    async def _generate(self, body: bytes, fault: str) -> Response:
        context = context_from_seed_api(validated(GenerateRequest.model_validate, parse_json(body), "body"))
        if fault == "empty":
            return raw_response(b"")
        questions = await self.grader.questions(context)
        if fault == "wrong-schema":
            return json_response(200, faults.wrong_schema_questions(questions))
        return json_response(
            200, {"questions": questions, "model_name": MODEL_NAME, "model_version": self.grader.model_version}
        )

    async def _evaluate(self, body: bytes, fault: str) -> Response:
        evaluation_in = evaluation_request(validated(EvaluateRequest.model_validate, parse_json(body), "body"))
        if fault == "empty":
            return raw_response(b"")
        data = evaluation_json(await self.grader.evaluate(evaluation_in), follow_up=True)
        if fault == "wrong-schema":
            return json_response(200, faults.wrong_schema_evaluation(data["feedback"]))
        if fault == "out-of-range":
            data.update(faults.OUT_OF_RANGE)
        data.update(model_name=MODEL_NAME, model_version=self.grader.model_version)
        return json_response(200, data)

    async def _chat(self, raw: bytes, fault: str) -> Response:
        body = parse_json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise BadRequest("the body must be an object with a 'messages' list")
        response_format = body.get("response_format")
        mode = response_format.get("type") if isinstance(response_format, dict) else None
        if mode == "json_schema" and not self.config.json_schema:
            raise BadRequest("response_format type 'json_schema' is not supported by this server; use 'json_object'")
        if mode not in (None, "json_schema", "json_object", "text"):
            raise BadRequest(f"unknown response_format type {mode!r}")
        payload = validated(PromptPayload.validate_python, prompt_payload(body["messages"]), "payload")
        result: dict[str, Any]
        if isinstance(payload, QuestionsPrompt):
            result = {"questions": await self.grader.questions(context_from_prompt(payload))}
        else:
            evaluation = await self.grader.evaluate(evaluation_request(payload))
            result = evaluation_json(evaluation, follow_up=payload.follow_up)
            if fault == "out-of-range":
                result.update(faults.OUT_OF_RANGE)
        if fault == "wrong-schema":
            result = dict(faults.WRONG_SCHEMA_CHAT)
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


class AccessLog:
    """`--access-log`: one stderr line per answered request (method, path, status, milliseconds)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def logged(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, logged)
        finally:
            if status is not None:  # a hanging request or a client gone: nothing was answered
                elapsed_ms = (time.perf_counter() - started) * 1000
                print(f"{scope['method']} {scope['path']} {status} {elapsed_ms:.1f}ms", file=sys.stderr, flush=True)
