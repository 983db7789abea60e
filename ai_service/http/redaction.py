"""Credentials kept out of logs and errors: the API key and any `Bearer <token>`, and URLs without
user-info or query."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"

_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret and every `Bearer <token>` replaced by a marker."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, text)


def redact_url(url: str) -> str:
    """`url` without user-info (`https://user:pass@host` -> `https://host`) and without a query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
