"""Interviews driven through the real services, synchronously and without a provider: each answer
is graded with a given score, so review, analytics, export and privacy tests start from known
numbers in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from ai_service.types import Evaluation, GeneratedQuestion, Provenance
from interview_rt.interviews import links, services
from interview_rt.interviews.models import AIInterviewQuestion, AIInterviewResponse, AIInterviewSession, Candidate

QUESTION = "Explain how a database index speeds up a query."


def interview(
    scores: Sequence[float | None],
    *,
    job_title: str = "Backend Engineer",
    questions: Sequence[str] | None = None,
    competencies: Sequence[str] | None = None,
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    answers: Sequence[str] | None = None,
    group: str | None = None,
    minutes: float | None = None,
    leave_last_pending: bool = False,
    answered: int | None = None,
) -> AIInterviewSession:
    """A session whose answers got `scores` from the grader (all answered: completed). A
    None score is insufficient evidence; `leave_last_pending` leaves the last answer ungraded;
    `answered` stops after that many answers (the session stays in progress)."""
    invitation = services.invitation_create(
        candidate_name=name, candidate_email=email, job_title=job_title, question_count=len(scores)
    )
    if group is not None:
        Candidate.objects.filter(pk=invitation.candidate_id).update(
            demographic_group=group, demographic_consent_at=timezone.now()
        )
    session = services.session_open(token=links.make_token(invitation)).session
    texts = list(questions or [f"{QUESTION} ({i})" for i in range(len(scores))])
    generated = [
        GeneratedQuestion(
            text=texts[i],
            question_type="technical",
            competency=(competencies[i] if competencies else "databases"),
            difficulty="medium",
            reference_answer="A B-tree index lets the database find rows without a full scan.",
            key_points=("b-tree", "avoids a full scan"),
        )
        for i in range(len(scores))
    ]
    services.questions_store(session_id=session.pk, questions=generated, provenance={"provider": "test"})
    services.session_start(session_id=session.pk)
    for i, score in enumerate(scores[:answered]):
        question = AIInterviewQuestion.objects.get(session=session, order=i)
        text = answers[i] if answers else f"An index is a sorted structure, answer {i}."
        receipt = services.answer_submit(session_id=session.pk, client_id=f"c{i}", question_id=question.pk, text=text)
        if not (leave_last_pending and i == len(scores) - 1):
            grade(receipt.response_id, score)
    session.refresh_from_db()
    if minutes is not None:
        assert session.started_at is not None
        AIInterviewSession.objects.filter(pk=session.pk).update(
            completed_at=session.started_at + timedelta(minutes=minutes)
        )
        session.refresh_from_db()
    return session


def grade(response_id: Any, score: float | None) -> None:
    assert services.evaluation_claim(response_id=response_id) is not None
    services.evaluation_store(
        response_id=response_id,
        evaluation=Evaluation(
            score=score,
            feedback="graded",
            insufficient_evidence=score is None,
            provenance=Provenance(provider="test", model_name="fixed", rubric_version="r1"),
        ),
    )


def answers_of(session: AIInterviewSession) -> list[AIInterviewResponse]:
    return list(AIInterviewResponse.objects.filter(session=session).order_by("question__order"))


def staff_user(username: str = "reviewer") -> Any:
    return get_user_model().objects.create_superuser(username=username, email=f"{username}@example.com", password="x")


def staff_client(username: str = "reviewer") -> tuple[Client, Any]:
    user = staff_user(username)
    client = Client()
    client.force_login(user)
    return client, user
