"""The frames the server sends a candidate's socket (`ServerFrame`, discriminated by `type`),
their adapter, and the parts they are made of (question, feedback, result, session snapshot,
notice), which the public REST bodies reuse."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ai_service.types import Difficulty, InterviewType, QuestionType

from ..constants import EvaluationStatus, FeedbackMode, Recommendation, Status
from ..errors import ErrorCode
from ..state import Awaiting
from .base import _Out

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
