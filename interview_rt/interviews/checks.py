"""`manage.py check` reports AI provider misconfiguration before the first interview does."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from ai_service import ProviderRegistry


@register()
def ai_providers_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    problems = ProviderRegistry(settings.AI_PROVIDERS).check()
    return [Error(message, id="interviews.E001") for message in problems]
