"""Candidate socket protocol: parse and validate inbound frames; build error frames.

Inbound frames are JSON objects `{"type": "noun.verb", ...}`. Each type maps to a handler method
named after it (`answer.submit` -> `answer_submit`), as channels dispatches layer messages.
"""

from __future__ import annotations

import json
from typing import Any

from interview_rt.interviews.errors import ErrorCode, InterviewError

# type -> {field: (python types, required)}
INBOUND: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "answer.submit": {
        "client_id": ((str,), True),
        "question_id": ((str,), True),
        "text": ((str,), True),
        "response_type": ((str,), False),
        "submitted_at": ((int, float), False),
    },
    "session.resume": {"last_seq": ((int,), True)},
    "session.sync": {},
    "ping": {"ref": ((str, int, float), False)},
}


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": str(code), "message": message, **extra}


def parse(text: str, *, max_bytes: int) -> tuple[str, dict[str, Any]]:
    """Return (type, frame) or raise InterviewError with a stable code."""
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        raise InterviewError(ErrorCode.FRAME_TOO_LARGE, f"Frames may be at most {max_bytes} bytes.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise InterviewError(ErrorCode.INVALID_JSON, "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise InterviewError(ErrorCode.INVALID_JSON, "A frame must be a JSON object.")
    frame_type = frame.get("type")
    if not isinstance(frame_type, str) or frame_type not in INBOUND:
        raise InterviewError(
            ErrorCode.UNKNOWN_TYPE, f"Unknown frame type; expected one of {', '.join(sorted(INBOUND))}.", field="type"
        )
    for name, (types, required) in INBOUND[frame_type].items():
        if name not in frame or frame[name] is None:
            if required:
                raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} is required.", field=name)
            continue
        value = frame[name]
        # bool is an int in Python; a JSON true is not a seq number.
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(dict.fromkeys("number" if t in (int, float) else "string" for t in types))
            raise InterviewError(ErrorCode.INVALID_FIELD, f"{name} must be a {expected}.", field=name)
    return frame_type, frame
