"""Few-shot grading with reviewed answers of the same question: direction, weight, provenance, provider."""

from __future__ import annotations

import numpy as np
import pytest

from ai_service.grading import fewshot, leniency, semantic
from ai_service.grading.types import GradeInput
from ai_service.providers.embedded import EmbeddedProvider
from ai_service.types import EvaluationRequest, GradedExample

QUESTION = "Why would you put a cache in front of a database, and what problem does it bring?"
REFERENCE = (
    "A cache keeps frequently read data in memory so repeated reads are served quickly and the database gets "
    "less load. The main problem is invalidation: cached data can become stale when the underlying rows change."
)
ANSWER = "Caching keeps hot data in memory, which makes reads quicker; the downside is that entries can go stale."
# Paraphrases of ANSWER (near in meaning) and an answer about something else (far).
NEAR = (
    "A cache keeps hot data in memory so reads are faster; the downside is stale entries.",
    "Hot rows sit in memory, so reading them is quick, but the cached copies can become out of date.",
    "Keeping popular data in memory speeds reads up; the catch is that cache entries may go stale.",
)
FAR = "You should add an index on the filtered columns of the table so that the queries run faster."
PARAMS = fewshot.FewShotParams(sharpness=5.0, prior=0.5, max_examples=10, leniency_prior_pairs=20.0)


@pytest.fixture(scope="module", autouse=True)
def model() -> None:
    semantic.warm_up()


def grade(*examples: GradedExample, answer: str = ANSWER, **kwargs: object) -> tuple[float, dict[str, object]]:
    out = fewshot.grade_many([GradeInput(QUESTION, REFERENCE, answer, examples=examples, **kwargs)])[0]  # type: ignore[arg-type]
    assert out.score is not None
    return out.score, out.calibration


def test_without_examples_the_zero_shot_grade_is_kept() -> None:
    direct = semantic.grade(GradeInput(QUESTION, REFERENCE, ANSWER))
    score, info = grade()
    assert score == direct.score
    assert info["examples_used"] == 0 and info["examples_version"] == "" and info["leniency_version"] == ""
    assert info["zero_shot_score"] == pytest.approx(10 * direct.features["probability"], abs=0.01)


def test_a_similar_answer_scored_high_pulls_up_and_scored_low_pulls_down() -> None:
    zero, _ = grade()
    high, _ = grade(GradedExample(NEAR[0], 10.0, id="r1"))
    low, _ = grade(GradedExample(NEAR[0], 0.0, id="r1"))
    # A near paraphrase moves the score at least a third of the way to its reviewer's score (the
    # zero-shot score of this good answer sits near the top, so "up" has little room).
    assert low <= zero - zero / 3
    assert high >= zero + (10.0 - zero) / 3 and high > zero


def test_more_examples_weigh_more() -> None:
    zero, _ = grade()
    one, info_one = grade(GradedExample(NEAR[0], 10.0))
    three, info_three = grade(*(GradedExample(text, 10.0) for text in NEAR))
    assert zero < one < three
    assert float(info_three["zero_shot_weight"]) < float(info_one["zero_shot_weight"])  # type: ignore[arg-type]


def test_closer_examples_weigh_more() -> None:
    zero, _ = grade()
    near, _ = grade(GradedExample(NEAR[0], 10.0))
    far, _ = grade(GradedExample(FAR, 10.0))
    assert near - zero > far - zero >= 0
    _score, info = grade(GradedExample(NEAR[0], 10.0, id="near"), GradedExample(FAR, 0.0, id="far"))
    weights = {e["id"]: e["weight"] for e in info["examples"]}  # type: ignore[attr-defined]
    assert weights["near"] > 3 * weights["far"]


def test_provenance_names_the_examples_and_versions() -> None:
    examples = (GradedExample(NEAR[0], 9.0, id="review-7", note="clear"), GradedExample(NEAR[1], 8.0))
    _score, info = grade(*examples)
    assert info["version"] == fewshot.load_params().version
    assert info["examples_given"] == 2 and info["examples_used"] == 2
    assert str(info["examples_version"]).startswith("ex-")
    used = info["examples"]
    assert isinstance(used, list)
    ids = {e["id"] for e in used}
    assert ids == {"review-7", examples[1].key} and examples[1].key.startswith("sha256:")
    for entry in used:
        assert 0 < entry["weight"] < 1 and -1 <= entry["similarity"] <= 1
    assert sum(e["weight"] for e in used) + float(info["zero_shot_weight"]) == pytest.approx(1.0, abs=1e-3)  # type: ignore[arg-type]
    # The version follows the set of examples and their scores, not their order or notes.
    same = (GradedExample(NEAR[1], 8.0), GradedExample(NEAR[0], 9.0, id="review-7", note="other note"))
    assert grade(*same)[1]["examples_version"] == info["examples_version"]
    assert (
        grade(GradedExample(NEAR[0], 2.0, id="review-7"), examples[1])[1]["examples_version"]
        != (info["examples_version"])
    )


def test_insufficient_answers_stay_insufficient_and_empty_examples_do_not_vote() -> None:
    out = fewshot.grade_many([GradeInput(QUESTION, REFERENCE, "  ", examples=(GradedExample(NEAR[0], 10.0),))])[0]
    assert out.score is None and out.insufficient_evidence
    assert out.calibration["examples_used"] == 0
    zero, _ = grade()
    score, info = grade(GradedExample("idk", 10.0), GradedExample("", 0.0))
    assert score == zero
    assert info["examples_used"] == 0 and info["examples_without_evidence"] == 2


def test_leniency_applies_before_the_examples() -> None:
    team = leniency.fit_leniency([(z, min(10.0, z + 3)) for z in np.linspace(0, 10, 200)], prior_pairs=0)
    zero, _ = grade()
    lenient, info = grade(leniency=team)
    assert lenient > zero + 1.5
    assert info["leniency_version"] == team.version
    other = leniency.fit_leniency([(z, min(10.0, z + 3)) for z in np.linspace(0, 10, 200)], grader_version="gpt-x")
    skipped, info = grade(leniency=other)
    assert skipped == zero and info["leniency_version"] == "" and "leniency_skipped" in info


# ---------------------------------------------------------------- combine(): the arithmetic


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_combine_without_examples_returns_the_base() -> None:
    scores, shares, sims = fewshot.combine(
        np.array([3.0, 7.0]), np.eye(2), np.zeros(0), np.zeros(0), np.zeros((0, 2)), PARAMS
    )
    assert scores.tolist() == [3.0, 7.0] and shares.shape == (2, 0) and sims.shape == (2, 0)


def test_combine_for_an_identical_example_is_a_weighted_mean() -> None:
    vec = unit(1, 0, 0)
    scores, shares, _ = fewshot.combine(
        np.array([4.0]), vec[None], np.array([10.0]), np.array([4.0]), vec[None], PARAMS
    )
    assert scores[0] == pytest.approx((0.5 * 4.0 + 1.0 * 10.0) / 1.5)
    assert shares[0, 0] == pytest.approx(1 / 1.5)


def test_combine_is_monotone_in_the_reviewer_score_and_similarity() -> None:
    answer = unit(1, 0, 0)
    results = []
    for score in (0.0, 2.5, 5.0, 7.5, 10.0):
        s, _, _ = fewshot.combine(
            np.array([5.0]), answer[None], np.array([score]), np.array([5.0]), answer[None], PARAMS
        )
        results.append(float(s[0]))
    assert results == sorted(results) and results[0] < 5.0 < results[-1]
    pulls = []
    for angle in (0.0, 0.3, 0.8, 1.5):
        example = unit(np.cos(angle), np.sin(angle), 0)
        s, _, _ = fewshot.combine(
            np.array([5.0]), answer[None], np.array([10.0]), np.array([5.0]), example[None], PARAMS
        )
        pulls.append(float(s[0]) - 5.0)
    assert pulls == sorted(pulls, reverse=True) and pulls[-1] > 0


def test_combine_only_lets_the_closest_examples_vote() -> None:
    params = fewshot.FewShotParams(sharpness=5.0, prior=0.5, max_examples=2)
    answer = unit(1, 0, 0)
    examples = np.stack([unit(1, 0.1, 0), unit(1, 0.2, 0), unit(0, 1, 0), unit(0, 0, 1)])
    _scores, shares, _ = fewshot.combine(
        np.array([5.0]), answer[None], np.array([8.0, 8.0, 0.0, 0.0]), np.full(4, 5.0), examples, params
    )
    assert (shares[0, :2] > 0).all() and (shares[0, 2:] == 0).all()


def test_params_version_and_json() -> None:
    params = fewshot.load_params()
    assert params.version.startswith(fewshot.METHOD + "+")
    back = fewshot.FewShotParams.from_json(params.to_json())
    assert back.version == params.version
    assert fewshot.FewShotParams(sharpness=3.0).version != fewshot.FewShotParams(sharpness=4.0).version


# ---------------------------------------------------------------- through the embedded provider


def request(answer: str, *examples: GradedExample, **kwargs: object) -> EvaluationRequest:
    return EvaluationRequest(
        question=QUESTION,
        response=answer,
        question_type="technical",
        difficulty="medium",
        reference_answer=REFERENCE,
        graded_examples=examples,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_the_provider_grades_with_the_examples_and_records_them() -> None:
    provider = EmbeddedProvider("embedded")
    plain = await provider.evaluate(request(ANSWER))
    high = await provider.evaluate(request(ANSWER, *(GradedExample(t, 10.0, id=f"r{i}") for i, t in enumerate(NEAR))))
    low = await provider.evaluate(request(ANSWER, *(GradedExample(t, 1.0, id=f"r{i}") for i, t in enumerate(NEAR))))
    assert plain.score is not None and high.score is not None and low.score is not None
    assert low.score < plain.score < high.score
    info = high.provenance.details["calibration"]
    assert isinstance(info, dict)
    assert info["examples_used"] == 3 and {e["id"] for e in info["examples"]} == {"r0", "r1", "r2"}
    assert info["zero_shot_score"] == plain.provenance.details["calibration"]["zero_shot_score"]  # type: ignore[index]


async def test_the_provider_applies_the_leniency() -> None:
    team = leniency.fit_leniency([(z, max(0.0, z - 3)) for z in np.linspace(0, 10, 100)], prior_pairs=0)
    provider = EmbeddedProvider("embedded")
    plain = await provider.evaluate(request(ANSWER))
    strict = await provider.evaluate(request(ANSWER, leniency=team))
    assert plain.score is not None and strict.score is not None and strict.score < plain.score - 1
    assert strict.provenance.details["calibration"]["leniency_version"] == team.version  # type: ignore[index]
