"""Pure tests of follow-up insertion in the state machine (no Django)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from interview_rt.interviews import state

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def answered_once(mode: str = "immediate", count: int = 2) -> state.SessionState:
    s = state.SessionState(
        status=state.Status.IN_PROGRESS,
        question_count=count,
        questions_ready=True,
        current_index=0,
        current_asked=True,
        answered=0,
        evaluated=0,
        feedback_mode=mode,
        expires_at=NOW + timedelta(days=1),
    )
    s, _ = state.answer(s, question_index=0, now=NOW, asked_at=NOW, time_limit=timedelta(minutes=5), grace=timedelta())
    return s


def test_follow_up_is_inserted_next_and_asked() -> None:
    s, decision = state.evaluation_recorded(answered_once(), follow_up=True)
    assert s.question_count == 3
    assert decision.insert_follow_up_at == 1 and decision.ask_index == 1
    assert not decision.complete


def test_follow_up_after_last_question_postpones_completion() -> None:
    s = answered_once(count=1)
    s, decision = state.evaluation_recorded(s, follow_up=True)
    assert not decision.complete and s.status == state.Status.IN_PROGRESS
    assert decision.ask_index == 1 and s.question_count == 2


def test_no_follow_up_in_end_mode() -> None:
    s = answered_once(mode="end")
    assert not state.follow_up_allowed(s)
    with pytest.raises(state.TransitionError) as err:
        state.evaluation_recorded(s, follow_up=True)
    assert err.value.code == "follow_up_not_allowed"


def test_no_follow_up_beyond_question_cap() -> None:
    s = dataclasses.replace(answered_once(), question_count=state.MAX_QUESTIONS)
    assert not state.follow_up_allowed(s)


def test_without_follow_up_nothing_is_inserted() -> None:
    _, decision = state.evaluation_recorded(answered_once())
    assert decision.insert_follow_up_at is None and decision.ask_index == 1
