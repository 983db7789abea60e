"""HTTP plumbing of the API.

- Every /api/ answer is JSON with a code: DRF's JSON parser made strict like the public views'
  (no NaN/Infinity; deep nesting is `invalid_json`, not a RecursionError and a 500), and a
  middleware that turns any non-JSON error page under /api/ (Django's HTML 404 or CSRF 403 with
  DEBUG on, a server error page) into the JSON error body with the code its status means.
- Rate limits on HTTP: the public candidate endpoints and the admin login per client address
  (middleware), and Basic-auth password checks per address (the authentication class).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.authentication import BasicScheme
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, ParseError, Throttled, ValidationError
from rest_framework.parsers import JSONParser

from interview_rt.runtime.ratelimit import limiter

from .. import schemas
from ..errors import ErrorCode, InterviewError, RateLimited

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


# The JSON type each kind of DRF field is documented with (OpenAPI), most specific first.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ListField, (list,), "an array"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ChoiceField, (str,), "a string"),
]


def _wrong_type(field: serializers.Field, value: Any) -> Any:
    """Why `value` is not of `field`'s JSON type (a message, or per item of a list), or None."""
    if value is None and field.allow_null:
        return None
    for kind, types, name in _JSON_TYPES:
        if isinstance(field, kind):
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                return [f"Expected {name}."]
            break
    if isinstance(field, serializers.ListField):
        items = {str(i): why for i, item in enumerate(value) if (why := _wrong_type(field.child, item))}
        return items or None
    return None


class StrictSerializer(serializers.Serializer):
    """Each JSON value of the type the OpenAPI document says, as the candidate bodies (pydantic,
    strict) are: DRF alone reads 7 as "7", "5" as 5 and "yes" as true."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                name: why
                for name, field in self.fields.items()
                if not field.read_only and name in data and (why := _wrong_type(field, data[name]))
            }
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)


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


# --- rate limits -----------------------------------------------------------------------------------

PUBLIC_PATHS = ("/api/interviews/access/", "/api/ai-interview/start/", "/api/ai-interview/run-interview/")
ADMIN_LOGIN = "/admin/login/"


def _rule_for(request: HttpRequest) -> str | None:
    if request.path.startswith(PUBLIC_PATHS):
        return "public_ip"
    if request.path == ADMIN_LOGIN and request.method == "POST":
        return "login_ip"
    return None


def address(request: Any) -> str:
    # daphne --proxy-headers puts the client's address (X-Forwarded-For) in REMOTE_ADDR.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def limited_response(wait: float) -> JsonResponse:
    refused = RateLimited(wait)
    response = JsonResponse(refused.as_dict(), status=refused.status)
    response["Retry-After"] = str(refused.retry_after)
    return response


def rate_limits(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """Middleware (sync and async): per-address buckets for the public endpoints and admin login."""
    if iscoroutinefunction(get_response):
        get_async = get_response

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            name = _rule_for(request)
            wait = await limiter.ahit(name, address(request)) if name else None
            return limited_response(wait) if wait is not None else await get_async(request)

        markcoroutinefunction(middleware_async)
        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        name = _rule_for(request)
        wait = limiter.hit(name, address(request)) if name else None
        return limited_response(wait) if wait is not None else get_response(request)

    return middleware


rate_limits.sync_capable = True  # type: ignore[attr-defined]
rate_limits.async_capable = True  # type: ignore[attr-defined]


class ThrottledBasicAuthentication(BasicAuthentication):
    """Basic auth whose password checks (a slow hash each, on purpose) are limited per address."""

    def authenticate_credentials(self, userid: str, password: str, request: Any = None) -> Any:
        wait = limiter.hit("login_ip", address(request)) if request is not None else None
        if wait is not None:
            raise Throttled(wait=wait)
        # PostgreSQL refuses NUL in text, so the user lookup would raise (a 500); no user has one.
        if "\x00" in userid or "\x00" in password:
            raise AuthenticationFailed("Invalid username/password.")
        return super().authenticate_credentials(userid, password, request)


class ThrottledBasicScheme(BasicScheme):
    """The OpenAPI security scheme of ThrottledBasicAuthentication: plain HTTP Basic."""

    target_class = "interview_rt.interviews.api.http.ThrottledBasicAuthentication"
