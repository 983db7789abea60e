"""From per-answer grades to the interview result (interview_rt/interviews/scoring.py). Pure."""

from __future__ import annotations

import pytest

from interview_rt.interviews import scoring
from interview_rt.interviews.scoring import ScoredAnswer, recommend, summarize


def a(score: float | None, competency: str = "Python") -> ScoredAnswer:
    return ScoredAnswer(competency=competency, score=score)


# --- recommend -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overall", "expected"),
    [
        (10.0, "strong_hire"),
        (8.0, "strong_hire"),
        (7.99, "hire"),
        (6.5, "hire"),
        (6.49, "maybe"),
        (5.0, "maybe"),
        (4.99, "no_hire"),
        (0.0, "no_hire"),
        (None, "insufficient_evidence"),
    ],
)
def test_recommend_thresholds(overall: float | None, expected: str) -> None:
    assert recommend(overall) == expected


def test_thresholds_are_ordered() -> None:
    assert 0 < scoring.MAYBE_AT < scoring.HIRE_AT < scoring.STRONG_HIRE_AT <= 10


# --- overall score -------------------------------------------------------------------------------


def test_overall_is_the_mean_of_graded_answers() -> None:
    result = summarize([a(6.0), a(8.0), a(7.0)])
    assert result.overall_score == 7.0
    assert result.recommendation == "hire"
    assert result.insufficient_evidence_count == 0


def test_overall_is_rounded_to_two_decimals() -> None:
    assert summarize([a(7.0), a(7.0), a(8.0)]).overall_score == 7.33


def test_insufficient_evidence_is_not_averaged_as_zero() -> None:
    result = summarize([a(8.0), a(9.0), a(None)])
    assert result.overall_score == 8.5  # not (8 + 9 + 0) / 3 = 5.67
    assert result.recommendation == "strong_hire"
    assert result.insufficient_evidence_count == 1


def test_a_real_zero_is_averaged_in() -> None:
    result = summarize([a(0.0), a(10.0)])
    assert result.overall_score == 5.0
    assert result.insufficient_evidence_count == 0


def test_exactly_half_insufficient_still_has_an_overall_score() -> None:
    result = summarize([a(7.0), a(None)])
    assert result.overall_score == 7.0
    assert result.recommendation == "hire"
    assert result.insufficient_evidence_count == 1


def test_more_than_half_insufficient_has_no_overall_and_insufficient_evidence() -> None:
    result = summarize([a(9.5), a(None), a(None)])
    assert result.overall_score is None
    assert result.recommendation == "insufficient_evidence"
    assert result.insufficient_evidence_count == 2


def test_all_insufficient() -> None:
    result = summarize([a(None), a(None)])
    assert result.overall_score is None
    assert result.recommendation == "insufficient_evidence"
    assert result.insufficient_evidence_count == 2
    assert result.competency_scores == {"Python": None}


def test_no_answers_is_insufficient_evidence() -> None:
    result = summarize([])
    assert result.overall_score is None
    assert result.recommendation == "insufficient_evidence"
    assert result.competency_scores == {}
    assert result.summary.startswith("0 of 0 answers graded")


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([8.0, 8.0], "strong_hire"),
        ([7.99, 7.99], "hire"),
        ([6.5, 6.5], "hire"),
        ([6.0, 6.98], "maybe"),  # 6.49
        ([5.0, 5.0], "maybe"),
        ([4.0, 5.98], "no_hire"),  # 4.99
        ([1.0, 2.0], "no_hire"),
    ],
)
def test_recommendation_from_scores(scores: list[float], expected: str) -> None:
    result = summarize([a(s) for s in scores])
    assert result.recommendation == recommend(result.overall_score)
    assert result.recommendation == expected


# --- competencies, strengths, weaknesses ---------------------------------------------------------


def test_competency_scores_average_per_competency() -> None:
    result = summarize([a(8.0, "Databases"), a(6.0, "Databases"), a(3.0, "APIs")])
    assert result.competency_scores == {"Databases": 7.0, "APIs": 3.0}


def test_competency_with_only_insufficient_answers_is_none_not_zero() -> None:
    result = summarize([a(8.0, "Databases"), a(None, "APIs"), a(7.0, "Databases")])
    assert result.competency_scores == {"Databases": 7.5, "APIs": None}
    assert "APIs" not in result.weaknesses and "APIs" not in result.strengths


def test_competency_ignores_insufficient_answers_in_its_mean() -> None:
    result = summarize([a(9.0, "Databases"), a(None, "Databases"), a(9.0, "APIs")])
    assert result.competency_scores["Databases"] == 9.0


def test_empty_competency_is_general() -> None:
    result = summarize([a(7.0, ""), a(5.0, "")])
    assert result.competency_scores == {"General": 6.0}


def test_competencies_keep_first_seen_order() -> None:
    result = summarize([a(5.0, "C"), a(5.0, "A"), a(5.0, "B")])
    assert list(result.competency_scores) == ["C", "A", "B"]


def test_strengths_are_competencies_at_or_above_hire_best_first_at_most_three() -> None:
    result = summarize(
        [a(6.5, "A"), a(9.0, "B"), a(8.0, "C"), a(7.0, "D"), a(6.4, "E")],
    )
    assert result.strengths == ("B", "C", "D")
    assert "E" not in result.strengths


def test_weaknesses_are_competencies_below_maybe_worst_first_at_most_three() -> None:
    result = summarize(
        [a(4.9, "A"), a(1.0, "B"), a(3.0, "C"), a(2.0, "D"), a(5.0, "E")],
    )
    assert result.weaknesses == ("B", "D", "C")
    assert "E" not in result.weaknesses


def test_middle_scores_are_neither_strength_nor_weakness() -> None:
    result = summarize([a(5.5, "A"), a(6.0, "B")])
    assert result.strengths == () and result.weaknesses == ()


# --- summary text --------------------------------------------------------------------------------


def test_summary_mentions_counts_overall_and_insufficient() -> None:
    result = summarize([a(9.0, "Databases"), a(8.0, "Databases"), a(None, "APIs")])
    assert result.summary.startswith("2 of 3 answers graded")
    assert "overall 8.5/10" in result.summary
    assert "1 with insufficient evidence" in result.summary
    assert "strongest: Databases" in result.summary
    assert result.summary.endswith(".")


def test_summary_without_overall_does_not_claim_one() -> None:
    result = summarize([a(None), a(None), a(2.0, "APIs")])
    assert "overall" not in result.summary
    assert "2 with insufficient evidence" in result.summary
    assert "weakest: APIs" in result.summary


def test_summarize_is_deterministic() -> None:
    answers = [a(7.0, "A"), a(None, "B"), a(3.0, "C")]
    assert summarize(answers) == summarize(list(answers))
