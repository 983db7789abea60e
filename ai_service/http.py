"""Shared HTTP plumbing of the networked providers (the model API and OpenAI-compatible servers).

One `ModelHTTPClient` per provider instance gives that provider:

* one `httpx.AsyncClient` per event loop, created lazily on first use and closed by `aclose()`
  (Django's `async_to_sync` may run a provider in several loops of one process, and an httpx
  client must not cross loops);
* explicit connect/read/write/pool timeouts, and an optional deadline for the whole call;
* retries with exponential backoff and full jitter on 429, 5xx, timeouts and connection errors,
  honouring `Retry-After` (delta-seconds or HTTP date), capped at `retry_after_max`;
* a concurrency limit (an `asyncio.Semaphore` per loop);
* a circuit breaker: after `breaker_threshold` consecutive failed calls it opens and calls fail
  fast with `ProviderUnavailable(kind="circuit_open")`; after `breaker_cooldown` seconds one
  probe call is let through (half-open) and its outcome closes or re-opens the circuit.

The API key is sent only in the `Authorization` header and is redacted from every log line and
exception message produced here. No Django import: options arrive as a plain mapping.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .errors import ProviderBadOutput, ProviderConfigError, ProviderError, ProviderTimeout, ProviderUnavailable

logger = logging.getLogger("ai_service.http")

USER_AGENT = "interview-rt-ai/1 (+httpx)"
REDACTED = "[REDACTED]"
# Error kinds that say "the service is not answering"; only these count towards the breaker.
AVAILABILITY_KINDS = frozenset({"timeout", "connection", "unavailable", "rate_limited"})

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


@dataclass(frozen=True)
class HTTPSettings:
    """Transport options of a networked provider, parsed from its OPTIONS mapping."""

    endpoint: str
    api_key: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    write_timeout: float = 10.0
    pool_timeout: float = 10.0
    # Deadline for one call including retries, back-off sleeps and queueing (None: unbounded).
    total_timeout: float | None = None
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 10.0
    max_concurrency: int = 8
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    max_response_bytes: int = 2_000_000
    verify: bool | str = True

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout, read=self.read_timeout, write=self.write_timeout, pool=self.pool_timeout
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HTTPSettings:
        problems = check_http_options(options)
        if problems:
            raise ProviderConfigError("; ".join(problems))
        kwargs: dict[str, Any] = {"endpoint": str(options["endpoint"]).rstrip("/")}
        kwargs["api_key"] = str(options.get("api_key") or "")
        for name in _FLOAT_OPTIONS:
            if options.get(name) is not None:
                kwargs[name] = float(options[name])
        if options.get("total_timeout") is not None:
            kwargs["total_timeout"] = float(options["total_timeout"])
        for name in _INT_OPTIONS:
            if options.get(name) is not None:
                kwargs[name] = int(options[name])
        if options.get("verify") is not None:
            kwargs["verify"] = options["verify"]
        return cls(**kwargs)


# Stand-in settings of a misconfigured provider, which raises ProviderConfigError before any call.
UNUSABLE_SETTINGS = HTTPSettings(endpoint="http://unconfigured.invalid", max_retries=0)

# Positive numbers of seconds.
_FLOAT_OPTIONS = (
    "connect_timeout",
    "read_timeout",
    "write_timeout",
    "pool_timeout",
    "backoff_base",
    "backoff_max",
    "retry_after_max",
    "breaker_cooldown",
)
# name -> smallest allowed value
_INT_OPTIONS = {"max_retries": 0, "max_concurrency": 1, "breaker_threshold": 1, "max_response_bytes": 1024}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_endpoint(endpoint: object) -> list[str]:
    if endpoint is None or endpoint == "":
        return ["OPTIONS['endpoint'] is missing (set AI_MODEL_API_ENDPOINT)"]
    if not isinstance(endpoint, str):
        return ["OPTIONS['endpoint'] must be a string URL"]
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return [f"OPTIONS['endpoint'] {redact_url(endpoint)!r} is not a valid URL"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"OPTIONS['endpoint'] {redact_url(endpoint)!r} must be an http:// or https:// URL with a host"]
    if parts.query or parts.fragment:
        return ["OPTIONS['endpoint'] must not carry a query string or fragment"]
    return []


def check_http_options(options: Mapping[str, Any]) -> list[str]:
    """Human-readable problems of the transport options (empty when fine)."""
    problems = check_endpoint(options.get("endpoint"))
    api_key = options.get("api_key")
    if api_key is not None and not isinstance(api_key, str):
        problems.append("OPTIONS['api_key'] must be a string")
    for name in _FLOAT_OPTIONS:
        value = options.get(name)
        if value is not None and not (_is_number(value) and value > 0):
            problems.append(f"OPTIONS[{name!r}] must be a positive number of seconds, not {value!r}")
    total = options.get("total_timeout")
    if total is not None and not (_is_number(total) and total > 0):
        problems.append(f"OPTIONS['total_timeout'] must be a positive number of seconds or None, not {total!r}")
    for name, minimum in _INT_OPTIONS.items():
        value = options.get(name)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            problems.append(f"OPTIONS[{name!r}] must be an integer >= {minimum}, not {value!r}")
    verify = options.get("verify")
    if verify is not None and not isinstance(verify, bool | str):
        problems.append("OPTIONS['verify'] must be a boolean or a CA bundle path")
    for name in ("transport", "client"):
        value = options.get(name)
        expected = httpx.AsyncBaseTransport if name == "transport" else httpx.AsyncClient
        if value is not None and not isinstance(value, expected):
            problems.append(f"OPTIONS[{name!r}] must be an {expected.__module__}.{expected.__name__}")
    return problems


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


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return (rng or random).uniform(0.0, ceiling)


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


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
    and never closed here (its owner closes it).
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
        self._transport = transport
        self._injected_client = client
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self.breaker = CircuitBreaker(name, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)
        self._states: dict[int, _LoopState] = {}
        self._lock = threading.Lock()
        self._rng = random.Random()
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
        """Close the client of the running loop (others are dropped once their loop is closed)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.pop(id(loop), None)
            self._prune()
        if state is not None and state.client is not None and state.loop_ref() is loop:
            await state.client.aclose()

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
        url = self.url(path)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        last: ProviderError | None = None
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            delay: float | None = None
            try:
                raw = await self._send(url, payload)
            except httpx.TimeoutException as exc:
                last = ProviderTimeout(f"{self.name}: POST {path} timed out ({type(exc).__name__})")
            except httpx.DecodingError:
                raise ProviderBadOutput(f"{self.name}: POST {path} returned a body that cannot be decoded") from None
            except httpx.RequestError as exc:  # connect/read/write errors, protocol errors
                last = ProviderUnavailable(
                    f"{self.name}: POST {path} failed: {type(exc).__name__}: {self._redact(str(exc))}",
                    kind="connection",
                )
            else:
                status = raw.status_code
                if 200 <= status <= 299:
                    return raw, attempt + 1
                excerpt = self._excerpt(raw.content)
                said = f": {excerpt}" if excerpt else ""
                if not is_retryable_status(status):
                    raise RequestRejected(
                        f"{self.name}: POST {path} was rejected with HTTP {status}{said}",
                        status_code=status,
                        body_excerpt=excerpt,
                        kind="auth" if status in (401, 403) else "rejected",
                    )
                last = UpstreamUnavailable(
                    f"{self.name}: POST {path} answered HTTP {status}{said}",
                    status_code=status,
                    body_excerpt=excerpt,
                    kind="rate_limited" if status == 429 else "unavailable",
                )
                delay = parse_retry_after(raw.headers.get("retry-after"), cap=self.settings.retry_after_max)
            if attempt + 1 >= attempts:
                break
            if delay is None:
                delay = backoff_delay(
                    attempt, base=self.settings.backoff_base, cap=self.settings.backoff_max, rng=self._rng
                )
            logger.warning(
                "%s: attempt %d/%d of POST %s failed (%s: %s); retrying in %.2fs",
                self.name,
                attempt + 1,
                attempts,
                redact_url(url),
                last.kind,
                last,
                delay,
            )
            await self.sleep(delay)
        assert last is not None
        if attempts > 1:
            last.args = (f"{last} (after {attempts} attempts)",)
        raise last

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


def transport_from_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The injectable `transport`/`client` of a provider's options, as ModelHTTPClient kwargs."""
    return {"transport": options.get("transport"), "client": options.get("client")}
