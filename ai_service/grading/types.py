from __future__ import annotations

from dataclasses import dataclass, field

from ..types import KeyPointMatch


@dataclass(frozen=True)
class GradeInput:
    question: str
    reference_answer: str
    answer: str
    # Optional: when empty, a grader derives points from the reference answer.
    key_points: tuple[str, ...] = ()
    # Optional: other correct reference answers; the semantic grader uses the best-matching one.
    alternative_references: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradeOutput:
    """A grade on 0..10, or `insufficient_evidence` with `score` None and a `reason` code."""

    score: float | None
    insufficient_evidence: bool
    reason: str
    covered: tuple[KeyPointMatch, ...]
    missed: tuple[str, ...]
    features: dict[str, float] = field(default_factory=dict)
