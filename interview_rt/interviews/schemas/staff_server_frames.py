"""The frames the server sends a staff socket (`StaffServerFrame`, discriminated by `type`): the
feed's snapshot and events, a watched session's transcript and drafts, replies; with the rows they
carry, and `ActionOut`/`ActionList`, which the REST actions endpoint answers too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, TypeAdapter

from ai_service.types import InterviewType

from ..constants import ActionKind, EvaluationStatus, Recommendation, Role, Status
from ..errors import ErrorCode
from ..state import Awaiting
from .base import ResponseType, _Out
from .candidate_client_frames import SignalKindName
from .candidate_server_frames import Feedback, Question, Result

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
