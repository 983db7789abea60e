"""From per-answer evaluations to the interview result. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

# Overall score thresholds (0-10) for the recommendation; documented in docs/scoring.md.
STRONG_HIRE_AT = 8.0
HIRE_AT = 6.5
MAYBE_AT = 5.0


@dataclass(frozen=True)
class ScoredAnswer:
    competency: str
    score: float | None  # None: insufficient evidence
    strengths: tuple[str, ...] = ()
    improvements: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultSummary:
    overall_score: float | None
    competency_scores: dict[str, float | None]
    recommendation: str
    summary: str
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    insufficient_evidence_count: int


def recommend(overall: float | None) -> str:
    if overall is None:
        return "insufficient_evidence"
    if overall >= STRONG_HIRE_AT:
        return "strong_hire"
    if overall >= HIRE_AT:
        return "hire"
    if overall >= MAYBE_AT:
        return "maybe"
    return "no_hire"


def summarize(answers: Sequence[ScoredAnswer]) -> ResultSummary:
    """Average only graded answers: insufficient evidence is reported, not averaged in as zero.

    If more than half the answers lack evidence there is no overall score at all.
    """
    graded = [a.score for a in answers if a.score is not None]
    insufficient = len(answers) - len(graded)
    overall = round(sum(graded) / len(graded), 2) if graded and insufficient * 2 <= len(answers) else None
    by_competency: dict[str, list[float]] = defaultdict(list)
    seen: dict[str, None] = {}
    for a in answers:
        seen.setdefault(a.competency or "General", None)
        if a.score is not None:
            by_competency[a.competency or "General"].append(a.score)
    competency_scores: dict[str, float | None] = {
        c: (round(sum(by_competency[c]) / len(by_competency[c]), 2) if by_competency[c] else None) for c in seen
    }
    ranked = sorted(((s, c) for c, s in competency_scores.items() if s is not None), reverse=True)
    strengths = tuple(c for s, c in ranked if s >= HIRE_AT)[:3]
    weaknesses = tuple(c for s, c in reversed(ranked) if s < MAYBE_AT)[:3]
    recommendation = recommend(overall)
    parts = [f"{len(graded)} of {len(answers)} answers graded"]
    if overall is not None:
        parts.append(f"overall {overall:.1f}/10")
    if insufficient:
        parts.append(f"{insufficient} with insufficient evidence")
    if strengths:
        parts.append("strongest: " + ", ".join(strengths))
    if weaknesses:
        parts.append("weakest: " + ", ".join(weaknesses))
    return ResultSummary(
        overall_score=overall,
        competency_scores=competency_scores,
        recommendation=recommendation,
        summary="; ".join(parts) + ".",
        strengths=strengths,
        weaknesses=weaknesses,
        insufficient_evidence_count=insufficient,
    )
