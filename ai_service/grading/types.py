from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..types import GradedExample, KeyPointMatch, Leniency


@dataclass(frozen=True)
class GradeInput:
    question: str
    reference_answer: str
    answer: str
    # Optional: when empty, a grader derives points from the reference answer.
    key_points: tuple[str, ...] = ()
    # Optional: other correct reference answers; the semantic grader uses the best-matching one.
    alternative_references: tuple[str, ...] = ()
    # Optional: reviewed answers of the same question and the team's leniency (grading/fewshot.py).
    examples: tuple[GradedExample, ...] = ()
    leniency: Leniency | None = None


@dataclass(frozen=True)
class GradeOutput:
    """A grade on 0..10, or `insufficient_evidence` with `score` None and a `reason` code."""

    score: float | None
    insufficient_evidence: bool
    reason: str
    covered: tuple[KeyPointMatch, ...]
    missed: tuple[str, ...]
    features: dict[str, float] = field(default_factory=dict)
    # How reviews changed the score (grading/fewshot.py): versions, the zero-shot score, the
    # examples used and their weights. Empty when no few-shot step ran.
    calibration: dict[str, object] = field(default_factory=dict)
    # The answer's sentence embedding (semantic grader only; not part of equality).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
