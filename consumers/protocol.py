"""Candidate socket protocol: read inbound frames into their declared models; build error frames.

Inbound frames are JSON objects `{"type": "noun.verb", ...}` declared in
`interview_rt.interviews.schemas`. Each type maps to a handler method named after it
(`answer.submit` -> `on_answer_submit`), as channels dispatches layer messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from interview_rt.interviews import schemas
from interview_rt.interviews.constants import MAX_FRAME_BYTES
from interview_rt.interviews.errors import ErrorCode, InterviewError

ClientFrame = schemas.CandidateFrame
T = TypeVar("T")


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": str(code), "message": message, **extra}


def load(text: str) -> Any:
    """The frame's JSON, or InterviewError (too large, not JSON)."""
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise InterviewError(ErrorCode.FRAME_TOO_LARGE, f"Frames may be at most {MAX_FRAME_BYTES} bytes.")
    try:
        return schemas.loads(text)
    except InterviewError:
        raise InterviewError(ErrorCode.INVALID_JSON, "The frame is not valid JSON.") from None


def parse(text: str) -> ClientFrame:
    """The frame as its model, or InterviewError with a stable code."""
    return schemas.parse_client_frame(load(text))


def parse_staff(text: str) -> schemas.StaffClientFrame:
    return schemas.parse_staff_frame(load(text))


def handler_name(frame_type: str) -> str:
    """`answer.submit` -> `on_answer_submit`, as channels names layer message handlers."""
    return "on_" + frame_type.replace(".", "_")


CANDIDATE_IDS = ("ref", "client_id")
STAFF_IDS = ("ref", "session_id")


def _echoable(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= 64
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def ids_of(text: str, keys: tuple[str, ...] = CANDIDATE_IDS) -> dict[str, Any]:
    """The frame's own ids (`ref`, `client_id`; on the staff socket `ref`, `session_id`) as the
    client sent them, to echo on an error about it, so a client with several frames in flight
    knows which one failed: read from the raw JSON, since the frame may be refused before (or
    because) it parses. Short strings and plain numbers only."""
    if len(text) > MAX_FRAME_BYTES:
        return {}
    try:
        data = schemas.loads(text)
    except InterviewError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in keys if _echoable(data.get(k)) and (k == "ref" or isinstance(data[k], str))}


class Throttle(Generic[T]):
    """At most `per_second` items pass: the first at once, and the latest of those offered in
    between when the interval has passed (so the last draft always arrives). `clock` and
    `call_at` default to the running loop's (tests pass their own)."""

    def __init__(
        self,
        per_second: float,
        emit: Callable[[T], None],
        *,
        clock: Callable[[], float] | None = None,
        call_at: Callable[[float, Callable[[], None]], Any] | None = None,
    ) -> None:
        self.interval = 1.0 / per_second
        self.emit = emit
        self.clock = clock or (lambda: asyncio.get_running_loop().time())
        self.call_at = call_at or (lambda when, fn: asyncio.get_running_loop().call_at(when, fn))
        self.last = float("-inf")
        self.pending: T | None = None
        self.timer: Any = None

    def offer(self, item: T) -> None:
        now = self.clock()
        if self.timer is None and now - self.last >= self.interval:
            self.last = now
            self.emit(item)
            return
        self.pending = item
        if self.timer is None:
            self.timer = self.call_at(self.last + self.interval, self._flush)

    def _flush(self) -> None:
        self.timer = None
        item, self.pending = self.pending, None
        if item is not None:
            self.last = self.clock()
            self.emit(item)

    def cancel(self) -> None:
        if self.timer is not None and hasattr(self.timer, "cancel"):
            self.timer.cancel()
        self.timer = None
        self.pending = None
