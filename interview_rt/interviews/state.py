"""The interview state machine. Pure: no Django, no I/O, no clocks (callers pass `now`).

A session asks `question_count` questions in order. In feedback mode "immediate" the next question
is asked once the previous answer's evaluation is recorded; in mode "end" right after the answer.
The session completes when every answer is evaluated. Each transition returns a new state and a
decision telling the caller what to persist and push; illegal moves raise `TransitionError` with a
stable code (the same codes travel in error frames and JSON error bodies).

Staff act in a running interview through the same machine: a candidate who must consent is asked
nothing before consenting; an interviewer may extend the open question's time, add a question
(asked next) or end the interview early (no further question; it completes once the answers given
are graded).
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
    CONSENT = "consent"
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
    # The consent and AI notice must be accepted before the first question (per invitation).
    consent_required: bool = False
    consented: bool = False
    # An interviewer ended the interview: nothing more is asked.
    ended_early: bool = False
    # The question at current_index was added by an interviewer and is not asked yet.
    next_added: bool = False

    @property
    def may_ask(self) -> bool:
        return not self.consent_required or self.consented

    @property
    def awaiting(self) -> Awaiting:
        # A revoked link gets nothing more, whatever was in flight (grades still land for staff).
        if self.status in (Status.COMPLETED, Status.EXPIRED) or self.revoked:
            return Awaiting.NOTHING
        if self.status == Status.CREATED:
            return Awaiting.START
        if not self.may_ask:
            return Awaiting.CONSENT
        if not self.questions_ready:
            return Awaiting.QUESTIONS
        if self.current_index < self.question_count:
            if self.current_asked:
                return Awaiting.ANSWER
            # Abandoned: the next question waits for the candidate to come back (start() asks it),
            # not for the grade, which may well have landed.
            return Awaiting.START if self.status == Status.ABANDONED else Awaiting.FEEDBACK
        return Awaiting.RESULT


@dataclass(frozen=True)
class Decision:
    """What a transition asks the caller to do, besides storing the new state."""

    ask_index: int | None = None  # push `question.asked` for this question
    complete: bool = False  # compute the result and push `interview.completed`
    insert_follow_up_at: int | None = None  # store the follow-up question at this index first
    late: bool = False  # the answer came after its time limit
    insert_question_at: int | None = None  # store an interviewer's question at this index first


def check_live(state: SessionState, now: datetime) -> None:
    """Refuse unless the interview is still running (an interviewer's message, for one)."""
    _check_live(state, now)


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
        and not state.revoked
        and state.may_ask
        and state.questions_ready
        and state.current_index < state.question_count
        and not state.current_asked
    ):
        return dataclasses.replace(state, current_asked=True, next_added=False), state.current_index
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
        # An interviewer's question waiting to be asked comes next; a follow-up must not jump it.
        and not state.next_added
        and not state.ended_early
        and not state.revoked
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


def consent(state: SessionState, now: datetime) -> tuple[SessionState, Decision]:
    """The candidate accepted the notice: the first question may now be asked. Idempotent."""
    _check_live(state, now)
    if state.status == Status.CREATED:
        raise TransitionError("not_started", "Start the interview before accepting the notice.")
    if state.consented:
        return state, Decision()
    new = dataclasses.replace(state, consented=True)
    if new.feedback_mode == FeedbackMode.IMMEDIATE and new.evaluated < new.answered:
        return new, Decision()
    new, ask = _ask_if_due(new)
    return new, Decision(ask_index=ask)


def _check_staff_action(state: SessionState, now: datetime) -> None:
    _check_live(state, now)
    if state.ended_early:
        raise TransitionError("interview_completed", "This interview was ended; it is being finished.")


def extend_time(state: SessionState, now: datetime) -> None:
    """An interviewer gives the open question more time: only while a question is open."""
    _check_staff_action(state, now)
    if state.awaiting != Awaiting.ANSWER:
        raise TransitionError("no_open_question", "No question is open for an answer right now.")


def add_question(state: SessionState, now: datetime) -> tuple[SessionState, Decision]:
    """An interviewer adds a question; it is asked next: after the open question if one is open,
    else as the next one (asked at once when nothing else is pending)."""
    _check_staff_action(state, now)
    if not state.questions_ready:
        raise TransitionError("questions_not_ready", "The questions are still being prepared.")
    if state.question_count >= MAX_QUESTIONS:
        raise TransitionError("question_limit", f"An interview holds at most {MAX_QUESTIONS} questions.")
    at = state.current_index + 1 if state.current_asked else state.current_index
    new = dataclasses.replace(state, question_count=state.question_count + 1, next_added=not state.current_asked)
    ask = None
    if not state.current_asked and (new.feedback_mode == FeedbackMode.END or new.evaluated == new.answered):
        new, ask = _ask_if_due(new)
    return new, Decision(ask_index=ask, insert_question_at=at)


def end_early(state: SessionState, now: datetime) -> tuple[SessionState, Decision]:
    """An interviewer ends the interview: the open question (if any) and those not asked are
    dropped; it completes at once, or when the answers already given are graded."""
    _check_staff_action(state, now)
    new = dataclasses.replace(
        state,
        status=Status.IN_PROGRESS if state.status == Status.CREATED else state.status,
        question_count=state.answered,
        current_index=state.answered,
        current_asked=False,
        next_added=False,
        ended_early=True,
    )
    if new.evaluated == new.answered:
        return dataclasses.replace(new, status=Status.COMPLETED), Decision(complete=True)
    return new, Decision()


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
