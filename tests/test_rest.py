"""The REST API: the seed's candidate flow (access -> start -> run-interview actions), staff results
and human review, JSON error bodies with a stable `code`, and REST and socket driving one session.

The public views are async and rely on the in-process worker, so the tests are async and use
django.test.AsyncClient in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from interview_rt import runtime
from interview_rt.interviews import links, services
from interview_rt.interviews.models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    InterviewInvitation,
    SessionFrame,
)

from .conftest import expired
from .consumers.helpers import GOOD_ANSWER, Candidate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]

ACCESS = "/api/interviews/access/{token}/"
START = "/api/ai-interview/start/"
RUN = "/api/ai-interview/run-interview/"
RESULTS = "/api/ai-interview/sessions/{id}/results/"
REVIEW = "/api/ai-interview/results/{id}/review/"
SESSIONS = "/api/ai-interview/sessions/"


@pytest.fixture
def client() -> AsyncClient:
    return AsyncClient()


async def post(client: AsyncClient, url: str, body: Any, *, status: int = 200) -> dict[str, Any]:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    response = await client.post(url, data=raw, content_type="application/json")
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:200])
    data = response.json()
    assert response.status_code == status, data
    return data


async def run(client: AsyncClient, action: str, session_id: str, *, status: int = 200, **extra: Any) -> dict[str, Any]:
    """A run-interview action with the candidate's credential (the session key start returns)."""
    if "token" not in extra:
        extra.setdefault("session_key", links.session_key(session_id))
    return await post(client, RUN, {"action": action, "session_id": session_id, **extra}, status=status)


async def respond(
    client: AsyncClient, session_id: str, question_id: str, text: str = GOOD_ANSWER, *, status: int = 200, **data: Any
) -> dict[str, Any]:
    payload = {"question_id": question_id, "response_text": text, "response_type": "text", **data}
    return await run(client, "response", session_id, data=payload, status=status)


def assert_error(body: dict[str, Any], code: str, field: str | None = None) -> None:
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert body.get("field") == field, body


async def started(client: AsyncClient, amake_invitation: Any, **overrides: Any) -> tuple[str, str, dict[str, Any]]:
    """(token, session_id, first question) after POST /api/ai-interview/start/."""
    _, token = await amake_invitation(**{"question_count": 2, **overrides})
    body = await post(client, START, {"token": token})
    assert body["question"] is not None, body
    return token, body["session_id"], body["question"]


async def staff_client() -> AsyncClient:
    user = await get_user_model().objects.acreate_superuser(username="reviewer", email="r@example.com", password="x")
    staff = AsyncClient()
    await staff.aforce_login(user)
    return staff


async def finished(client: AsyncClient, amake_invitation: Any) -> str:
    """A completed one-question interview; returns its session id."""
    _, session_id, question = await started(client, amake_invitation, question_count=1)
    body = await respond(client, session_id, question["id"])
    assert body["status"] == "completed", body
    return session_id


# --- the seed's flow ---------------------------------------------------------------------------------


async def test_access_creates_the_session_once(client: AsyncClient, amake_invitation: Any) -> None:
    _, token = await amake_invitation()
    first = await client.get(ACCESS.format(token=token))
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "created"
    assert body["interview"]["job_title"] == "Backend Engineer"
    assert body["interview"]["candidate_name"] == "Ada Lovelace"
    assert body["interview"]["question_count"] == 3
    assert body["websocket_path"] == f"/ws/interview/{token}/"
    second = await client.get(ACCESS.format(token=token))
    assert second.json()["session_id"] == body["session_id"]
    assert await AIInterviewSession.objects.acount() == 1


async def test_start_returns_session_id_and_first_question(client: AsyncClient, amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=2)
    access = (await client.get(ACCESS.format(token=token))).json()
    body = await post(client, START, {"token": token})
    assert body["session_id"] == access["session_id"]
    assert body["status"] == "in_progress" and body["awaiting"] == "answer"
    assert body["progress"] == {"answered": 0, "total": 2}
    question = body["question"]
    assert question["order"] == 0 and question["text"]
    assert "reference_answer" not in question and "key_points" not in question
    assert body["result"] is None


async def test_start_twice_asks_the_question_once(client: AsyncClient, amake_invitation: Any) -> None:
    token, session_id, question = await started(client, amake_invitation)
    again = await post(client, START, {"token": token})
    by_action = await run(client, "start", session_id)
    assert again["question"]["id"] == by_action["question"]["id"] == question["id"]
    assert await SessionFrame.objects.filter(session_id=session_id, type="question.asked").acount() == 1


async def test_question_action_returns_the_current_question(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    body = await run(client, "question", session_id)
    assert body["question"] == question
    assert body["awaiting"] == "answer"


async def test_response_returns_the_ack_and_the_evaluation(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    body = await respond(client, session_id, question["id"])
    ack = body["accepted"]
    assert ack["type"] == "answer.accepted" and ack["question_id"] == question["id"]
    assert ack["late"] is False and isinstance(ack["seq"], int)
    assert body["duplicate"] is False
    assert body["evaluation_status"] == "done"
    evaluation = body["evaluation"]
    assert evaluation["response_id"] == ack["response_id"]
    assert evaluation["insufficient_evidence"] or 0 <= evaluation["score"] <= 10
    assert evaluation["feedback"]
    # Immediate mode: the next question comes with the evaluation.
    assert body["question"]["order"] == 1 and body["awaiting"] == "answer"
    assert body["progress"] == {"answered": 1, "total": 2}
    stored = await AIInterviewResponse.objects.aget(pk=ack["response_id"])
    assert stored.response_text == GOOD_ANSWER and stored.response_type == "text"


async def test_response_in_end_mode_returns_no_evaluation(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation, feedback_mode="end")
    body = await respond(client, session_id, question["id"])
    assert body["accepted"]["question_id"] == question["id"]
    assert body["evaluation"] is None
    assert body["question"]["order"] == 1


async def test_retried_identical_response_is_a_duplicate(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    first = await respond(client, session_id, question["id"])
    retry = await respond(client, session_id, question["id"])
    assert retry["duplicate"] is True
    assert retry["accepted"]["response_id"] == first["accepted"]["response_id"]
    assert retry["accepted"]["seq"] == first["accepted"]["seq"]
    assert retry["evaluation"]["score"] == first["evaluation"]["score"]
    assert await AIInterviewResponse.objects.filter(session_id=session_id).acount() == 1
    assert await SessionFrame.objects.filter(session_id=session_id, type="answer.accepted").acount() == 1


async def test_retry_with_other_text_keeps_the_first_answer(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    await respond(client, session_id, question["id"])
    retry = await respond(client, session_id, question["id"], "something else entirely")
    assert retry["duplicate"] is True
    stored = await AIInterviewResponse.objects.aget(session_id=session_id)
    assert stored.response_text == GOOD_ANSWER


async def test_complete_is_refused_until_every_question_is_answered(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    assert_error(await run(client, "complete", session_id, status=409), "interview_incomplete")
    body = await respond(client, session_id, question["id"])
    assert_error(await run(client, "complete", session_id, status=409), "interview_incomplete")
    await respond(client, session_id, body["question"]["id"])
    done = await run(client, "complete", session_id)
    assert done["status"] == "completed" and done["awaiting"] == "nothing"
    result = done["result"]
    assert result["recommendation"] in {"strong_hire", "hire", "maybe", "no_hire", "insufficient_evidence"}
    assert result["insufficient_evidence_count"] + (1 if result["overall_score"] is not None else 0) >= 1
    assert await AIInterviewResult.objects.filter(session_id=session_id).aexists()


async def test_the_seed_flow_end_to_end(client: AsyncClient, amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=3)
    session_id = (await client.get(ACCESS.format(token=token))).json()["session_id"]
    body = await post(client, START, {"token": token})
    assert body["session_id"] == session_id
    await run(client, "start", session_id)
    answered = []
    for i in range(3):
        question = (await run(client, "question", session_id))["question"]
        assert question["order"] == i
        body = await respond(client, session_id, question["id"])
        answered.append(body["accepted"]["response_id"])
    done = await run(client, "complete", session_id)
    assert done["status"] == "completed" and done["progress"] == {"answered": 3, "total": 3}
    logged = [s async for s in SessionFrame.objects.filter(session_id=session_id).values_list("seq", flat=True)]
    assert logged == list(range(1, len(logged) + 1))
    types = [t async for t in SessionFrame.objects.filter(session_id=session_id).values_list("type", flat=True)]
    assert types.count("question.asked") == 3 and types[-1] == "interview.completed"
    assert len(set(answered)) == 3


async def test_response_after_completion_is_interview_completed(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation, question_count=1)
    await respond(client, session_id, question["id"])
    body = await respond(client, session_id, question["id"], client_id="another-try", status=409)
    assert_error(body, "interview_completed")
    assert await AIInterviewResponse.objects.filter(session_id=session_id).acount() == 1


async def test_response_before_start_is_not_started(client: AsyncClient, amake_invitation: Any) -> None:
    """A REST client that opened the link (access) but never started cannot answer yet."""
    _, token = await amake_invitation(question_count=2)
    session_id = (await client.get(ACCESS.format(token=token))).json()["session_id"]
    for _ in range(100):  # the in-process worker writes the questions in the background
        session = await AIInterviewSession.objects.aget(pk=session_id)
        if session.questions_ready:
            break
        await asyncio.sleep(0.02)
    assert session.questions_ready and session.status == "created"
    first = await AIInterviewQuestion.objects.aget(session_id=session_id, order=0)
    body = await respond(client, session_id, str(first.pk), status=409)
    assert_error(body, "not_started")
    assert await AIInterviewResponse.objects.acount() == 0


# --- staff: results and review ---------------------------------------------------------------------------


async def test_results_require_authentication(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    for url in (RESULTS.format(id=session_id), SESSIONS):
        response = await AsyncClient().get(url)
        assert response.status_code in (401, 403)
        assert_error(response.json(), "not_authenticated")


async def test_results_refuse_a_non_staff_user(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    user = await get_user_model().objects.acreate_user(username="candidate", password="x")
    logged_in = AsyncClient()
    await logged_in.aforce_login(user)
    response = await logged_in.get(RESULTS.format(id=session_id))
    assert response.status_code == 403
    assert_error(response.json(), "permission_denied")
    response = await logged_in.post(
        REVIEW.format(id=session_id), data={"final_decision": "hire"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert_error(response.json(), "permission_denied")


async def test_results_for_staff_have_answers_with_provenance(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    response = await staff.get(RESULTS.format(id=session_id))
    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == session_id and body["status"] == "completed"
    assert body["candidate"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert body["result"]["recommendation"]
    assert body["result"]["human_review"]["reviewer"] is None
    [answer] = body["answers"]
    assert answer["response_text"] == GOOD_ANSWER
    assert answer["evaluation_status"] == "done"
    provenance = answer["provenance"]
    assert provenance["provider"] and provenance["rubric_version"]
    assert isinstance(provenance["latency_ms"], int | float)
    assert provenance["fallback_used"] is False


async def test_session_list_for_staff(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    response = await staff.get(SESSIONS, {"status": "completed"})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [session_id]
    assert (await staff.get(SESSIONS, {"status": "in_progress"})).json() == []


async def test_results_of_unknown_session_is_404_with_code(client: AsyncClient) -> None:
    staff = await staff_client()
    for session_id in (uuid.uuid4(), "not-a-uuid"):
        response = await staff.get(RESULTS.format(id=session_id))
        assert response.status_code == 404
        assert_error(response.json(), "session_not_found")


async def test_review_stores_the_human_review(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    review = {"human_score": 7.5, "notes": "Solid on idempotency.", "final_decision": "hire"}
    response = await staff.post(REVIEW.format(id=session_id), data=review, content_type="application/json")
    assert response.status_code == 200, response.content
    human = response.json()["result"]["human_review"]
    assert human["reviewer"] == "reviewer"
    assert human["human_score"] == 7.5 and human["notes"] == "Solid on idempotency."
    assert human["final_decision"] == "hire" and human["reviewed_at"]
    result = await AIInterviewResult.objects.select_related("reviewer").aget(session_id=session_id)
    assert result.reviewer is not None and result.reviewer.username == "reviewer"
    assert (result.human_score, result.review_notes, result.final_decision) == (7.5, "Solid on idempotency.", "hire")
    assert result.reviewed_at is not None


async def test_review_validates_its_body(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    for body, field in [
        ({"human_score": 11, "final_decision": "hire"}, "human_score"),
        ({"human_score": -1, "final_decision": "hire"}, "human_score"),
        ({"human_score": 5}, "final_decision"),
        ({"final_decision": "definitely"}, "final_decision"),
    ]:
        response = await staff.post(REVIEW.format(id=session_id), data=body, content_type="application/json")
        assert response.status_code == 400, body
        data = response.json()
        assert_error(data, "invalid_field")
        assert field in data["errors"], data
    result = await AIInterviewResult.objects.aget(session_id=session_id)
    assert result.reviewed_at is None


async def test_review_of_invalid_json_is_invalid_json(client: AsyncClient, amake_invitation: Any) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    response = await staff.post(REVIEW.format(id=session_id), data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert_error(response.json(), "invalid_json")


async def test_review_before_a_result_is_404_with_code(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, _ = await started(client, amake_invitation)
    staff = await staff_client()
    response = await staff.post(
        REVIEW.format(id=session_id), data={"final_decision": "hire"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert_error(response.json(), "not_found")


# --- errors: always JSON with a stable code, never 500 -----------------------------------------------------


async def test_body_not_a_json_object_is_invalid_json(client: AsyncClient) -> None:
    for url in (RUN, START):
        for raw in ["{nope", b"\xff", "[1, 2]", '"a string"', "42", "null", "true"]:
            assert_error(await post(client, url, raw, status=400), "invalid_json")
        # An empty body reads as {}: the request then lacks its fields.
        assert (await post(client, url, "", status=400))["code"] in ("invalid_field", "unknown_action")


async def test_unknown_action(client: AsyncClient) -> None:
    for action in ["finish", "", None, 1, ["start"], "START", "__init__"]:
        body = await post(client, RUN, {"action": action, "session_id": str(uuid.uuid4())}, status=400)
        assert_error(body, "unknown_action", field="action")


async def test_missing_session_id_is_invalid_field(client: AsyncClient) -> None:
    assert_error(await post(client, RUN, {"action": "question"}, status=400), "invalid_field", field="session_id")
    for session_id in ["", 12, ["x"], None]:
        body = await post(client, RUN, {"action": "question", "session_id": session_id}, status=400)
        assert_error(body, "invalid_field", field="session_id")


async def test_malformed_session_id_is_session_not_found(client: AsyncClient) -> None:
    for session_id in ["not-a-uuid", "1234", "x" * 10_000, "../../etc"]:
        assert_error(await run(client, "question", session_id, status=404), "session_not_found")


async def test_unknown_session_is_session_not_found(client: AsyncClient) -> None:
    for action in ("start", "question", "response", "complete"):
        body = await run(client, action, str(uuid.uuid4()), status=404, data={})
        assert_error(body, "session_not_found")


async def test_bad_question_id_is_invalid_field(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, _question = await started(client, amake_invitation)
    for question_id in ("not-a-uuid", "1234"):
        assert_error(await respond(client, session_id, question_id, status=400), "invalid_field", field="question_id")
    for question_id in (None, 42, ""):
        body = await run(
            client, "response", session_id, data={"question_id": question_id, "response_text": "x"}, status=400
        )
        assert_error(body, "invalid_field", field="question_id")
    assert await AIInterviewResponse.objects.acount() == 0


async def test_question_not_current_by_rest(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, _question = await started(client, amake_invitation)
    body = await respond(client, session_id, str(uuid.uuid4()), status=409)
    assert_error(body, "question_not_current")
    assert await AIInterviewResponse.objects.acount() == 0


async def test_question_id_with_spaces_names_question_id(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, _ = await started(client, amake_invitation)
    assert_error(await respond(client, session_id, "not a uuid", status=400), "invalid_field", field="question_id")


async def test_missing_response_text_names_response_text(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    body = await run(client, "response", session_id, data={"question_id": question["id"]}, status=400)
    assert_error(body, "invalid_field", field="response_text")


async def test_bad_response_payload_is_invalid_field(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    for data in (None, "text", [question["id"]]):
        assert_error(await run(client, "response", session_id, data=data, status=400), "invalid_field", field="data")
    for text in (None, 5, ["x"], "a" * 20_001):
        body = await run(
            client, "response", session_id, data={"question_id": question["id"], "response_text": text}, status=400
        )
        assert body["code"] == "invalid_field"
    body = await respond(client, session_id, question["id"], response_type="video", status=400)
    assert_error(body, "invalid_field", field="response_type")
    body = await respond(client, session_id, question["id"], client_id="bad id", status=400)
    assert_error(body, "invalid_field", field="client_id")
    assert await AIInterviewResponse.objects.acount() == 0


async def test_bad_wait_seconds_is_invalid_field(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, _ = await started(client, amake_invitation)
    for wait in [-1, "soon", True, None, [1]]:
        body = await run(client, "question", session_id, wait_seconds=wait, status=400)
        assert_error(body, "invalid_field", field="wait_seconds")


async def test_body_over_64_kib_is_frame_too_large(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    big = json.dumps(
        {
            "action": "response",
            "session_id": session_id,
            "data": {"question_id": question["id"], "response_text": "a" * 70_000},
        }
    )
    assert_error(await post(client, RUN, big, status=413), "frame_too_large")
    assert_error(
        await post(client, START, json.dumps({"token": "t", "pad": "p" * 70_000}), status=413), "frame_too_large"
    )
    assert await AIInterviewResponse.objects.acount() == 0


async def test_body_over_the_django_upload_limit_is_still_json(client: AsyncClient) -> None:
    response = await client.post(RUN, data=json.dumps({"pad": "p" * 3_000_000}), content_type="application/json")
    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("application/json")
    assert_error(response.json(), "frame_too_large")


@pytest.mark.parametrize(("method", "url"), [("get", START), ("get", RUN), ("put", RUN), ("post", ACCESS)])
async def test_wrong_method_on_public_views_is_405_json(client: AsyncClient, method: str, url: str) -> None:
    response = await getattr(client, method)(url.format(token="abc"))
    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")


async def test_wrong_method_is_405(client: AsyncClient) -> None:
    for method, url in (("get", START), ("get", RUN), ("delete", START), ("post", ACCESS.format(token="abc"))):
        response = await getattr(client, method)(url)
        assert response.status_code == 405, (method, url)
        assert "POST" in response["Allow"] or "GET" in response["Allow"]


async def test_wrong_method_on_staff_views_is_405_json(client: AsyncClient) -> None:
    staff = await staff_client()
    response = await staff.delete(RESULTS.format(id=uuid.uuid4()))
    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")


async def test_unknown_url_is_404_json(client: AsyncClient) -> None:
    for url in ["/api/nope/", "/api/ai-interview/", "/nothing-here", "/api/ai-interview/sessions/x/"]:
        response = await client.get(url)
        assert response.status_code == 404, url
        assert_error(response.json(), "not_found")


async def test_start_and_access_refuse_bad_links_with_codes(client: AsyncClient, amake_invitation: Any) -> None:
    assert_error(await post(client, START, {}, status=400), "invalid_field", field="token")
    assert_error(await post(client, START, {"token": 5}, status=400), "invalid_field", field="token")
    assert_error(await post(client, START, {"token": "forged:token"}, status=403), "link_invalid")
    response = await client.get(ACCESS.format(token="forged:token"))
    assert response.status_code == 403
    assert_error(response.json(), "link_invalid")

    invitation, token = await amake_invitation()
    await database_sync_to_async(expired)(invitation)
    assert_error(await post(client, START, {"token": token}, status=410), "link_expired")
    response = await client.get(ACCESS.format(token=token))
    assert response.status_code == 410
    assert_error(response.json(), "link_expired")

    revoked, token = await amake_invitation()
    await InterviewInvitation.objects.filter(pk=revoked.pk).aupdate(revoked=True)
    assert_error(await post(client, START, {"token": token}, status=403), "link_revoked")
    assert await AIInterviewSession.objects.acount() == 0


async def test_run_interview_on_an_expired_link_is_session_expired(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    invitation = await InterviewInvitation.objects.aget(session__id=session_id)
    await database_sync_to_async(expired)(invitation)
    assert_error(await respond(client, session_id, question["id"], status=410), "session_expired")
    assert_error(await run(client, "start", session_id, status=410), "session_expired")
    assert await AIInterviewResponse.objects.acount() == 0


async def test_refusal_after_expiry_marks_the_session_expired(client: AsyncClient, amake_invitation: Any) -> None:
    _, session_id, question = await started(client, amake_invitation)
    invitation = await InterviewInvitation.objects.aget(session__id=session_id)
    await database_sync_to_async(expired)(invitation)
    await respond(client, session_id, question["id"], status=410)
    session = await AIInterviewSession.objects.aget(pk=session_id)
    assert session.status == "expired"


# --- REST and socket on one session ----------------------------------------------------------------------


async def test_rest_and_socket_drive_one_session(client: AsyncClient, amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=3)
    c = Candidate(token)
    snapshot = await c.connect()
    session_id = snapshot["session"]["id"]
    q0 = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]

    # Question 0 by REST: the socket sees the ack, the feedback and the next question, in order.
    body = await respond(client, session_id, q0["id"])
    pushed = [await c.recv() for _ in range(3)]
    assert [f["type"] for f in pushed] == ["answer.accepted", "answer.feedback", "question.asked"]
    assert pushed[0] == body["accepted"]
    assert pushed[2]["question"]["id"] == body["question"]["id"]
    q1 = pushed[2]["question"]

    # Question 1 by socket: REST sees the same state.
    await c.answer(q1, "s1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    q2 = (await c.recv("question.asked"))["question"]
    view = await run(client, "question", session_id)
    assert view["question"]["id"] == q2["id"]
    assert view["progress"] == {"answered": 2, "total": 3}
    await c.send({"type": "session.sync"})
    sync = await c.recv("session.state")
    assert sync["session"]["answered"] == 2 and sync["session"]["current_question"]["id"] == q2["id"]

    # Question 2 by REST again; both see the completion.
    await respond(client, session_id, q2["id"])
    rest_done = await run(client, "complete", session_id)
    pushed = [await c.recv() for _ in range(3)]
    assert [f["type"] for f in pushed] == ["answer.accepted", "answer.feedback", "interview.completed"]
    assert pushed[2]["result"] == rest_done["result"]

    socket_seqs = [f["seq"] for f in c.frames if f["type"] != "session.state"]
    session = await AIInterviewSession.objects.aget(pk=session_id)
    # Every frame after the snapshot once, in order, with no gap.
    assert socket_seqs == list(range(snapshot["seq"] + 1, session.last_seq + 1))
    logged = [s async for s in SessionFrame.objects.filter(session_id=session_id).values_list("seq", flat=True)]
    assert logged == list(range(1, session.last_seq + 1))
    assert session.status == "completed" and session.answered_count == 3
    clients = {
        r async for r in AIInterviewResponse.objects.filter(session_id=session_id).values_list("client_id", flat=True)
    }
    assert clients == {f"rest-{q0['id']}", "s1", f"rest-{q2['id']}"}
    await c.close()


async def test_rest_retry_of_a_socket_answer_is_question_not_current(
    client: AsyncClient, amake_invitation: Any
) -> None:
    """A REST client cannot answer again a question the socket answered (one answer per question)."""
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    snapshot = await c.connect()
    session_id = snapshot["session"]["id"]
    q0 = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]
    await c.answer(q0, "s0", GOOD_ANSWER)
    body = await respond(client, session_id, q0["id"], status=409)
    assert_error(body, "question_not_current")
    assert await AIInterviewResponse.objects.filter(session_id=session_id).acount() == 1
    await c.close()


# --- the candidate's credential, revocation ----------------------------------------------------------


async def test_run_interview_needs_the_candidates_credential(client: AsyncClient, amake_invitation: Any) -> None:
    token, session_id, _ = await started(client, amake_invitation)
    other_token, other_id, _ = await started(client, amake_invitation)
    body = {"action": "question", "session_id": session_id}
    assert_error(await post(client, RUN, body, status=401), "not_authenticated", "session_key")
    wrong = {**body, "session_key": links.session_key(other_id)}
    assert_error(await post(client, RUN, wrong, status=403), "permission_denied", "session_key")
    assert_error(await post(client, RUN, {**body, "token": other_token}, status=403), "permission_denied", "token")
    assert (await post(client, RUN, {**body, "token": token}))["session_id"] == session_id
    # The key start returned works; the access endpoint hands out the same one.
    access = (await client.get(ACCESS.format(token=token))).json()
    assert (await post(client, RUN, {**body, "session_key": access["session_key"]}))["session_id"] == session_id


async def test_start_returns_the_session_key(client: AsyncClient, amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=1)
    body = await post(client, START, {"token": token})
    assert body["session_key"] == links.session_key(body["session_id"])


async def test_a_revoked_link_refuses_every_rest_action(client: AsyncClient, amake_invitation: Any) -> None:
    token, session_id, question = await started(client, amake_invitation)
    invitation = await InterviewInvitation.objects.aget(session__id=session_id)
    await runtime.candidate_db(services.invitation_revoke)(invitation_id=invitation.id)
    for action in ("start", "question", "complete"):
        assert_error(await run(client, action, session_id, status=403), "link_revoked")
    assert_error(await respond(client, session_id, question["id"], status=403), "link_revoked")
    assert_error(await post(client, START, {"token": token}, status=403), "link_revoked")
    assert await AIInterviewResponse.objects.acount() == 0


async def test_staff_revoke_endpoint(client: AsyncClient, amake_invitation: Any) -> None:
    invitation, token = await amake_invitation()
    url = f"/api/ai-interview/invitations/{invitation.id}/revoke/"
    assert (await client.post(url)).status_code in (401, 403)
    staff = await staff_client()
    response = await staff.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["revoked"] is True
    assert_error((await client.get(ACCESS.format(token=token))).json(), "link_revoked")
    missing = await staff.post(f"/api/ai-interview/invitations/{uuid.uuid4()}/revoke/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


# --- text no database can store -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("half an emoji \ud83d here", "half an emoji \ufffd here"), ("nul\x00byte", "nulbyte"), ("\udfff\x00", "\ufffd")],
)
async def test_unstorable_characters_are_cleaned_not_refused(
    client: AsyncClient, amake_invitation: Any, sent: str, stored: str
) -> None:
    _, session_id, question = await started(client, amake_invitation)
    # json.dumps escapes them ("\ud83d", "\u0000"): valid JSON text a client may send.
    body = await respond(client, session_id, question["id"], sent + " " + GOOD_ANSWER)
    assert body["accepted"]["question_id"] == question["id"]
    response = await AIInterviewResponse.objects.aget(session_id=session_id)
    assert response.response_text == stored + " " + GOOD_ANSWER


# --- every /api/ answer is JSON with a code ---------------------------------------------------------


async def test_unknown_api_path_is_json_404_even_with_debug(client: AsyncClient, settings: Any) -> None:
    settings.DEBUG = True
    for url in ["/api/nope/", "/api/ai-interview/start", "/api/interviews/access/", "/api/x/y/z"]:
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("application/json"), url
        assert_error(response.json(), "not_found")


async def test_post_to_access_with_csrf_checks_is_json_405(amake_invitation: Any) -> None:
    _, token = await amake_invitation()
    strict = AsyncClient(enforce_csrf_checks=True)
    response = await strict.post(ACCESS.format(token=token), data="{}", content_type="application/json")
    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")
    assert await AIInterviewSession.objects.acount() == 0


async def test_staff_post_without_csrf_token_is_json(client: AsyncClient, amake_invitation: Any) -> None:
    user = await get_user_model().objects.acreate_superuser(username="csrf", email="c@example.com", password="x")
    strict = AsyncClient(enforce_csrf_checks=True)
    await strict.aforce_login(user)
    session_id = await finished(client, amake_invitation)
    response = await strict.post(REVIEW.format(id=session_id), data="{}", content_type="application/json")
    assert response.status_code == 403
    assert_error(response.json(), "permission_denied")


async def test_deeply_nested_json_on_the_review_endpoint_is_invalid_json(
    client: AsyncClient, amake_invitation: Any
) -> None:
    session_id = await finished(client, amake_invitation)
    staff = await staff_client()
    deep = "[" * 30_000 + "]" * 30_000
    for body in (deep, '{"human_score": NaN, "final_decision": "hire"}'):
        response = await staff.post(REVIEW.format(id=session_id), data=body, content_type="application/json")
        assert response.status_code == 400, response.content[:200]
        assert_error(response.json(), "invalid_json")


async def test_staff_filter_with_an_unknown_status_is_invalid_field(client: AsyncClient) -> None:
    staff = await staff_client()
    # Percent-encoded: a NUL, and bytes that are no UTF-8 (a lone surrogate's encoding).
    for status in ("nope", "completed%00", "%ED%A0%80"):
        response = await staff.get(f"{SESSIONS}?status={status}")
        assert response.status_code == 400, status
        assert_error(response.json(), "invalid_field", "status")


async def test_staff_bodies_take_what_the_openapi_document_says() -> None:
    """The cases schemathesis found (tests/e2e/test_schemathesis.py), kept fast: JSON types are
    strict, 5.0 is the integer 5, a required text is not blank, a PATCH body is validated whole."""
    staff = await staff_client()
    invite = {"candidate_name": "Ada", "candidate_email": "ada@example.com", "job_title": "Engineer"}

    async def post(url: str, body: Any, method: str = "post") -> Any:
        return await getattr(staff, method)(url, data=json.dumps(body), content_type="application/json")

    created = await post("/api/ai-interview/invitations/", {**invite, "question_count": 2.0})
    assert created.status_code == 201, created.content
    for wrong in ({"job_title": 7}, {"candidate_name": " \x1e"}, {"skills": [""]}, {"consent_required": "yes"}):
        refused = await post("/api/ai-interview/invitations/", {**invite, **wrong})
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_field", (wrong, refused.content)
        assert refused.json()["field"] == next(iter(wrong)), refused.content
    no_role = await post("/api/ai-interview/staff/users/reviewer/", {}, method="patch")
    assert no_role.status_code == 400 and no_role.json()["field"] == "role", no_role.content
    both = await post("/api/ai-interview/erasures/", {"candidate_id": 1, "email": "a@example.com"})
    assert both.status_code == 400 and both.json()["code"] == "invalid_field", both.content
