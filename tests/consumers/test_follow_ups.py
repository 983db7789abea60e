"""Follow-up questions: a provider proposes one for an incomplete answer; the interview asks it
next, at most INTERVIEW_MAX_FOLLOW_UPS per planned question, and never in feedback mode "end"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ai_service.base import AIProvider
from ai_service.providers.embedded import EmbeddedProvider
from ai_service.types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance
from interview_rt.interviews.models import AIInterviewQuestion, AIInterviewResponse, AIInterviewSession
from interview_rt.runtime import ai

from .helpers import GOOD_ANSWER, Candidate

pytestmark = pytest.mark.django_db(transaction=True)


class CuriousProvider(AIProvider):
    """Embedded questions; every evaluation proposes a follow-up (the cap is the interview's job)."""

    name = "curious"

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        return await EmbeddedProvider("embedded").generate_questions(context)

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        return Evaluation(
            score=4.0,
            feedback="Partly there.",
            missed_key_points=("the part you left out",),
            follow_up=f"Can you say more about: {request.question[:40]}?",
            provenance=Provenance(provider=self.name, model_name="curious-1"),
        )


@pytest.fixture
def curious(settings: Any) -> None:
    settings.AI_PROVIDERS = {"default": {"BACKEND": f"{__name__}.CuriousProvider"}}
    ai.reset()


async def test_follow_up_is_asked_next_once_per_question(amake_invitation: Any, curious: None) -> None:
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    snapshot = await c.connect()
    first = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]
    asked = [first]
    for n in range(4):  # 2 planned + 1 follow-up each
        await c.answer(asked[-1], f"f{n}", GOOD_ANSWER)
        feedback = await c.recv("answer.feedback")
        if n < 3:
            asked.append((await c.recv("question.asked"))["question"])
            assert feedback["follow_up_next"] is (asked[-1]["follow_up_of"] is not None)
    done = await c.recv("interview.completed")
    await c.close()

    follow_ups = [q for q in asked if q["follow_up_of"]]
    assert [q["follow_up_of"] for q in follow_ups] == [asked[0]["id"], asked[2]["id"]]
    assert [q["order"] for q in asked] == [0, 1, 2, 3]
    assert len(done["answers"]) == 4
    session = await AIInterviewSession.objects.aget(pk=snapshot["session"]["id"])
    assert session.question_count == 4 and session.status == "completed"
    follow_up = await AIInterviewQuestion.objects.aget(pk=follow_ups[0]["id"])
    assert follow_up.key_points == ["the part you left out"]  # it probes what was missed


async def test_no_follow_ups_when_disabled(amake_invitation: Any, curious: None, settings: Any) -> None:
    settings.INTERVIEW_MAX_FOLLOW_UPS = 0
    _, token = await amake_invitation(question_count=1)
    c = Candidate(token)
    snapshot = await c.connect()
    question = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]
    await c.answer(question, "only", GOOD_ANSWER)
    assert (await c.recv("answer.feedback"))["follow_up_next"] is False
    await c.recv("interview.completed")
    await c.close()
    assert await AIInterviewResponse.objects.acount() == 1


async def test_no_follow_ups_in_feedback_mode_end(amake_invitation: Any, curious: None) -> None:
    _, token = await amake_invitation(question_count=2, feedback_mode="end")
    c = Candidate(token)
    snapshot = await c.connect()
    question = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]
    await c.answer(question, "e1", GOOD_ANSWER)
    second = (await c.recv("question.asked"))["question"]
    assert second["follow_up_of"] is None
    await c.answer(second, "e2", GOOD_ANSWER)
    done = await c.recv("interview.completed")
    assert len(done["answers"]) == 2
    await c.close()
