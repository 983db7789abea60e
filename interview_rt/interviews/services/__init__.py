"""Writes. Every interface (socket consumer, REST view, worker, management command) goes through
these keyword-only functions: load -> state transition (state.py) -> persist (rows.py) -> log
frames. A service returns what it emitted (an `events.Emitted`: logged frames and AI jobs); the
caller publishes it once the service returned, i.e. after commit (`interview_rt.runtime`).

One module per thing written: invitations, sessions, answers, generation and evaluations (the
background work), results, staff_actions, workers; `_common` holds what several share. Callers
import this package (`services.answer_submit`), never a module of it.
"""

from ..constants import MAX_EVALUATION_ATTEMPTS
from ..errors import InterviewError
from ..events import Emitted
from ..rows import Id
from .answers import AnswerReceipt, answer_submit
from .evaluations import UNSET, EvaluationJob, evaluation_claim, evaluation_release, evaluation_store
from .generation import GenerationJob, generation_claim, generation_failed, generation_release, questions_store
from .invitations import invitation_create, invitation_revoke
from .results import result_review
from .sessions import (
    Connection,
    Opened,
    consent_accept,
    session_authorize,
    session_check,
    session_connect,
    session_leave,
    session_open,
    session_replay,
    session_request_complete,
    session_start,
    session_sync,
    signal_record,
    staff_transcript,
)
from .staff_actions import ActionDone, staff_add_question, staff_end, staff_extend_time, staff_message
from .workers import worker_beat, worker_gone

__all__ = [
    "MAX_EVALUATION_ATTEMPTS",
    "UNSET",
    "ActionDone",
    "AnswerReceipt",
    "Connection",
    "Emitted",
    "EvaluationJob",
    "GenerationJob",
    "Id",
    "InterviewError",
    "Opened",
    "answer_submit",
    "consent_accept",
    "evaluation_claim",
    "evaluation_release",
    "evaluation_store",
    "generation_claim",
    "generation_failed",
    "generation_release",
    "invitation_create",
    "invitation_revoke",
    "questions_store",
    "result_review",
    "session_authorize",
    "session_check",
    "session_connect",
    "session_leave",
    "session_open",
    "session_replay",
    "session_request_complete",
    "session_start",
    "session_sync",
    "signal_record",
    "staff_add_question",
    "staff_end",
    "staff_extend_time",
    "staff_message",
    "staff_transcript",
    "worker_beat",
    "worker_gone",
]
