"""The candidate's wire formats, declared once (pydantic v2): socket frames both ways and the
public REST bodies. Inbound frames and bodies are validated with these models; outbound frames
are built in rows.py and checked against them by the tests; docs/protocol.md quotes the JSON
Schemas derived from them (tests/test_docs.py) and the OpenAPI at /api/schema/ includes them.

Pure: no Django. Validation errors become `InterviewError(invalid_field, field=...)` in
`validate()`, so every interface reports them alike.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from ai_service.types import Difficulty, InterviewType, QuestionType

from .constants import (
    CLIENT_ID_PATTERN,
    MAX_ANSWER_CHARS,
    RESPONSE_TYPES,
    EvaluationStatus,
    FeedbackMode,
    Recommendation,
    Status,
)
from .errors import ErrorCode, InterviewError
from .state import Awaiting
from .text import SURROGATE_ESCAPE, clean_json

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
# The last instant a datetime can hold (9999-12-31), in ms since the epoch.
MAX_TIMESTAMP_MS = 253_402_300_799_000
MAX_WAIT_SECONDS = 30
DEFAULT_WAIT_SECONDS = 10

ClientId = Annotated[
    str, Field(pattern=f"^{CLIENT_ID_PATTERN}$", description="chosen by the client, unique per answer")
]
UuidStr = Annotated[str, Field(pattern=f"^{UUID_PATTERN}$", max_length=36)]
AnswerText = Annotated[str, Field(max_length=MAX_ANSWER_CHARS)]
ResponseType = Literal["text", "code", "audio_transcript"]
# An empty response_type means the default, "text".
OptionalResponseType = Annotated[ResponseType | None, BeforeValidator(lambda v: None if v == "" else v)]
assert set(ResponseType.__args__) == set(RESPONSE_TYPES)  # type: ignore[attr-defined]


class _In(BaseModel):
    # Strict: a JSON string is not a number, `true` is not 1; unknown fields are ignored so
    # clients may add their own.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- socket: client frames ---------------------------------------------------------------------


class AnswerSubmit(_In):
    """Store an answer to the current question; acknowledged with `answer.accepted`."""

    type: Literal["answer.submit"]
    client_id: ClientId
    question_id: UuidStr
    text: AnswerText
    response_type: OptionalResponseType = None
    submitted_at: Annotated[float, Field(ge=0, le=MAX_TIMESTAMP_MS, description="client clock, ms")] | None = None


class SessionResume(_In):
    """Send every logged frame with `seq > last_seq`, in order (at most 500; ask again)."""

    type: Literal["session.resume"]
    last_seq: Annotated[int, Field(ge=0, le=2**31 - 1)]


class SessionSync(_In):
    """Send a fresh `session.state`, then logged frames this socket has not sent."""

    type: Literal["session.sync"]


class Ping(_In):
    """Answered by `pong` with the same `ref`."""

    type: Literal["ping"]
    ref: Annotated[str, Field(max_length=128)] | int | float | None = None


ClientFrame = Annotated[AnswerSubmit | SessionResume | SessionSync | Ping, Field(discriminator="type")]
CLIENT_FRAME_TYPES = ("answer.submit", "session.resume", "session.sync", "ping")
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


# --- socket: server frames ---------------------------------------------------------------------


class Question(_Out):
    id: str
    order: int
    text: str
    type: QuestionType
    competency: str
    difficulty: Difficulty
    time_limit_seconds: int
    follow_up_of: str | None = Field(description="the planned question this follow-up probes, or null")
    asked_at: str | None
    deadline_ms: int | None = Field(description="asked_at + time limit, ms since the epoch")


class KeyPointMatch(_Out):
    point: str
    evidence: str = Field(description="the span of the answer that covers the point")
    similarity: float


class Feedback(_Out):
    """An answer's grade as the candidate sees it: `answer.feedback` and REST `evaluation`."""

    client_id: str
    question_id: str
    response_id: str
    score: float | None = Field(description="0-10, or null with insufficient_evidence")
    insufficient_evidence: bool
    feedback: str
    strengths: list[str]
    improvements: list[str]
    covered_key_points: list[KeyPointMatch]
    missed_key_points: list[str]
    late: bool


class AnswerSummary(Feedback):
    order: int


class Result(_Out):
    overall_score: float | None
    recommendation: Recommendation
    summary: str
    competency_scores: dict[str, float | None]
    strengths: list[str]
    weaknesses: list[str]
    insufficient_evidence_count: int


class InterviewInfo(_Out):
    job_title: str
    candidate_name: str
    interview_type: InterviewType
    difficulty: Difficulty
    question_count: int
    feedback_mode: FeedbackMode
    expires_at: str


class SessionInfo(InterviewInfo):
    id: str
    status: Status
    awaiting: Awaiting
    answered: int
    evaluated: int
    current_question: Question | None
    result: Result | None = None


class SessionState(_Out):
    type: Literal["session.state"]
    seq: int = Field(description="the last logged frame this snapshot includes")
    session: SessionInfo


class QuestionAsked(_Out):
    type: Literal["question.asked"]
    seq: int
    question: Question
    duplicate: bool | None = None


class AnswerAccepted(_Out):
    type: Literal["answer.accepted"]
    seq: int
    client_id: str
    question_id: str
    response_id: str
    received_at: str
    late: bool
    evaluation: EvaluationStatus
    duplicate: bool | None = Field(default=None, description="true when this repeats an earlier submission's reply")


class AnswerFeedback(Feedback):
    type: Literal["answer.feedback"]
    seq: int
    follow_up_next: bool = Field(description="the next question is a follow-up to this answer")
    duplicate: bool | None = None


class InterviewCompleted(_Out):
    type: Literal["interview.completed"]
    seq: int
    result: Result
    answers: list[AnswerSummary]


class ErrorFrame(_Out):
    type: Literal["error"]
    code: ErrorCode
    message: str
    field: str | None = None
    client_id: str | None = Field(default=None, description="echoes a refused answer's client_id")
    retry_after: int | None = Field(default=None, description="with `rate_limited`: seconds to wait")


class Pong(_Out):
    type: Literal["pong"]
    ref: str | int | float | None


ServerFrame = Annotated[
    SessionState | QuestionAsked | AnswerAccepted | AnswerFeedback | InterviewCompleted | ErrorFrame | Pong,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


# --- REST (public, candidate) ------------------------------------------------------------------

WaitSeconds = Annotated[
    float,
    Field(ge=0, le=MAX_WAIT_SECONDS, description="how long to wait for the question or grade (default 10)"),
]


class StartRequest(_In):
    token: LinkToken
    wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS


class ResponseData(_In):
    question_id: UuidStr
    response_text: AnswerText
    response_type: OptionalResponseType = None
    client_id: ClientId | None = Field(default=None, description="default: derived from question_id")


LinkToken = Annotated[str, Field(min_length=1, max_length=512, description="the interview link's token")]
SessionKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="the candidate's credential for this session, returned by `start` and the access endpoint",
    ),
]


class RunInterviewRequest(_In):
    action: Literal["start", "question", "response", "complete"]
    # Any string: one that names no session (a UUID or not) is `session_not_found`, 404.
    session_id: Annotated[str, Field(min_length=1, max_length=MAX_ANSWER_CHARS)]
    # One of the two is required (`not_authenticated` otherwise): the session id alone is no
    # credential, staff screens show it.
    session_key: SessionKey | None = None
    token: LinkToken | None = None
    data: ResponseData | None = Field(default=None, description="required for action `response`")
    wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS


class Progress(_Out):
    answered: int
    total: int


class SessionView(_Out):
    session_id: str
    status: Status
    awaiting: Awaiting
    feedback_mode: FeedbackMode
    progress: Progress
    question: Question | None
    result: Result | None = None
    answers: list[AnswerSummary] | None = Field(default=None, description="with `result`, every graded answer")
    session_key: str | None = Field(default=None, description="returned by `start`: the credential for run-interview")


class ResponseView(SessionView):
    accepted: AnswerAccepted | None
    duplicate: bool
    evaluation: Feedback | None
    evaluation_status: EvaluationStatus


class AccessView(_Out):
    session_id: str
    session_key: str = Field(description="the credential for run-interview")
    status: Status
    interview: InterviewInfo
    websocket_path: str


class ErrorBody(_Out):
    code: ErrorCode
    message: str
    field: str | None = None
    retry_after: int | None = Field(default=None, description="with `rate_limited`: seconds to wait")
    errors: dict[str, Any] | list[Any] | None = Field(
        default=None, description="staff endpoints' `invalid_field`: every field's messages"
    )


# --- validation --------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's json accepts them unless told not to.
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """JSON, strictly: no NaN/Infinity; deep nesting is an error, not a crash. Lone surrogates
    (`"\\ud800"`) become U+FFFD: nothing could validate, store or echo them (text.py)."""
    try:
        data = json.loads(text, parse_constant=_no_constants)
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
    elif len(path) < len([p for p in error["loc"] if str(p) not in CLIENT_FRAME_TYPES]):
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


def parse_client_frame(data: Any) -> AnswerSubmit | SessionResume | SessionSync | Ping:
    if not isinstance(data, dict):
        raise InterviewError(ErrorCode.INVALID_JSON, "A frame must be a JSON object.")
    frame_type = data.get("type")
    if not isinstance(frame_type, str) or frame_type not in CLIENT_FRAME_TYPES:
        raise InterviewError(
            ErrorCode.UNKNOWN_TYPE,
            f"Unknown frame type; expected one of {', '.join(sorted(CLIENT_FRAME_TYPES))}.",
            field="type",
        )
    try:
        return client_frame_adapter.validate_python(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def json_schemas() -> dict[str, Any]:
    """The JSON Schemas quoted in the docs, keyed by name."""
    return {
        "client frames": client_frame_adapter.json_schema(),
        "server frames": server_frame_adapter.json_schema(),
    }


_PATTERN_MESSAGES = {
    "question_id": "must be a UUID",
    "session_id": "must be a UUID",
    "client_id": "must be 1-64 characters of A-Z a-z 0-9 _ . : -",
}
_FIELD_NAMES = {
    name
    for model in (AnswerSubmit, SessionResume, SessionSync, Ping, StartRequest, ResponseData, RunInterviewRequest)
    for name in model.model_fields
}

OPENAPI_MODELS: tuple[type[BaseModel], ...] = (
    StartRequest,
    RunInterviewRequest,
    SessionView,
    ResponseView,
    AccessView,
    ErrorBody,
)
