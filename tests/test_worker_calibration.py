"""The worker hands the team's calibration to the provider in its one form (ai_service's
Leniency), and an answer the provider did not calibrate is calibrated by the store, the same way."""

from __future__ import annotations

from typing import Any

import pytest

from ai_service.types import Evaluation, EvaluationRequest, Leniency, Provenance
from interview_rt.interviews.models import AIInterviewResponse
from interview_rt.interviews.worker import AIWorker
from interview_rt.review import analytics
from interview_rt.review.models import Calibration
from interview_rt.runtime import runtime

from .test_worker_resilience import pending_answer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]


async def test_a_project_fit_reaches_the_provider_as_a_leniency_and_the_store_applies_it(
    amake_invitation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await pending_answer(amake_invitation)
    # Reviewers two points kinder, on part of the scale: the project's own fit, for any grader.
    mapping = analytics.isotonic_fit([2, 4, 6], [4, 6, 8])
    await Calibration.objects.acreate(version=1, mapping=mapping, fit_name="isotonic", pair_count=3, active=True)
    seen: list[EvaluationRequest] = []

    async def evaluate(request: EvaluationRequest) -> Evaluation:
        # A provider that applies no leniency (as the HTTP model providers), grading a 5.
        seen.append(request)
        return Evaluation(score=5.0, feedback="ok", provenance=Provenance(provider="recording"))

    monkeypatch.setattr(runtime.provider(), "evaluate", evaluate)
    await AIWorker(runtime).evaluate(str(response.pk))

    assert [r.leniency for r in seen] == [Leniency.from_json(mapping)]
    graded = await AIInterviewResponse.objects.aget(pk=response.pk)
    # The provider did not apply it, so the store did: 5 -> 7, as reviewers score.
    assert (graded.raw_score, graded.score, graded.calibration_version) == (5.0, 7.0, 1)
    assert graded.evaluation_details["calibrated_by"] == "project"
