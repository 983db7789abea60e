"""The interview state machine (interview_rt/interviews/state.py), tested without Django.

state.py is pure: it imports nothing from Django, so these tests need no settings, database or
event loop. Every transition, every refusal code and `awaiting` in every situation, by example;
the invariants over random sequences of transitions are in test_state_machine_interview.py.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interview_rt.interviews import state
from interview_rt.interviews.state import Awaiting, Decision, SessionState, Status, TransitionError

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
LIMIT = timedelta(seconds=300)
GRACE = timedelta(seconds=5)


def make(**overrides: object) -> SessionState:
    values: dict[str, object] = {
        "status": Status.CREATED,
        "question_count": 3,
        "questions_ready": False,
        "current_index": 0,
        "current_asked": False,
        "answered": 0,
        "evaluated": 0,
        "feedback_mode": "immediate",
        "expires_at": EXPIRES,
    }
    values.update(overrides)
    return SessionState(**values)  # type: ignore[arg-type]


def live(**overrides: object) -> SessionState:
    """In progress, questions generated, the question at current_index asked."""
    values: dict[str, object] = {"status": Status.IN_PROGRESS, "questions_ready": True, "current_asked": True}
    values.update(overrides)
    return make(**values)


def answer(s: SessionState, index: int | None = None, *, now: datetime = NOW, asked_at: datetime | None = NOW):
    return state.answer(
        s,
        question_index=s.current_index if index is None else index,
        now=now,
        asked_at=asked_at,
        time_limit=LIMIT,
        grace=GRACE,
    )


def refused(code: str, fn, *args, **kwargs) -> TransitionError:  # type: ignore[no-untyped-def]
    with pytest.raises(TransitionError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code
    assert info.value.message
    return info.value


def test_module_imports_no_django() -> None:
    code = (
        "import sys, interview_rt.interviews.state; "
        "sys.exit(1 if [m for m in sys.modules if m == 'django' or m.startswith('django.')] else 0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=30, check=False)
    assert done.returncode == 0


def test_states_are_immutable() -> None:
    s = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.answered = 1  # type: ignore[misc]


# --- start ---------------------------------------------------------------------------------------


def test_start_created_without_questions_goes_in_progress_and_asks_nothing() -> None:
    new, decision = state.start(make(), NOW)
    assert new.status == Status.IN_PROGRESS
    assert decision == Decision()
    assert new.awaiting == Awaiting.QUESTIONS


def test_start_created_with_questions_ready_asks_the_first() -> None:
    new, decision = state.start(make(questions_ready=True), NOW)
    assert new.status == Status.IN_PROGRESS
    assert decision.ask_index == 0 and not decision.complete and not decision.late
    assert new.current_asked is True
    assert new.awaiting == Awaiting.ANSWER


def test_start_does_not_ask_the_open_question_again() -> None:
    s = live(current_index=1, answered=1, evaluated=1)
    new, decision = state.start(s, NOW)
    assert decision.ask_index is None
    assert new == s


def test_start_resumes_an_abandoned_session_where_it_was() -> None:
    s = live(status=Status.ABANDONED, current_index=1, answered=1, evaluated=1)
    new, decision = state.start(s, NOW)
    assert new.status == Status.IN_PROGRESS
    assert (new.current_index, new.answered, new.evaluated, new.current_asked) == (1, 1, 1, True)
    assert decision.ask_index is None


def test_start_resume_asks_the_next_question_whose_feedback_arrived_while_away() -> None:
    # Immediate mode: the grade landed while the candidate was away, the next question was not asked.
    s = make(status=Status.ABANDONED, questions_ready=True, current_index=1, answered=1, evaluated=1)
    new, decision = state.start(s, NOW)
    assert decision.ask_index == 1
    assert new.current_asked and new.status == Status.IN_PROGRESS


def test_start_resume_in_immediate_mode_waits_for_pending_feedback() -> None:
    s = make(status=Status.ABANDONED, questions_ready=True, current_index=1, answered=1, evaluated=0)
    new, decision = state.start(s, NOW)
    assert new.status == Status.IN_PROGRESS
    assert decision.ask_index is None
    assert new.current_asked is False
    assert new.awaiting == Awaiting.FEEDBACK


def test_start_resume_in_end_mode_asks_without_waiting_for_feedback() -> None:
    s = make(
        status=Status.ABANDONED,
        feedback_mode="end",
        questions_ready=True,
        current_index=1,
        answered=1,
        evaluated=0,
    )
    new, decision = state.start(s, NOW)
    assert decision.ask_index == 1 and new.current_asked


def test_start_after_expiry_time_is_session_expired() -> None:
    refused("session_expired", state.start, make(), EXPIRES)  # at the instant of expiry
    refused("session_expired", state.start, live(), EXPIRES + timedelta(seconds=1))


def test_start_just_before_expiry_is_allowed() -> None:
    new, _ = state.start(make(), EXPIRES - timedelta(microseconds=1))
    assert new.status == Status.IN_PROGRESS


def test_start_expired_status_is_session_expired_even_before_expires_at() -> None:
    refused("session_expired", state.start, make(status=Status.EXPIRED), NOW)


def test_start_completed_is_interview_completed_even_after_expiry() -> None:
    done = live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3)
    refused("interview_completed", state.start, done, NOW)
    refused("interview_completed", state.start, done, EXPIRES + timedelta(days=1))


# --- questions_generated -------------------------------------------------------------------------


def test_questions_generated_asks_the_first_question_when_in_progress() -> None:
    new, decision = state.questions_generated(make(status=Status.IN_PROGRESS))
    assert new.questions_ready and new.current_asked
    assert decision.ask_index == 0


@pytest.mark.parametrize("status", [Status.CREATED, Status.ABANDONED, Status.EXPIRED])
def test_questions_generated_asks_nothing_unless_in_progress(status: Status) -> None:
    new, decision = state.questions_generated(make(status=status))
    assert new.questions_ready is True
    assert new.current_asked is False
    assert decision.ask_index is None
    assert new.status == status


def test_questions_generated_twice_changes_nothing() -> None:
    first, _ = state.questions_generated(make(status=Status.IN_PROGRESS))
    again, decision = state.questions_generated(first)
    assert again == first
    assert decision == Decision()


def test_abandoned_then_questions_then_start_asks_once() -> None:
    s, _ = state.questions_generated(make(status=Status.ABANDONED))
    s, decision = state.start(s, NOW)
    assert decision.ask_index == 0
    s, decision = state.start(s, NOW)
    assert decision.ask_index is None


# --- answer --------------------------------------------------------------------------------------


def test_answer_to_the_current_question_in_immediate_mode_waits_for_feedback() -> None:
    new, decision = answer(live())
    assert (new.answered, new.current_index, new.current_asked) == (1, 1, False)
    assert decision.ask_index is None and not decision.complete and not decision.late
    assert new.awaiting == Awaiting.FEEDBACK


def test_answer_in_end_mode_asks_the_next_question_at_once() -> None:
    new, decision = answer(live(feedback_mode="end"))
    assert decision.ask_index == 1
    assert new.current_index == 1 and new.current_asked
    assert new.awaiting == Awaiting.ANSWER


def test_answer_to_the_last_question_in_end_mode_asks_nothing_and_awaits_result() -> None:
    s = live(feedback_mode="end", current_index=2, answered=2, evaluated=2)
    new, decision = answer(s)
    assert decision.ask_index is None and not decision.complete
    assert new.current_index == new.answered == 3
    assert new.awaiting == Awaiting.RESULT


def test_answer_to_the_last_question_in_immediate_mode_awaits_result() -> None:
    new, _ = answer(live(current_index=2, answered=2, evaluated=2))
    assert new.awaiting == Awaiting.RESULT


@pytest.mark.parametrize("index", [1, 2, -1, 3, 99])
def test_answer_to_another_index_is_question_not_current(index: int) -> None:
    refused("question_not_current", answer, live(), index)


def test_answer_to_an_already_answered_question_is_question_not_current() -> None:
    s, _ = answer(live(feedback_mode="end"))
    refused("question_not_current", answer, s, 0)


def test_answer_before_the_question_is_asked_is_question_not_current() -> None:
    # Immediate mode, waiting for feedback: question 1 exists but is not asked yet.
    s, _ = answer(live())
    refused("question_not_current", answer, s, 1)


def test_answer_before_questions_are_generated_is_question_not_current() -> None:
    refused("question_not_current", answer, make(status=Status.IN_PROGRESS), 0)


def test_answer_before_start_is_not_started() -> None:
    refused("not_started", answer, make(questions_ready=True, current_asked=True), 0)


def test_answer_after_completion_is_interview_completed() -> None:
    done = live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3)
    refused("interview_completed", answer, done, 2)


def test_answer_after_expiry_is_session_expired() -> None:
    refused("session_expired", answer, live(), now=EXPIRES)
    refused("session_expired", answer, live(status=Status.EXPIRED), now=NOW)


def test_answer_in_abandoned_session_brings_it_back_in_progress() -> None:
    new, _ = answer(live(status=Status.ABANDONED))
    assert new.status == Status.IN_PROGRESS and new.answered == 1


def test_answer_within_limit_plus_grace_is_not_late() -> None:
    asked = NOW - LIMIT - GRACE  # exactly on the boundary
    _, decision = answer(live(), asked_at=asked)
    assert decision.late is False


def test_answer_past_limit_plus_grace_is_late_but_accepted() -> None:
    asked = NOW - LIMIT - GRACE - timedelta(microseconds=1)
    new, decision = answer(live(), asked_at=asked)
    assert decision.late is True
    assert new.answered == 1  # still stored and counted


def test_answer_past_limit_but_within_grace_is_not_late() -> None:
    _, decision = answer(live(), asked_at=NOW - LIMIT - timedelta(seconds=1))
    assert decision.late is False


def test_answer_without_asked_at_is_never_late() -> None:
    _, decision = answer(live(), asked_at=None)
    assert decision.late is False


def test_answer_late_and_end_mode_both_reported() -> None:
    _, decision = answer(live(feedback_mode="end"), asked_at=NOW - timedelta(hours=1))
    assert decision.late is True and decision.ask_index == 1


# --- evaluation_recorded -------------------------------------------------------------------------


def test_evaluation_in_immediate_mode_asks_the_next_question() -> None:
    s, _ = answer(live())
    new, decision = state.evaluation_recorded(s)
    assert new.evaluated == 1
    assert decision.ask_index == 1 and not decision.complete
    assert new.current_asked and new.awaiting == Awaiting.ANSWER


def test_evaluation_in_immediate_mode_waits_until_every_answer_is_evaluated() -> None:
    # Two answered (e.g. after a resume in end-like order), one evaluated so far: no question yet.
    s = make(status=Status.IN_PROGRESS, questions_ready=True, current_index=2, answered=2, evaluated=0)
    new, decision = state.evaluation_recorded(s)
    assert new.evaluated == 1 and decision.ask_index is None and not new.current_asked
    new, decision = state.evaluation_recorded(new)
    assert new.evaluated == 2 and decision.ask_index == 2


def test_evaluation_in_end_mode_never_asks() -> None:
    s, _ = answer(live(feedback_mode="end"))
    new, decision = state.evaluation_recorded(s)
    assert decision.ask_index is None and not decision.complete
    assert new.evaluated == 1 and new.current_index == 1


def test_evaluation_while_abandoned_does_not_ask_and_resume_does() -> None:
    s, _ = answer(live())
    s = state.leave(s)
    new, decision = state.evaluation_recorded(s)
    assert decision.ask_index is None and new.status == Status.ABANDONED
    _resumed, decision = state.start(new, NOW)
    assert decision.ask_index == 1


def test_last_evaluation_completes_the_interview() -> None:
    s = live(current_index=3, current_asked=False, answered=3, evaluated=2)
    new, decision = state.evaluation_recorded(s)
    assert new.status == Status.COMPLETED
    assert decision.complete is True and decision.ask_index is None
    assert new.awaiting == Awaiting.NOTHING


def test_last_evaluation_completes_even_while_abandoned() -> None:
    s = live(status=Status.ABANDONED, current_index=3, current_asked=False, answered=3, evaluated=2)
    new, decision = state.evaluation_recorded(s)
    assert new.status == Status.COMPLETED and decision.complete


def test_last_evaluation_of_an_expired_session_does_not_complete() -> None:
    s = live(status=Status.EXPIRED, current_index=3, current_asked=False, answered=3, evaluated=2)
    new, decision = state.evaluation_recorded(s)
    assert new.evaluated == 3
    assert new.status == Status.EXPIRED and decision == Decision()


def test_end_mode_completes_only_after_the_last_evaluation() -> None:
    s = live(feedback_mode="end")
    for _ in range(3):
        s, decision = answer(s)
    assert s.answered == 3 and s.status == Status.IN_PROGRESS
    for i in range(3):
        s, decision = state.evaluation_recorded(s)
        assert decision.complete is (i == 2)
    assert s.status == Status.COMPLETED


def test_evaluation_without_pending_answer_is_refused() -> None:
    refused("no_pending_evaluation", state.evaluation_recorded, live())
    refused("no_pending_evaluation", state.evaluation_recorded, live(current_index=1, answered=1, evaluated=1))


def test_evaluation_after_completion_is_refused() -> None:
    done = live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3)
    refused("no_pending_evaluation", state.evaluation_recorded, done)


# --- follow-ups (evaluation_recorded with follow_up=True) -------------------------------------------


def test_follow_up_is_inserted_next_and_asked_at_once() -> None:
    s, _ = answer(live())
    new, decision = state.evaluation_recorded(s, follow_up=True)
    assert new.question_count == 4  # one more question
    assert decision.insert_follow_up_at == 1 and decision.ask_index == 1
    assert new.current_index == 1 and new.current_asked
    assert not decision.complete


def test_follow_up_after_the_last_answer_postpones_completion() -> None:
    s, _ = answer(live(current_index=2, answered=2, evaluated=2))
    new, decision = state.evaluation_recorded(s, follow_up=True)
    assert new.status == Status.IN_PROGRESS and not decision.complete
    assert decision.insert_follow_up_at == 3 and decision.ask_index == 3
    new, _ = answer(new)
    done, decision = state.evaluation_recorded(new)
    assert done.status == Status.COMPLETED and decision.complete
    assert done.evaluated == done.question_count == 4


def test_follow_up_while_abandoned_is_inserted_and_asked_on_resume() -> None:
    s, _ = answer(live())
    new, decision = state.evaluation_recorded(state.leave(s), follow_up=True)
    assert decision.insert_follow_up_at == 1 and decision.ask_index is None
    _resumed, decision = state.start(new, NOW)
    assert decision.ask_index == 1


def test_without_follow_up_no_insert_is_requested() -> None:
    s, _ = answer(live())
    _, decision = state.evaluation_recorded(s)
    assert decision.insert_follow_up_at is None


@pytest.mark.parametrize(
    "s",
    [
        live(feedback_mode="end", current_index=1, answered=1),  # end mode: the next question is already out
        make(status=Status.IN_PROGRESS, questions_ready=True, current_index=2, answered=2),  # two outstanding
        live(status=Status.EXPIRED, current_index=1, current_asked=False, answered=1),
        live(current_index=1, current_asked=False, answered=1, question_count=state.MAX_QUESTIONS),
    ],
    ids=["end-mode", "two-outstanding", "expired", "at-max-questions"],
)
def test_follow_up_not_allowed(s: SessionState) -> None:
    assert state.follow_up_allowed(s) is False
    refused("follow_up_not_allowed", state.evaluation_recorded, s, follow_up=True)


def test_follow_up_with_nothing_pending_is_no_pending_evaluation() -> None:
    refused("no_pending_evaluation", state.evaluation_recorded, live(), follow_up=True)


# --- leave / expire ------------------------------------------------------------------------------


def test_leave_in_progress_is_abandoned() -> None:
    s = live(current_index=1, answered=1, evaluated=1)
    new = state.leave(s)
    assert new.status == Status.ABANDONED
    assert dataclasses.replace(new, status=Status.IN_PROGRESS) == s


@pytest.mark.parametrize("status", [Status.CREATED, Status.ABANDONED, Status.COMPLETED, Status.EXPIRED])
def test_leave_changes_nothing_unless_in_progress(status: Status) -> None:
    s = make(status=status)
    assert state.leave(s) is s


@pytest.mark.parametrize("status", [Status.CREATED, Status.IN_PROGRESS, Status.ABANDONED])
def test_expire_at_expiry_marks_expired(status: Status) -> None:
    new = state.expire(make(status=status), EXPIRES)
    assert new.status == Status.EXPIRED
    assert new.awaiting == Awaiting.NOTHING


def test_expire_before_expiry_changes_nothing() -> None:
    s = live()
    assert state.expire(s, EXPIRES - timedelta(microseconds=1)) is s


def test_expire_never_touches_a_completed_session() -> None:
    done = live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3)
    assert state.expire(done, EXPIRES + timedelta(days=30)) is done


# --- request_completion --------------------------------------------------------------------------


def test_request_completion_with_unanswered_questions_is_interview_incomplete() -> None:
    s = live(current_index=1, answered=1, evaluated=1)
    error = refused("interview_incomplete", state.request_completion, s, NOW)
    assert "2" in error.message  # says how many are left


def test_request_completion_before_start_is_interview_incomplete() -> None:
    refused("interview_incomplete", state.request_completion, make(), NOW)


def test_request_completion_when_all_answered_is_allowed_before_grades() -> None:
    assert state.request_completion(live(current_index=3, current_asked=False, answered=3, evaluated=1), NOW) is None


def test_request_completion_of_a_completed_interview_is_allowed() -> None:
    done = live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3)
    assert state.request_completion(done, NOW) is None


# --- awaiting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (make(), Awaiting.START),
        (make(questions_ready=True), Awaiting.START),
        (make(status=Status.IN_PROGRESS), Awaiting.QUESTIONS),
        (make(status=Status.ABANDONED), Awaiting.QUESTIONS),
        (live(), Awaiting.ANSWER),
        (live(status=Status.ABANDONED), Awaiting.ANSWER),
        (live(current_index=1, current_asked=False, answered=1), Awaiting.FEEDBACK),
        (live(status=Status.ABANDONED, current_index=1, current_asked=False, answered=1), Awaiting.START),
        (live(current_index=1, current_asked=True, answered=1, revoked=True), Awaiting.NOTHING),
        (live(current_index=3, current_asked=False, answered=3, evaluated=1), Awaiting.RESULT),
        (
            live(status=Status.COMPLETED, current_index=3, current_asked=False, answered=3, evaluated=3),
            Awaiting.NOTHING,
        ),
        (make(status=Status.EXPIRED), Awaiting.NOTHING),
        (live(status=Status.EXPIRED), Awaiting.NOTHING),
    ],
    ids=[
        "created",
        "created-questions-ready",
        "in-progress-generating",
        "abandoned-generating",
        "question-open",
        "abandoned-question-open",
        "grading-previous",
        "abandoned-after-answering",
        "revoked",
        "all-answered",
        "completed",
        "expired",
        "expired-question-open",
    ],
)
def test_awaiting(s: SessionState, expected: Awaiting) -> None:
    assert s.awaiting == expected


def test_awaiting_values_are_the_protocol_strings() -> None:
    assert {a.value for a in Awaiting} == {"start", "consent", "questions", "answer", "feedback", "result", "nothing"}
    assert {s.value for s in Status} == {"created", "in_progress", "completed", "abandoned", "expired"}


# --- whole interviews ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["immediate", "end"])
@pytest.mark.parametrize("count", [1, 2, 5])
def test_a_whole_interview_asks_each_question_once_and_completes_once(mode: str, count: int) -> None:
    s = make(question_count=count, feedback_mode=mode)
    asked: list[int] = []
    completions = 0

    def note(decision: Decision) -> None:
        nonlocal completions
        if decision.ask_index is not None:
            asked.append(decision.ask_index)
        completions += decision.complete

    s, d = state.start(s, NOW)
    note(d)
    s, d = state.questions_generated(s)
    note(d)
    pending = 0
    while s.status != Status.COMPLETED:
        if s.awaiting == Awaiting.ANSWER:
            s, d = answer(s)
            pending += 1
        else:
            s, d = state.evaluation_recorded(s)
            pending -= 1
        note(d)
    assert asked == list(range(count))
    assert completions == 1
    assert pending == 0
    assert (s.answered, s.evaluated, s.current_index) == (count, count, count)


# --- revocation and reads ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.CREATED, Status.IN_PROGRESS, Status.ABANDONED, Status.COMPLETED])
def test_a_revoked_link_refuses_every_candidate_action(status: Status) -> None:
    s = live(status=status, revoked=True)
    refused("link_revoked", state.start, s, NOW)
    refused("link_revoked", answer, s)
    refused("link_revoked", state.request_completion, s, NOW)
    refused("link_revoked", state.check_access, s, NOW)


def test_answer_to_a_question_outside_the_interview_before_start_is_not_started() -> None:
    refused(
        "not_started",
        state.answer,
        make(questions_ready=True),
        question_index=None,
        now=NOW,
        asked_at=NOW,
        time_limit=LIMIT,
        grace=GRACE,
    )


def test_answer_to_a_question_outside_the_interview_is_question_not_current() -> None:
    refused(
        "question_not_current",
        state.answer,
        live(),
        question_index=None,
        now=NOW,
        asked_at=NOW,
        time_limit=LIMIT,
        grace=GRACE,
    )


def test_reads_are_refused_after_expiry_but_a_completed_interview_stays_readable() -> None:
    refused("session_expired", state.check_access, live(), EXPIRES)
    assert state.check_access(live(status=Status.COMPLETED), EXPIRES + timedelta(days=1)) is None


def test_a_revoked_session_asks_nothing_more_when_a_pending_grade_lands() -> None:
    s, _ = answer(live())
    revoked = dataclasses.replace(s, revoked=True)
    assert revoked.awaiting == Awaiting.NOTHING
    assert not state.follow_up_allowed(revoked)
    new, decision = state.evaluation_recorded(revoked)
    assert new.evaluated == 1 and decision.ask_index is None and not new.current_asked
    assert new.awaiting == Awaiting.NOTHING
    refused("link_revoked", state.start, new, NOW)


def test_a_revoked_session_whose_last_grade_lands_still_gets_its_result() -> None:
    s = make(status=Status.IN_PROGRESS, questions_ready=True, question_count=1, current_index=1, answered=1)
    new, decision = state.evaluation_recorded(dataclasses.replace(s, revoked=True))
    assert decision.complete and new.status == Status.COMPLETED  # staff read it; the candidate cannot


def test_an_abandoned_session_awaits_its_candidate_not_feedback() -> None:
    s, _ = answer(live())
    away = state.leave(s)
    assert away.awaiting == Awaiting.START
    graded, _ = state.evaluation_recorded(away)
    assert graded.awaiting == Awaiting.START
    back, decision = state.start(graded, NOW)
    assert decision.ask_index == 1 and back.awaiting == Awaiting.ANSWER
