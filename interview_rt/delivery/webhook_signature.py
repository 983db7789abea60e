"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body. Pure (standard library
only), so a receiver written in Python can copy this file; docs/webhooks.md shows the same steps.

    X-Interview-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

Signing the timestamp with the body lets a receiver reject a captured request replayed later
(its timestamp is too old) without being able to forge a fresh one; the delivery id header
(`X-Interview-Delivery`) lets it drop a replay within the tolerance window too.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Interview-Signature"
EVENT_HEADER = "X-Interview-Event"
DELIVERY_HEADER = "X-Interview-Delivery"
# A receiver should refuse signatures older (or newer) than this.
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """Why a request was refused: malformed header, wrong signature, or outside the window."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    return f"t={int(timestamp)},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str | None, body: bytes, *, now: float, tolerance: float = DEFAULT_TOLERANCE_SECONDS
) -> int:
    """Check a signature header against the raw body; returns its timestamp or raises
    SignatureError. Compare in constant time, and only then trust anything in the body."""
    if not header:
        raise SignatureError("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("malformed timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance window (replayed or clock skew)")
    return timestamp
