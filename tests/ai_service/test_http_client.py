"""ai_service.http: retry policy, Retry-After, circuit breaker, concurrency limit, per-loop clients,
option checks and redaction. Transport-level behaviour uses httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from tenacity import RetryCallState
from tenacity.wait import wait_base

from ai_service.errors import ProviderBadOutput, ProviderConfigError, ProviderTimeout, ProviderUnavailable
from ai_service.http import (
    CircuitBreaker,
    HTTPSettings,
    ModelHTTPClient,
    RequestRejected,
    RetryableFailure,
    check_http_options,
    parse_retry_after,
    redact,
    redact_url,
    retry_wait,
)

SECRET = "sk-live-SUPERSECRET-abcdef123456"


def make_client(handler: Callable[[httpx.Request], Any], **options: Any) -> tuple[ModelHTTPClient, list[float]]:
    settings = HTTPSettings.from_options(
        {"endpoint": "https://model.example/api", "api_key": SECRET, "backoff_base": 0.01, **options}
    )
    client = ModelHTTPClient("test", settings, transport=httpx.MockTransport(handler))
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    client.sleep = fake_sleep
    return client, sleeps


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"ok": True})


# --- pure policy -------------------------------------------------------------------------------


def test_retry_after_delta_seconds_and_cap() -> None:
    assert parse_retry_after("1", cap=10) == 1.0
    assert parse_retry_after(" 2.5 ", cap=10) == 2.5
    assert parse_retry_after("3600", cap=10) == 10.0
    assert parse_retry_after("-5", cap=10) == 0.0


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=4), usegmt=True)
    assert parse_retry_after(header, cap=10, now=now) == pytest.approx(4.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), cap=10, now=now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(hours=1), usegmt=True), cap=7, now=now) == 7.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf"])
def test_retry_after_invalid_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, cap=10) is None


def failed_attempt(number: int, error: BaseException) -> RetryCallState:
    """The state tenacity hands its wait strategy after attempt `number` raised `error`."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = number
    state.set_exception((type(error), error, None))
    return state


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    wait = retry_wait(HTTPSettings.from_options({"endpoint": "https://h", "backoff_base": 0.25, "backoff_max": 2.0}))
    assert isinstance(wait, wait_base)
    no_retry_after = RetryableFailure(ProviderUnavailable("503"))
    for attempt in range(8):
        ceiling = min(2.0, 0.25 * 2**attempt)
        delays = [wait(failed_attempt(attempt + 1, no_retry_after)) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spans the whole range
        assert min(delays) < ceiling * 0.2


def test_wait_is_the_servers_retry_after_when_given() -> None:
    wait = retry_wait(HTTPSettings.from_options({"endpoint": "https://h", "backoff_base": 0.25, "backoff_max": 2.0}))
    assert wait(failed_attempt(1, RetryableFailure(ProviderUnavailable("429"), retry_after=7.0))) == 7.0
    assert wait(failed_attempt(3, RetryableFailure(ProviderUnavailable("429"), retry_after=0.0))) == 0.0


def test_redaction() -> None:
    text = f"failed with Authorization: Bearer {SECRET} and key={SECRET}"
    cleaned = redact(text, SECRET)
    assert SECRET not in cleaned
    assert "[REDACTED]" in cleaned
    assert "Bearer sk-other-token" not in redact("Bearer sk-other-token")
    assert redact_url("https://user:pw@host.example:8443/v1?key=abc") == "https://host.example:8443/v1"


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "endpoint'] is missing"),
        ({"endpoint": ""}, "endpoint'] is missing"),
        ({"endpoint": "ftp://model.example"}, "http:// or https://"),
        ({"endpoint": "model.example/api"}, "http:// or https://"),
        ({"endpoint": "http://"}, "http:// or https://"),
        ({"endpoint": "http://host:99999"}, "not a valid URL"),
        ({"endpoint": 42}, "must be a string"),
        ({"endpoint": "https://h", "read_timeout": 0}, "read_timeout"),
        ({"endpoint": "https://h", "connect_timeout": -1}, "connect_timeout"),
        ({"endpoint": "https://h", "read_timeout": "30"}, "read_timeout"),
        ({"endpoint": "https://h", "read_timeout": True}, "read_timeout"),
        ({"endpoint": "https://h", "total_timeout": float("inf")}, "total_timeout"),
        ({"endpoint": "https://h", "max_retries": -1}, "max_retries"),
        ({"endpoint": "https://h", "max_concurrency": 0}, "max_concurrency"),
        ({"endpoint": "https://h", "transport": object()}, "transport"),
    ],
)
def test_check_http_options_reports_problems(options: dict[str, Any], fragment: str) -> None:
    problems = check_http_options(options)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(ProviderConfigError):
        HTTPSettings.from_options(options)


def test_check_http_options_accepts_good_options() -> None:
    options = {
        "endpoint": "https://user:pw@model.example/v1",
        "api_key": SECRET,
        "connect_timeout": 1,
        "read_timeout": 2.5,
        "total_timeout": 10,
        "max_retries": 0,
        "max_concurrency": 4,
    }
    assert check_http_options(options) == []
    settings = HTTPSettings.from_options(options)
    assert settings.read_timeout == 2.5 and settings.max_concurrency == 4
    assert all(SECRET not in p for p in check_http_options({**options, "read_timeout": -1}))


# --- retries -----------------------------------------------------------------------------------


async def test_retries_5xx_then_succeeds_with_backoff() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, text="busy") if len(calls) < 3 else ok()

    client, sleeps = make_client(handler, max_retries=2)
    result = await client.post_json("evaluate-response", {"x": 1})
    assert result.data == {"ok": True} and result.attempts == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.02 for s in sleeps)
    assert calls[0].url == "https://model.example/api/evaluate-response"
    assert calls[0].headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(calls[0].content) == {"x": 1}
    await client.aclose()


async def test_retry_honours_retry_after_seconds() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "1"}) if calls == 1 else ok()

    client, sleeps = make_client(handler, max_retries=1)
    await client.post_json("p", {})
    assert sleeps == [1.0]
    await client.aclose()


async def test_retry_honours_retry_after_date_and_caps_it() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, headers={"Retry-After": later}) if calls == 1 else ok()

    client, sleeps = make_client(handler, max_retries=1, retry_after_max=3)
    await client.post_json("p", {})
    assert sleeps == [3.0]
    await client.aclose()


@pytest.mark.parametrize(
    ("failure", "error", "kind"),
    [
        (lambda r: httpx.Response(500), ProviderUnavailable, "unavailable"),
        (lambda r: httpx.Response(429), ProviderUnavailable, "rate_limited"),
        (lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)), ProviderTimeout, "timeout"),
        (lambda r: (_ for _ in ()).throw(httpx.ConnectTimeout("slow", request=r)), ProviderTimeout, "timeout"),
        (lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)), ProviderUnavailable, "connection"),
        (
            lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("eof", request=r)),
            ProviderUnavailable,
            "connection",
        ),
    ],
)
async def test_retryable_failures_are_retried_then_mapped(
    failure: Callable[[httpx.Request], httpx.Response], error: type[Exception], kind: str
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return failure(request)

    client, sleeps = make_client(handler, max_retries=2)
    with pytest.raises(error) as info:
        await client.post_json("p", {})
    assert info.value.kind == kind  # type: ignore[attr-defined]
    assert calls == 3 and len(sleeps) == 2
    assert "after 3 attempts" in str(info.value)
    await client.aclose()


@pytest.mark.parametrize(("status", "kind"), [(400, "rejected"), (401, "auth"), (403, "auth"), (404, "rejected")])
async def test_client_errors_are_not_retried(status: int, kind: str) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json={"error": {"message": "no"}})

    client, sleeps = make_client(handler, max_retries=3)
    with pytest.raises(RequestRejected) as info:
        await client.post_json("p", {})
    assert info.value.kind == kind and info.value.status_code == status
    assert calls == 1 and sleeps == []
    await client.aclose()


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b""),
        httpx.Response(200, content=b"   \n"),
        httpx.Response(200, content=b"<html>oops</html>"),
        httpx.Response(200, content=b'{"truncated": '),
        httpx.Response(200, content=b"\xff\xfe\xfa"),
    ],
)
async def test_bad_bodies_are_bad_output_and_not_retried(response: httpx.Response) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(response.status_code, content=response.content)

    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(ProviderBadOutput):
        await client.post_json("p", {})
    assert calls == 1
    await client.aclose()


async def test_undecodable_content_encoding_is_bad_output() -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, content=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(ProviderBadOutput, match="cannot be decoded"):
        await client.post_json("p", {})
    await client.aclose()


async def test_oversized_response_is_bad_output() -> None:
    client, _ = make_client(lambda r: httpx.Response(200, content=b"x" * 5000), max_response_bytes=2048)
    with pytest.raises(ProviderBadOutput, match="exceeds"):
        await client.post_json("p", {})
    await client.aclose()


async def test_total_timeout_bounds_the_whole_call() -> None:
    cancelled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        try:
            await asyncio.Event().wait()  # never answers: only the total timeout ends the call
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return ok()

    client, _ = make_client(handler, total_timeout=0.2, read_timeout=600)
    async with asyncio.timeout(60):  # a guard against a hang, far above the 0.2 s under test
        with pytest.raises(ProviderTimeout, match="total timeout"):
            await client.post_json("p", {})
    assert cancelled.is_set()  # the request in flight was abandoned, not left running
    await client.aclose()


async def test_api_key_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Even a server that echoes the Authorization header back does not leak the key."""

    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f"bad key {request.headers['authorization']} ({SECRET})"
        status = 500 if request.url.path.endswith("five") else 401
        return httpx.Response(status, text=echoed)

    caplog.set_level(logging.DEBUG)
    client, _ = make_client(handler, max_retries=1)
    for path in ("five", "four"):
        with pytest.raises(Exception) as info:
            await client.post_json(path, {})
        text = f"{info.value} {info.value!r} {getattr(info.value, 'body_excerpt', '')}"
        assert SECRET not in text
        assert "[REDACTED]" in text
    assert caplog.records  # the retry was logged ...
    assert SECRET not in caplog.text  # ... without the key
    await client.aclose()


# --- concurrency limit -------------------------------------------------------------------------


async def test_concurrency_limit_is_respected() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return ok()

    client, _ = make_client(handler, max_concurrency=3)
    await asyncio.gather(*(client.post_json("p", {"i": i}) for i in range(20)))
    assert peak == 3
    assert client.max_in_flight == 3
    await client.aclose()


# --- per-loop clients --------------------------------------------------------------------------


def test_one_client_per_event_loop_closed_by_aclose() -> None:
    client, _ = make_client(lambda r: ok())
    seen: list[httpx.AsyncClient] = []

    async def use() -> None:
        await client.post_json("p", {})
        first = client.client()
        await client.post_json("p", {})
        assert client.client() is first  # reused within the loop
        seen.append(first)
        await client.aclose()
        assert first.is_closed
        assert client.client() is not first  # created again lazily
        await client.aclose()

    asyncio.run(use())
    asyncio.run(use())
    assert seen[0] is not seen[1]


def test_clients_of_closed_loops_are_dropped() -> None:
    client, _ = make_client(lambda r: ok())
    for _ in range(3):
        asyncio.run(client.post_json("p", {}))  # loops closed without aclose()

    async def count() -> int:
        client.client()
        return len(client.pool)

    assert asyncio.run(count()) == 1


async def test_injected_client_is_used_and_not_closed() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return ok()

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as injected:
        settings = HTTPSettings.from_options({"endpoint": "http://model.local"})
        client = ModelHTTPClient("test", settings, client=injected)
        await client.post_json("p", {})
        await client.aclose()
        assert not injected.is_closed
    assert len(requests) == 1 and "authorization" not in requests[0].headers


# --- circuit breaker ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("b", threshold=3, cooldown=10, clock=clock)
    for _ in range(2):
        assert breaker.before_call() is False
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(ProviderUnavailable) as info:
        breaker.before_call()
    assert info.value.kind == "circuit_open"
    clock.now += 10
    assert breaker.state == "half_open"
    assert breaker.before_call() is True  # the probe
    with pytest.raises(ProviderUnavailable, match="probe in flight"):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()  # probe failed: open again for a full cool-down
    assert breaker.state == "open"
    clock.now += 9.9
    with pytest.raises(ProviderUnavailable):
        breaker.before_call()
    clock.now += 0.1
    assert breaker.before_call() is True
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert breaker.before_call() is False


def test_breaker_cancelled_probe_is_released() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("b", threshold=1, cooldown=1, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    clock.now += 1
    probe = breaker.before_call()
    breaker.release(probe)
    assert breaker.before_call() is True


async def test_breaker_counts_availability_failures_only() -> None:
    responses = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200, content=b"not json")])
    client, _ = make_client(lambda r: next(responses), max_retries=0, breaker_threshold=3, breaker_cooldown=60)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await client.post_json("p", {})
    assert client.breaker.consecutive_failures == 2
    with pytest.raises(ProviderBadOutput):  # the server answered: not an availability failure
        await client.post_json("p", {})
    assert client.breaker.consecutive_failures == 0 and client.breaker.state == "closed"
    await client.aclose()


async def test_open_breaker_fails_fast_without_a_request() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(502)

    client, _ = make_client(handler, max_retries=0, breaker_threshold=2, breaker_cooldown=60)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await client.post_json("p", {})
    with pytest.raises(ProviderUnavailable) as info:
        await client.post_json("p", {})
    assert info.value.kind == "circuit_open" and calls == 2
    await client.aclose()


async def test_aclose_closes_the_client_of_another_live_loop() -> None:
    import threading

    client, _ = make_client(lambda r: ok())
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(client.post_json("p", {}), other).result(timeout=60)

        async def theirs() -> httpx.AsyncClient:
            return client.client()

        foreign = asyncio.run_coroutine_threadsafe(theirs(), other).result(timeout=60)
        await client.post_json("p", {})
        mine = client.client()
        await client.aclose()
        assert mine.is_closed and foreign.is_closed
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=60)
        other.close()
