"""The AI provider in a child process (interview_rt/aiproc/: parent.py and child.py):
a real child, with the embedded provider's lexical grader (no model to load)."""

from __future__ import annotations

import asyncio
import os

import pytest

from ai_service import ProviderError
from ai_service.types import EvaluationRequest, InterviewContext
from interview_rt.aiproc.parent import ProcessProvider, embedded_with_model, keyword_questions

LEXICAL = {"default": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider", "OPTIONS": {"grader": "lexical"}}}
CONTEXT = InterviewContext(
    candidate_name="Ada",
    job_title="Backend Engineer",
    interview_type="technical",
    difficulty="medium",
    question_count=3,
    skills=("python", "sql"),
    seed="s-1",
)
REQUEST = EvaluationRequest(
    question="How would you speed up a slow SQL query?",
    response="Add an index on the filtered columns and check the plan with EXPLAIN.",
    question_type="technical",
    difficulty="medium",
    reference_answer="Use EXPLAIN, add indexes on filtered and joined columns, avoid SELECT *.",
    key_points=("EXPLAIN", "indexes"),
)


async def test_grades_and_writes_questions_in_a_child_process() -> None:
    provider = ProcessProvider(LEXICAL)
    try:
        await asyncio.wait_for(provider.warm_up(), 60)
        assert provider.ready and provider.pid is not None
        assert provider.info["provider"] == "embedded"
        evaluation = await asyncio.wait_for(provider.evaluate(REQUEST), 30)
        assert evaluation.provenance.provider == "embedded"
        assert evaluation.score is None or 0 <= evaluation.score <= 10
        many = await asyncio.wait_for(provider.evaluate_many([REQUEST, REQUEST]), 30)
        assert len(many) == 2
        concurrent = await asyncio.wait_for(asyncio.gather(*(provider.evaluate(REQUEST) for _ in range(8))), 30)
        assert len(concurrent) == 8
        questions = await asyncio.wait_for(provider.generate_questions(CONTEXT), 30)
        assert len(questions) == 3 and all(q.text for q in questions)
    finally:
        await provider.aclose()
    assert provider.closed
    with pytest.raises(ProviderError):
        await provider.evaluate(REQUEST)  # closed: refuses instead of starting a new child


async def test_the_child_grades_at_a_lower_priority_than_the_server() -> None:
    provider = ProcessProvider(LEXICAL, nice=5)
    try:
        await asyncio.wait_for(provider.warm_up(), 60)
        assert provider.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, provider.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 5
    finally:
        await provider.aclose()


async def test_a_dead_child_fails_its_calls_and_the_next_call_restarts_it() -> None:
    provider = ProcessProvider(LEXICAL)
    try:
        await asyncio.wait_for(provider.warm_up(), 60)
        first = provider.pid
        assert provider._proc is not None
        provider._proc.kill()
        await asyncio.wait_for(provider._proc.wait(), 10)
        # The next call starts a new child and is answered by it.
        evaluation = await asyncio.wait_for(provider.evaluate(REQUEST), 60)
        assert evaluation.provenance.provider == "embedded"
        assert provider.pid != first
    finally:
        await provider.aclose()


async def test_questions_by_keywords_while_the_model_loads() -> None:
    config = {"default": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider", "OPTIONS": {}}}
    assert embedded_with_model(config)
    assert not embedded_with_model(LEXICAL)
    provider = ProcessProvider(config, warm_up=False)
    try:
        # Not ready (the child has not said so yet): the questions come from the keyword ranking here.
        questions = await asyncio.wait_for(provider.generate_questions(CONTEXT), 30)
        assert [q.source_id for q in questions] == [q.source_id for q in keyword_questions(CONTEXT)]
    finally:
        await provider.aclose()
