"""What each staff REST endpoint answers is exactly the body its OpenAPI response declares
(interview_rt/interviews/api/bodies.py, schemas.ActionOut): no undeclared key, none missing, each
of the declared type. The OpenAPI document is generated from the same models, so it cannot say
otherwise than the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from pydantic import BaseModel

from interview_rt.interviews import schemas
from interview_rt.interviews.api import bodies

from .trust_helpers import answers_of, interview, staff_client

pytestmark = pytest.mark.django_db


def body_of(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def post(client: Client, url: str, body: Any, status: int) -> Any:
    return body_of(client.post(url, data=json.dumps(body), content_type="application/json"), status)


def check(model: type[BaseModel], body: Any) -> None:
    """`body` is what `model` declares (pydantic raises on an extra, missing or mistyped key)."""
    model.model_validate(body)


@pytest.fixture
def graded() -> tuple[Client, Any]:
    """Two completed interviews with reviews of each answer, so every section has numbers."""
    client, _ = staff_client("lead")
    first = interview([7.0, 4.0], job_title="Backend Engineer", email="a@example.com")
    interview([8.0, 5.0], job_title="Backend Engineer", email="b@example.com")
    return client, first


def test_review_bodies_are_as_declared(graded: tuple[Client, Any]) -> None:
    client, session = graded
    answer = answers_of(session)[0]
    url = f"/api/ai-interview/answers/{answer.pk}/review/"
    check(bodies.AnswerReviewStateOut, post(client, url, {"score": 6.0, "note": "fair"}, 201))
    state = body_of(client.get(url), 200)
    check(bodies.AnswerReviewStateOut, state)
    assert state["review"]["score"] == 6.0 and len(state["reviews"]) == 1
    examples = body_of(client.get(f"/api/ai-interview/questions/{answer.question_id}/graded-examples/"), 200)
    check(bodies.GradedExampleList, examples)
    assert [e["score"] for e in examples] == [6.0]


def test_calibration_bodies_are_as_declared(graded: tuple[Client, Any], settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 2
    client, session = graded
    for answer, score in zip(answers_of(session), (8.0, 5.0), strict=True):
        post(client, f"/api/ai-interview/answers/{answer.pk}/review/", {"score": score}, 201)
    changed = post(client, "/api/ai-interview/calibrations/", {"activate": True, "regrade": True}, 201)
    check(bodies.CalibrationChangeOut, changed)
    assert changed["calibration"]["active"] is True and changed["regrade"] is not None
    listed = body_of(client.get("/api/ai-interview/calibrations/"), 200)
    check(bodies.CalibrationList, listed)
    check(bodies.CalibrationChangeOut, post(client, "/api/ai-interview/calibrations/activate/", {"version": None}, 200))
    check(bodies.RegradeOut, post(client, "/api/ai-interview/calibrations/regrade/", {}, 200))


def test_analytics_body_is_as_declared(graded: tuple[Client, Any]) -> None:
    client, session = graded
    post(client, f"/api/ai-interview/answers/{answers_of(session)[0].pk}/review/", {"score": 6.0}, 201)
    analytics = body_of(client.get("/api/ai-interview/analytics/"), 200)
    check(bodies.AnalyticsOut, analytics)
    assert analytics["funnel"]["completed"] == 2 and analytics["jobs"][0]["job"] == "Backend Engineer"


def test_erasure_body_is_as_declared(graded: tuple[Client, Any]) -> None:
    client, _ = graded
    report = post(client, "/api/ai-interview/erasures/", {"email": "a@example.com", "dry_run": True}, 200)
    check(bodies.ErasureOut, report)
    assert report["dry_run"] is True and report["candidates"] == 1


def test_action_bodies_are_as_declared() -> None:
    client, _ = staff_client("lead")
    session = interview([7.0, 7.0], answered=0)
    url = f"/api/ai-interview/sessions/{session.pk}/actions/"
    check(schemas.ActionOut, post(client, url, {"action": "message", "text": "Take your time."}, 201))
    listed = body_of(client.get(url), 200)
    check(schemas.ActionList, listed)
    assert [a["kind"] for a in listed] == ["message"]


def test_the_openapi_responses_are_these_models() -> None:
    document = SchemaGenerator().get_schema(request=None, public=True)
    components = document["components"]["schemas"]
    for model in (bodies.AnswerReviewStateOut, bodies.AnalyticsOut, bodies.ErasureOut, schemas.ActionList):
        assert model.__name__ in components, model.__name__
    analytics = document["paths"]["/api/ai-interview/analytics/"]["get"]["responses"]["200"]
    assert analytics["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AnalyticsOut"}
