"""The frames a candidate's socket sends (`ClientFrame`, a union discriminated by `type`), and
their adapter."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ..constants import SignalKind
from .base import MAX_TIMESTAMP_MS, AnswerText, ClientId, OptionalResponseType, UuidStr, _In, tags

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
