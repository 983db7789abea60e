"""The frames a staff socket sends (`StaffClientFrame`, discriminated by `type`): watching,
the feed's sync and resume, the live actions (their fields from staff_actions.py), ping."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from .base import UuidStr, _In, tags
from .staff_actions import AddQuestionFields, EndFields, ExtendFields, MessageFields

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
