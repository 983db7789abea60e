"""Stable error codes: the same strings in socket error frames and REST JSON error bodies."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any


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
    SUPERSEDED = "superseded"
    # Interview flow (raised by state.py)
    NOT_STARTED = "not_started"
    QUESTION_NOT_CURRENT = "question_not_current"
    INTERVIEW_COMPLETED = "interview_completed"
    INTERVIEW_INCOMPLETE = "interview_incomplete"
    QUESTIONS_NOT_READY = "questions_not_ready"
    # Staff
    NOT_ENOUGH_REVIEWS = "not_enough_reviews"
    NO_OPEN_QUESTION = "no_open_question"
    QUESTION_LIMIT = "question_limit"
    CONSENT_OUTDATED = "consent_outdated"
    # Server side
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


# The one table of codes: HTTP status (REST) and what each means. docs/protocol.md and docs/rest.md
# quote it; tests/test_docs.py fails when they disagree.
CODES: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.INVALID_JSON: (400, "the frame or body is not JSON, or not a JSON object"),
    ErrorCode.UNKNOWN_TYPE: (400, "a socket frame's `type` is missing or not a client frame"),
    ErrorCode.INVALID_FIELD: (
        400,
        "a field is missing, has the wrong JSON type or an invalid value (`field` names it)",
    ),
    ErrorCode.FRAME_TOO_LARGE: (413, "a socket frame or request body over 64 KiB; nothing of it is stored"),
    ErrorCode.BINARY_NOT_SUPPORTED: (400, "a binary socket frame"),
    ErrorCode.UNKNOWN_ACTION: (400, "REST `run-interview` with an `action` it does not know (`field`: `action`)"),
    ErrorCode.LINK_INVALID: (403, "the token is forged, malformed or signed with another secret (socket close 4401)"),
    ErrorCode.LINK_EXPIRED: (410, "the link has expired (socket close 4410)"),
    ErrorCode.LINK_REVOKED: (403, "the invitation was revoked (socket close 4403)"),
    ErrorCode.SESSION_NOT_FOUND: (404, "no session has that id"),
    ErrorCode.SESSION_EXPIRED: (410, "the link expired while the session was open (socket close 4410)"),
    ErrorCode.SUPERSEDED: (409, "the session was opened on another socket (sent just before close 4409)"),
    ErrorCode.NOT_STARTED: (
        409,
        "an answer before the session started (REST `response` before `start`; the socket starts it on connect)",
    ),
    ErrorCode.QUESTION_NOT_CURRENT: (
        409,
        "the answer is for a question that is not the one open now (already answered, not yet asked, or not in "
        "this interview; `field`: `question_id`)",
    ),
    ErrorCode.INTERVIEW_COMPLETED: (409, "an answer after the interview completed"),
    ErrorCode.INTERVIEW_INCOMPLETE: (409, "REST `complete` while questions are unanswered"),
    ErrorCode.QUESTIONS_NOT_READY: (409, "the questions are still being prepared"),
    ErrorCode.NOT_ENOUGH_REVIEWS: (
        409,
        "staff: a calibration refit with fewer reviewed answers than `CALIBRATION_MIN_PAIRS`",
    ),
    ErrorCode.NO_OPEN_QUESTION: (409, "staff: extending the time while no question is open for an answer"),
    ErrorCode.QUESTION_LIMIT: (409, "staff: adding a question to an interview that holds the most it may (50)"),
    ErrorCode.CONSENT_OUTDATED: (
        409,
        "`consent.accept` names a notice version that is not the current one (re-read the notice; `field`: "
        "`notice_version`)",
    ),
    ErrorCode.NOT_FOUND: (404, "no such endpoint, invitation, result, user or job"),
    ErrorCode.ALREADY_EXISTS: (409, "a staff user with that username exists"),
    ErrorCode.BAD_REQUEST: (400, "the request could not be read at all"),
    ErrorCode.NOT_AUTHENTICATED: (
        401,
        "no valid credentials: staff endpoints or the staff socket (socket close 4401) without a login or token, "
        "REST `run-interview` without `session_key` or `token` (`field` names it)",
    ),
    ErrorCode.PERMISSION_DENIED: (
        403,
        "authenticated, but not allowed: the role does not allow it, a cookie-authenticated staff socket without an "
        "allowed `Origin` (socket close 4403), or a `session_key` or `token` that is not this session's",
    ),
    ErrorCode.METHOD_NOT_ALLOWED: (405, "the endpoint does not take this HTTP method (`Allow` lists those it takes)"),
    ErrorCode.RATE_LIMITED: (
        429,
        "too many frames, connects or requests; retry after `retry_after` seconds (REST: also the `Retry-After` "
        "header; socket connects: close 4429)",
    ),
    ErrorCode.INTERNAL_ERROR: (500, "an unexpected server fault; the frame or request had no effect"),
}


def http_status(code: str) -> int:
    try:
        return CODES[ErrorCode(code)][0]
    except ValueError:
        return 400


class InterviewError(Exception):
    """A refusal with a stable code; never a crash. `status` is the HTTP status for REST."""

    def __init__(self, code: str, message: str, *, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.field = field
        self.status = status if status is not None else http_status(code)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class RateLimited(InterviewError):
    """Too many frames, connects or requests; the client may retry after `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str = "Too many requests; slow down.") -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message)
        # Whole seconds, at least 1: what a Retry-After header can say.
        self.retry_after = max(1, math.ceil(retry_after))

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "retry_after": self.retry_after}


class LinkError(InterviewError):
    """A token that cannot open an interview; `close_code` is the WebSocket close code."""

    def __init__(self, code: str, message: str, *, close_code: int) -> None:
        super().__init__(code, message)
        self.close_code = close_code


# WebSocket close codes (4000-4999 are the application's; documented in docs/protocol.md).
CLOSE_LINK_INVALID = 4401
CLOSE_LINK_REVOKED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SUPERSEDED = 4409
CLOSE_LINK_EXPIRED = 4410
CLOSE_RATE_LIMITED = 4429

# Refusals after which a candidate socket is closed (with this code) instead of staying open:
# no later frame on it could succeed.
CLOSING: dict[str, int] = {
    ErrorCode.LINK_REVOKED: CLOSE_LINK_REVOKED,
    ErrorCode.LINK_EXPIRED: CLOSE_LINK_EXPIRED,
    ErrorCode.SESSION_EXPIRED: CLOSE_LINK_EXPIRED,
}
# The staff socket: no or bad credentials / a user without a staff role or a cookie without Origin.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_PERMISSION_DENIED = 4403
