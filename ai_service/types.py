"""Plain, frozen value types that cross the provider boundary.

Providers take and return only these, so the interview app can store them and a provider can be
swapped without touching the project (providers never import Django or the project).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InterviewType = Literal["technical", "behavioral", "mixed"]
Difficulty = Literal["easy", "medium", "hard"]
QuestionType = Literal["technical", "behavioral"]


@dataclass(frozen=True)
class InterviewContext:
    """What a provider knows when it writes the questions of one interview."""

    candidate_name: str
    job_title: str
    interview_type: InterviewType
    difficulty: Difficulty
    question_count: int
    job_description: str = ""
    skills: tuple[str, ...] = ()
    # Stable per-session seed so that a retried generation picks the same questions.
    seed: str = ""


@dataclass(frozen=True)
class GeneratedQuestion:
    text: str
    question_type: QuestionType
    competency: str
    difficulty: Difficulty
    reference_answer: str
    key_points: tuple[str, ...]
    # Bank id for embedded questions, else "" (a model wrote it).
    source_id: str = ""


@dataclass(frozen=True)
class EvaluationRequest:
    question: str
    response: str
    question_type: QuestionType
    difficulty: Difficulty
    reference_answer: str = ""
    key_points: tuple[str, ...] = ()
    competency: str = ""


@dataclass(frozen=True)
class KeyPointMatch:
    point: str
    # The span of the answer that covers the point ("" for a missed point).
    evidence: str = ""
    similarity: float = 0.0


@dataclass(frozen=True)
class Evaluation:
    """One graded answer. `score` is None when the grader saw insufficient evidence."""

    score: float | None
    feedback: str
    strengths: tuple[str, ...] = ()
    improvements: tuple[str, ...] = ()
    covered_key_points: tuple[KeyPointMatch, ...] = ()
    missed_key_points: tuple[str, ...] = ()
    insufficient_evidence: bool = False
    # A follow-up question the provider suggests when the answer is incomplete ("" for none).
    follow_up: str = ""
    provenance: Provenance = field(default_factory=lambda: Provenance(provider="unknown"))


@dataclass(frozen=True)
class Provenance:
    """Who produced a question set or an evaluation, so a human can audit and re-score it."""

    provider: str
    model_name: str = ""
    model_version: str = ""
    rubric_version: str = ""
    latency_ms: float = 0.0
    fallback_used: bool = False
    error_kind: str = ""
    # Grader inputs and intermediate features, for audit and re-score comparison.
    details: dict[str, object] = field(default_factory=dict)
