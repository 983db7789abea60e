"""The answers every route shares: JSON bodies, the OpenAI-style error envelope, the answer that
never comes (the hang fault), and a request body read whole but bounded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
JSON = "application/json"


class BadRequest(Exception):
    """The request cannot be answered: answered as an error envelope with `status`."""

    def __init__(self, message: str, status: int = 400, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    # json.dumps' default separators (Starlette's JSONResponse writes compact JSON): the bytes the
    # server has always sent.
    return Response(json.dumps(data, ensure_ascii=False).encode("utf-8"), status, dict(headers or {}), JSON)


def raw_response(body: bytes) -> Response:
    """A 200 whose body is `body` as it is, declared JSON (the garbage and empty faults)."""
    return Response(body, 200, media_type=JSON)


def error_response(status: int, message: str, code: str = "", headers: Mapping[str, str] | None = None) -> Response:
    # OpenAI-style error envelope: clients of both APIs can read `error.message`.
    error = {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}
    if code:
        error["code"] = code
    return json_response(status, {"error": error}, headers)


class NoAnswer(Response):
    """Holds the request without answering until the client gives up (sends nothing at all)."""

    def __init__(self) -> None:
        super().__init__(status_code=0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


class Unsent(Response):
    """Sends nothing: the client has gone (daphne would drop the answer anyway)."""

    def __init__(self) -> None:
        super().__init__(status_code=0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return


async def read_body(request: Request) -> bytes:
    """The request's body, read whole; BadRequest(413) beyond MAX_BODY_BYTES. ClientDisconnect
    (Starlette's) when the client leaves first."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest("request body too large", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None


__all__ = [
    "MAX_BODY_BYTES",
    "BadRequest",
    "NoAnswer",
    "Unsent",
    "error_response",
    "json_response",
    "parse_json",
    "raw_response",
    "read_body",
]
