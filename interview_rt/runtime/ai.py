"""The project's one handle on the AI providers: a registry built from settings.AI_PROVIDERS."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from ai_service import AIProvider, ProviderRegistry


@lru_cache(maxsize=1)
def registry() -> ProviderRegistry:
    return ProviderRegistry(settings.AI_PROVIDERS)


def provider(alias: str = "default") -> AIProvider:
    return registry().get(alias)


def reset() -> None:
    """Forget built providers (tests that change AI_PROVIDERS call this)."""
    registry.cache_clear()
