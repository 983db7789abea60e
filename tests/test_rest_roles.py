"""Staff REST with roles: groups admin/recruiter/reviewer, visibility by job, API tokens, live
actions over REST (audited, logged, pushed), and every denial as JSON with a code that never
tells another job's session from a missing one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from interview_rt.interviews.constants import CONSENT_NOTICE_VERSION
from interview_rt.interviews.models import Job, SessionFrame

from .consumers.helpers import Candidate
from .test_rest import SESSIONS, assert_error, post

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]

INVITE = "/api/ai-interview/invitations/"
RESULTS = "/api/ai-interview/sessions/{id}/results/"
ACTIONS = "/api/ai-interview/sessions/{id}/actions/"
REVIEW = "/api/ai-interview/results/{id}/review/"


class TokenClient:
    """An API client authenticating with a DRF token, as tools do."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = AsyncClient()
        self.headers = {"Authorization": f"Token {key}"}

    async def get(self, url: str, data: Any = None) -> Any:
        return await self.client.get(url, data, headers=self.headers)

    async def post(self, url: str, data: Any = None, content_type: str = "application/json") -> Any:
        return await self.client.post(url, data, content_type=content_type, headers=self.headers)


@database_sync_to_async
def user_with(username: str, role: str | None) -> tuple[Any, TokenClient]:
    user = get_user_model().objects.create_user(username=username, password="pw")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user, TokenClient(Token.objects.create(user=user).key)


async def invite(client: TokenClient, **extra: Any) -> dict[str, Any]:
    body = {"candidate_name": "Ada", "candidate_email": "ada@example.com", "job_title": "Backend", **extra}
    response = await client.post(INVITE, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


async def open_session(token: str) -> str:
    body = await post(AsyncClient(), "/api/ai-interview/start/", {"token": token, "wait_seconds": 0})
    return str(body["session_id"])


async def test_unauthenticated_is_401_and_a_bad_token_too() -> None:
    for client in (AsyncClient(), TokenClient("0" * 40)):
        response = await client.get(SESSIONS)
        assert response.status_code == 401
        assert_error(response.json(), "not_authenticated")


async def test_recruiters_see_their_own_jobs_only() -> None:
    _, alice = await user_with("alice", "recruiter")
    _, bob = await user_with("bob", "recruiter")
    a_session = await open_session((await invite(alice))["token"])
    # The same job title from another recruiter is another job.
    b_link = await invite(bob)
    b_session = await open_session(b_link["token"])
    assert [s["id"] for s in (await alice.get(SESSIONS)).json()] == [a_session]
    assert [s["id"] for s in (await bob.get(SESSIONS)).json()] == [b_session]
    # Another job's session reads exactly like a missing one.
    missing = await alice.get(RESULTS.format(id=uuid.uuid4()))
    hidden = await alice.get(RESULTS.format(id=b_session))
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    assert_error(hidden.json(), "session_not_found")
    for url in (ACTIONS.format(id=b_session), REVIEW.format(id=b_session)):
        response = await alice.post(url, data={"action": "end"}, content_type="application/json")
        assert response.status_code in (400, 404) and "Ada" not in response.content.decode()
    # Nor may one invite into another's job.
    job_id = await database_sync_to_async(lambda: Job.objects.get(owner__username="bob").pk)()
    response = await alice.post(
        INVITE,
        data={"candidate_name": "X", "candidate_email": "x@example.com", "job_title": "t", "job_id": job_id},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert_error(response.json(), "not_found")


async def test_a_user_without_a_role_and_a_reviewer_are_refused_with_403() -> None:
    _, nobody = await user_with("nobody", None)
    response = await nobody.get(SESSIONS)
    assert response.status_code == 403
    assert_error(response.json(), "permission_denied")
    owner, recruiter = await user_with("owner", "recruiter")
    reviewer_user, reviewer = await user_with("rev", "reviewer")
    session_id = await open_session((await invite(recruiter))["token"])
    await database_sync_to_async(lambda: Job.objects.get(owner=owner).team.add(reviewer_user))()
    assert (await reviewer.get(RESULTS.format(id=session_id))).status_code == 200
    for url, body in ((INVITE, {}), (ACTIONS.format(id=session_id), {"action": "message", "text": "hi"})):
        response = await reviewer.post(url, data=body, content_type="application/json")
        assert response.status_code == 403
        assert_error(response.json(), "permission_denied")


async def test_live_actions_over_rest_are_audited_logged_and_in_the_result(amake_invitation: Any) -> None:
    _, admin = await user_with("chief", "admin")
    _, token = await amake_invitation()
    c = Candidate(token)
    snapshot = await c.connect()
    session_id = snapshot["session"]["id"]
    response = await admin.post(
        ACTIONS.format(id=session_id), data={"action": "message", "text": "Hello"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["actor"] == "chief"
    message = await c.recv()
    while message["type"] != "interviewer.message":
        message = await c.recv()
    assert message["text"] == "Hello"
    response = await admin.post(ACTIONS.format(id=session_id), data={"action": "end"}, content_type="application/json")
    assert response.status_code == 201
    audit = (await admin.get(ACTIONS.format(id=session_id))).json()
    assert [(a["kind"], a["actor"]) for a in audit] == [("message", "chief"), ("end", "chief")]
    detail = (await admin.get(RESULTS.format(id=session_id))).json()
    assert detail["ended_early"] is True and detail["result"]["ended_early"] is True
    assert [a["kind"] for a in detail["actions"]] == ["message", "end"]
    logged = [t async for t in SessionFrame.objects.filter(session_id=session_id).values_list("type", flat=True)]
    assert "interviewer.message" in logged and logged[-2:] == ["interview.ended", "interview.completed"]
    await c.close()


async def test_rest_start_accepts_the_notice(amake_invitation: Any, settings: Any) -> None:
    settings.INTERVIEW_REQUIRE_CONSENT = True
    _, token = await amake_invitation()
    body = await post(AsyncClient(), "/api/ai-interview/start/", {"token": token, "wait_seconds": 0})
    assert body["awaiting"] == "consent" and body["question"] is None
    body = await post(
        AsyncClient(), "/api/ai-interview/start/", {"token": token, "notice_version": CONSENT_NOTICE_VERSION}
    )
    assert body["question"] is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "wave"}, "action"),
        ({"text": "no action"}, "action"),
        ({"action": "message", "text": "   "}, "text"),
        ({"action": "message"}, "text"),
        ({"action": "extend_time", "seconds": "30"}, "seconds"),
        ({"action": "extend_time", "seconds": 0}, "seconds"),
        ({"action": "add_question", "text": "Why?", "key_points": [""]}, "key_points"),
        ({"action": "add_question", "text": "Why?", "time_limit_seconds": 1}, "time_limit_seconds"),
        ({"action": "end", "reason": 7}, "reason"),
    ],
)
async def test_a_bad_action_over_rest_is_refused_as_on_the_socket(
    amake_invitation: Any, body: dict[str, Any], field: str
) -> None:
    """REST and the staff socket validate a live action with the same declarations: the same
    field is named over both, and nothing is audited or logged."""
    from .consumers.helpers import Staff  # the staff socket's test client

    _, admin = await user_with("chief", "admin")
    _, token = await amake_invitation()
    c = Candidate(token)
    session_id = (await c.connect())["session"]["id"]
    response = await admin.post(ACTIONS.format(id=session_id), data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert_error(response.json(), "invalid_field", field)
    assert (await admin.get(ACTIONS.format(id=session_id))).json() == []
    frame_type = {"message": "candidate.message", "extend_time": "question.extend"}.get(str(body.get("action")))
    if frame_type is not None:
        staff = Staff(token=admin.key)
        await staff.connect()
        fields = {k: v for k, v in body.items() if k != "action"}
        await staff.send({"type": frame_type, "session_id": session_id, "ref": "r1", **fields})
        error = await staff.until(lambda f: f["type"] == "error")
        assert error["code"] == "invalid_field" and error["field"] == field and error["ref"] == "r1"
        await staff.comm.disconnect()
    await c.close()
