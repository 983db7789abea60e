"""Shared HTTP plumbing of the networked providers (the model API and OpenAI-compatible servers).

One `ModelHTTPClient` per provider instance gives that provider:

* one `httpx.AsyncClient` per event loop, created lazily on first use and closed by `aclose()`
  (Django's `async_to_sync` may run a provider in several loops of one process, and an httpx
  client must not cross loops): pool.py;
* explicit connect/read/write/pool timeouts, and an optional deadline for the whole call;
* retries (tenacity) on 429, 5xx, timeouts and connection errors, waiting the server's
  `Retry-After` (delta-seconds or HTTP date, capped at `retry_after_max`) when it sends one, else
  exponential backoff with full jitter: retry.py;
* a concurrency limit (an `asyncio.Semaphore` per loop): pool.py;
* a circuit breaker: after `breaker_threshold` consecutive failed calls it opens and calls fail
  fast with `ProviderUnavailable(kind="circuit_open")`; after `breaker_cooldown` seconds one
  probe call is let through (half-open) and its outcome closes or re-opens the circuit:
  breaker.py.

The call itself and its errors are in client.py, the options (`HTTPSettings`, a pydantic model)
in settings.py. The API key is sent only in the `Authorization` header and is redacted from every
log line and exception message produced here (redaction.py). No Django import: options arrive as a
plain mapping.

This module only re-exports what the providers and the tests use.
"""

from .breaker import CircuitBreaker
from .client import HTTPResult, ModelHTTPClient, RequestRejected
from .redaction import redact, redact_url
from .retry import RetryableFailure, parse_retry_after, retry_wait
from .settings import HTTPSettings, check_http_options

__all__ = [
    "CircuitBreaker",
    "HTTPResult",
    "HTTPSettings",
    "ModelHTTPClient",
    "RequestRejected",
    "RetryableFailure",
    "check_http_options",
    "parse_retry_after",
    "redact",
    "redact_url",
    "retry_wait",
]
