"""Plain, frozen value types that cross the provider boundary.

Providers take and return only these, so the interview app can store them and a provider can be
swapped without touching the project (providers never import Django or the project).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
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
class GradedExample:
    """A reviewed answer to the same question: what a reviewer scored it, used as a graded example.

    `score` is the reviewer's score on 0..10. `id` identifies the review (e.g. its database id) in
    provenance; when empty, a hash of the answer and score is used instead.
    """

    answer: str
    score: float
    note: str = ""
    id: str = ""

    @property
    def key(self) -> str:
        """`id`, or a short content hash of (answer, score) when there is none."""
        if self.id:
            return self.id
        digest = hashlib.sha256(f"{self.answer}\x00{float(self.score):.4g}".encode()).hexdigest()
        return "sha256:" + digest[:16]


LENIENCY_PREFIX = "len-"


@dataclass(frozen=True)
class Leniency:
    """A team's leniency: a monotone map from a grader's 0..10 score to the team's 0..10 score.

    Piecewise linear through `knots` ((grader score, team score), both non-decreasing, spanning
    0..10). Fitted on reviewed answers by `ai_service.grading.leniency.fit_leniency` for one grader
    (`grader_version`); `version` is a content hash of the map, so two fits that map every score
    alike share a version. Pure Python: apply it anywhere, serialise it with `to_json`.
    """

    knots: tuple[tuple[float, float], ...]
    grader_version: str
    version: str = ""
    pairs: int = 0

    def __post_init__(self) -> None:
        if len(self.knots) < 2:
            raise ValueError("a leniency map needs at least two knots")
        # Floats, so the content version is the same after a JSON round trip (0 and 0.0 hash apart).
        object.__setattr__(self, "knots", tuple((float(x), float(y)) for x, y in self.knots))
        xs = [x for x, _y in self.knots]
        ys = [y for _x, y in self.knots]
        if any(not (math.isfinite(v) and 0.0 <= v <= 10.0) for v in xs + ys):
            raise ValueError("leniency knots must lie in 0..10")
        if any(b <= a for a, b in pairwise(xs)) or any(b < a for a, b in pairwise(ys)):
            raise ValueError("leniency knots must be increasing in x and non-decreasing in y")
        if not self.version:
            object.__setattr__(self, "version", self.content_version())

    def content_version(self) -> str:
        canonical = json.dumps(
            {"grader": self.grader_version, "knots": [[round(x, 4), round(y, 4)] for x, y in self.knots]},
            separators=(",", ":"),
            sort_keys=True,
        )
        return LENIENCY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def apply(self, score: float) -> float:
        """The team's score for a grader score (clamped to 0..10 first)."""
        x = min(10.0, max(0.0, float(score)))
        xs = [k[0] for k in self.knots]
        if x <= xs[0]:
            return self.knots[0][1]
        if x >= xs[-1]:
            return self.knots[-1][1]
        i = bisect.bisect_right(xs, x)
        (x0, y0), (x1, y1) = self.knots[i - 1], self.knots[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "grader_version": self.grader_version,
            "pairs": self.pairs,
            "knots": [[x, y] for x, y in self.knots],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Leniency:
        """Inverse of `to_json`; raises ValueError when the data is malformed or the version does not match."""
        raw = data.get("knots")
        if not isinstance(raw, list):
            raise ValueError("leniency JSON lacks a knots list")
        try:
            knots = tuple((float(x), float(y)) for x, y in raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed leniency knots: {exc}") from exc
        pairs = data.get("pairs", 0)
        leniency = cls(knots=knots, grader_version=str(data.get("grader_version", "")), pairs=int(pairs))  # type: ignore[call-overload]
        stated = data.get("version")
        if stated and stated != leniency.version:
            raise ValueError(f"leniency version {stated} does not match its knots ({leniency.version})")
        return leniency


@dataclass(frozen=True)
class EvaluationRequest:
    question: str
    response: str
    question_type: QuestionType
    difficulty: Difficulty
    reference_answer: str = ""
    key_points: tuple[str, ...] = ()
    competency: str = ""
    # Reviewed answers of the same question (few-shot examples of the team's standard).
    graded_examples: tuple[GradedExample, ...] = ()
    # The team's leniency learned across questions; a provider applies it only to the grader it
    # was fitted for (Leniency.grader_version).
    leniency: Leniency | None = None


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
