"""The publish step's coalescing (interview_rt/runtime/outbox.py): a burst of commits drained at
once sends its staff feed frames as one message, in order, and everything else unchanged."""

from __future__ import annotations

from typing import Any

from interview_rt.interviews.events import STAFF_GROUP
from interview_rt.runtime.outbox import coalesce


def staff(*items: list[object]) -> tuple[str, str, dict[str, Any]]:
    return ("group_send", STAFF_GROUP, {"type": "staff.frames", "items": list(items)})


def test_a_burst_sends_its_staff_frames_once_where_the_first_was() -> None:
    a1 = ("group_send", "session.a", {"type": "session.frame", "frame": {"seq": 1}})
    job = ("send", "ai-worker", {"type": "evaluate"})
    b1 = ("group_send", "session.b", {"type": "session.frame", "frame": {"seq": 4}})
    batch = [
        a1,
        staff([1, "a", 1, "A1"]),
        job,
        b1,
        staff([2, "b", 4, "B4"], [2, "b", 5, "B5"]),
        staff([1, "a", 2, "A2"]),
    ]
    out = coalesce(batch)
    assert out == [
        a1,
        staff([1, "a", 1, "A1"], [2, "b", 4, "B4"], [2, "b", 5, "B5"], [1, "a", 2, "A2"]),
        job,
        b1,
    ]
    # The queued messages themselves are left as they were (a retry or a log sees the original).
    assert batch[1][2]["items"] == [[1, "a", 1, "A1"]]


def test_a_batch_without_staff_frames_is_unchanged() -> None:
    batch = [("group_send", "session.a", {"type": "session.close", "code": 4403}), ("send", "ai-worker", {})]
    assert coalesce(batch) == batch


def test_batch_messages_merge_per_group_and_type_and_only_those() -> None:
    # The rule is the runtime's, not the staff feed's: a group message of only `type` and `items`.
    other = ("group_send", "g", {"type": "t", "items": [1]})
    with_more = ("group_send", "g", {"type": "t", "items": [9], "extra": 1})
    batch = [
        other,
        ("group_send", "g", {"type": "u", "items": [2]}),
        with_more,
        ("group_send", "g", {"type": "t", "items": [3]}),
    ]
    assert coalesce(batch) == [
        ("group_send", "g", {"type": "t", "items": [1, 3]}),
        ("group_send", "g", {"type": "u", "items": [2]}),
        with_more,
    ]
    assert (
        coalesce([("send", "g", {"type": "t", "items": [1]})] * 2) == [("send", "g", {"type": "t", "items": [1]})] * 2
    )
