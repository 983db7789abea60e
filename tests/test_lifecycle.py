"""What the candidate and staff are told agrees with what the session is: through the services."""

from __future__ import annotations

import pytest

from interview_rt.interviews import rows, services
from interview_rt.interviews.models import AIInterviewQuestion, AIInterviewSession, SessionFrame

from .trust_helpers import grade, interview

pytestmark = pytest.mark.django_db


def first_answer(session: AIInterviewSession) -> str:
    question = AIInterviewQuestion.objects.get(session=session, order=0)
    receipt = services.answer_submit(session_id=session.pk, client_id="c0", question_id=question.pk, text="An index.")
    return str(receipt.response_id)


def frame_types(session: AIInterviewSession) -> list[str]:
    return list(SessionFrame.objects.filter(session=session).order_by("seq").values_list("type", flat=True))


def test_a_revoked_session_gets_its_pending_grade_but_no_next_question() -> None:
    session = interview([7.0, 7.0], answered=0)
    response_id = first_answer(session)
    services.invitation_revoke(invitation_id=session.invitation_id)
    before = frame_types(session)
    grade(response_id, 6.0)
    after = frame_types(session)[len(before) :]
    assert "question.asked" not in after, after
    session.refresh_from_db()
    assert session.current_index == 1 and not AIInterviewQuestion.objects.get(session=session, order=1).asked_at
    assert rows.state_of(session).awaiting.value == "nothing"


def test_an_abandoned_session_awaits_its_candidate_once_the_grade_is_in() -> None:
    session = interview([7.0, 7.0], answered=0)
    response_id = first_answer(session)
    services.session_leave(session_id=session.pk)
    grade(response_id, 6.0)
    session.refresh_from_db()
    assert rows.state_of(session).awaiting.value == "start"
    assert "question.asked" not in frame_types(session)[2:]  # the second question waits for them
    services.session_start(session_id=session.pk)
    session.refresh_from_db()
    assert rows.state_of(session).awaiting.value == "answer"
    assert frame_types(session).count("question.asked") == 2
