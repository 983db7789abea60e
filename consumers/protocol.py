"""Candidate socket protocol: read inbound frames into their declared models; build error frames.

Inbound frames are JSON objects `{"type": "noun.verb", ...}` declared in
`interview_rt.interviews.schemas`. Each type maps to a handler method named after it
(`answer.submit` -> `on_answer_submit`), as channels dispatches layer messages.
"""

from __future__ import annotations

from typing import Any

from interview_rt.interviews import schemas
from interview_rt.interviews.constants import MAX_FRAME_BYTES
from interview_rt.interviews.errors import ErrorCode, InterviewError

ClientFrame = schemas.AnswerSubmit | schemas.SessionResume | schemas.SessionSync | schemas.Ping


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": str(code), "message": message, **extra}


def parse(text: str) -> ClientFrame:
    """The frame as its model, or InterviewError with a stable code."""
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise InterviewError(ErrorCode.FRAME_TOO_LARGE, f"Frames may be at most {MAX_FRAME_BYTES} bytes.")
    try:
        data = schemas.loads(text)
    except InterviewError:
        raise InterviewError(ErrorCode.INVALID_JSON, "The frame is not valid JSON.") from None
    return schemas.parse_client_frame(data)


def client_id_of(text: str) -> dict[str, Any]:
    """Echo the client_id of a refused answer so the client knows which one was refused."""
    if len(text) > MAX_FRAME_BYTES:
        return {}
    try:
        data = schemas.loads(text)
    except InterviewError:
        return {}
    if isinstance(data, dict) and isinstance(data.get("client_id"), str) and len(data["client_id"]) <= 64:
        return {"client_id": data["client_id"]}
    return {}
