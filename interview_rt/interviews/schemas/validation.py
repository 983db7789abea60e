"""Reading what clients send: `loads` (strict JSON), `validate` (a body into its model) and
`parse_client_frame`/`parse_staff_frame`/`parse_action` (a frame or actions body into its union's
member), each refusal an `InterviewError` naming the field; and `json_schemas`, the frames' JSON
Schemas the docs quote."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ErrorCode, InterviewError
from ..text import SURROGATE_ESCAPE, clean_json
from . import candidate_client_frames, public_rest, staff_actions, staff_client_frames
from .base import _In
from .candidate_client_frames import (
    CLIENT_FRAME_TYPES,
    AnswerDraft,
    AnswerSubmit,
    ConsentAccept,
    IntegritySignalIn,
    Ping,
    SessionResume,
    SessionSync,
    client_frame_adapter,
)
from .candidate_server_frames import server_frame_adapter
from .staff_actions import ACTION_KINDS, ActionRequestUnion, action_request_adapter
from .staff_client_frames import STAFF_CLIENT_FRAME_TYPES, StaffClientFrame, staff_client_frame_adapter
from .staff_server_frames import staff_server_frame_adapter

# --- validation --------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's json accepts them unless told not to.
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> float | int:
    # 468.0 is the integer 468 to JSON Schema (so to the OpenAPI document): strict integer fields
    # take it; float fields take an int anyway.
    value = float(text)
    return int(value) if value.is_integer() else value


def loads(text: str | bytes) -> Any:
    """JSON, strictly: no NaN/Infinity; deep nesting is an error, not a crash. Lone surrogates
    (`"\\ud800"`) become U+FFFD: nothing could validate, store or echo them (text.py)."""
    try:
        data = json.loads(text, parse_constant=_no_constants, parse_float=_number)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InterviewError(ErrorCode.INVALID_JSON, "The body is not valid JSON.") from None
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if not SURROGATE_ESCAPE.search(raw):
        return data
    try:
        return clean_json(data, nul=False)
    except RecursionError:  # nested nearly as deep as the parser allows
        raise InterviewError(ErrorCode.INVALID_JSON, "The body is nested too deeply.") from None


def _invalid(exc: ValidationError) -> InterviewError:
    error = exc.errors(include_url=False)[0]
    # A location mixes field names with union members' tags ("str", "constrained-str") and the
    # frame type of the discriminated union; the client needs the field.
    path = [str(part) for part in error["loc"] if str(part) in _FIELD_NAMES]
    field = path[-1] if path else None
    if error["type"] == "missing":
        message = f"{field} is required."
    elif error["type"] == "string_pattern_mismatch" and field in _PATTERN_MESSAGES:
        message = f"{field} {_PATTERN_MESSAGES[field]}."
    elif error["type"].endswith(("_type", "_parsing")):
        # "string_type", "int_parsing", ... (a value's limits, such as a too-short text, say so)
        message = f"{field} has the wrong type."
    else:
        message = f"{field}: {error['msg']}." if field else f"{error['msg']}."
    return InterviewError(ErrorCode.INVALID_FIELD, message, field=field)


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InterviewError(ErrorCode.INVALID_JSON, "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


CandidateFrame = AnswerSubmit | SessionResume | SessionSync | Ping | ConsentAccept | AnswerDraft | IntegritySignalIn


def _parse(
    data: Any,
    types: tuple[str, ...],
    adapter: TypeAdapter[Any],
    tag: str = "type",
    unknown: ErrorCode = ErrorCode.UNKNOWN_TYPE,
    what: str = "A frame",
) -> Any:
    if not isinstance(data, dict):
        raise InterviewError(ErrorCode.INVALID_JSON, f"{what} must be a JSON object.")
    value = data.get(tag)
    if not isinstance(value, str) or value not in types:
        raise InterviewError(unknown, f"Unknown {tag}; expected one of {', '.join(sorted(types))}.", field=tag)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def parse_client_frame(data: Any) -> CandidateFrame:
    result: CandidateFrame = _parse(data, CLIENT_FRAME_TYPES, client_frame_adapter)
    return result


def parse_staff_frame(data: Any) -> StaffClientFrame:
    result: StaffClientFrame = _parse(data, STAFF_CLIENT_FRAME_TYPES, staff_client_frame_adapter)
    return result


def parse_action(data: Any) -> ActionRequestUnion:
    """A REST staff action body; an unknown `action` is `invalid_field` (a body, not a frame)."""
    result: ActionRequestUnion = _parse(
        data, ACTION_KINDS, action_request_adapter, tag="action", unknown=ErrorCode.INVALID_FIELD, what="The body"
    )
    return result


def json_schemas() -> dict[str, Any]:
    """The JSON Schemas quoted in the docs, keyed by name."""
    return {
        "client frames": client_frame_adapter.json_schema(),
        "server frames": server_frame_adapter.json_schema(),
        "staff client frames": staff_client_frame_adapter.json_schema(),
        "staff server frames": staff_server_frame_adapter.json_schema(),
    }


_PATTERN_MESSAGES = {
    "question_id": "must be a UUID",
    "session_id": "must be a UUID",
    "client_id": "must be 1-64 characters of A-Z a-z 0-9 _ . : -",
}


# Every inbound model's field names (a validation error's location mixes them with union tags).
_FIELD_NAMES = {
    name
    for module in (candidate_client_frames, public_rest, staff_actions, staff_client_frames)
    for model in vars(module).values()
    if isinstance(model, type) and issubclass(model, _In)
    for name in model.model_fields
}
