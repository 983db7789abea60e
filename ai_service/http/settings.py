"""The transport options of a networked provider (the part of its OPTIONS the HTTP layer reads),
validated by a pydantic model: endpoint, key, timeouts, retries, concurrency, breaker, limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import Field, field_validator

from ..options import ProviderOptions, option_error
from .redaction import redact_url

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
    """Transport options of a networked provider (the part of its OPTIONS this package reads)."""

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
