"""Question generation and answer evaluation behind pluggable providers.

This package never imports the Django project: the project hands it settings and stores what it
returns.
"""

from .base import AIProvider
from .errors import ProviderError
from .registry import FallbackProvider, ProviderRegistry
from .types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance

__all__ = [
    "AIProvider",
    "Evaluation",
    "EvaluationRequest",
    "FallbackProvider",
    "GeneratedQuestion",
    "InterviewContext",
    "Provenance",
    "ProviderError",
    "ProviderRegistry",
]
