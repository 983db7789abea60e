"""The public (candidate) REST bodies: the start and run-interview requests and their views, the
access view, the self-reported group, the error body; `OPENAPI_MODELS` lists those the OpenAPI
document includes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..constants import MAX_ANSWER_CHARS, MAX_DEMOGRAPHIC_GROUP_CHARS, EvaluationStatus, FeedbackMode, Status
from ..errors import ErrorCode
from ..state import Awaiting
from .base import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, AnswerText, ClientId, OptionalResponseType, UuidStr, _In, _Out
from .candidate_server_frames import AnswerAccepted, AnswerSummary, Feedback, InterviewInfo, Notice, Question, Result

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
