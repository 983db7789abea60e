"""Human review of answers (REST), graded examples for the grader, team calibration and re-grading
with history kept."""

from __future__ import annotations

import importlib
import json
import sys
import types
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from ai_service.types import Evaluation, Leniency, Provenance
from interview_rt.interviews import services
from interview_rt.interviews.models import AIInterviewResult, AuditEvent
from interview_rt.review import reviews, selectors
from interview_rt.review.models import AnswerReview, Calibration, ScoreRevision

from .trust_helpers import QUESTION, answers_of, interview, staff_client, staff_user

pytestmark = pytest.mark.django_db

REVIEW = "/api/ai-interview/answers/{id}/review/"
EXAMPLES = "/api/ai-interview/questions/{id}/graded-examples/"
CALIBRATIONS = "/api/ai-interview/calibrations/"
ACTIVATE = "/api/ai-interview/calibrations/activate/"
REGRADE = "/api/ai-interview/calibrations/regrade/"


def post(client: Client, url: str, body: Any, status: int) -> dict[str, Any]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


# --- review -----------------------------------------------------------------------------------------


def test_a_review_keeps_the_ai_score_beside_it_and_history() -> None:
    session = interview([4.0])
    answer = answers_of(session)[0]
    client, _ = staff_client()
    first = post(client, REVIEW.format(id=answer.pk), {"score": 7, "note": "solid, misses B-trees"}, 201)
    assert first["ai_score"] == 4.0
    assert first["review"]["score"] == 7 and first["review"]["note"] == "solid, misses B-trees"
    assert first["review"]["ai_score"] == 4.0 and first["review"]["reviewer"] == "reviewer"
    second = post(client, REVIEW.format(id=answer.pk), {"score": 6.5}, 201)
    assert second["review"]["score"] == 6.5
    assert [r["score"] for r in second["reviews"]] == [6.5, 7]
    assert [r["current"] for r in second["reviews"]] == [True, False]
    answer.refresh_from_db()
    assert answer.score == 4.0  # never overwritten by a review
    got = client.get(REVIEW.format(id=answer.pk)).json()
    assert got == second
    audits = AuditEvent.objects.filter(action="answer_reviewed")
    assert audits.count() == 2
    assert audits[0].details["score"] == 6.5 and audits[0].actor_name == "reviewer"


def test_result_detail_shows_each_answers_review() -> None:
    session = interview([4.0, 8.0])
    client, user = staff_client()
    reviews.answer_review(response_id=answers_of(session)[1].pk, reviewer=user, score=9, note="great")
    detail = client.get(f"/api/ai-interview/sessions/{session.pk}/results/").json()
    assert detail["answers"][0]["human_review"] is None
    assert detail["answers"][1]["human_review"]["score"] == 9
    assert detail["answers"][1]["score"] == 8.0 and detail["answers"][1]["raw_score"] == 8.0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"score": 11}, "score"),
        ({"score": "7"}, "score"),
        ({"score": True}, "score"),
        ({}, "score"),
        ({"score": 5, "note": 3}, "note"),
    ],
)
def test_bad_reviews_are_refused_with_a_code(body: dict[str, Any], field: str) -> None:
    answer = answers_of(interview([4.0]))[0]
    client, _ = staff_client()
    data = post(client, REVIEW.format(id=answer.pk), body, 400)
    assert data["code"] == "invalid_field" and field in data["errors"]
    assert not AnswerReview.objects.exists()


def test_review_of_an_unknown_answer_and_without_staff() -> None:
    client, _ = staff_client()
    assert post(client, REVIEW.format(id="00000000-0000-0000-0000-000000000000"), {"score": 5}, 404)["code"] == (
        "not_found"
    )
    assert post(client, REVIEW.format(id="nope"), {"score": 5}, 400)["code"] == "invalid_field"
    answer = answers_of(interview([4.0]))[0]
    assert post(Client(), REVIEW.format(id=answer.pk), {"score": 5}, 401)["code"] in (
        "not_authenticated",
        "permission_denied",
    )


def test_the_service_validates_the_score_too() -> None:
    answer = answers_of(interview([4.0]))[0]
    for bad in (True, -1, 10.5, "5", None):
        with pytest.raises(services.InterviewError) as exc:
            reviews.answer_review(response_id=answer.pk, reviewer=None, score=bad)
        assert exc.value.field == "score"


# --- graded examples -----------------------------------------------------------------------------------


def test_graded_examples_are_the_reviewed_answers_of_the_same_question_anywhere() -> None:
    user = staff_user()
    first = interview([3.0], questions=[QUESTION], answers=["It sorts rows so lookups use a B-tree."])
    other = interview([5.0], questions=["Something else entirely?"])
    later = interview([6.0], questions=[f"  {QUESTION.upper()} "], email="b@example.com")  # same question
    reviewed = answers_of(first)[0]
    reviews.answer_review(response_id=reviewed.pk, reviewer=user, score=8, note="too short")
    review = reviews.answer_review(response_id=reviewed.pk, reviewer=user, score=9, note="good")
    reviews.answer_review(response_id=answers_of(other)[0].pk, reviewer=user, score=2)
    target = answers_of(later)[0]
    examples = selectors.graded_examples_for(target.question)
    assert examples == [
        selectors.GradedExample(
            review_id=review.pk,
            response_id=str(reviewed.pk),
            answer="It sorts rows so lookups use a B-tree.",
            score=9,
            note="good",
            ai_score=3.0,
        )
    ]
    assert selectors.graded_examples_for(QUESTION) == examples  # by text too
    # An answer is never its own example.
    assert selectors.graded_examples_for(reviewed.question, exclude_response_id=reviewed.pk) == []
    client, _ = staff_client("other")
    listed = client.get(EXAMPLES.format(id=target.question_id)).json()
    assert listed == [{**examples[0].__dict__, "response_id": str(reviewed.pk)}]


def test_the_evaluation_job_carries_the_examples_and_the_store_keeps_their_ids() -> None:
    user = staff_user()
    reviewed = answers_of(interview([3.0], questions=[QUESTION]))[0]
    review = reviews.answer_review(response_id=reviewed.pk, reviewer=user, score=9)
    session = interview([6.0], questions=[QUESTION], email="c@example.com", leave_last_pending=True)
    response = answers_of(session)[0]
    job = services.evaluation_claim(response_id=response.pk)
    assert job is not None and [e.review_id for e in job.graded_examples] == [review.pk]
    assert job.graded_examples[0].score == 9 and job.graded_examples[0].ai_score == 3.0
    services.evaluation_store(
        response_id=response.pk,
        evaluation=Evaluation(score=6.0, feedback="ok"),
        graded_example_ids=[e.review_id for e in job.graded_examples],
    )
    response.refresh_from_db()
    assert response.graded_examples == [review.pk]


# --- calibration -----------------------------------------------------------------------------------------


def reviewed_pairs(pairs: list[tuple[float, float]]) -> Any:
    user = staff_user()
    session = interview([ai for ai, _ in pairs])
    for answer, (_, human) in zip(answers_of(session), pairs, strict=True):
        reviews.answer_review(response_id=answer.pk, reviewer=user, score=human)
    return user, session


def test_refit_learns_the_teams_leniency_and_new_grades_use_it(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 4
    # The project's own isotonic fit (the default is the grader's, which shrinks toward identity
    # on few reviews).
    settings.CALIBRATION_FIT = "interview_rt.review.analytics.isotonic_fit"
    user, _ = reviewed_pairs([(2, 4), (4, 6), (5, 7), (6, 8)])  # reviewers are 2 points kinder
    calibration = reviews.calibration_refit(actor=user)
    assert calibration.version == 1 and calibration.active and calibration.pair_count == 4
    assert calibration.summary["mean_bias_before"] == -2 and calibration.summary["mean_bias_after"] == 0
    assert calibration.fit_name.endswith("isotonic_fit")
    new = answers_of(interview([5.0], email="new@example.com"))[0]
    assert (new.raw_score, new.score, new.calibration_version) == (5.0, 7.0, 1)
    assert AuditEvent.objects.filter(action="calibration_fitted", target_id="1").exists()


def test_refit_needs_enough_reviews(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 5
    reviewed_pairs([(2, 4), (4, 6)])
    client, _ = staff_client("boss")
    assert post(client, CALIBRATIONS, {}, 409)["code"] == "not_enough_reviews"
    assert not Calibration.objects.exists()


def test_refit_takes_any_fit_callable() -> None:
    user, _ = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    seen: list[tuple[list[float], list[float]]] = []

    def fit(ai: Any, human: Any) -> Any:
        seen.append((list(ai), list(human)))
        return lambda score: score + 1.0

    calibration = reviews.calibration_refit(fit=fit, fit_name="grading.leniency", actor=user, min_pairs=3)
    assert seen == [([2, 4, 6], [4, 6, 8])]
    assert calibration.fit_name == "grading.leniency"
    assert len(calibration.mapping["knots"]) == 101 and calibration.leniency.apply(5) == 6

    with pytest.raises(ValueError, match=r"unusable mapping: .*non-decreasing"):
        reviews.calibration_refit(fit=lambda a, h: {"knots": [[0, 9], [10, 1]]}, min_pairs=1)
    with pytest.raises(ValueError, match="unusable mapping"):  # the old table form is not read
        reviews.calibration_refit(fit=lambda a, h: {"kind": "piecewise_linear", "x": [0, 10], "y": [1, 9]}, min_pairs=1)


def test_regrade_applies_a_new_calibration_and_keeps_history(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 3
    settings.CALIBRATION_FIT = "interview_rt.review.analytics.isotonic_fit"
    user, session = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    before = AIInterviewResult.objects.get(session=session)
    assert before.overall_score == 4.0
    reviews.calibration_refit(actor=user)
    report = reviews.answers_regrade(actor=user)
    assert (report.sessions, report.answers_changed, report.results_changed) == (1, 3, 1)
    assert [a.score for a in answers_of(session)] == [4, 6, 8]
    assert [a.raw_score for a in answers_of(session)] == [2, 4, 6]
    result = AIInterviewResult.objects.get(session=session)
    assert result.overall_score == 6.0
    history = ScoreRevision.objects.filter(session=session)
    assert sorted(float(r.score) for r in history.filter(kind="answer")) == [2, 4, 6]
    first = history.filter(kind="answer").order_by("score")[0]
    assert first.provenance["calibration_version"] is None and first.provenance["provider"] == "test"
    assert first.reason == "calibration v1"
    assert history.get(kind="result").score == 4.0
    # The reviews still show the AI score the reviewer saw.
    assert sorted(float(r.ai_score) for r in AnswerReview.objects.all()) == [2, 4, 6]
    # Nothing to change the second time.
    again = reviews.answers_regrade()
    assert again.answers_changed == 0 and ScoreRevision.objects.count() == 4
    # Removing the calibration brings the raw scores back, and history grows.
    reviews.calibration_activate(version=None, actor=user)
    back = reviews.answers_regrade(actor=user)
    assert back.answers_changed == 3 and [a.score for a in answers_of(session)] == [2, 4, 6]
    assert ScoreRevision.objects.filter(kind="answer").count() == 6
    assert AuditEvent.objects.filter(action="answers_regraded").count() == 3


def test_regrade_with_a_custom_rescorer_records_its_provenance() -> None:
    session = interview([5.0, None])
    report = reviews.answers_regrade(
        rescore=lambda item: reviews.Rescored(
            score=item.raw_score + 1, raw_score=item.raw_score + 0.5, graded_example_ids=(42,)
        ),
        reason="grader v2",
    )
    assert report.answers_seen == 1 and report.answers_changed == 1
    graded = answers_of(session)[0]
    assert (graded.score, graded.raw_score, graded.graded_examples) == (6.0, 5.5, [42])
    assert ScoreRevision.objects.get(response=graded).reason == "grader v2"


def test_calibration_endpoints(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 3
    _, session = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    client, _ = staff_client("lead")
    made = post(client, CALIBRATIONS, {"regrade": True}, 201)
    assert made["calibration"]["version"] == 1 and made["calibration"]["active"]
    assert made["regrade"]["answers_changed"] == 3
    second = post(client, CALIBRATIONS, {"activate": False}, 201)
    assert second["calibration"]["version"] == 2 and not second["calibration"]["active"]
    assert second["regrade"] is None
    listed = client.get(CALIBRATIONS).json()
    assert [(c["version"], c["active"]) for c in listed] == [(2, False), (1, True)]
    off = post(client, ACTIVATE, {"version": None}, 200)
    assert off["calibration"] is None and off["regrade"]["answers_changed"] == 3
    assert post(client, ACTIVATE, {"version": 9}, 404)["code"] == "not_found"
    assert post(client, ACTIVATE, {}, 400)["code"] == "invalid_field"
    on = post(client, ACTIVATE, {"version": 1, "regrade": False}, 200)
    assert on["calibration"]["active"] and on["regrade"] is None
    assert post(client, REGRADE, {}, 200)["answers_changed"] == 3
    assert [a.calibration_version for a in answers_of(session)] == [1, 1, 1]


def test_calibrate_command(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 3
    reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    out = StringIO()
    call_command("calibrate", "--regrade", "--no-progress", stdout=out)
    assert "calibration v1 (active), 3 pairs" in out.getvalue()
    assert "3 answer scores and 1 results changed" in out.getvalue()
    out = StringIO()
    call_command("calibrate", "--fit", "interview_rt.review.analytics.isotonic_fit", "--no-activate", stdout=out)
    assert "calibration v2 (inactive)" in out.getvalue() and "re-graded" not in out.getvalue()
    out = StringIO()
    call_command("calibrate", "--regrade-only", "--no-progress", stdout=out)
    assert "0 answer scores" in out.getvalue()
    with pytest.raises(CommandError, match="not_enough_reviews"):
        call_command("calibrate", "--min-pairs", "50")
    with pytest.raises(CommandError, match="--fit"):
        call_command("calibrate", "--fit", "no.such.fit")


def plus_one(ai: Any, human: Any) -> Any:
    return lambda score: score + 1.0


def test_the_default_fit_is_a_setting(settings: Any) -> None:
    settings.CALIBRATION_FIT = "tests.test_reviews.plus_one"
    user, _ = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    calibration = reviews.calibration_refit(actor=user, min_pairs=3)
    assert calibration.fit_name == "tests.test_reviews.plus_one"
    new = answers_of(interview([5.0], email="new@example.com"))[0]
    assert (new.raw_score, new.score) == (5.0, 6.0)


@pytest.mark.parametrize(
    "model",
    [
        "review/answerreview",
        "review/calibration",
        "review/scorerevision",
        "interviews/auditevent",
        "review/erasedsession",
        "delivery/webhookendpoint",
    ],
)
def test_admin_lists_the_trust_models(model: str, settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 1
    user, _ = reviewed_pairs([(2, 4)])
    reviews.calibration_refit(actor=user)
    reviews.answers_regrade(actor=user)
    client, _ = staff_client("admin")
    assert client.get(f"/admin/{model}/").status_code == 200
    # History and logs are read-only.
    if model != "delivery/webhookendpoint":
        assert client.get(f"/admin/{model}/add/").status_code == 403


def test_ai_service_leniency_fit_is_wired_by_dotted_path(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for ai_service.grading.leniency (the grading engineer's fit_leniency(pairs) -> Leniency).
    seen: list[Any] = []

    fitted = Leniency(knots=((0, 2), (10, 10)), grader_version="g1", pairs=3)

    def fit_leniency(pairs: Any) -> Leniency:
        seen.append(pairs)
        return fitted

    monkeypatch.setitem(sys.modules, "ai_service.grading.leniency", types.SimpleNamespace(fit_leniency=fit_leniency))
    settings.CALIBRATION_FIT = "interview_rt.review.reviews.grading_leniency_fit"
    user, _ = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    calibration = reviews.calibration_refit(actor=user, min_pairs=3)
    assert seen == [[(2, 4), (4, 6), (6, 8)]]
    assert calibration.mapping["knots"] == [[0, 2], [10, 10]]
    assert calibration.summary["leniency_version"] == fitted.version
    new = answers_of(interview([5.0], email="new@example.com"))[0]
    assert (new.raw_score, new.score, new.calibration_version) == (5.0, 6.0, calibration.version)


def test_a_provider_that_applies_the_calibration_itself(settings: Any) -> None:
    settings.CALIBRATION_MIN_PAIRS = 3
    user, _ = reviewed_pairs([(2, 4), (4, 6), (6, 8)])
    calibration = reviews.calibration_refit(actor=user)
    session = interview([6.1], email="p@example.com", leave_last_pending=True)
    response = answers_of(session)[0]
    job = services.evaluation_claim(response_id=response.pk)
    assert job is not None and job.calibration is not None and job.calibration.version == calibration.version
    # The worker gave the provider the calibration (and examples); it reports its zero-shot score.
    services.evaluation_store(
        response_id=response.pk,
        evaluation=Evaluation(
            score=6.1,
            feedback="ok",
            provenance=Provenance(provider="p", details={"calibration": {"zero_shot_score": 4.2}}),
        ),
        calibration_applied=job.calibration.version,
    )
    response.refresh_from_db()
    assert (response.score, response.raw_score, response.calibration_version) == (6.1, 4.2, calibration.version)
    assert response.evaluation_details["calibrated_by"] == "provider"
    # Re-applying the mapping would drop what the provider did with the examples: left alone.
    report = reviews.answers_regrade()
    assert report.answers_skipped == 1
    response.refresh_from_db()
    assert response.score == 6.1 and not ScoreRevision.objects.filter(response=response).exists()


def test_an_unreadable_calibration_row_grades_uncalibrated(caplog: pytest.LogCaptureFixture) -> None:
    # Only calibration_refit writes mappings, checked; a row edited by hand must not stop grading.
    falling = {"knots": [[0, 9], [10, 1]]}
    Calibration.objects.create(version=1, mapping=falling, fit_name="hand", pair_count=0, active=True)
    assert selectors.active_calibration() is None
    assert "unreadable mapping" in caplog.text
    new = answers_of(interview([5.0], email="new@example.com"))[0]
    assert (new.raw_score, new.score, new.calibration_version) == (5.0, 5.0, None)


def test_the_migration_turns_old_tables_into_knots_that_score_alike() -> None:
    from django.apps import apps

    migration = importlib.import_module("interview_rt.review.migrations.0002_calibration_mapping_as_leniency")
    old = {"kind": "piecewise_linear", "x": [3, 5, 7], "y": [4.5, 5, 9]}
    Calibration.objects.create(version=1, mapping=old, fit_name="isotonic", pair_count=9)
    kept = {"knots": [[0, 1], [10, 10]]}
    Calibration.objects.create(version=2, mapping=kept, fit_name="grading", pair_count=9)
    migration.forwards(apps, None)
    converted = Calibration.objects.get(version=1)
    leniency = Leniency.from_json(converted.mapping)  # its version matches its knots
    assert leniency.pairs == 9
    for score in (0, 0.4, 1.5, 3, 4, 5, 6.2, 7, 7.5, 8, 9.9, 10):
        # What the old table gave: interpolated inside, slope 1 beyond its ends, clipped to 0-10.
        if score < 3:
            want = 4.5 - (3 - score)
        elif score > 7:
            want = 9 + (score - 7)
        else:
            want = float(np.interp(score, old["x"], old["y"]))
        assert round(leniency.apply(score), 2) == round(min(10, max(0, want)), 2)
    assert Calibration.objects.get(version=2).mapping == kept
