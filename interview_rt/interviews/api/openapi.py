"""The public candidate endpoints in the OpenAPI document (drf-spectacular describes the DRF staff
views by itself; these are plain async Django views whose bodies are pydantic models)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from pydantic import BaseModel, TypeAdapter, ValidationError
from rest_framework import serializers

from ..errors import CODES
from ..schemas import (
    OPENAPI_MODELS,
    AccessView,
    DemographicsRequest,
    DemographicsView,
    ErrorBody,
    LinkToken,
    ResponseView,
    RunInterviewRequest,
    SessionView,
    StartRequest,
)
from ..text import SPACES

REF = "#/components/schemas/{model}"

# What DRF's CharField refuses beyond its lengths, as patterns: NUL anywhere (PostgreSQL cannot
# store it), and, unless blank is allowed, a text that is empty (once trimmed, if it trims).
NO_NUL = r"^[^\x00]*$"
NOT_EMPTY = r"^[^\x00]+$"
NOT_BLANK = rf"^[^\x00]*[^\x00{SPACES}][^\x00]*$"


def _accepts_empty(body: Any) -> bool:
    if isinstance(body, type) and issubclass(body, BaseModel):
        try:
            body.model_validate({})
        except ValidationError:
            return False
        return True
    cls = body if isinstance(body, type) else type(body)
    return not issubclass(cls, serializers.Serializer) or bool(cls(data={}).is_valid())


def uuid_path(name: str) -> OpenApiParameter:
    """A path parameter the view parses as a UUID (the URL pattern takes any text, so that a
    malformed one is a clear `invalid_field` or a 404 rather than Django's page)."""
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH)


FORMATTED = (
    serializers.EmailField,
    serializers.RegexField,
    serializers.URLField,
    serializers.UUIDField,
    serializers.IPAddressField,
)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, saying what the staff views' request bodies really require."""

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # Formats and patterns of their own (email, username) already exclude blanks and NUL.
        plain = isinstance(field, serializers.CharField) and not isinstance(field, FORMATTED)
        if direction == "request" and plain:
            schema["pattern"] = NO_NUL if field.allow_blank else NOT_BLANK if field.trim_whitespace else NOT_EMPTY
        return schema

    def _get_format_parameters(self) -> Any:
        parameters = super()._get_format_parameters()
        # DRF reads an empty `?format=` as none given (content negotiation decides).
        for parameter in parameters:
            parameter["schema"]["enum"] = [*parameter["schema"]["enum"], ""]
        return parameters

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # What a serializer's validate() requires across fields, declared beside it.
        if direction == "request":
            schema.update(getattr(serializer, "openapi_constraints", {}))
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # drf-spectacular reads `required` off an object's properties; a pydantic union (a staff
        # action) has none, and "candidate_id or email" is validate()'s: the body is required
        # exactly when {} is refused.
        return schema, required or not _accepts_empty(serializer)

    def resolve_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        # drf-spectacular makes PATCH bodies partial (nothing required), as DRF's generic views do;
        # these views validate a PATCH body whole, so a required field stays required.
        if getattr(serializer, "partial", False) and self.method == "PATCH":
            serializer.partial = False
        return super().resolve_serializer(serializer, direction, bypass_extensions)


def _ref(model: type) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type, description: str = "") -> dict[str, Any]:
    return {"description": description or model.__name__, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        codes = sorted(str(code) for code, (s, _) in CODES.items() if s == status)
        out[str(status)] = _json(ErrorBody, "error codes: " + ", ".join(codes))
    return out


def public_paths() -> dict[str, Any]:
    token = [{"name": "token", "in": "path", "required": True, "schema": TypeAdapter(LinkToken).json_schema()}]
    return {
        "/api/interviews/access/{token}/demographics/": {
            "get": {
                "operationId": "interview_demographics_get",
                "summary": "The optional self-reported group: the options offered and the current answer",
                "tags": ["candidate"],
                "security": [],
                "parameters": token,
                "responses": {"200": _json(DemographicsView), **_errors(400, 403, 404, 405, 410, 429)},
            },
            "post": {
                "operationId": "interview_demographics_set",
                "summary": "Record (with consent) or clear the candidate's self-reported group",
                "tags": ["candidate"],
                "security": [],
                "parameters": token,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(DemographicsRequest)}},
                },
                "responses": {"200": _json(DemographicsView), **_errors(400, 403, 404, 405, 410, 413, 429)},
            },
        },
        "/api/interviews/access/{token}/": {
            "get": {
                "operationId": "interview_access",
                "summary": "Open an interview link (creates its session once)",
                "tags": ["candidate"],
                "security": [],
                "parameters": token,
                "responses": {"200": _json(AccessView), **_errors(400, 403, 404, 405, 410, 429)},
            }
        },
        "/api/ai-interview/start/": {
            "post": {
                "operationId": "interview_start",
                "summary": "Start the session of a link; waits for the first question",
                "tags": ["candidate"],
                "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(StartRequest)}}},
                "responses": {"200": _json(SessionView), **_errors(400, 403, 404, 405, 409, 410, 413, 429)},
            }
        },
        "/api/ai-interview/run-interview/": {
            "post": {
                "operationId": "interview_run",
                "summary": "Drive a session: start, question, response, complete",
                "tags": ["candidate"],
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(RunInterviewRequest)}},
                },
                "responses": {
                    "200": {
                        "description": "the session view; action `response` adds the acknowledgement and grade",
                        "content": {"application/json": {"schema": {"oneOf": [_ref(ResponseView), _ref(SessionView)]}}},
                    },
                    **_errors(400, 403, 404, 405, 409, 410, 413, 429),
                },
            }
        },
    }


def add_public_endpoints(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the candidate endpoints and their schemas."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for model in OPENAPI_MODELS:
        schema = model.model_json_schema(ref_template=REF)
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema
    result.setdefault("paths", {}).update(public_paths())
    # Every operation may answer the JSON error body (a 401/403 without staff credentials, a 404
    # for an unknown id, a 429 when rate-limited, ...): documented, so clients and schema checks
    # know those answers.
    for operations in result["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, body in _errors(400, 401, 403, 404, 405, 409, 413, 429).items():
                responses.setdefault(status, body)
    return result
