"""What the providers that call a model over HTTP share: their OPTIONS model, the client, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from ..base import AIProvider
from ..errors import ProviderConfigError
from ..http import HTTPSettings, ModelHTTPClient
from ..types import Evaluation, EvaluationRequest

# Stand-in values of a misconfigured provider, which raises ProviderConfigError before any call.
_UNUSABLE: dict[str, Any] = {"endpoint": "http://unconfigured.invalid", "max_retries": 0}


class NetworkedOptions(HTTPSettings):
    """OPTIONS of a provider that calls a model over HTTP: the transport settings and these."""

    model_name: str = Field("", description="a string")
    model_version: str = Field("", description="a string")
    max_follow_ups: int = Field(1, ge=0, description="an integer >= 0")


class NetworkedProvider(AIProvider):
    """Base of the HTTP providers. OPTIONS: see `options_model` (`NetworkedOptions` or a subclass)."""

    options_model: type[NetworkedOptions] = NetworkedOptions

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(alias, options)
        # A misconfigured provider is still built, so that its FallbackProvider answers instead
        # (error_kind "config"); `manage.py check` reports the same problems at deploy time.
        self.config_problems = self.check_options(self.options)
        self.settings: NetworkedOptions = (
            self.options_model.model_construct(**_UNUSABLE)
            if self.config_problems
            else self.options_model.parse(self.options)
        )
        self.model_name = self.settings.model_name
        self.model_version = self.settings.model_version
        self.max_follow_ups = self.settings.max_follow_ups
        self.http = ModelHTTPClient(f"{self.name}[{alias}]", self.settings)

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
