"""One error family for every provider failure, so callers handle a single type."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider could not produce a usable answer. `kind` is a stable, loggable code."""

    kind = "provider_error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ProviderTimeout(ProviderError):
    kind = "timeout"


class ProviderUnavailable(ProviderError):
    """5xx, 429 after retries, connection refused, or the circuit breaker is open."""

    kind = "unavailable"


class ProviderBadOutput(ProviderError):
    """Invalid JSON, wrong schema, score out of range, empty output."""

    kind = "bad_output"


class ProviderConfigError(ProviderError):
    kind = "config"
