"""What the providers that call a model over HTTP share: option checks, the client, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ..base import AIProvider
from ..errors import ProviderConfigError
from ..http import UNUSABLE_SETTINGS, HTTPSettings, ModelHTTPClient, check_http_options, transport_from_options
from ..types import Evaluation, EvaluationRequest


def check_follow_up_option(options: Mapping[str, Any]) -> list[str]:
    value = options.get("max_follow_ups")
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return [f"OPTIONS['max_follow_ups'] must be an integer >= 0, not {value!r}"]
    return []


class NetworkedProvider(AIProvider):
    """Base of the HTTP providers. OPTIONS: the transport options of `HTTPSettings`, `model_name`,
    `model_version`, `max_follow_ups` (0 disables follow-ups), and `transport`/`client` for tests."""

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(alias, options)
        # A misconfigured provider is still built, so that its FallbackProvider answers instead
        # (error_kind "config"); `manage.py check` reports the same problems at deploy time.
        self.config_problems = self.check_options(self.options)
        self.settings = HTTPSettings.from_options(self.options) if not self.config_problems else UNUSABLE_SETTINGS
        self.model_name = str(self.options.get("model_name") or "")
        self.model_version = str(self.options.get("model_version") or "")
        self.max_follow_ups = int(self.options.get("max_follow_ups", 1))
        self.http = ModelHTTPClient(f"{self.name}[{alias}]", self.settings, **transport_from_options(self.options))

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return check_http_options(options) + check_follow_up_option(options)

    @property
    def follow_ups_enabled(self) -> bool:
        return self.max_follow_ups > 0

    def _check_usable(self) -> None:
        if self.config_problems:
            raise ProviderConfigError(f"{self.name}[{self.alias}] is misconfigured: " + "; ".join(self.config_problems))

    async def warm_up(self) -> None:
        self.http.client()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        """Concurrently, within the `max_concurrency` limit."""
        return list(await asyncio.gather(*(self.evaluate(r) for r in requests)))
