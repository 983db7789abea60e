"""Staff users, roles and job teams over REST (admins only) and `manage.py staff`: the same
services, each change audited, and what a role or a team grants takes effect at once."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from interview_rt.interviews import access, notices, services
from interview_rt.interviews.api import bodies
from interview_rt.interviews.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

USERS = "/api/ai-interview/staff/users/"
JOBS = "/api/ai-interview/staff/jobs/"
PASSWORD = "correct horse battery staple 42"


def client_as(username: str, role: str | None) -> Client:
    user = get_user_model().objects.create_user(username=username, password="x", is_staff=role is not None)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    return client


def call(client: Client, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"content_type": "application/json"}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    response = getattr(client, method)(url, **kwargs)
    return response.status_code, response.json()


def test_an_admin_adds_a_recruiter_who_can_log_in_and_invite() -> None:
    admin = client_as("chief", "admin")
    status, body = call(admin, "post", USERS, {"username": "rita", "role": "recruiter", "password": PASSWORD})
    assert status == 201, body
    bodies.StaffUserOut.model_validate(body)
    assert body["role"] == "recruiter" and body["has_password"] is True and "password" not in body
    rita = Client()
    assert rita.login(username="rita", password=PASSWORD)
    status, _ = call(
        rita,
        "post",
        "/api/ai-interview/invitations/",
        {
            "candidate_name": "Ada",
            "candidate_email": "ada@example.com",
            "job_title": "Backend Engineer",
        },
    )
    assert status == 201
    event = AuditEvent.objects.get(action="staff_changed", target_id="rita")
    assert event.actor_name == "chief" and event.details == {"change": "added", "role": "recruiter"}
    assert PASSWORD not in json.dumps(list(AuditEvent.objects.values("details")))


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"username": "chief", "role": "reviewer"}, 409, "already_exists", "username"),
        ({"username": "new", "role": "owner"}, 400, "invalid_field", "role"),
        ({"username": "new", "role": "reviewer", "password": "123"}, 400, "invalid_field", "password"),
        ({"username": "has space", "role": "reviewer"}, 400, "invalid_field", "username"),
        ({"role": "reviewer"}, 400, "invalid_field", "username"),
    ],
)
def test_a_bad_user_is_refused_with_a_code_and_nothing_is_written(
    body: dict[str, Any], status: int, code: str, field: str
) -> None:
    admin = client_as("chief", "admin")
    users = get_user_model().objects.count()
    got, error = call(admin, "post", USERS, body)
    assert (got, error["code"], error.get("field")) == (status, code, field), error
    assert get_user_model().objects.count() == users
    assert not AuditEvent.objects.filter(action="staff_changed").exists()


def test_roles_change_and_go_and_the_list_shows_it() -> None:
    admin = client_as("chief", "admin")
    call(admin, "post", USERS, {"username": "rev", "role": "recruiter"})
    status, body = call(admin, "patch", USERS + "rev/", {"role": "reviewer"})
    assert status == 200 and body["role"] == "reviewer"
    user = get_user_model().objects.get(username="rev")
    assert access.role_of(user) == "reviewer"
    status, listed = call(admin, "get", USERS)
    bodies.StaffUserList.model_validate(listed)
    assert {u["username"]: u["role"] for u in listed} == {"chief": "admin", "rev": "reviewer"}
    status, body = call(admin, "delete", USERS + "rev/")
    assert status == 200 and body["role"] is None and body["is_staff"] is False
    user.refresh_from_db()
    assert access.permissions_of(user) == frozenset()
    assert [u["username"] for u in call(admin, "get", USERS)[1]] == ["chief"]
    changes = list(AuditEvent.objects.filter(target_id="rev").order_by("id").values_list("details", flat=True))
    assert [c["change"] for c in changes] == ["added", "role", "removed"]


def test_unknown_users_and_superusers() -> None:
    admin = client_as("chief", "admin")
    get_user_model().objects.create_superuser(username="root", email="r@example.com", password="x")
    assert call(admin, "patch", USERS + "ghost/", {"role": "reviewer"})[1]["code"] == "not_found"
    status, error = call(admin, "delete", USERS + "root/")
    assert status == 403 and error["code"] == "permission_denied"


@pytest.mark.parametrize("role", ["recruiter", "reviewer", None])
def test_only_admins_manage_staff(role: str | None) -> None:
    other = client_as("someone", role)
    for method, url, body in (
        ("get", USERS, None),
        ("post", USERS, {"username": "x", "role": "admin"}),
        ("get", JOBS, None),
    ):
        status, error = call(other, method, url, body)
        assert status == 403 and error["code"] == "permission_denied", (method, url, error)
    assert not get_user_model().objects.filter(username="x").exists()
    status, error = call(Client(), "get", USERS)
    assert status == 401 and error["code"] == "not_authenticated"


def test_a_job_team_grants_its_sessions_at_once() -> None:
    admin = client_as("chief", "admin")
    call(admin, "post", USERS, {"username": "rita", "role": "recruiter"})
    call(admin, "post", USERS, {"username": "rev", "role": "reviewer"})
    invitation = services.invitation_create(
        candidate_name="Ada", candidate_email="ada@example.com", job_title="Backend Engineer"
    )
    job = Job.objects.get(pk=invitation.job_id)
    rev = get_user_model().objects.get(username="rev")
    assert not access.job_visible(rev, job.pk)
    status, body = call(admin, "patch", JOBS + f"{job.pk}/", {"owner": "rita", "add": ["rev"], "notice": "Our notice."})
    assert status == 200, body
    bodies.JobTeamOut.model_validate(body)
    assert (body["owner"], body["team"]) == ("rita", ["rev"]) and body["notice_version"].startswith("job-")
    assert access.job_visible(rev, job.pk)
    status, body = call(admin, "patch", JOBS + f"{job.pk}/", {"drop": ["rev"], "notice": ""})
    assert body["team"] == [] and body["owner"] == "rita"
    assert body["notice_version"] == notices.deployment_notice().version
    assert not access.job_visible(rev, job.pk)
    listed = call(admin, "get", JOBS)[1]
    bodies.JobTeamList.model_validate(listed)
    assert [j["id"] for j in listed] == [job.pk]
    assert call(admin, "patch", JOBS + f"{job.pk}/", {"add": ["ghost"]})[1]["code"] == "not_found"
    job.refresh_from_db()
    assert list(job.team.all()) == []  # the refused change wrote nothing
    assert call(admin, "patch", JOBS + "999999/", {"owner": None})[1]["code"] == "not_found"
    assert AuditEvent.objects.filter(action="job_team_changed", target_id=str(job.pk)).count() == 2


def test_the_command_uses_the_same_services(monkeypatch: Any) -> None:
    monkeypatch.setenv("NEW_PW", PASSWORD)
    out = StringIO()
    call_command("staff", "add", "cmd", "--role", "reviewer", "--password-env", "NEW_PW", stdout=out)
    assert out.getvalue().strip() == "cmd: reviewer"
    assert AuditEvent.objects.filter(action="staff_changed", target_id="cmd", actor_name="").exists()
    with pytest.raises(CommandError, match="exists"):
        call_command("staff", "add", "cmd", "--role", "reviewer", stdout=StringIO())
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("staff", "role", "ghost", "--role", "admin", stdout=StringIO())
