"""Settings-driven provider registry, in the style of Django's CACHES and channels' CHANNEL_LAYERS.

    AI_PROVIDERS = {
        "default": {"BACKEND": "ai_service.providers.http_model.HTTPModelProvider",
                    "OPTIONS": {"endpoint": "...", "api_key": "..."},
                    "FALLBACK": "embedded"},
        "embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider"},
    }

The registry takes the mapping as an argument, so this package never imports the project.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import import_module
from typing import Any

from .base import AIProvider
from .errors import ProviderConfigError, ProviderError
from .types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance

logger = logging.getLogger("ai_service.registry")


def import_backend(path: str) -> type[AIProvider]:
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ProviderConfigError(f"BACKEND {path!r} is not a dotted path to a class")
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ProviderConfigError(f"BACKEND {path!r} cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, AIProvider)):
        raise ProviderConfigError(f"BACKEND {path!r} is not an AIProvider subclass")
    return cls


class QuestionSet(tuple[GeneratedQuestion, ...]):
    """The questions of one generation plus who wrote them (a tuple, so callers need not change).

    Networked providers and `FallbackProvider` return it; read it with `question_provenance()`.
    """

    provenance: Provenance

    def __new__(cls, questions: Iterable[GeneratedQuestion], provenance: Provenance) -> QuestionSet:
        self = super().__new__(cls, questions)
        self.provenance = provenance
        return self

    def __reduce__(self) -> tuple[type[QuestionSet], tuple[tuple[GeneratedQuestion, ...], Provenance]]:
        return (QuestionSet, (tuple(self), self.provenance))


def question_provenance(questions: Sequence[GeneratedQuestion]) -> Provenance | None:
    """The provenance a provider attached to a question set, or None (e.g. the embedded bank)."""
    provenance = getattr(questions, "provenance", None)
    return provenance if isinstance(provenance, Provenance) else None


class FallbackProvider(AIProvider):
    """Calls `primary`; on any failure answers from `fallback` and says so in provenance.

    This is what keeps an interview going while an external model is down. Both question
    generation (a `QuestionSet` whose provenance has `fallback_used`) and evaluations record
    `fallback_used=True`, the primary's `error_kind` and the primary provider's name.
    """

    name = "fallback"

    def __init__(self, alias: str, primary: AIProvider, fallback: AIProvider) -> None:
        super().__init__(alias, {})
        self.primary = primary
        self.fallback = fallback

    async def warm_up(self) -> None:
        await self.primary.warm_up()
        await self.fallback.warm_up()

    async def aclose(self) -> None:
        try:
            await self.primary.aclose()
        finally:
            await self.fallback.aclose()

    def _error_kind(self, action: str, exc: Exception) -> str:
        if isinstance(exc, ProviderError):
            logger.warning(
                "%s: %s by %s failed (%s: %s); using %s",
                self.alias,
                action,
                self.primary.name,
                exc.kind,
                exc,
                self.fallback.name,
            )
            return exc.kind
        # A provider bug must not end an interview: log it loudly and carry on with the fallback.
        logger.exception(
            "%s: %s by %s raised unexpectedly; using %s", self.alias, action, self.primary.name, self.fallback.name
        )
        return "internal"

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        started = time.perf_counter()
        try:
            return await self.primary.generate_questions(context)
        except Exception as exc:
            kind = self._error_kind("question generation", exc)
        questions = await self.fallback.generate_questions(context)
        base = question_provenance(questions) or Provenance(
            provider=self.fallback.name,
            model_name=str(getattr(self.fallback, "model_name", "")),
            model_version=str(getattr(self.fallback, "model_version", "")),
        )
        provenance = dataclasses.replace(
            base,
            fallback_used=True,
            error_kind=kind,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            details={**base.details, "primary_provider": self.primary.name},
        )
        return QuestionSet(questions, provenance)

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        started = time.perf_counter()
        try:
            return await self.primary.evaluate(request)
        except Exception as exc:
            kind = self._error_kind("evaluation", exc)
        result = await self.fallback.evaluate(request)
        return dataclasses.replace(
            result,
            provenance=dataclasses.replace(
                result.provenance,
                fallback_used=True,
                error_kind=kind,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                details={**result.provenance.details, "primary_provider": self.primary.name},
            ),
        )

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        """Each answer falls back on its own; the primary's concurrency limit still applies."""
        return list(await asyncio.gather(*(self.evaluate(r) for r in requests)))


class ProviderRegistry:
    """Builds each configured provider once, lazily, and hands the same instance out after."""

    def __init__(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        self.config = config
        self._providers: dict[str, AIProvider] = {}

    def check(self) -> list[str]:
        """All configuration problems, as messages; empty when the config is usable."""
        problems: list[str] = []
        if "default" not in self.config:
            problems.append("AI_PROVIDERS has no 'default' alias")
        for alias, entry in self.config.items():
            backend = entry.get("BACKEND")
            if not backend:
                problems.append(f"AI_PROVIDERS[{alias!r}] has no BACKEND")
                continue
            try:
                cls = import_backend(backend)
            except ProviderConfigError as exc:
                problems.append(f"AI_PROVIDERS[{alias!r}]: {exc}")
                continue
            problems.extend(f"AI_PROVIDERS[{alias!r}]: {msg}" for msg in cls.check_options(entry.get("OPTIONS", {})))
            fallback = entry.get("FALLBACK")
            if fallback and fallback not in self.config:
                problems.append(f"AI_PROVIDERS[{alias!r}]: FALLBACK {fallback!r} is not a configured alias")
            if fallback == alias:
                problems.append(f"AI_PROVIDERS[{alias!r}]: FALLBACK may not name itself")
        return problems

    def get(self, alias: str = "default") -> AIProvider:
        if alias not in self._providers:
            self._providers[alias] = self._build(alias)
        return self._providers[alias]

    def _build(self, alias: str) -> AIProvider:
        try:
            entry = self.config[alias]
        except KeyError:
            raise ProviderConfigError(f"no AI provider configured under alias {alias!r}") from None
        cls = import_backend(entry["BACKEND"])
        provider = cls(alias, entry.get("OPTIONS", {}))
        fallback = entry.get("FALLBACK")
        if fallback and fallback != alias:
            return FallbackProvider(alias, provider, self.get(fallback))
        return provider

    async def aclose(self) -> None:
        """Close every provider built so far (their HTTP clients and pools); call once at shutdown.

        Each provider is closed once, including those a FallbackProvider wraps; one that fails to
        close is logged and the others are still closed. The registry builds afresh afterwards.
        """
        providers, self._providers = list(self._providers.values()), {}
        closed: set[int] = set()
        while providers:
            provider = providers.pop(0)
            if id(provider) in closed:
                continue
            closed.add(id(provider))
            if isinstance(provider, FallbackProvider):
                providers += [provider.primary, provider.fallback]
                continue
            try:
                await provider.aclose()
            except Exception:
                logger.exception("%s: closing the provider failed", provider.alias)
