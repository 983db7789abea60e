"""The state machine's rules for consent and interviewers' live actions, without Django."""

from __future__ import annotations

import dataclasses

import pytest

from interview_rt.interviews import state
from interview_rt.interviews.state import Awaiting, Status, TransitionError

from .test_state import EXPIRES, NOW, answer, live, make


def test_no_question_before_consent_then_consent_asks_it() -> None:
    s = make(consent_required=True, questions_ready=True)
    s, decision = state.start(s, NOW)
    assert decision.ask_index is None and s.awaiting == Awaiting.CONSENT
    # Questions arriving while the candidate reads the notice are not asked either.
    s2, d2 = state.questions_generated(dataclasses.replace(s, questions_ready=False))
    assert d2.ask_index is None and s2.awaiting == Awaiting.CONSENT
    s, decision = state.consent(s, NOW)
    assert decision.ask_index == 0 and s.awaiting == Awaiting.ANSWER


def test_consent_while_questions_are_prepared_then_they_are_asked() -> None:
    s, _ = state.start(make(consent_required=True), NOW)
    s, decision = state.consent(s, NOW)
    assert decision.ask_index is None and s.awaiting == Awaiting.QUESTIONS
    s, decision = state.questions_generated(s)
    assert decision.ask_index == 0


def test_consent_is_idempotent_and_needs_a_started_session() -> None:
    with pytest.raises(TransitionError) as refused:
        state.consent(make(consent_required=True), NOW)
    assert refused.value.code == "not_started"
    s = live(consent_required=True, consented=True)
    assert state.consent(s, NOW) == (s, state.Decision())


def test_consent_not_required_asks_as_before() -> None:
    _, decision = state.start(make(questions_ready=True), NOW)
    assert decision.ask_index == 0


def test_extend_time_only_while_a_question_is_open() -> None:
    state.extend_time(live(), NOW)
    for s in (make(), live(current_asked=False, answered=1, current_index=1), live(status=Status.COMPLETED)):
        with pytest.raises(TransitionError):
            state.extend_time(s, NOW)
    with pytest.raises(TransitionError) as refused:
        state.extend_time(live(current_asked=False, answered=1, current_index=1), NOW)
    assert refused.value.code == "no_open_question"


def test_added_question_goes_after_the_open_one() -> None:
    s, decision = state.add_question(live(), NOW)
    assert decision.insert_question_at == 1 and decision.ask_index is None
    assert s.question_count == 4 and not s.next_added
    # The candidate answers and is graded: the interviewer's question is asked next.
    s, _ = answer(s)
    s, decision = state.evaluation_recorded(dataclasses.replace(s, next_added=True))
    assert decision.ask_index == 1


def test_added_question_while_grading_waits_for_the_feedback_and_blocks_a_follow_up() -> None:
    s, _ = answer(live())  # immediate mode: awaiting feedback
    assert s.awaiting == Awaiting.FEEDBACK
    s, decision = state.add_question(s, NOW)
    assert decision.insert_question_at == 1 and decision.ask_index is None and s.next_added
    assert not state.follow_up_allowed(s)
    s, decision = state.evaluation_recorded(s)
    assert decision.ask_index == 1 and decision.insert_follow_up_at is None


def test_added_question_is_asked_at_once_when_nothing_is_pending() -> None:
    # End mode, all answered, grades outstanding: the new question is asked now.
    s = live(feedback_mode="end", current_index=3, answered=3, evaluated=1, current_asked=False)
    assert s.awaiting == Awaiting.RESULT
    s, decision = state.add_question(s, NOW)
    assert decision == state.Decision(ask_index=3, insert_question_at=3)
    # And the interview does not complete before it is answered.
    s, decision = state.evaluation_recorded(s)
    s, decision = state.evaluation_recorded(s)
    assert not decision.complete and s.status == Status.IN_PROGRESS


def test_add_question_refusals() -> None:
    with pytest.raises(TransitionError) as refused:
        state.add_question(make(status=Status.IN_PROGRESS), NOW)
    assert refused.value.code == "questions_not_ready"
    with pytest.raises(TransitionError) as refused:
        state.add_question(live(question_count=state.MAX_QUESTIONS), NOW)
    assert refused.value.code == "question_limit"
    with pytest.raises(TransitionError) as refused:
        state.add_question(live(status=Status.COMPLETED), NOW)
    assert refused.value.code == "interview_completed"
    with pytest.raises(TransitionError) as refused:
        state.add_question(live(), EXPIRES)
    assert refused.value.code == "session_expired"


def test_end_early_with_everything_graded_completes_now() -> None:
    s = live(current_index=1, answered=1, evaluated=1)
    s, decision = state.end_early(s, NOW)
    assert decision.complete and s.status == Status.COMPLETED and s.question_count == 1 and s.ended_early


def test_end_early_while_grading_completes_with_the_last_grade() -> None:
    s, _ = answer(live())
    s, decision = state.end_early(s, NOW)
    assert not decision.complete and s.awaiting == Awaiting.RESULT
    with pytest.raises(TransitionError):
        answer(s, 1)
    assert not state.follow_up_allowed(s)
    s, decision = state.evaluation_recorded(s)
    assert decision.complete and s.status == Status.COMPLETED


def test_end_early_before_any_answer_and_twice() -> None:
    s, decision = state.end_early(make(), NOW)
    assert decision.complete and s.question_count == 0
    with pytest.raises(TransitionError) as refused:
        state.end_early(s, NOW)
    assert refused.value.code == "interview_completed"
    s, _ = state.end_early(answer(live())[0], NOW)
    for action in (state.end_early, state.add_question):
        with pytest.raises(TransitionError):
            action(s, NOW)
