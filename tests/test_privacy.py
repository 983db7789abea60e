"""Privacy: erasing a candidate everywhere (a database dump afterwards holds nothing of them) while
aggregates keep counting them; retention purges; the optional self-reported group."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from interview_rt.delivery import webhooks
from interview_rt.delivery.models import WebhookDelivery, WebhookEndpoint
from interview_rt.interviews import links
from interview_rt.interviews.models import (
    AIInterviewResponse,
    AIInterviewSession,
    AuditEvent,
    Candidate,
    InterviewInvitation,
    SessionFrame,
)
from interview_rt.review import reports, reviews
from interview_rt.review.models import ErasedSession

from .trust_helpers import answers_of, interview, staff_client, staff_user

ERASE = "/api/ai-interview/erasures/"
SECRET_ANSWER = "my answer mentions my employer Initech and my street"


def dump() -> str:
    out = StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


@pytest.fixture
def people(settings: Any) -> dict[str, Any]:
    settings.ANALYTICS_BOOTSTRAP_RESAMPLES = 50
    reviewer = staff_user("alice")
    WebhookEndpoint.objects.create(name="ats", url="http://127.0.0.1:9/hooks")
    ada1 = interview([4.0, 6.0], answers=[SECRET_ANSWER, "second"], group="group-a", minutes=5)
    ada2 = interview([7.0], email="ADA@example.com", answered=0)  # a second invitation, not answered
    grace = interview([8.0], name="Grace Hopper", email="grace@example.com")
    review = reviews.answer_review(response_id=answers_of(ada1)[0].pk, reviewer=reviewer, score=6, note="Ada is sharp")
    webhooks.webhook_deliver_due()  # the completion deliveries fail (nothing listens) and stay queued
    LogEntry.objects.log_actions(
        user_id=reviewer.pk,
        queryset=Candidate.objects.filter(pk=ada1.invitation.candidate_id),
        action_flag=ADDITION,
    )
    return {"ada1": ada1, "ada2": ada2, "grace": grace, "review": review, "reviewer": reviewer}


@pytest.mark.django_db
def test_erasure_removes_the_candidate_everywhere_and_keeps_aggregates(people: dict[str, Any]) -> None:
    before = reports.analytics_overview(reports.Filters())
    assert "Ada Lovelace" in dump() and SECRET_ANSWER in dump()
    client, _ = staff_client("dpo")
    ada_id = people["ada1"].invitation.candidate_id
    body = client.post(ERASE, {"candidate_id": ada_id, "reference": "DSR-17"}, content_type="application/json")
    assert body.status_code == 200, body.content
    report = body.json()
    assert report["candidates"] == 2 and report["sessions"] == 2 and report["answers"] == 2
    assert report["reviews"] == 1 and report["frames"] > 0 and report["admin_log_entries"] == 1
    assert report["webhook_deliveries_redacted"] == 2  # interview.completed and answer.reviewed
    assert report["anonymised_sessions"] == 2 and not report["dry_run"]
    # Nothing of Ada is left anywhere in the database, frame log and admin log included.
    everything = dump()
    for secret in ("Ada Lovelace", "ada@example.com", "ADA@example.com", SECRET_ANSWER, "Ada is sharp"):
        assert secret not in everything, secret
    assert not Candidate.objects.filter(email__iexact="ada@example.com").exists()
    assert not SessionFrame.objects.filter(session_id__in=[people["ada1"].pk, people["ada2"].pk]).exists()
    assert set(WebhookDelivery.objects.filter(payload={"redacted": True}).values_list("status", flat=True)) == {
        "cancelled"
    }
    # Grace is untouched.
    assert AIInterviewSession.objects.filter(pk=people["grace"].pk).exists()
    assert WebhookDelivery.objects.filter(candidate__email="grace@example.com", status="pending").count() == 1
    # The aggregates still count Ada's sessions, from anonymised records.
    after = reports.analytics_overview(reports.Filters())
    assert after["funnel"] == before["funnel"]
    assert after["agreement"]["overall"]["n"] == before["agreement"]["overall"]["n"] == 1
    assert after["competencies"] == before["competencies"]
    assert after["erased_sessions_included"] == 2
    erased = ErasedSession.objects.get(status="completed")
    assert (erased.overall_score, erased.demographic_group, erased.month.day) == (5.0, "group-a", 1)
    assert erased.answers[0] == {"competency": "databases", "ai_score": 4.0, "human_score": 6, "reviewer": "alice"}
    # The audit log says it happened, with ids and counts only.
    event = AuditEvent.objects.get(action="candidate_erased")
    assert event.actor_name == "dpo" and event.details["reference"] == "DSR-17"
    assert "ada" not in json.dumps(event.details).lower()


@pytest.mark.django_db
def test_erasure_by_email_dry_run_and_refusals(people: dict[str, Any]) -> None:
    client, _ = staff_client("dpo")

    def erase(body: Any, status: int) -> dict[str, Any]:
        response = client.post(ERASE, body, content_type="application/json")
        assert response.status_code == status, response.content
        return response.json()

    dry = erase({"email": "Ada@Example.com", "dry_run": True}, 200)
    assert dry["dry_run"] and dry["candidates"] == 2
    assert Candidate.objects.filter(email__iexact="ada@example.com").count() == 2
    assert not AuditEvent.objects.filter(action="candidate_erased").exists()
    assert erase({"email": "nobody@example.com"}, 404)["code"] == "not_found"
    assert erase({"candidate_id": 999999}, 404)["code"] == "not_found"
    assert erase({}, 400)["code"] == "invalid_field"
    assert erase({"email": "grace@example.com", "candidate_id": 1}, 400)["code"] == "invalid_field"
    assert erase({"email": "grace@example.com"}, 200)["candidates"] == 1
    assert not Candidate.objects.filter(email="grace@example.com").exists()
    assert Client().post(ERASE, {"email": "ada@example.com"}, content_type="application/json").status_code in (
        401,
        403,
    )


# --- retention ---------------------------------------------------------------------------------------


def age(session: AIInterviewSession, days: int) -> None:
    """Move a session, its invitation and its candidate `days` into the past."""
    then = timezone.now() - timedelta(days=days)
    AIInterviewSession.objects.filter(pk=session.pk).update(
        created_at=then, last_activity_at=then, started_at=then, completed_at=then
    )
    InterviewInvitation.objects.filter(pk=session.invitation_id).update(created_at=then, expires_at=then)
    Candidate.objects.filter(pk=session.invitation.candidate_id).update(created_at=then)


@pytest.mark.django_db
def test_purge_erases_inactive_candidates_with_a_dry_run_first(settings: Any) -> None:
    old = interview([5.0], name="Old Timer", email="old@example.com")
    recent = interview([6.0], email="new@example.com")
    still_open = interview([6.0], name="Slow Starter", email="slow@example.com", answered=0)
    age(old, 200)
    age(still_open, 200)
    InterviewInvitation.objects.filter(pk=still_open.invitation_id).update(
        expires_at=timezone.now() + timedelta(days=3)  # its link still works: keep it
    )
    out = StringIO()
    call_command("purge", "--older-than", "180d", "--dry-run", stdout=out)
    assert "1 candidates inactive since" in out.getvalue() and "dry run" in out.getvalue()
    assert Candidate.objects.count() == 3
    out, err = StringIO(), StringIO()
    call_command("purge", "--older-than", "180d", stdout=out, stderr=err)
    assert "erased: candidates 1" in out.getvalue()
    assert "purging" in err.getvalue()  # the progress bar
    assert set(Candidate.objects.values_list("email", flat=True)) == {"new@example.com", "slow@example.com"}
    assert ErasedSession.objects.count() == 1
    assert AuditEvent.objects.filter(action="data_purged").count() == 1
    assert AIInterviewSession.objects.filter(pk=recent.pk).exists()
    # Run again: nothing left to do.
    out = StringIO()
    call_command("purge", "--older-than", "180d", stdout=out)
    assert "erased: candidates 0" in out.getvalue()


@pytest.mark.django_db
def test_purge_uses_the_retention_setting_and_old_deliveries_go(settings: Any) -> None:
    WebhookEndpoint.objects.create(name="ats", url="http://127.0.0.1:9/")
    old = interview([5.0], email="old@example.com")
    age(old, 40)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=40))
    settings.INTERVIEW_RETENTION_DAYS = 0
    out = StringIO()
    call_command("purge", stdout=out)
    assert "nothing is purged" in out.getvalue() and Candidate.objects.count() == 1
    settings.INTERVIEW_RETENTION_DAYS = 30
    call_command("purge", "--no-progress", stdout=StringIO())
    assert not Candidate.objects.exists() and not WebhookDelivery.objects.exists()
    with pytest.raises(CommandError):
        call_command("purge", "--older-than", "six months")


# --- the self-reported group --------------------------------------------------------------------------


def demographics(client: Client, token: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    url = f"/api/interviews/access/{token}/demographics/"
    if body is None:
        response = client.get(url)
    else:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.django_db(transaction=True)
def test_the_candidate_reports_a_group_with_consent_and_can_withdraw(settings: Any) -> None:
    session = interview([5.0], answered=0)
    token = links.make_token(session.invitation)
    client = Client()
    assert demographics(client, token) == (200, {"group": None, "consented": False, "options": []})
    assert demographics(client, token, {"consent": True, "group": " Group A "}) == (
        200,
        {"group": "Group A", "consented": True, "options": []},
    )
    candidate = Candidate.objects.get(pk=session.invitation.candidate_id)
    assert candidate.demographic_group == "Group A" and candidate.demographic_consent_at is not None
    assert demographics(client, token)[1]["group"] == "Group A"
    # Withdrawn: nothing kept.
    assert demographics(client, token, {"consent": False, "group": "Group A"})[1]["group"] is None
    candidate.refresh_from_db()
    assert candidate.demographic_group is None and candidate.demographic_consent_at is None
    # Never in staff results or exports.
    demographics(client, token, {"consent": True, "group": "Group A"})
    staff, _ = staff_client()
    assert "Group A" not in staff.get(f"/api/ai-interview/sessions/{session.pk}/results/").content.decode()
    assert "Group A" not in b"".join(staff.get("/api/ai-interview/exports/sessions.csv").streaming_content).decode()


@pytest.mark.django_db(transaction=True)
def test_demographics_refusals(settings: Any) -> None:
    session = interview([5.0], answered=0)
    token = links.make_token(session.invitation)
    client = Client()
    for body, field in (
        ({"group": "x"}, "consent"),
        ({"consent": "yes", "group": "x"}, "consent"),
        ({"consent": True, "group": 3}, "group"),
        ({"consent": True, "group": "x" * 65}, "group"),
        ({"consent": True, "group": ""}, "group"),
    ):
        status, data = demographics(client, token, body)
        assert (status, data["code"], data.get("field")) == (400, "invalid_field", field), body
    settings.INTERVIEW_DEMOGRAPHIC_GROUPS = ["Group A", "Group B"]
    status, data = demographics(client, token, {"consent": True, "group": "Group C"})
    assert (status, data["field"]) == (400, "group")
    assert demographics(client, token)[1]["options"] == ["Group A", "Group B"]
    assert demographics(client, "forged")[1]["code"] == "link_invalid"
    response = client.put(f"/api/interviews/access/{token}/demographics/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert Candidate.objects.get().demographic_group is None


@pytest.mark.django_db
def test_adverse_impact_table_hides_small_groups(settings: Any) -> None:
    settings.ANALYTICS_BOOTSTRAP_RESAMPLES = 10
    for i in range(5):  # group A: 3 of 5 selected (score 8: hire)
        interview([8.0 if i < 3 else 2.0], email=f"a{i}@example.com", group="A")
    for i in range(5):  # group B: 1 of 5
        interview([8.0 if i < 1 else 2.0], email=f"b{i}@example.com", group="B")
    for i in range(2):  # group C: too small to show
        interview([8.0], email=f"c{i}@example.com", group="C")
    interview([8.0], email="n@example.com")  # no group reported
    client, _ = staff_client()
    table = client.get("/api/ai-interview/analytics/").json()["jobs"][0]["adverse_impact"]
    assert [g["group"] for g in table["groups"]] == ["A", "B"]
    assert table["suppressed_groups"] == 1 and table["reference_group"] == "A"
    b = table["groups"][1]
    assert (b["selection_rate"], b["impact_ratio"], b["below_four_fifths"]) == (
        0.2,
        pytest.approx(1 / 3, abs=1e-4),
        True,
    )
    page = client.get("/staff/analytics/").content.decode()
    assert "below four-fifths" in page and ">C<" not in page


@pytest.mark.django_db
def test_answers_of_erased_candidates_stop_being_graded_examples(people: dict[str, Any]) -> None:
    from interview_rt.privacy import services as privacy
    from interview_rt.review import selectors

    question = AIInterviewResponse.objects.get(pk=people["review"].response_id).question.text
    assert selectors.graded_examples_for(question)
    privacy.candidate_erase(email="ada@example.com")
    assert selectors.graded_examples_for(question) == []
    assert ContentType.objects.exists()  # contenttypes untouched
