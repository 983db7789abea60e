"""Shared HTTP plumbing of the networked providers (the model API and OpenAI-compatible servers).

One `ModelHTTPClient` per provider instance gives that provider:

* one `httpx.AsyncClient` per event loop, created lazily on first use and closed by `aclose()`
  (Django's `async_to_sync` may run a provider in several loops of one process, and an httpx
  client must not cross loops);
* explicit connect/read/write/pool timeouts, and an optional deadline for the whole call;
* retries (tenacity) on 429, 5xx, timeouts and connection errors, waiting the server's
  `Retry-After` (delta-seconds or HTTP date, capped at `retry_after_max`) when it sends one, else
  exponential backoff with full jitter;
* a concurrency limit (an `asyncio.Semaphore` per loop);
* a circuit breaker: after `breaker_threshold` consecutive failed calls it opens and calls fail
  fast with `ProviderUnavailable(kind="circuit_open")`; after `breaker_cooldown` seconds one
  probe call is let through (half-open) and its outcome closes or re-opens the circuit.

The API key is sent only in the `Authorization` header and is redacted from every log line and
exception message produced here. No Django import: options arrive as a plain mapping and are
validated by `HTTPSettings`, a pydantic model.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import Field, field_validator
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

from .errors import ProviderBadOutput, ProviderError, ProviderTimeout, ProviderUnavailable
from .options import ProviderOptions, option_error

logger = logging.getLogger("ai_service.http")

USER_AGENT = "interview-rt-ai/1 (+httpx)"
REDACTED = "[REDACTED]"
# Error kinds that say "the service is not answering"; only these count towards the breaker.
AVAILABILITY_KINDS = frozenset({"timeout", "connection", "unavailable", "rate_limited"})
# Seconds `aclose()` waits for a client to close on another event loop.
CLOSE_TIMEOUT = 5.0

_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")


# --- redaction ---------------------------------------------------------------------------------


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


# --- options -----------------------------------------------------------------------------------

_SECONDS = "a positive number of seconds"


def endpoint_problem(endpoint: object) -> str | None:
    """What is wrong with an endpoint URL (None when fine), without echoing credentials."""
    if endpoint is None or endpoint == "":
        return "is missing (set AI_MODEL_API_ENDPOINT)"
    if not isinstance(endpoint, str):
        return "must be a string URL"
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{redact_url(endpoint)!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{redact_url(endpoint)!r} must be an http:// or https:// URL with a host"
    if parts.query or parts.fragment:
        return "must not carry a query string or fragment"
    return None


class HTTPSettings(ProviderOptions):
    """Transport options of a networked provider (the part of its OPTIONS this module reads)."""

    endpoint: str = Field("", validate_default=True)
    api_key: str = Field("", repr=False, description="a string")
    connect_timeout: float = Field(5.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    read_timeout: float = Field(30.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    write_timeout: float = Field(10.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    pool_timeout: float = Field(10.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    # Deadline for one call including retries, back-off sleeps and queueing (None: unbounded).
    total_timeout: float | None = Field(None, gt=0, allow_inf_nan=False, description=_SECONDS + " or None")
    max_retries: int = Field(2, ge=0, description="an integer >= 0")
    backoff_base: float = Field(0.5, gt=0, allow_inf_nan=False, description=_SECONDS)
    backoff_max: float = Field(8.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    retry_after_max: float = Field(10.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    max_concurrency: int = Field(8, ge=1, description="an integer >= 1")
    breaker_threshold: int = Field(5, ge=1, description="an integer >= 1")
    breaker_cooldown: float = Field(30.0, gt=0, allow_inf_nan=False, description=_SECONDS)
    max_response_bytes: int = Field(2_000_000, ge=1024, description="an integer >= 1024")
    verify: bool | str = Field(True, description="a boolean or a CA bundle path")
    # Injected by tests: the transport of the clients created here, or a client used as-is.
    transport: httpx.AsyncBaseTransport | None = Field(None, repr=False, description="an httpx.AsyncBaseTransport")
    client: httpx.AsyncClient | None = Field(None, repr=False, description="an httpx.AsyncClient")

    @field_validator("endpoint", mode="plain")
    @classmethod
    def _endpoint(cls, value: object) -> str:
        problem = endpoint_problem(value)
        if problem:
            raise option_error(problem)
        return str(value).rstrip("/")

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout, read=self.read_timeout, write=self.write_timeout, pool=self.pool_timeout
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HTTPSettings:
        """The validated settings; `ProviderConfigError` naming every bad option otherwise."""
        return cls.parse(options)


def check_http_options(options: Mapping[str, Any]) -> list[str]:
    """Human-readable problems of the transport options (empty when fine)."""
    return HTTPSettings.problems(options)


# --- retry policy (pure) -----------------------------------------------------------------------


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


# --- circuit breaker ---------------------------------------------------------------------------


class CircuitBreaker:
    """Consecutive-failure circuit breaker, safe to share between event loops and threads.

    closed -> (threshold consecutive failures) -> open -> (cooldown) -> half-open: one probe call
    is admitted; its success closes the circuit, its failure opens it again.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self, name: str, *, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at = 0.0
        self._state = self.CLOSED
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and self.clock() - self._opened_at >= self.cooldown:
                return self.HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def before_call(self) -> bool:
        """Admit a call or raise `ProviderUnavailable(kind="circuit_open")`; True when it is the probe."""
        with self._lock:
            if self._state == self.CLOSED:
                return False
            if self._state == self.OPEN:
                remaining = self.cooldown - (self.clock() - self._opened_at)
                if remaining > 0:
                    raise ProviderUnavailable(
                        f"{self.name}: circuit open after {self._failures} consecutive failures; "
                        f"next probe in {remaining:.1f}s",
                        kind="circuit_open",
                    )
                self._state = self.HALF_OPEN
            if self._probe_in_flight:
                raise ProviderUnavailable(f"{self.name}: circuit half-open, probe in flight", kind="circuit_open")
            self._probe_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                logger.info("%s: circuit closed", self.name)
            self._state = self.CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or self._failures >= self.threshold:
                if self._state != self.OPEN:
                    logger.warning(
                        "%s: circuit opened after %d consecutive failures (cool-down %.1fs)",
                        self.name,
                        self._failures,
                        self.cooldown,
                    )
                self._state = self.OPEN
                self._opened_at = self.clock()
            self._probe_in_flight = False

    def release(self, probe: bool) -> None:
        """Forget an admitted call that ended without an outcome (cancelled)."""
        if probe:
            with self._lock:
                self._probe_in_flight = False


# --- the client --------------------------------------------------------------------------------


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


@dataclass
class _LoopState:
    loop_ref: weakref.ReferenceType[asyncio.AbstractEventLoop]
    semaphore: asyncio.Semaphore
    client: httpx.AsyncClient | None = None


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
        self._transport = transport or settings.transport
        self._injected_client = client or settings.client
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self.breaker = CircuitBreaker(name, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)
        self._states: dict[int, _LoopState] = {}
        self._lock = threading.Lock()
        # Indirection so tests can record back-off sleeps instead of waiting.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.in_flight = 0
        self.max_in_flight = 0

    # -- per-loop resources

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.get(id(loop))
            if state is None or state.loop_ref() is not loop:
                self._prune()
                state = _LoopState(weakref.ref(loop), asyncio.Semaphore(self.settings.max_concurrency))
                self._states[id(loop)] = state
            return state

    def _prune(self) -> None:
        """Drop the state of loops that are gone or closed (their clients cannot be awaited any more)."""
        for key, state in list(self._states.items()):
            loop = state.loop_ref()
            if loop is None or loop.is_closed():
                del self._states[key]

    def client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` of the running loop, created on first use."""
        if self._injected_client is not None:
            return self._injected_client
        state = self._state()
        if state.client is None or state.client.is_closed:
            limit = self.settings.max_concurrency
            state.client = httpx.AsyncClient(
                transport=self._transport,
                timeout=self.settings.timeout(),
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                verify=self.settings.verify,
                follow_redirects=False,
                trust_env=self._transport is None,
            )
        return state.client

    async def aclose(self) -> None:
        """Close every client this object created: the running loop's here, a live other loop's on
        that loop (bounded by CLOSE_TIMEOUT); those of closed loops are just dropped."""
        running = asyncio.get_running_loop()
        with self._lock:
            states = list(self._states.values())
            self._states.clear()
        for state in states:
            loop, client = state.loop_ref(), state.client
            if client is None or client.is_closed or loop is None or loop.is_closed():
                continue
            if loop is running:
                await client.aclose()
                continue
            # An httpx client must be closed on its own loop.
            future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.wrap_future(future)
            except Exception as exc:
                future.cancel()
                logger.warning("%s: could not close the client of another event loop: %r", self.name, exc)

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
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=retry_wait(self.settings),
            retry=retry_if_exception_type(RetryableFailure),
            sleep=self.sleep,
            before_sleep=partial(self._log_retry, url, attempts),
            reraise=True,
        )
        try:
            raw: _RawResponse = await retrying(self._attempt, url, path, payload)
        except RetryableFailure as failure:
            error = failure.error
            if attempts > 1:
                error.args = (f"{error} (after {attempts} attempts)",)
            raise error from None
        return raw, int(retrying.statistics["attempt_number"])

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
        state = self._state()
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
