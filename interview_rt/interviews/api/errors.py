"""JSON error bodies with a stable `code`, for DRF views and plain Django views alike."""

from __future__ import annotations

import math
from typing import Any

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ErrorCode, InterviewError

DRF_CODES = {
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.NOT_AUTHENTICATED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.ParseError: ErrorCode.INVALID_JSON,
    exceptions.Throttled: ErrorCode.RATE_LIMITED,
    exceptions.ValidationError: ErrorCode.INVALID_FIELD,
    exceptions.UnsupportedMediaType: ErrorCode.INVALID_JSON,
}


def error_response(exc: InterviewError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status)


def _as_json(context: dict[str, Any]) -> None:
    # An error is the JSON body even where the client asked for CSV (the exports), whose renderer
    # would drop it and leave a bare status.
    request = context.get("request")
    if request is not None and getattr(request, "accepted_media_type", "") != "application/json":
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    _as_json(context)
    if isinstance(exc, InterviewError):
        return Response(exc.as_dict(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((str(c) for t, c in DRF_CODES.items() if isinstance(exc, t)), ErrorCode.INTERNAL_ERROR.value)
    detail = response.data
    message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else "Invalid request."
    body: dict[str, Any] = {"code": code, "message": str(message)}
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        body["retry_after"] = max(1, math.ceil(wait))
    if isinstance(exc, exceptions.ValidationError):
        body["errors"] = detail
        # Like the candidate endpoints: the first offending field and its message.
        if isinstance(detail, dict) and detail:
            name, problems = next(iter(detail.items()))
            first = problems[0] if isinstance(problems, list) and problems else problems
            body["field"] = str(name)
            body["message"] = f"{name}: {first}" if isinstance(first, str) else "Invalid request."
    response.data = body
    return response
