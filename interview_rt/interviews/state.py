"""The interview state machine. Pure: no Django, no I/O, no clocks (callers pass `now`).

A session asks `question_count` questions in order. In feedback mode "immediate" the next question
is asked once the previous answer's evaluation is recorded; in mode "end" right after the answer.
The session completes when every answer is evaluated. Each transition returns a new state and a
decision telling the caller what to persist and push; illegal moves raise `TransitionError` with a
stable code (the same codes travel in error frames and JSON error bodies).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .constants import MAX_QUESTIONS, FeedbackMode, Status

__all__ = ["MAX_QUESTIONS", "Awaiting", "Decision", "SessionState", "Status", "TransitionError"]


class Awaiting(StrEnum):
    """What the session waits for next; shown to clients in the snapshot."""

    START = "start"
    QUESTIONS = "questions"
    ANSWER = "answer"
    FEEDBACK = "feedback"
    RESULT = "result"
    NOTHING = "nothing"


class TransitionError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SessionState:
    status: Status
    question_count: int
    questions_ready: bool
    current_index: int
    current_asked: bool
    answered: int
    evaluated: int
    feedback_mode: str
    expires_at: datetime
    # The invitation was revoked: every candidate action is refused from then on.
    revoked: bool = False

    @property
    def awaiting(self) -> Awaiting:
        if self.status in (Status.COMPLETED, Status.EXPIRED):
            return Awaiting.NOTHING
        if self.status == Status.CREATED:
            return Awaiting.START
        if not self.questions_ready:
            return Awaiting.QUESTIONS
        if self.current_index < self.question_count:
            return Awaiting.ANSWER if self.current_asked else Awaiting.FEEDBACK
        return Awaiting.RESULT


@dataclass(frozen=True)
class Decision:
    """What a transition asks the caller to do, besides storing the new state."""

    ask_index: int | None = None  # push `question.asked` for this question
    complete: bool = False  # compute the result and push `interview.completed`
    insert_follow_up_at: int | None = None  # store the follow-up question at this index first
    late: bool = False  # the answer came after its time limit


def _check_live(state: SessionState, now: datetime) -> None:
    # Revocation first: staff withdrew the link, whatever the session's progress.
    if state.revoked:
        raise TransitionError("link_revoked", "This interview link was revoked.")
    if state.status == Status.COMPLETED:
        raise TransitionError("interview_completed", "This interview is already completed.")
    if state.status == Status.EXPIRED or now >= state.expires_at:
        raise TransitionError("session_expired", "This interview link has expired.")


def _ask_if_due(state: SessionState) -> tuple[SessionState, int | None]:
    if (
        state.status == Status.IN_PROGRESS
        and state.questions_ready
        and state.current_index < state.question_count
        and not state.current_asked
    ):
        return dataclasses.replace(state, current_asked=True), state.current_index
    return state, None


def start(state: SessionState, now: datetime) -> tuple[SessionState, Decision]:
    """The candidate is here (socket connect or REST start); resumes an abandoned session."""
    _check_live(state, now)
    new = dataclasses.replace(state, status=Status.IN_PROGRESS)
    # Immediate mode waits for the previous feedback before asking; a resume must not skip that.
    if state.feedback_mode == FeedbackMode.IMMEDIATE and new.evaluated < new.answered:
        return new, Decision()
    new, ask = _ask_if_due(new)
    return new, Decision(ask_index=ask)


def questions_generated(state: SessionState) -> tuple[SessionState, Decision]:
    if state.questions_ready:
        return state, Decision()
    new, ask = _ask_if_due(dataclasses.replace(state, questions_ready=True))
    return new, Decision(ask_index=ask)


def answer(
    state: SessionState,
    *,
    question_index: int | None,
    now: datetime,
    asked_at: datetime | None,
    time_limit: timedelta,
    grace: timedelta,
) -> tuple[SessionState, Decision]:
    """Accept the answer to the current question. Late answers are kept and marked late.
    `question_index` is None for a question that is not part of this interview."""
    _check_live(state, now)
    if state.status == Status.CREATED:
        raise TransitionError("not_started", "Start the interview before answering.")
    if question_index is None:
        raise TransitionError("question_not_current", "That question is not part of this interview.")
    if not state.questions_ready or not state.current_asked or question_index != state.current_index:
        raise TransitionError("question_not_current", "That question is not the one being asked.")
    late = asked_at is not None and now > asked_at + time_limit + grace
    new = dataclasses.replace(
        state,
        status=Status.IN_PROGRESS,
        answered=state.answered + 1,
        current_index=state.current_index + 1,
        current_asked=False,
    )
    ask = None
    if state.feedback_mode == FeedbackMode.END:
        new, ask = _ask_if_due(new)
    return new, Decision(ask_index=ask, late=late)


def follow_up_allowed(state: SessionState) -> bool:
    """A follow-up goes right after the answer it probes, so only while nothing else was asked:
    feedback mode "immediate" and this evaluation is the only one outstanding."""
    return (
        state.feedback_mode == FeedbackMode.IMMEDIATE
        and state.status in (Status.IN_PROGRESS, Status.ABANDONED)
        and state.evaluated + 1 == state.answered
        and state.question_count < MAX_QUESTIONS
    )


def evaluation_recorded(state: SessionState, *, follow_up: bool = False) -> tuple[SessionState, Decision]:
    """An answer's evaluation is stored: ask the next question (or the follow-up the evaluation
    proposed, inserted next) or complete the interview."""
    if state.evaluated >= state.answered:
        raise TransitionError("no_pending_evaluation", "There is no answer awaiting evaluation.")
    if follow_up and not follow_up_allowed(state):
        raise TransitionError("follow_up_not_allowed", "A follow-up cannot be inserted now.")
    new = dataclasses.replace(
        state, evaluated=state.evaluated + 1, question_count=state.question_count + (1 if follow_up else 0)
    )
    if new.evaluated == new.question_count:
        if new.status == Status.EXPIRED:
            return new, Decision()
        return dataclasses.replace(new, status=Status.COMPLETED), Decision(complete=True)
    ask = None
    if new.feedback_mode == FeedbackMode.IMMEDIATE and new.evaluated == new.answered:
        new, ask = _ask_if_due(new)
    return new, Decision(ask_index=ask, insert_follow_up_at=new.current_index if follow_up else None)


def leave(state: SessionState) -> SessionState:
    """The candidate went away mid-interview; they may come back until the link expires."""
    if state.status == Status.IN_PROGRESS:
        return dataclasses.replace(state, status=Status.ABANDONED)
    return state


def expire(state: SessionState, now: datetime) -> SessionState:
    if state.status != Status.COMPLETED and now >= state.expires_at:
        return dataclasses.replace(state, status=Status.EXPIRED)
    return state


def check_access(state: SessionState, now: datetime) -> None:
    """A candidate's read (REST `question`, socket `session.sync` / `session.resume`): refused once
    the link is revoked or expired, like every write; a completed interview stays readable."""
    if state.revoked:
        raise TransitionError("link_revoked", "This interview link was revoked.")
    if state.status == Status.COMPLETED:
        return
    if state.status == Status.EXPIRED or now >= state.expires_at:
        raise TransitionError("session_expired", "This interview link has expired.")


def request_completion(state: SessionState, now: datetime) -> None:
    """REST `complete`: allowed once every question is answered; the result follows evaluation."""
    check_access(state, now)
    if state.status == Status.COMPLETED:
        return
    if state.answered < state.question_count:
        raise TransitionError(
            "interview_incomplete",
            f"{state.question_count - state.answered} question(s) are still unanswered.",
        )
