"""Question generation and answer evaluation behind pluggable providers.

This package never imports the Django project: the project hands it settings and stores what it
returns.
"""

import os

# Before numpy loads: OpenBLAS' pool threads spin after each call, and on the grader's small
# matrices that spinning cost more CPU than the grade itself (~10 ms per answer on a second core).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
