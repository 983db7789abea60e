"""Management commands and system checks: create_interview, and `check` on AI provider settings."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from interview_rt.interviews import links
from interview_rt.interviews.models import InterviewInvitation

pytestmark = pytest.mark.django_db

REQUIRED = [
    "--candidate-name",
    "Ada Lovelace",
    "--candidate-email",
    "ada@example.com",
    "--job-title",
    "Backend Engineer",
]


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_interview", *REQUIRED, *args, stdout=out)
    return out.getvalue()


def test_prints_url_and_token() -> None:
    output = create()
    lines = dict(line.split(": ", 1) for line in output.strip().splitlines())
    token = lines["Token"]
    assert lines["Interview link"] == links.link_url(token)
    assert lines["Interview link"].endswith(token)
    invitation = links.read_token(token, now=timezone.now())
    assert invitation.candidate.name == "Ada Lovelace"
    assert lines["Expires"] == invitation.expires_at.isoformat()


def test_json_prints_one_object_whose_token_opens_the_invitation() -> None:
    output = create("--json")
    data = json.loads(output)  # the whole output is one JSON object
    assert isinstance(data, dict)
    assert {"token", "url", "invitation_id"} <= set(data)
    assert data["url"] == links.link_url(data["token"])
    assert data["websocket_path"] == f"/ws/interview/{data['token']}/"
    invitation = links.read_token(data["token"], now=timezone.now())
    assert str(invitation.id) == data["invitation_id"]
    assert InterviewInvitation.objects.count() == 1


def test_options_are_stored_on_the_invitation() -> None:
    data = json.loads(
        create(
            "--json",
            "--job-description",
            "APIs",
            "--skills",
            "python, django ,, sql",
            "--type",
            "mixed",
            "--difficulty",
            "hard",
            "--questions",
            "7",
            "--time-limit",
            "120",
            "--feedback",
            "end",
            "--expires-days",
            "2",
        )
    )
    invitation = InterviewInvitation.objects.select_related("job").get(pk=data["invitation_id"])
    assert invitation.job.required_skills == ["python", "django", "sql"]
    assert (invitation.interview_type, invitation.difficulty) == ("mixed", "hard")
    assert (invitation.question_count, invitation.time_limit_seconds, invitation.feedback_mode) == (7, 120, "end")
    remaining = invitation.expires_at - timezone.now()
    assert timedelta(days=2) - timedelta(minutes=1) < remaining <= timedelta(days=2)


def test_each_run_makes_a_new_invitation_and_token() -> None:
    first = json.loads(create("--json"))
    second = json.loads(create("--json"))
    assert first["token"] != second["token"] and first["invitation_id"] != second["invitation_id"]


@pytest.mark.parametrize("count", ["0", "21", "-3"])
def test_invalid_question_count_is_command_error(count: str) -> None:
    with pytest.raises(CommandError, match="question_count"):
        create("--questions", count)
    assert InterviewInvitation.objects.count() == 0


def test_non_numeric_question_count_is_command_error() -> None:
    with pytest.raises(CommandError):
        create("--questions", "many")


def test_too_short_time_limit_is_command_error() -> None:
    with pytest.raises(CommandError, match="time_limit_seconds"):
        create("--time-limit", "5")


def test_unknown_choice_is_command_error() -> None:
    with pytest.raises(CommandError):
        create("--type", "trivia")


def test_missing_required_option_is_command_error() -> None:
    with pytest.raises(CommandError):
        call_command("create_interview", "--candidate-name", "Ada", stdout=StringIO())


# --- `manage.py check` -------------------------------------------------------------------------------


def provider_errors() -> list[Any]:
    return [m for m in checks.run_checks() if m.id == "interviews.E001"]


def test_default_settings_pass_the_provider_check() -> None:
    assert provider_errors() == []


def test_unimportable_backend_is_reported() -> None:
    with override_settings(AI_PROVIDERS={"default": {"BACKEND": "ai_service.providers.nope.Missing"}}):
        errors = provider_errors()
    assert len(errors) == 1
    assert isinstance(errors[0], checks.Error)
    assert "ai_service.providers.nope.Missing" in errors[0].msg


@pytest.mark.parametrize(
    "providers",
    [
        {"default": {"BACKEND": "notadottedpath"}},
        {"default": {"BACKEND": "builtins.dict"}},  # importable, not a provider
        {"default": {}},  # no BACKEND
        {"embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider"}},  # no default
        {
            "default": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider", "FALLBACK": "missing"},
        },
    ],
    ids=["not-dotted", "not-a-provider", "no-backend", "no-default", "unknown-fallback"],
)
def test_misconfigured_providers_are_reported(providers: dict[str, Any]) -> None:
    with override_settings(AI_PROVIDERS=providers):
        errors = provider_errors()
    assert errors, providers
    assert all(isinstance(e, checks.Error) and e.msg for e in errors)


def test_check_command_fails_on_a_bad_provider() -> None:
    with (
        override_settings(AI_PROVIDERS={"default": {"BACKEND": "ai_service.providers.nope.Missing"}}),
        pytest.raises(Exception, match=r"interviews\.E001"),
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())


# --- staff users, roles, job teams; create_interview's owner, job and link base --------------------


def staff(*args: str) -> str:
    out = StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def test_staff_users_get_one_role_each_and_lose_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.contrib.auth import get_user_model

    from interview_rt.interviews.access import role_of

    monkeypatch.setenv("NEW_STAFF_PASSWORD", "a-long-password-1")
    staff("add", "rita", "--role", "recruiter", "--password-env", "NEW_STAFF_PASSWORD")
    rita = get_user_model().objects.get(username="rita")
    assert rita.is_staff and rita.check_password("a-long-password-1") and str(role_of(rita)) == "recruiter"
    staff("role", "rita", "--role", "reviewer")
    rita.refresh_from_db()
    assert str(role_of(rita)) == "reviewer" and rita.groups.count() == 1
    assert "rita\treviewer" in staff("list")
    staff("remove", "rita")
    rita.refresh_from_db()
    assert role_of(rita) is None and not rita.is_staff
    with pytest.raises(CommandError, match="exists"):
        staff("add", "rita", "--role", "admin")
    with pytest.raises(CommandError, match="No user named"):
        staff("role", "nobody", "--role", "admin")
    with pytest.raises(CommandError, match="empty or unset"):
        staff("add", "ron", "--role", "reviewer", "--password-env", "UNSET_VARIABLE_FOR_TEST")


def test_a_recruiter_owns_the_jobs_it_invites_to_and_a_team_shares_them() -> None:
    from django.contrib.auth import get_user_model

    from interview_rt.interviews.access import visible_jobs

    staff("add", "owner1", "--role", "recruiter")
    staff("add", "rev1", "--role", "reviewer")
    data = json.loads(create("--json", "--owner", "owner1"))
    users = {u.username: u for u in get_user_model().objects.all()}
    assert [j.pk for j in visible_jobs(users["owner1"])] == [data["job_id"]]
    assert not visible_jobs(users["rev1"]).exists()
    assert "team=rev1" in staff("job", str(data["job_id"]), "--add", "rev1")
    assert [j.pk for j in visible_jobs(users["rev1"])] == [data["job_id"]]
    second = json.loads(create("--json", "--job", str(data["job_id"])))
    assert second["job_id"] == data["job_id"]
    staff("job", str(data["job_id"]), "--drop", "rev1")
    assert not visible_jobs(users["rev1"]).exists()
    with pytest.raises(CommandError, match="no job"):
        create("--job", "987654")
    with pytest.raises(CommandError, match="no user named"):
        create("--owner", "nobody")


def test_the_link_says_where_its_base_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTEND_URL", raising=False)
    out, err = StringIO(), StringIO()
    call_command("create_interview", *REQUIRED, stdout=out, stderr=err)
    assert "FRONTEND_URL's default" in err.getvalue()
    out, err = StringIO(), StringIO()
    call_command("create_interview", *REQUIRED, "--base-url", "https://jobs.example.com/i/", stdout=out, stderr=err)
    assert "Interview link: https://jobs.example.com/i/" in out.getvalue() and err.getvalue() == ""
