"""Stable error codes: the same strings in socket error frames and REST JSON error bodies."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # Frame / request shape
    INVALID_JSON = "invalid_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    FRAME_TOO_LARGE = "frame_too_large"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    UNKNOWN_ACTION = "unknown_action"
    # Links and sessions
    LINK_INVALID = "link_invalid"
    LINK_EXPIRED = "link_expired"
    LINK_REVOKED = "link_revoked"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_EXPIRED = "session_expired"
    # Interview flow (raised by state.py)
    NOT_STARTED = "not_started"
    QUESTION_NOT_CURRENT = "question_not_current"
    INTERVIEW_COMPLETED = "interview_completed"
    INTERVIEW_INCOMPLETE = "interview_incomplete"
    QUESTIONS_NOT_READY = "questions_not_ready"
    # Server side
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


class InterviewError(Exception):
    """A refusal with a stable code; never a crash. `status` is the HTTP status for REST."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class LinkError(InterviewError):
    """A token that cannot open an interview; `close_code` is the WebSocket close code."""

    def __init__(self, code: str, message: str, *, close_code: int, status: int) -> None:
        super().__init__(code, message, status=status)
        self.close_code = close_code


# WebSocket close codes (4000-4999 are the application's; documented in docs/protocol.md).
CLOSE_LINK_INVALID = 4401
CLOSE_LINK_REVOKED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SUPERSEDED = 4409
CLOSE_LINK_EXPIRED = 4410
