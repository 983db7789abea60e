"""Staff analytics (JSON and page), CSV exports and the printable session report, on interviews
with known scores and reviews."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from interview_rt.interviews import services
from interview_rt.interviews.models import AIInterviewSession, AuditEvent
from interview_rt.review import reviews

from .trust_helpers import answers_of, interview, staff_client, staff_user

pytestmark = pytest.mark.django_db

ANALYTICS = "/api/ai-interview/analytics/"
SESSIONS_CSV = "/api/ai-interview/exports/sessions.csv"
ANSWERS_CSV = "/api/ai-interview/exports/answers.csv"


@pytest.fixture
def data(settings: Any) -> dict[str, Any]:
    """Backend: two completed (10 and 20 min), one abandoned; Data: one completed (30 min).
    Reviews: alice on both answers of the first, bob on the Data answer."""
    settings.ANALYTICS_BOOTSTRAP_RESAMPLES = 200
    alice, bob = staff_user("alice"), staff_user("bob")
    first = interview([4.0, 6.0], competencies=["sql", "python"], minutes=10)
    second = interview([8.0, None], competencies=["sql", "python"], minutes=20, email="b@example.com")
    left = interview([5.0, 5.0], competencies=["sql", "python"], answered=1, email="c@example.com")
    services.session_leave(session_id=left.pk)
    other = interview(
        [5.0], job_title="Data Engineer", competencies=["spark"], minutes=30, answers=["=HYPERLINK(evil)"]
    )
    for answer, score in zip(answers_of(first), (6, 7), strict=True):
        reviews.answer_review(response_id=answer.pk, reviewer=alice, score=score, note="alice's note")
    reviews.answer_review(response_id=answers_of(other)[0].pk, reviewer=bob, score=5)
    return {"first": first, "second": second, "left": left, "other": other}


def test_analytics_numbers(data: dict[str, Any]) -> None:
    client, _ = staff_client("lead")
    body = client.get(ANALYTICS).json()
    funnel = body["funnel"]
    assert (funnel["sessions"], funnel["started"], funnel["completed"], funnel["abandoned"]) == (4, 4, 3, 1)
    assert funnel["completion_rate"] == 0.75 and funnel["abandonment_rate"] == 0.25
    assert funnel["median_duration_seconds"] == pytest.approx(1200)
    backend, data_job = body["jobs"]
    assert backend["job"] == "Backend Engineer" and data_job["job"] == "Data Engineer"
    assert backend["funnel"]["completion_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert backend["overall_scores"]["n"] == 2 and backend["overall_scores"]["mean"] == 6.5  # (4+6)/2, and 8
    assert backend["agreement"]["n"] == 2 and data_job["agreement"]["n"] == 1
    overall = body["agreement"]["overall"]
    assert overall["n"] == 3
    assert overall["mean_bias"]["value"] == pytest.approx(-1.0)
    assert overall["mean_bias"]["ci_low"] <= -1.0 <= overall["mean_bias"]["ci_high"]
    assert overall["pearson"]["value"] == pytest.approx(0.5)  # x: -1, 1, 0; y: 0, 1, -1 about the means
    reviewers = {r["reviewer"]: r for r in body["agreement"]["per_reviewer"]}
    assert reviewers["alice"]["n"] == 2 and reviewers["alice"]["mean_bias"]["value"] == -1.5
    assert reviewers["bob"]["n"] == 1 and reviewers["bob"]["mean_bias"]["value"] == 0
    competencies = {c["competency"]: c for c in body["competencies"]}
    assert competencies["sql"]["ai_scores"]["n"] == 3  # 4, 8, 5 (the abandoned session's answer counts)
    assert competencies["python"]["ai_scores"]["n"] == 1  # 6; the None is insufficient evidence
    assert competencies["sql"]["human_scores"]["n"] == 1
    assert body["bootstrap_resamples"] == 200


def test_analytics_filters(data: dict[str, Any]) -> None:
    client, _ = staff_client("lead")
    only = client.get(ANALYTICS, {"job": "Data Engineer"}).json()
    assert [j["job"] for j in only["jobs"]] == ["Data Engineer"] and only["funnel"]["sessions"] == 1
    assert client.get(ANALYTICS, {"since": "2999-01-01"}).json()["funnel"]["sessions"] == 0
    assert client.get(ANALYTICS, {"until": "2999-01-01T00:00:00+00:00"}).json()["funnel"]["sessions"] == 4
    # The document's formats (date, date-time with an offset), empty for no bound; no other ISO forms.
    assert client.get(ANALYTICS, {"since": "", "until": "2999-01-01T00:00:00Z"}).json()["funnel"]["sessions"] == 4
    # An offset that takes the earliest date-time out of range is simply no bound, not a 500.
    assert client.get(ANALYTICS, {"since": "0001-01-01T00:00:00+23:59"}).json()["funnel"]["sessions"] == 4
    for value in ("yesterday", "2999-01-01T00:00:00", "29990101", " 2999-01-01"):
        bad = client.get(ANALYTICS, {"since": value})
        assert bad.status_code == 400 and bad.json() == {
            "code": "invalid_field",
            "message": "since must be an RFC 3339 date or date-time (with an offset)",
            "field": "since",
        }, value
    # An export refuses the same way, as JSON, even when the client asked for CSV.
    refused = client.get(SESSIONS_CSV, {"until": "nope"}, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 400 and refused.json()["field"] == "until", refused.content


def test_analytics_needs_staff(data: dict[str, Any]) -> None:
    assert Client().get(ANALYTICS).json()["code"] in ("not_authenticated", "permission_denied")
    assert Client().get("/staff/analytics/").status_code == 302  # to the admin login


def test_analytics_page_renders_charts_and_tables(data: dict[str, Any]) -> None:
    client, _ = staff_client("lead")
    page = client.get("/staff/analytics/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") >= 6  # scatter, three interval plots, per-job and per-competency histograms
    for text in ("Backend Engineer", "Data Engineer", "reviewer: alice", "four-fifths", "75%"):
        assert text in html, text
    assert client.get("/staff/analytics/", {"job": "Data Engineer"}).status_code == 200
    assert client.get("/staff/analytics/", {"since": "nope"}).status_code == 400


def rows_of(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_exports_one_row_per_session_and_per_answer(data: dict[str, Any]) -> None:
    client, user = staff_client("lead")
    response = client.get(SESSIONS_CSV)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="sessions-')
    sessions = rows_of(response)
    assert len(sessions) == 4
    first = next(r for r in sessions if r["session_id"] == str(data["first"].pk))
    assert (first["candidate_email"], first["status"], first["overall_score"], first["reviewed_answers"]) == (
        "ada@example.com",
        "completed",
        "5.0",
        "2",
    )
    assert float(first["duration_seconds"]) == pytest.approx(600)
    answers = rows_of(client.get(ANSWERS_CSV, HTTP_ACCEPT="text/csv"))
    assert len(answers) == 2 + 2 + 1 + 1
    reviewed = [r for r in answers if r["human_score"]]
    assert sorted(r["human_score"] for r in reviewed) == ["5.0", "6.0", "7.0"]
    assert {r["review_note"] for r in reviewed} == {"alice's note", ""}
    # A formula in an answer stays text in a spreadsheet.
    assert "'=HYPERLINK(evil)" in [r["answer"] for r in answers]
    assert len(rows_of(client.get(ANSWERS_CSV, {"job": "Data Engineer"}))) == 1
    exports = AuditEvent.objects.filter(action="exported", actor=user)
    assert sorted(exports.values_list("target_type", flat=True)) == ["answers", "answers", "sessions"]
    assert exports.filter(details__filters__job="Data Engineer").count() == 1


def test_exports_need_staff(data: dict[str, Any]) -> None:
    response = Client().get(SESSIONS_CSV)
    assert response.status_code in (401, 403) and response.json()["code"] in ("not_authenticated", "permission_denied")
    assert not AuditEvent.objects.filter(action="exported").exists()


def test_printable_report(data: dict[str, Any]) -> None:
    client, _ = staff_client("lead")
    session: AIInterviewSession = data["first"]
    page = client.get(f"/staff/sessions/{session.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Ada Lovelace", "ada@example.com", "@media print", "alice&#x27;s note", "Human score:</b> 6.0"):
        assert text in html, text
    assert AuditEvent.objects.filter(action="exported", target_type="report", target_id=str(session.pk)).exists()
    assert client.get("/staff/sessions/00000000-0000-0000-0000-000000000000/report/").status_code == 404
    assert Client().get(f"/staff/sessions/{session.pk}/report/").status_code == 302


def test_openapi_covers_the_new_endpoints() -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/api/ai-interview/answers/{response_id}/review/",
        "/api/ai-interview/questions/{question_id}/graded-examples/",
        "/api/ai-interview/calibrations/",
        "/api/ai-interview/calibrations/activate/",
        "/api/ai-interview/calibrations/regrade/",
        "/api/ai-interview/analytics/",
        "/api/ai-interview/exports/sessions.csv",
        "/api/ai-interview/exports/answers.csv",
        "/api/ai-interview/erasures/",
        "/api/interviews/access/{token}/demographics/",
    ):
        assert path in paths, path
