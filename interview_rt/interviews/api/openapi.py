"""The public candidate endpoints in the OpenAPI document (drf-spectacular describes the DRF staff
views by itself; these are plain async Django views whose bodies are pydantic models)."""

from __future__ import annotations

from typing import Any

from ..errors import CODES
from ..schemas import (
    OPENAPI_MODELS,
    AccessView,
    DemographicsRequest,
    DemographicsView,
    ErrorBody,
    ResponseView,
    RunInterviewRequest,
    SessionView,
    StartRequest,
)

REF = "#/components/schemas/{model}"


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
    token = [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}]
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
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
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
