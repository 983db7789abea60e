"""`ModelHTTPClient`: one POST of JSON to a model server, with the timeouts, the retries
(retry.py), the concurrency limit and per-loop clients (pool.py) and the circuit breaker
(breaker.py); the errors it raises and the answer it returns."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from tenacity import RetryCallState

from ..errors import ProviderBadOutput, ProviderError, ProviderTimeout, ProviderUnavailable
from .breaker import CircuitBreaker
from .pool import LoopPool
from .redaction import redact, redact_url
from .retry import RetryableFailure, is_retryable_status, parse_retry_after, retrying
from .settings import HTTPSettings

logger = logging.getLogger(__name__)

USER_AGENT = "interview-rt-ai/1 (+httpx)"
# Error kinds that say "the service is not answering"; only these count towards the breaker.
AVAILABILITY_KINDS = frozenset({"timeout", "connection", "unavailable", "rate_limited"})


@dataclass(frozen=True)
class HTTPResult:
    """A decoded 2xx JSON answer and how it was obtained."""

    data: Any
    status_code: int
    attempts: int
    latency_ms: float


class UpstreamUnavailable(ProviderUnavailable):
    """A 429/5xx answer that persisted through the retries."""

    def __init__(self, message: str, *, status_code: int, body_excerpt: str = "", kind: str | None = None) -> None:
        super().__init__(message, kind=kind)
        self.status_code = status_code
        self.body_excerpt = body_excerpt


class RequestRejected(ProviderError):
    """A non-retryable 3xx/4xx answer: the server refused this request (kind `auth` or `rejected`)."""

    kind = "rejected"

    def __init__(self, message: str, *, status_code: int, body_excerpt: str = "", kind: str | None = None) -> None:
        super().__init__(message, kind=kind)
        self.status_code = status_code
        self.body_excerpt = body_excerpt


@dataclass(frozen=True)
class _RawResponse:
    status_code: int
    headers: httpx.Headers
    content: bytes


class ModelHTTPClient:
    """POSTs JSON to one model server with timeouts, retries, a concurrency limit and a breaker.

    `transport` (an `httpx.AsyncBaseTransport`, e.g. `httpx.MockTransport`) is used for the
    clients this object creates; `client` (an `httpx.AsyncClient`) is used as-is in every loop
    and never closed here (its owner closes it). Both default to the settings' own.
    """

    def __init__(
        self,
        name: str,
        settings: HTTPSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.pool = LoopPool(
            name, settings, transport=transport or settings.transport, client=client or settings.client
        )
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self.breaker = CircuitBreaker(name, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)
        # Indirection so tests can record back-off sleeps instead of waiting.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.in_flight = 0
        self.max_in_flight = 0

    def client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` of the running loop, created on first use."""
        return self.pool.client()

    async def aclose(self) -> None:
        """Close every client this object created (see `LoopPool.aclose`)."""
        await self.pool.aclose()

    # -- calls

    def url(self, path: str) -> str:
        return self.settings.endpoint + "/" + path.lstrip("/")

    def _redact(self, text: str) -> str:
        return redact(text, self.settings.api_key)

    def _excerpt(self, content: bytes) -> str:
        # Redact before cutting, so that a key straddling the cut cannot leak a prefix.
        return self._redact(content[:8192].decode("utf-8", "replace"))[:300].strip()

    async def post_json(self, path: str, body: Mapping[str, Any]) -> HTTPResult:
        """POST `body` as JSON to `{endpoint}/{path}`; the decoded JSON of the 2xx answer.

        Raises `ProviderTimeout`, `ProviderUnavailable` (kinds `unavailable`, `rate_limited`,
        `connection`, `circuit_open`), `RequestRejected` (kinds `auth`, `rejected`) or
        `ProviderBadOutput` (body empty, too large or not JSON).
        """
        probe = self.breaker.before_call()
        started = time.perf_counter()
        outcome_recorded = False
        try:
            try:
                if self.settings.total_timeout is not None:
                    async with asyncio.timeout(self.settings.total_timeout):
                        raw, attempts = await self._attempts(path, body)
                else:
                    raw, attempts = await self._attempts(path, body)
            except TimeoutError:
                raise ProviderTimeout(
                    f"{self.name}: POST {path} exceeded the total timeout of {self.settings.total_timeout}s"
                ) from None
            result = HTTPResult(
                data=self._decode(raw, path),
                status_code=raw.status_code,
                attempts=attempts,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        except ProviderError as exc:
            # The server answered (even badly): that is not an availability failure.
            if exc.kind in AVAILABILITY_KINDS:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            outcome_recorded = True
            raise
        else:
            self.breaker.record_success()
            outcome_recorded = True
            return result
        finally:
            if not outcome_recorded:
                self.breaker.release(probe)

    async def _attempts(self, path: str, body: Mapping[str, Any]) -> tuple[_RawResponse, int]:
        """The 2xx response and the number of attempts it took; the last attempt's error otherwise."""
        url = self.url(path)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempts = self.settings.max_retries + 1
        retry = retrying(self.settings, sleep=self.sleep, before_sleep=partial(self._log_retry, url, attempts))
        try:
            raw: _RawResponse = await retry(self._attempt, url, path, payload)
        except RetryableFailure as failure:
            error = failure.error
            if attempts > 1:
                error.args = (f"{error} (after {attempts} attempts)",)
            raise error from None
        return raw, int(retry.statistics["attempt_number"])

    def _log_retry(self, url: str, attempts: int, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        error = failure.error if isinstance(failure, RetryableFailure) else failure
        logger.warning(
            "%s: attempt %d/%d of POST %s failed (%s: %s); retrying in %.2fs",
            self.name,
            state.attempt_number,
            attempts,
            redact_url(url),
            getattr(error, "kind", type(error).__name__),
            error,
            state.upcoming_sleep,
        )

    async def _attempt(self, url: str, path: str, payload: bytes) -> _RawResponse:
        """One POST: the 2xx response, a final ProviderError, or a RetryableFailure."""
        try:
            raw = await self._send(url, payload)
        except httpx.TimeoutException as exc:
            timeout = ProviderTimeout(f"{self.name}: POST {path} timed out ({type(exc).__name__})")
            raise RetryableFailure(timeout) from None
        except httpx.DecodingError:
            raise ProviderBadOutput(f"{self.name}: POST {path} returned a body that cannot be decoded") from None
        except httpx.RequestError as exc:  # connect/read/write errors, protocol errors
            raise RetryableFailure(
                ProviderUnavailable(
                    f"{self.name}: POST {path} failed: {type(exc).__name__}: {self._redact(str(exc))}",
                    kind="connection",
                )
            ) from None
        status = raw.status_code
        if 200 <= status <= 299:
            return raw
        excerpt = self._excerpt(raw.content)
        said = f": {excerpt}" if excerpt else ""
        if not is_retryable_status(status):
            raise RequestRejected(
                f"{self.name}: POST {path} was rejected with HTTP {status}{said}",
                status_code=status,
                body_excerpt=excerpt,
                kind="auth" if status in (401, 403) else "rejected",
            )
        error = UpstreamUnavailable(
            f"{self.name}: POST {path} answered HTTP {status}{said}",
            status_code=status,
            body_excerpt=excerpt,
            kind="rate_limited" if status == 429 else "unavailable",
        )
        wait = parse_retry_after(raw.headers.get("retry-after"), cap=self.settings.retry_after_max)
        raise RetryableFailure(error, wait)

    async def _send(self, url: str, payload: bytes) -> _RawResponse:
        state = self.pool.state()
        client = self.client()
        headers = {**self._headers, "Content-Type": "application/json"}
        async with state.semaphore:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                async with client.stream(
                    "POST", url, content=payload, headers=headers, timeout=self.settings.timeout()
                ) as response:
                    limit = self.settings.max_response_bytes
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise ProviderBadOutput(f"{self.name}: response of {declared} bytes exceeds {limit}")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise ProviderBadOutput(f"{self.name}: response exceeds {limit} bytes")
                        chunks.append(chunk)
                    return _RawResponse(response.status_code, response.headers, b"".join(chunks))
            finally:
                self.in_flight -= 1

    def _decode(self, raw: _RawResponse, path: str) -> Any:
        if not raw.content.strip():
            raise ProviderBadOutput(f"{self.name}: POST {path} returned an empty body")
        try:
            return json.loads(raw.content)
        except (ValueError, UnicodeDecodeError):
            raise ProviderBadOutput(
                f"{self.name}: POST {path} returned a body that is not JSON: {self._excerpt(raw.content)!r}"
            ) from None
