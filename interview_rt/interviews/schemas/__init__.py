"""The candidate's wire formats, declared once (pydantic v2): socket frames both ways and the
public REST bodies. Inbound frames and bodies are validated with these models; outbound frames
are built in rows.py and checked against them by the tests; docs/protocol.md quotes the JSON
Schemas derived from them (tests/test_docs.py) and the OpenAPI at /api/schema/ includes them.

Pure: no Django. Validation errors become `InterviewError(invalid_field, field=...)` in
`validate()`, so every interface reports them alike.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, TypeAdapter, ValidationError

from ai_service.types import Difficulty, InterviewType, QuestionType

from ..constants import (
    CLIENT_ID_PATTERN,
    MAX_ANSWER_CHARS,
    MAX_DEMOGRAPHIC_GROUP_CHARS,
    MAX_EXTEND_SECONDS,
    MAX_FOLLOW_UP_CHARS,
    MAX_KEY_POINT_CHARS,
    MAX_KEY_POINTS,
    MAX_MESSAGE_CHARS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    RESPONSE_TYPES,
    ActionKind,
    EvaluationStatus,
    FeedbackMode,
    Recommendation,
    Role,
    SignalKind,
    Status,
)
from ..errors import ErrorCode, InterviewError
from ..state import Awaiting
from ..text import SPACES, SURROGATE_ESCAPE, clean_json

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


def tags(union: Any, field: str) -> tuple[str, ...]:
    """The tag values of a discriminated union `Annotated[A | B | ..., Field(discriminator=field)]`."""
    members = get_args(get_args(union)[0])
    return tuple(get_args(m.model_fields[field].annotation)[0] for m in members)


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


class ConsentAccept(_In):
    """Accept the consent and AI notice (the version the page showed); needed before the first
    question when the snapshot says `awaiting: consent`."""

    type: Literal["consent.accept"]
    notice_version: Annotated[str, Field(min_length=1, max_length=40)]


class AnswerDraft(_In):
    """The answer as it is being typed, for staff watching (send at most 2 a second; the server
    drops the excess, keeping the latest). Never stored, never an answer, never echoed back."""

    type: Literal["answer.draft"]
    question_id: UuidStr
    text: AnswerText


SignalKindName = Literal["paste", "focus_lost", "focus_regained", "first_keystroke"]
assert set(SignalKindName.__args__) == {str(k) for k in SignalKind}  # type: ignore[attr-defined]


class IntegritySignalIn(_In):
    """One integrity signal for the question on screen: `paste` (value: characters pasted),
    `focus_lost`, `focus_regained` (value: ms away), `first_keystroke` (value: ms since shown)."""

    type: Literal["integrity.signal"]
    kind: SignalKindName
    question_id: UuidStr | None = None
    value: Annotated[int, Field(ge=0, le=10**9)] | None = None


ClientFrame = Annotated[
    AnswerSubmit | SessionResume | SessionSync | Ping | ConsentAccept | AnswerDraft | IntegritySignalIn,
    Field(discriminator="type"),
]
CLIENT_FRAME_TYPES = tags(ClientFrame, "type")
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
    ended_early: bool = Field(default=False, description="an interviewer ended the interview early")


class InterviewInfo(_Out):
    job_title: str
    candidate_name: str
    interview_type: InterviewType
    difficulty: Difficulty
    question_count: int
    feedback_mode: FeedbackMode
    expires_at: str


class Notice(_Out):
    """The consent and AI notice: accept it with this `version` (`consent.accept` on the socket,
    `action: "consent"` over REST) before the first question."""

    version: str
    text: str
    covers: list[str] = Field(
        description="what the server does and records during the interview, whatever the text says: "
        "ai_questions, ai_grading, human_decision, live_watching, staff_actions, integrity_signals, storage"
    )


class SessionInfo(InterviewInfo):
    id: str
    status: Status
    awaiting: Awaiting
    answered: int
    evaluated: int
    current_question: Question | None
    result: Result | None = None
    answers: list[AnswerSummary] | None = Field(
        default=None, description="with `result`, every graded answer (as `interview.completed` lists them)"
    )
    notice: Notice | None = Field(
        default=None, description="while the notice is still to be accepted (before start, and while awaiting consent)"
    )


class SessionState(_Out):
    type: Literal["session.state"]
    seq: int = Field(description="the last logged frame this snapshot includes")
    session: SessionInfo


class QuestionAsked(_Out):
    type: Literal["question.asked"]
    seq: int
    question: Question
    total: int | None = Field(default=None, description="questions in the interview now (interviewers may add)")
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


class ConsentRecorded(_Out):
    type: Literal["consent.recorded"]
    seq: int
    notice_version: str
    consented_at: str


class InterviewerMessage(_Out):
    type: Literal["interviewer.message"]
    seq: int
    text: str
    at: str


class QuestionExtended(_Out):
    type: Literal["question.extended"]
    seq: int
    question_id: str
    added_seconds: int
    time_limit_seconds: int
    deadline_ms: int | None


class InterviewEnded(_Out):
    """The interviewer ended the interview: nothing more is asked; `interview.completed` follows
    once the answers given are graded."""

    type: Literal["interview.ended"]
    seq: int
    by: Literal["interviewer"]
    at: str


class ErrorFrame(_Out):
    type: Literal["error"]
    code: ErrorCode
    message: str
    field: str | None = None
    client_id: str | None = Field(default=None, description="echoes a refused answer's client_id")
    ref: str | int | float | None = Field(default=None, description="echoes the refused frame's ref")
    retry_after: int | None = Field(default=None, description="with `rate_limited`: seconds to wait")


class Pong(_Out):
    type: Literal["pong"]
    ref: str | int | float | None


ServerFrame = Annotated[
    SessionState
    | QuestionAsked
    | AnswerAccepted
    | AnswerFeedback
    | InterviewCompleted
    | ConsentRecorded
    | InterviewerMessage
    | QuestionExtended
    | InterviewEnded
    | ErrorFrame
    | Pong,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


# --- REST (public, candidate) ------------------------------------------------------------------

WaitSeconds = Annotated[
    float,
    Field(ge=0, le=MAX_WAIT_SECONDS, description="how long to wait for the question or grade (default 10)"),
]


NoticeVersion = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="accept the consent and AI notice of this version (needed when `awaiting` is `consent`)",
    ),
]


class StartRequest(_In):
    token: LinkToken
    wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS
    notice_version: NoticeVersion | None = None


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
    notice_version: NoticeVersion | None = Field(default=None, description="action `start`: accept the notice")


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
    notice: Notice | None = Field(default=None, description="while the notice is still to be accepted")
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
    notice: Notice | None = Field(default=None, description="the notice to accept before the first question, if any")


class DemographicsRequest(_In):
    """The optional self-reported group from the consent screen. `consent: false` or `group:
    null` records nothing and clears an earlier answer."""

    consent: bool = Field(description="the candidate agreed to report a group for fairness monitoring")
    group: Annotated[str, Field(min_length=1, max_length=MAX_DEMOGRAPHIC_GROUP_CHARS)] | None = Field(
        default=None, description="one of `options` when the server lists any; else free text"
    )


class DemographicsView(_Out):
    group: str | None
    consented: bool
    options: list[str] = Field(description="the groups offered; empty: free text")


class ErrorBody(_Out):
    code: ErrorCode
    message: str
    field: str | None = None
    retry_after: int | None = Field(default=None, description="with `rate_limited`: seconds to wait")
    errors: dict[str, Any] | list[Any] | None = Field(
        default=None, description="staff endpoints' `invalid_field`: every field's messages"
    )


# --- the staff socket: client frames ---------------------------------------------------------------

Ref = Annotated[str, Field(max_length=128)] | int | None


class _StaffIn(_In):
    ref: Ref = Field(default=None, description="echoed in the reply (`action.accepted` or `error`)")


class Watch(_StaffIn):
    """Watch one session: its transcript so far (`watch.transcript`), then its drafts as typed."""

    type: Literal["watch"]
    session_id: UuidStr


class Unwatch(_StaffIn):
    type: Literal["unwatch"]
    session_id: UuidStr


class FeedSync(_StaffIn):
    """Send a fresh `feed.snapshot` (what a client does when it sees a gap in a session's seq)."""

    type: Literal["feed.sync"]


class FeedResume(_StaffIn):
    """Send a session's feed frames with `seq > last_seq`, in order (at most 500; ask again)."""

    type: Literal["feed.resume"]
    session_id: UuidStr
    last_seq: Annotated[int, Field(ge=0, le=2**31 - 1)]


# Each live action's fields, declared once: the staff socket's frames and the REST actions body
# (below) both validate with these, and the services take what they validated.
_NonBlank = BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)
# Not empty once trimmed: the JSON schema's minLength counts the untrimmed text, so it also says
# "not only whitespace" (schema only: the trim and min_length are what validate).
_NOT_BLANK = Field(min_length=1, json_schema_extra={"pattern": f"[^{SPACES}]"})


class MessageFields(_In):
    text: Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_MESSAGE_CHARS)]


class ExtendFields(_In):
    seconds: Annotated[int, Field(ge=1, le=MAX_EXTEND_SECONDS)]


class AddQuestionFields(_In):
    text: Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_FOLLOW_UP_CHARS)]
    key_points: (
        Annotated[
            list[Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_KEY_POINT_CHARS)]],
            Field(max_length=MAX_KEY_POINTS),
        ]
        | None
    ) = None
    competency: Annotated[str, _NonBlank, Field(max_length=100)] | None = None
    time_limit_seconds: Annotated[int, Field(ge=MIN_TIME_LIMIT_SECONDS, le=MAX_TIME_LIMIT_SECONDS)] | None = None


class EndFields(_In):
    reason: Annotated[str, _NonBlank, Field(max_length=MAX_MESSAGE_CHARS)] | None = None


class CandidateMessage(_StaffIn, MessageFields):
    """Message the candidate (shown on their page)."""

    type: Literal["candidate.message"]
    session_id: UuidStr


class QuestionExtend(_StaffIn, ExtendFields):
    """Give the open question more time."""

    type: Literal["question.extend"]
    session_id: UuidStr


class QuestionAdd(_StaffIn, AddQuestionFields):
    """Add a question, asked next; graded like the others (against `key_points` when given)."""

    type: Literal["question.add"]
    session_id: UuidStr


class InterviewEnd(_StaffIn, EndFields):
    """End the interview early; the result says so."""

    type: Literal["interview.end"]
    session_id: UuidStr


class StaffPing(_StaffIn):
    type: Literal["ping"]


StaffClientFrame = Annotated[
    Watch
    | Unwatch
    | FeedSync
    | FeedResume
    | CandidateMessage
    | QuestionExtend
    | QuestionAdd
    | InterviewEnd
    | StaffPing,
    Field(discriminator="type"),
]
STAFF_CLIENT_FRAME_TYPES = tags(StaffClientFrame, "type")
staff_client_frame_adapter: TypeAdapter[StaffClientFrame] = TypeAdapter(StaffClientFrame)


# --- the staff REST actions body (POST .../sessions/<id>/actions/) --------------------------------


class MessageAction(MessageFields):
    """Message the candidate (as `candidate.message` on the staff socket)."""

    action: Literal["message"]


class ExtendTimeAction(ExtendFields):
    """Give the open question more time (as `question.extend`)."""

    action: Literal["extend_time"]


class AddQuestionAction(AddQuestionFields):
    """Add a question, asked next (as `question.add`)."""

    action: Literal["add_question"]


class EndAction(EndFields):
    """End the interview early (as `interview.end`)."""

    action: Literal["end"]


ActionRequestUnion = Annotated[
    MessageAction | ExtendTimeAction | AddQuestionAction | EndAction, Field(discriminator="action")
]
ACTION_KINDS = tags(ActionRequestUnion, "action")
action_request_adapter: TypeAdapter[ActionRequestUnion] = TypeAdapter(ActionRequestUnion)


class ActionRequest(RootModel[ActionRequestUnion]):
    """The body of a staff action over REST: one live action, named by `action`."""


# --- the staff socket: server frames ---------------------------------------------------------------


class SessionProgress(_Out):
    """A session's place, carried by every staff feed frame."""

    status: Status
    connected: bool = Field(description="the candidate's socket is open (the session is in progress)")
    answered: int
    evaluated: int
    question_count: int
    last_activity_at: str | None


class ScoreSoFar(_Out):
    order: int
    score: float | None
    insufficient_evidence: bool


class SessionRow(_Out):
    """One session in the staff list."""

    id: str
    candidate_name: str
    candidate_email: str
    job_id: int
    job_title: str
    interview_type: InterviewType
    awaiting: Awaiting
    created_at: str
    started_at: str | None
    consented: bool
    ended_early: bool
    scores: list[ScoreSoFar] = Field(description="the grades so far, by question order")
    overall_score: float | None
    recommendation: Recommendation | None
    feed_seq: int = Field(description="the last feed frame of this session the row includes")
    progress: SessionProgress


class StaffUser(_Out):
    username: str
    role: Role


class FeedSnapshot(_Out):
    """Sent on connect and on `feed.sync`: the sessions this user sees that are live or ended in
    the last day; each row is current as of its `feed_seq`."""

    type: Literal["feed.snapshot"]
    user: StaffUser
    sessions: list[SessionRow]


class StaffQuestion(Question):
    key_points: list[str]
    added_by: str | None = Field(description="the interviewer who added it, or null")


class Integrity(_Out):
    """Signals for a person to judge; they never change a score."""

    paste_count: int
    paste_chars: int
    focus_lost_count: int
    focus_away_ms: int
    first_keystroke_ms: int | None
    time_to_submit_ms: int | None = Field(description="server-measured, from the question asked to the answer")


class StaffAnswer(_Out):
    response_id: str
    question_id: str
    order: int
    client_id: str
    text: str
    response_type: ResponseType
    late: bool
    received_at: str
    time_taken_seconds: float | None
    integrity: Integrity


class StaffFeedback(Feedback):
    order: int
    evaluation_status: EvaluationStatus
    fallback_used: bool


class SignalOut(_Out):
    kind: SignalKindName
    value: int | None
    question_id: str | None
    at: str


class ActionOut(_Out):
    """One audited live action (on the staff feed, and over REST)."""

    id: int
    kind: ActionKind
    actor: str
    at: str
    detail: dict[str, Any]


class ActionList(RootModel[list[ActionOut]]):
    """A session's audited live actions, oldest first."""


class _Feed(_Out):
    seq: int = Field(description="this session's feed seq: 1, 2, 3 ... per session")
    session_id: str
    at: str
    progress: SessionProgress


class FeedSessionOpened(_Feed):
    type: Literal["session.opened"]
    session: SessionRow


class FeedSessionResumed(_Feed):
    type: Literal["session.resumed"]


class FeedSessionLeft(_Feed):
    type: Literal["session.left"]


class FeedConsentAccepted(_Feed):
    type: Literal["consent.accepted"]
    notice_version: str
    consented_at: str


class FeedQuestionAsked(_Feed):
    type: Literal["question.asked"]
    question: StaffQuestion


class FeedAnswerReceived(_Feed):
    type: Literal["answer.received"]
    answer: StaffAnswer


class FeedAnswerFeedback(_Feed):
    type: Literal["answer.feedback"]
    feedback: StaffFeedback


class FeedIntegritySignal(_Feed):
    type: Literal["integrity.signal"]
    signal: SignalOut


class FeedAdminAction(_Feed):
    type: Literal["admin.action"]
    action: ActionOut


class FeedInterviewCompleted(_Feed):
    type: Literal["interview.completed"]
    result: Result


class TranscriptItem(_Out):
    question: StaffQuestion
    answer: StaffAnswer | None
    feedback: StaffFeedback | None
    signals: list[SignalOut]


class WatchTranscript(_Out):
    """The reply to `watch`: the session so far, as of `seq` (its feed seq)."""

    type: Literal["watch.transcript"]
    session_id: str
    seq: int
    session: SessionRow
    items: list[TranscriptItem]
    actions: list[ActionOut]
    result: Result | None


class StaffDraft(_Out):
    """The candidate's answer as typed (watchers only; not logged, no seq; at most 2 a second)."""

    type: Literal["answer.draft"]
    session_id: str
    question_id: str
    text: str
    at: str


class ActionAccepted(_Out):
    type: Literal["action.accepted"]
    ref: str | int | None
    action: ActionOut


class StaffError(_Out):
    type: Literal["error"]
    code: ErrorCode
    message: str
    field: str | None = None
    session_id: str | None = Field(default=None, description="echoes the refused frame's session_id")
    ref: str | int | float | None = Field(default=None, description="echoes the refused frame's ref")


class StaffPong(_Out):
    type: Literal["pong"]
    ref: str | int | None


StaffServerFrame = Annotated[
    FeedSnapshot
    | FeedSessionOpened
    | FeedSessionResumed
    | FeedSessionLeft
    | FeedConsentAccepted
    | FeedQuestionAsked
    | FeedAnswerReceived
    | FeedAnswerFeedback
    | FeedIntegritySignal
    | FeedAdminAction
    | FeedInterviewCompleted
    | WatchTranscript
    | StaffDraft
    | ActionAccepted
    | StaffError
    | StaffPong,
    Field(discriminator="type"),
]
staff_server_frame_adapter: TypeAdapter[StaffServerFrame] = TypeAdapter(StaffServerFrame)


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
    for model in list(globals().values())
    if isinstance(model, type) and issubclass(model, _In)
    for name in model.model_fields
}

OPENAPI_MODELS: tuple[type[BaseModel], ...] = (
    StartRequest,
    RunInterviewRequest,
    SessionView,
    ResponseView,
    AccessView,
    DemographicsRequest,
    DemographicsView,
    ErrorBody,
)
