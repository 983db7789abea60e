"""The retry policy, carried out by tenacity: which failures are retried, how long to wait (the
server's `Retry-After`, else exponential backoff with full jitter), and how many attempts."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

from ..errors import ProviderError
from .settings import HTTPSettings


def parse_retry_after(value: str | None, *, cap: float, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), capped; None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, min(seconds, cap))


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


class RetryableFailure(Exception):
    """One attempt failed in a way another attempt may not: the error to report and the server's wait."""

    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class WaitRetryAfter(wait_base):
    """Tenacity wait: the server's `Retry-After` (already parsed and capped) when the failed attempt
    carried one, else `fallback`."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(failure, RetryableFailure) and failure.retry_after is not None:
            return failure.retry_after
        return float(self.fallback(retry_state))


def retry_wait(settings: HTTPSettings) -> WaitRetryAfter:
    """Retry-After, else full-jitter exponential backoff: uniform(0, min(max, base * 2**(attempt - 1)))."""
    return WaitRetryAfter(wait_random_exponential(multiplier=settings.backoff_base, max=settings.backoff_max))


def retrying(
    settings: HTTPSettings,
    *,
    sleep: Callable[[float], Awaitable[None]],
    before_sleep: Callable[[RetryCallState], None],
) -> AsyncRetrying:
    """Up to `max_retries` more attempts after a `RetryableFailure`; the last one is re-raised."""
    return AsyncRetrying(
        stop=stop_after_attempt(settings.max_retries + 1),
        wait=retry_wait(settings),
        retry=retry_if_exception_type(RetryableFailure),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
