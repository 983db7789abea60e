"""A transparent lexical grader: key-point coverage by content-word overlap.

It is the fallback of the semantic grader (no model needed) and the baseline it must beat.
"""

from __future__ import annotations

from ..types import KeyPointMatch
from .text import content_words, derive_key_points, sentences, stems
from .types import GradeInput, GradeOutput

VERSION = "lexical-1"
COVER_THRESHOLD = 0.5


def _coverage(point: str, answer_sentences: list[str], question_stems: set[str]) -> tuple[float, str]:
    # Words the question already contains prove nothing when the answer repeats them.
    point_stems = stems(point) - question_stems or stems(point)
    if not point_stems:
        return 0.0, ""
    best, best_span = 0.0, ""
    for span in answer_sentences:
        overlap = len(point_stems & stems(span)) / len(point_stems)
        if overlap > best:
            best, best_span = overlap, span
    return best, best_span


def grade(item: GradeInput) -> GradeOutput:
    answer = item.answer.strip()
    points = item.key_points or derive_key_points(item.reference_answer)
    answer_words = content_words(answer)
    question_stems = stems(item.question)
    if len(answer_words) < 3:
        return GradeOutput(None, True, "too_short", (), tuple(points), {"answer_words": len(answer_words)})
    novel = {w for w in stems(answer)} - question_stems
    if len(novel) < 2:
        return GradeOutput(None, True, "copies_question", (), tuple(points), {"novel_words": len(novel)})
    spans = sentences(answer)
    covered: list[KeyPointMatch] = []
    missed: list[str] = []
    total = 0.0
    for point in points:
        value, span = _coverage(point, spans, question_stems)
        total += min(1.0, value / COVER_THRESHOLD) if value else 0.0
        if value >= COVER_THRESHOLD:
            covered.append(KeyPointMatch(point=point, evidence=span, similarity=round(value, 3)))
        else:
            missed.append(point)
    coverage = total / len(points) if points else 0.0
    reference_overlap = len(stems(item.reference_answer) & novel) / max(1, len(stems(item.reference_answer)))
    if coverage == 0.0 and reference_overlap < 0.05:
        return GradeOutput(None, True, "off_topic", (), tuple(missed), {"coverage": 0.0})
    score = round(10 * (0.8 * coverage + 0.2 * min(1.0, 2 * reference_overlap)), 1)
    return GradeOutput(
        score=max(0.0, min(10.0, score)),
        insufficient_evidence=False,
        reason="",
        covered=tuple(covered),
        missed=tuple(missed),
        features={"coverage": round(coverage, 4), "reference_overlap": round(reference_overlap, 4)},
    )
