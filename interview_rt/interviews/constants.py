"""The interview vocabulary and limits, defined once. Pure (no Django): the state machine, the
models' choices, the wire schemas, the REST serializers and the commands all read them here.

What an interview asks for (its type, a difficulty, the type of a question) is also what the AI
providers speak, so those come from `ai_service.types`, the providers' own declaration.
"""

from __future__ import annotations

from enum import StrEnum
from typing import get_args

from ai_service import types as ai_types

INTERVIEW_TYPES: tuple[str, ...] = get_args(ai_types.InterviewType)
DIFFICULTIES: tuple[str, ...] = get_args(ai_types.Difficulty)
QUESTION_TYPES: tuple[str, ...] = get_args(ai_types.QuestionType)


class Status(StrEnum):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    EXPIRED = "expired"


class FeedbackMode(StrEnum):
    IMMEDIATE = "immediate"  # feedback after each answer, then the next question
    END = "end"  # next question at once; feedback only in the result


class EvaluationStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Recommendation(StrEnum):
    STRONG_HIRE = "strong_hire"
    HIRE = "hire"
    MAYBE = "maybe"
    NO_HIRE = "no_hire"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


class AuditAction(StrEnum):
    ANSWER_REVIEWED = "answer_reviewed"
    RESULT_REVIEWED = "result_reviewed"
    CALIBRATION_FITTED = "calibration_fitted"
    CALIBRATION_ACTIVATED = "calibration_activated"
    ANSWERS_REGRADED = "answers_regraded"
    EXPORTED = "exported"
    CANDIDATE_ERASED = "candidate_erased"
    DATA_PURGED = "data_purged"
    STAFF_CHANGED = "staff_changed"
    JOB_TEAM_CHANGED = "job_team_changed"


class WebhookEvent(StrEnum):
    INTERVIEW_COMPLETED = "interview.completed"
    ANSWER_REVIEWED = "answer.reviewed"
    RESULT_REVIEWED = "result.reviewed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt
    CANCELLED = "cancelled"  # by staff, or because its candidate was erased


class Role(StrEnum):
    """Staff roles, as Django groups of these names (superusers are admins)."""

    ADMIN = "admin"  # everything, every job
    RECRUITER = "recruiter"  # their own jobs' sessions: invite, watch, act, review
    REVIEWER = "reviewer"  # their jobs' sessions: read and review


class Permission(StrEnum):
    VIEW = "view"  # see sessions, results, the live feed, watch
    INVITE = "invite"
    ACT = "act"  # live actions in a running interview
    REVIEW = "review"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.RECRUITER: frozenset(Permission),
    Role.REVIEWER: frozenset({Permission.VIEW, Permission.REVIEW}),
}


class ActionKind(StrEnum):
    """Interviewers' live actions, each audited and logged."""

    MESSAGE = "message"
    EXTEND_TIME = "extend_time"
    ADD_QUESTION = "add_question"
    END = "end"


class SignalKind(StrEnum):
    """Integrity signals the candidate page reports; shown to people, never scored."""

    PASTE = "paste"  # value: characters pasted
    FOCUS_LOST = "focus_lost"  # the tab or window lost focus
    FOCUS_REGAINED = "focus_regained"  # value: ms away
    FIRST_KEYSTROKE = "first_keystroke"  # value: ms from the question shown to the first keystroke


# The notice the candidate accepts before the first question; the version is stored with the time.
# Change the version whenever the text changes.
CONSENT_NOTICE_VERSION = "2026-12-01.1"
CONSENT_NOTICE = (
    "This interview is conducted by an automated system. An AI model chooses the questions and grades "
    "each answer against the points a good answer covers; a person at the hiring company reviews the "
    "result and makes every decision. People at the hiring company may watch the interview live, "
    "including your answer as you type it, and may send you messages, give you more time, add a "
    "question or end the interview. The page also records signals for the reviewer to judge: when you "
    "paste text (how many characters), when this window loses or regains focus, the time to your "
    "first keystroke and the time to submit each answer. These signals never change a score. Your "
    "answers and these signals are stored with the result."
)

RESPONSE_TYPES = ("text", "code", "audio_transcript")

# Questions an invitation may plan, and the most a session may hold once follow-ups are inserted.
MAX_PLANNED_QUESTIONS = 20
MAX_QUESTIONS = 50
MIN_TIME_LIMIT_SECONDS = 10
MAX_TIME_LIMIT_SECONDS = 7200
DEFAULT_TIME_LIMIT_SECONDS = 300
DEFAULT_QUESTION_COUNT = 5

MAX_ANSWER_CHARS = 20_000
# One socket frame or one REST body.
MAX_FRAME_BYTES = 64 * 1024
CLIENT_ID_PATTERN = r"[A-Za-z0-9_.:\-]{1,64}"
# An evaluation that failed this many times is stored as failed so the interview can finish.
MAX_EVALUATION_ATTEMPTS = 3
MAX_FOLLOW_UP_CHARS = 2000
MAX_REVIEW_NOTE_CHARS = 10_000
MAX_DEMOGRAPHIC_GROUP_CHARS = 64
MAX_MESSAGE_CHARS = 2000
MAX_KEY_POINTS = 12
MAX_KEY_POINT_CHARS = 300
MAX_EXTEND_SECONDS = 3600
# Integrity signals a session may store (a misbehaving page cannot fill the database).
MAX_SIGNALS_PER_SESSION = 2000
# Candidate drafts relayed to watching staff: at most this many a second per socket.
DRAFTS_PER_SECOND = 2


def choices(values: type[StrEnum] | tuple[str, ...]) -> list[tuple[str, str]]:
    """Django `choices` for a vocabulary: the value is also its label."""
    return [(str(v), str(v).replace("_", " ")) for v in values]
