"""What makes every /api/ answer JSON with a code: DRF's JSON parser made strict like the public
views' (no NaN/Infinity; deep nesting is `invalid_json`, not a RecursionError and a 500), and a
middleware that turns any non-JSON error page under /api/ (Django's HTML 404 or CSRF 403 with
DEBUG on, a server error page) into the JSON error body with the code its status means."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .. import schemas
from ..errors import ErrorCode, InterviewError

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.FRAME_TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
}


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return schemas.loads(raw)
        except InterviewError as exc:
            raise ParseError(exc.message) from None


def _json_error(response: HttpResponseBase) -> HttpResponseBase:
    if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    code = STATUS_CODES.get(response.status_code, ErrorCode.INTERNAL_ERROR)
    if response.status_code < 500 and response.status_code not in STATUS_CODES:
        code = ErrorCode.BAD_REQUEST
    message = getattr(response, "reason_phrase", "") or "Error."
    replaced = JsonResponse({"code": str(code), "message": message}, status=response.status_code)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            replaced[header] = response[header]
    return replaced


def api_json_errors(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """Middleware (sync and async): non-JSON error responses under /api/ become JSON bodies."""
    if iscoroutinefunction(get_response):
        get_async = get_response

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            response = await get_async(request)
            return _json_error(response) if request.path.startswith(API_PREFIX) else response

        markcoroutinefunction(middleware_async)
        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        return _json_error(response) if request.path.startswith(API_PREFIX) else response

    return middleware


api_json_errors.sync_capable = True  # type: ignore[attr-defined]
api_json_errors.async_capable = True  # type: ignore[attr-defined]
