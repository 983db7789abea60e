"""The provider interface. A provider writes questions and grades answers; nothing else."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from .options import ProviderOptions
from .types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext


class AIProvider(abc.ABC):
    """Base class of every provider.

    `alias` is the settings key it was built from; `options` its OPTIONS mapping. Subclasses
    raise `ProviderError` (or a subclass) for every failure and never return partial output.
    """

    name = "base"
    # The declared OPTIONS of this provider; `check_options` and the constructor validate with it.
    options_model: type[ProviderOptions] = ProviderOptions

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        self.alias = alias
        self.options: Mapping[str, Any] = dict(options or {})

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Return human-readable configuration problems (empty when fine); used by `manage.py check`."""
        return cls.options_model.problems(options)

    async def warm_up(self) -> None:
        """Load models or open connections before the first interview (optional)."""

    async def aclose(self) -> None:
        """Release clients and pools (optional)."""

    @abc.abstractmethod
    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        """Return exactly `context.question_count` questions, in order."""

    @abc.abstractmethod
    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        """Grade one answer; the returned score is within 0..10 or None (insufficient evidence)."""

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        """Grade several answers; providers that can batch override this."""
        return [await self.evaluate(r) for r in requests]
