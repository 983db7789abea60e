"""Turns a grade into words a candidate and a reviewer can act on. Pure functions."""

from __future__ import annotations

from .grading.types import GradeOutput

INSUFFICIENT_MESSAGES = {
    "empty": "No answer was given, so there is nothing to grade.",
    "too_short": "The answer is too short to show what you know; a few sentences on the main ideas would help.",
    "copies_question": "The answer repeats the question without adding an explanation.",
    "off_topic": "The answer does not address the question that was asked.",
    "garbled": "The answer could not be read as text about the question.",
}


def compose(grade: GradeOutput) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Return (feedback, strengths, improvements) that follow from the covered and missed points."""
    if grade.insufficient_evidence:
        message = INSUFFICIENT_MESSAGES.get(grade.reason, "There is not enough in the answer to grade it.")
        improvements = tuple(f"Address: {point}" for point in grade.missed[:3])
        return message, (), improvements
    strengths = tuple(f"Covered: {m.point}" for m in grade.covered)
    improvements = tuple(f"Missing: {point}" for point in grade.missed)
    total = len(grade.covered) + len(grade.missed)
    score = grade.score if grade.score is not None else 0.0
    if score >= 8:
        opening = "Strong answer."
    elif score >= 5:
        opening = "A reasonable answer with gaps."
    else:
        opening = "The answer misses most of what was expected."
    feedback = f"{opening} It covers {len(grade.covered)} of {total} key points."
    if grade.missed:
        feedback += " It would be stronger with: " + "; ".join(grade.missed[:3]) + "."
    return feedback, strengths, improvements
