"""EmbeddedProvider with the semantic grader: batching, fallback, provenance and question selection."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import pytest

from ai_service.bank import BankQuestion, load_bank
from ai_service.grading import lexical, semantic
from ai_service.grading.types import GradeInput, GradeOutput
from ai_service.providers import embedded
from ai_service.providers.embedded import EmbeddedProvider, bank_vectors, select_questions
from ai_service.types import EvaluationRequest, InterviewContext

QUESTION = "Why would you put a cache in front of a database, and what problem does it bring?"
REFERENCE = (
    "A cache keeps frequently read data in memory so repeated reads are served quickly and the database gets "
    "less load. The main problem is invalidation: cached data can become stale when the underlying rows change."
)
POINTS = ("repeated reads are served from memory", "less load on the database", "cached data can become stale")


def request(answer: str) -> EvaluationRequest:
    return EvaluationRequest(
        question=QUESTION,
        response=answer,
        question_type="technical",
        difficulty="medium",
        reference_answer=REFERENCE,
        key_points=POINTS,
    )


GOOD = (
    "Repeated reads come straight from memory, so they are fast and the database sees far less load. "
    "The price is staleness: after a row changes the cached copy can be out of date."
)


def context(title: str, skills: tuple[str, ...], description: str = "", count: int = 6) -> InterviewContext:
    return InterviewContext(
        candidate_name="Grace Hopper",
        job_title=title,
        interview_type="technical",
        difficulty="medium",
        question_count=count,
        job_description=description,
        skills=skills,
        seed="selection-test",
    )


@pytest.fixture(scope="module", autouse=True)
def model() -> None:
    semantic.warm_up()


async def test_evaluate_uses_the_semantic_grader() -> None:
    provider = EmbeddedProvider("embedded")
    await provider.warm_up()
    assert provider.grader_version == semantic.VERSION
    result = await provider.evaluate(request(GOOD))
    assert result.score is not None and 0 <= result.score <= 10
    assert not result.insufficient_evidence
    assert result.provenance.model_version == semantic.VERSION
    assert not result.provenance.fallback_used
    features = result.provenance.details["features"]
    assert isinstance(features, dict) and "probability" in features
    assert result.covered_key_points
    for match in result.covered_key_points:
        assert match.evidence in GOOD
    assert result.feedback


async def test_insufficient_answer_through_the_provider() -> None:
    result = await EmbeddedProvider("embedded").evaluate(request("   "))
    assert result.score is None and result.insufficient_evidence
    assert result.provenance.details["reason"] == "empty"
    assert set(result.missed_key_points) == set(POINTS)


async def test_concurrent_evaluations_share_a_model_batch() -> None:
    provider = EmbeddedProvider("embedded", {"batch_delay_ms": 20})
    answers = [GOOD, "It makes reads faster.", "Caches store data in memory so reads are quicker.", "no idea"]
    results = await asyncio.gather(*(provider.evaluate(request(a)) for a in answers))
    assert [r.insufficient_evidence for r in results] == [False, False, False, True]
    assert max(provider._batcher.batch_sizes) > 1
    # Each caller got the grade of its own answer.
    direct = semantic.grade_many([GradeInput(QUESTION, REFERENCE, a, POINTS) for a in answers])
    for r, d in zip(results, direct, strict=True):
        assert (r.score is None) == (d.score is None)
        if d.score is not None and r.score is not None:
            assert r.score == pytest.approx(d.score, abs=0.2)


async def test_evaluate_many_keeps_order() -> None:
    provider = EmbeddedProvider("embedded")
    answers = [GOOD, "", "It makes reads faster."]
    results = await provider.evaluate_many([request(a) for a in answers])
    assert [r.insufficient_evidence for r in results] == [False, True, False]


async def test_falls_back_to_the_lexical_grader(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(items: Sequence[GradeInput], profile: str | None = None) -> list[GradeOutput]:
        raise RuntimeError("model crashed")

    monkeypatch.setattr(semantic, "grade_many", broken)
    result = await EmbeddedProvider("embedded").evaluate(request(GOOD))
    assert result.score is not None
    assert result.provenance.fallback_used
    assert result.provenance.model_version == lexical.VERSION


async def test_lexical_when_the_model_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> None:
        raise RuntimeError("no model here")

    monkeypatch.setattr(semantic, "warm_up", unavailable)
    provider = EmbeddedProvider("embedded")
    await provider.warm_up()
    assert provider.grader_version == lexical.VERSION
    result = await provider.evaluate(request(GOOD))
    assert result.score is not None
    assert result.provenance.model_version == lexical.VERSION


async def test_lexical_grader_option() -> None:
    provider = EmbeddedProvider("embedded", {"grader": "lexical"})
    assert provider.grader_version == lexical.VERSION
    result = await provider.evaluate(request(GOOD))
    assert result.provenance.model_version == lexical.VERSION


def areas(picked: Sequence[BankQuestion]) -> Counter[str]:
    return Counter(q.area for q in picked)


def test_data_engineer_gets_mostly_data_questions() -> None:
    picked = select_questions(context("Data Engineer", ("spark", "airflow", "sql")), load_bank())
    count = areas(picked)
    assert count["data"] > len(picked) / 2, count


def test_frontend_engineer_gets_mostly_frontend_questions() -> None:
    job = context("Frontend Engineer", ("react", "typescript", "css"), "Build accessible web interfaces.")
    picked = select_questions(job, load_bank())
    count = areas(picked)
    assert count["frontend"] > len(picked) / 2, count


def test_embeddings_rank_by_meaning() -> None:
    # No skill here is a bank tag; the job is about operating production systems.
    job = context("Site reliability", ("on-call", "incident postmortems", "uptime"), "Keep production healthy.")
    with_model = areas(select_questions(job, load_bank()))
    assert with_model["devops"] >= 3, with_model


def test_selection_keeps_difficulty_type_and_variety() -> None:
    job = InterviewContext(
        candidate_name="Grace Hopper",
        job_title="Data Engineer",
        interview_type="mixed",
        difficulty="hard",
        question_count=6,
        skills=("spark", "airflow", "sql"),
        seed="mix",
    )
    picked = select_questions(job, load_bank())
    assert len({q.id for q in picked}) == 6
    assert sum(q.type == "behavioral" for q in picked) == 2
    technical = [q for q in picked if q.type == "technical"]
    assert len({q.competency for q in technical}) >= 3
    assert sum(q.difficulty == "hard" for q in picked) >= 4


def test_bank_embeddings_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    bank = load_bank()
    bank_vectors(bank)  # cached from here on

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bank was encoded again")

    monkeypatch.setattr(embedded.encoder.load_encoder(), "encode", no_encoding)
    assert select_questions(context("Data Engineer", ("spark", "airflow", "sql")), bank)


async def test_generate_questions_fit_the_job() -> None:
    questions = await EmbeddedProvider("embedded").generate_questions(
        context("Frontend Engineer", ("react", "typescript", "css"), count=4)
    )
    assert len(questions) == 4
    assert all(q.source_id for q in questions)
    assert sum(q.source_id.startswith("frontend") for q in questions) >= 3
