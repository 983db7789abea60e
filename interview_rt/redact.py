"""Credentials out of every log line. An interview token is valid for days and a session key for
the whole session, so neither may reach a log: paths that carry a token (the socket URL, the access
endpoint, the candidate page) are written with `[redacted]` in its place, and anything shaped like
a signed token or a session key is replaced wherever it appears.

`RedactSecrets` is a logging filter (settings.LOGGING puts it on every handler); the access log
that daphne writes itself, outside `logging`, is redacted by `interview_rt.server`.
"""

from __future__ import annotations

import logging
import re

# /ws/interview/<token>/, /api/interviews/access/<token>/, /interview/<token>
_TOKEN_PATHS = re.compile(r"(/ws/interview/|/api/interviews/access/|/interview/)[^/\s?#\"']+")
# django.core.signing.dumps(): base64url JSON ("eyJ...") then ':' and the base64url HMAC.
_SIGNED = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}:[A-Za-z0-9_\-:]{20,}")
_SESSION_KEY = re.compile(r"(session_key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_\-]{20,}")


def redact(text: str) -> str:
    text = _TOKEN_PATHS.sub(r"\1[redacted]", text)
    text = _SIGNED.sub("[redacted]", text)
    return _SESSION_KEY.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
