"""Every bad input of docs/protocol.md on the candidate socket: the documented error code, no record
left behind, and a socket that still takes a valid answer afterwards. Plus link close codes, Origin
checks, session.resume / session.sync and ping/pong."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from interview_rt import runtime
from interview_rt.asgi import application
from interview_rt.interviews import services
from interview_rt.interviews.errors import InterviewError
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewSession, InterviewInvitation, SessionFrame
from interview_rt.runtime import ai

from .conftest import expired
from .consumers.helpers import GOOD_ANSWER, Candidate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]

OTHER_UUID = "7f8d4a52-3b1f-4d61-9c39-5b6d0d3f0b11"


async def open_interview(amake_invitation: Any, **overrides: Any) -> tuple[str, Candidate, dict[str, Any]]:
    """A connected candidate with the first question open."""
    options = {"question_count": 2, **overrides}
    _, token = await amake_invitation(**options)
    c = Candidate(token)
    snapshot = await c.connect()
    question = snapshot["session"]["current_question"] or (await c.recv("question.asked"))["question"]
    return snapshot["session"]["id"], c, question


async def counts(session_id: str) -> tuple[int, int]:
    responses = await AIInterviewResponse.objects.filter(session_id=session_id).acount()
    frames = await SessionFrame.objects.filter(session_id=session_id).acount()
    return responses, frames


async def expect_error(c: Candidate, code: str, *, field: str | None = None) -> dict[str, Any]:
    error = await c.recv("error")
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert "seq" not in error  # replies are not logged
    if field is not None:
        assert error.get("field") == field, error
    return error


async def still_usable(c: Candidate, question: dict[str, Any], session_id: str, client_id: str = "ok-1") -> None:
    """The proof the socket survived: a valid answer is stored and acknowledged."""
    before_responses, _ = await counts(session_id)
    ack = await c.answer(question, client_id, GOOD_ANSWER)
    assert ack["client_id"] == client_id and ack["question_id"] == question["id"]
    assert "duplicate" not in ack
    assert (await counts(session_id))[0] == before_responses + 1


def submit(question: dict[str, Any], **fields: Any) -> dict[str, Any]:
    frame = {"type": "answer.submit", "client_id": "bad-1", "question_id": question["id"], "text": "An answer."}
    frame.update(fields)
    return {k: v for k, v in frame.items() if v is not _DROP}


_DROP = object()


# --- frames that are not JSON objects ----------------------------------------------------------------


MALFORMED = ["{not json", "{'single': 'quotes'}", '{"type": "ping"', "undefined", "\x00", '{"type": "ping"} trailing']


async def test_malformed_json_is_invalid_json(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for raw in MALFORMED:
        await c.send(raw)
        await expect_error(c, "invalid_json")
    await c.comm.send_input({"type": "websocket.receive", "text": ""})  # an empty text frame
    await expect_error(c, "invalid_json")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


async def test_json_that_is_not_an_object_is_invalid_json(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for value in [[], [{"type": "ping"}], "ping", 42, None, True]:
        await c.send(json.dumps(value))
        await expect_error(c, "invalid_json")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


async def test_deeply_nested_json_is_invalid_json_not_a_crash(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send("[" * 60_000 + "]" * 10)  # under 64 KiB, deeper than the parser's recursion limit
    error = await c.recv("error", timeout=1)
    assert error["code"] == "invalid_json"
    await still_usable(c, question, session_id)
    await c.close()


# --- type --------------------------------------------------------------------------------------------


async def test_unknown_type(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for frame in [
        {"type": "hello"},
        {"type": "answer_submit"},
        {"type": "ANSWER.SUBMIT"},
        {"type": "session.takeover", "channel": "x"},  # an internal handler, not a client frame
        {"type": "session.frame", "frame": {"type": "question.asked", "seq": 99}},
        {"type": "websocket.disconnect", "code": 1000},
        {"type": "pong"},
        {"type": ""},
    ]:
        await c.send(frame)
        await expect_error(c, "unknown_type", field="type")
    assert await c.nothing_more(0.1)  # no takeover close, no pushed frame
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


async def test_missing_or_non_string_type_is_unknown_type(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    for frame in [{}, {"client_id": "x", "text": "y"}, {"type": None}, {"type": 1}, {"type": ["ping"]}, {"type": {}}]:
        await c.send(frame)
        await expect_error(c, "unknown_type", field="type")
    await still_usable(c, question, session_id)
    await c.close()


# --- answer.submit fields ------------------------------------------------------------------------------


async def test_missing_answer_field_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for missing in ["client_id", "question_id", "text"]:
        for value in (_DROP, None):  # absent, or null
            await c.send(submit(question, **{missing: value}))
            await expect_error(c, "invalid_field", field=missing)
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


WRONG_TYPES: list[tuple[str, Any]] = [
    ("text", 42),
    ("text", 4.2),
    ("text", True),
    ("text", ["an", "answer"]),
    ("text", {"answer": "x"}),
    ("client_id", 7),
    ("client_id", True),
    ("client_id", ["c"]),
    ("question_id", 123),
    ("question_id", {"id": "x"}),
    ("response_type", 1),
    ("response_type", False),
    ("submitted_at", "2024-01-01T00:00:00Z"),
    ("submitted_at", True),
    ("submitted_at", [1]),
]


async def test_wrongly_typed_answer_field_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for field, value in WRONG_TYPES:
        await c.send(submit(question, **{field: value}))
        error = await expect_error(c, "invalid_field", field=field)
        if field != "client_id":
            assert error["client_id"] == "bad-1", (field, value)  # the refused answer's id is echoed
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


BAD_CLIENT_IDS = ["x" * 65, "", "has space", "slash/", "quote'", "naïve", "emoji😀", "semi;colon", "new\nline", "tab\t"]


async def test_bad_client_id_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for client_id in BAD_CLIENT_IDS:
        await c.send(submit(question, client_id=client_id))
        await expect_error(c, "invalid_field", field="client_id")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


@pytest.mark.parametrize("client_id", ["abc\n", "x" * 64 + "\n"], ids=["short", "65-chars"])
async def test_client_id_with_trailing_newline_is_invalid_field(amake_invitation: Any, client_id: str) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, client_id=client_id))
    reply = await c.recv()
    await c.close()
    assert (reply["type"], reply.get("code"), reply.get("field")) == ("error", "invalid_field", "client_id")
    assert (await counts(session_id))[0] == 0


async def test_client_id_of_64_allowed_characters_is_accepted(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    client_id = ("Az09_.:-" * 8)[:64]
    await still_usable(c, question, session_id, client_id=client_id)
    await c.close()


async def test_unknown_response_type_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    for response_type in ["video", "TEXT", "text ", "audio"]:
        await c.send(submit(question, response_type=response_type))
        await expect_error(c, "invalid_field", field="response_type")
    assert (await counts(session_id))[0] == 0
    await still_usable(c, question, session_id)
    await c.close()


async def test_empty_response_type_falls_back_to_text(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, response_type="", text=GOOD_ANSWER))
    assert (await c.recv("answer.accepted"))["client_id"] == "bad-1"
    assert (await AIInterviewResponse.objects.aget(session_id=session_id)).response_type == "text"
    await c.close()


@pytest.mark.parametrize("response_type", ["code", "audio_transcript"])
async def test_documented_response_types_are_accepted(amake_invitation: Any, response_type: str) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, client_id="rt", response_type=response_type, text=GOOD_ANSWER))
    await c.recv("answer.accepted")
    stored = await AIInterviewResponse.objects.aget(session_id=session_id, client_id="rt")
    assert stored.response_type == response_type
    await c.close()


async def test_question_id_that_is_not_a_uuid_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    for question_id in ["not-a-uuid", "", "1234", "Q1", question["id"] + "0"]:
        await c.send(submit(question, question_id=question_id))
        await expect_error(c, "invalid_field", field="question_id")
    assert (await counts(session_id))[0] == 0
    await still_usable(c, question, session_id)
    await c.close()


async def test_question_of_another_interview_is_question_not_current(amake_invitation: Any) -> None:
    _, _, other_question = await open_interview(amake_invitation)
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    await c.send(submit(question, question_id=other_question["id"]))
    error = await expect_error(c, "question_not_current")
    assert error["client_id"] == "bad-1"
    await c.send(submit(question, question_id=OTHER_UUID, client_id="bad-2"))
    await expect_error(c, "question_not_current")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


async def test_text_over_20000_characters_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, text="a" * 20_001))
    await expect_error(c, "invalid_field", field="text")
    assert (await counts(session_id))[0] == 0
    await still_usable(c, question, session_id)
    await c.close()


async def test_text_of_exactly_20000_characters_is_accepted(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    text = ("word " * 4000)[:20_000]
    await c.send(submit(question, client_id="long", text=text))
    await c.recv("answer.accepted")
    stored = await AIInterviewResponse.objects.aget(session_id=session_id, client_id="long")
    assert len(stored.response_text) == 20_000
    await c.close()


# --- frame size and binary frames ----------------------------------------------------------------------


async def test_text_frame_over_64_kib_is_refused_and_nothing_is_stored(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    frame = json.dumps(submit(question, client_id="huge", text="a" * 70_000))
    assert len(frame.encode()) > 65_536
    await c.send(frame)
    await expect_error(c, "frame_too_large")
    assert await counts(session_id) == before
    assert not await AIInterviewResponse.objects.filter(client_id="huge").aexists()
    await still_usable(c, question, session_id)
    await c.close()


async def test_frame_over_64_kib_by_utf8_bytes_not_characters_is_refused(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    frame = json.dumps({"type": "ping", "ref": "r", "pad": "é" * 33_000}, ensure_ascii=False)
    assert len(frame) < 65_536 < len(frame.encode("utf-8"))
    await c.send(frame)
    await expect_error(c, "frame_too_large")
    await still_usable(c, question, session_id)
    await c.close()


def padded_ping(size: int) -> str:
    base = json.dumps({"type": "ping", "ref": "edge", "pad": ""})
    frame = json.dumps({"type": "ping", "ref": "edge", "pad": "p" * (size - len(base))})
    assert len(frame.encode()) == size
    return frame


async def test_frame_of_exactly_64_kib_is_accepted_and_one_byte_more_is_not(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(padded_ping(65_536))
    assert (await c.recv("pong"))["ref"] == "edge"
    await c.send(padded_ping(65_537))
    await expect_error(c, "frame_too_large")
    await still_usable(c, question, session_id)
    await c.close()


async def test_binary_frame_is_not_supported(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    await c.comm.send_to(bytes_data=json.dumps({"type": "ping"}).encode())
    await expect_error(c, "binary_not_supported")
    for data in [b"\x00\xff\xfe", b"", json.dumps(submit(question)).encode()]:
        await c.comm.send_input({"type": "websocket.receive", "bytes": data})
        await expect_error(c, "binary_not_supported")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


# --- many errors in a row, then an answer ----------------------------------------------------------------


async def test_a_burst_of_bad_frames_leaves_no_record_and_the_socket_usable(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    bad: list[tuple[Any, str]] = [
        ("{nope", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ({"type": "nope"}, "unknown_type"),
        ({"no": "type"}, "unknown_type"),
        (submit(question, text=_DROP), "invalid_field"),
        (submit(question, text=1), "invalid_field"),
        (submit(question, client_id="x" * 65), "invalid_field"),
        (submit(question, client_id="bad id"), "invalid_field"),
        (submit(question, text="a" * 20_001), "invalid_field"),
        (json.dumps(submit(question, text="a" * 66_000)), "frame_too_large"),
        ({"type": "session.resume", "last_seq": True}, "invalid_field"),
        (submit(question, question_id=OTHER_UUID), "question_not_current"),
    ]
    for frame, _ in bad:
        await c.send(frame)
    await c.comm.send_to(bytes_data=b"\x01\x02")
    for _, code in bad:
        await expect_error(c, code)
    await expect_error(c, "binary_not_supported")
    assert await counts(session_id) == before
    await still_usable(c, question, session_id, client_id="after-burst")
    await c.close()


# --- session.resume, session.sync, ping ------------------------------------------------------------------


BAD_CONTROL_FRAMES: list[tuple[dict[str, Any], str]] = [
    ({"type": "session.resume"}, "last_seq"),
    ({"type": "session.resume", "last_seq": None}, "last_seq"),
    ({"type": "session.resume", "last_seq": True}, "last_seq"),
    ({"type": "session.resume", "last_seq": False}, "last_seq"),
    ({"type": "session.resume", "last_seq": "3"}, "last_seq"),
    ({"type": "session.resume", "last_seq": 1.5}, "last_seq"),
    ({"type": "session.resume", "last_seq": [1]}, "last_seq"),
    ({"type": "session.resume", "last_seq": -1}, "last_seq"),
    ({"type": "ping", "ref": True}, "ref"),
    ({"type": "ping", "ref": {"a": 1}}, "ref"),
    ({"type": "ping", "ref": [1]}, "ref"),
]


async def test_bad_resume_or_ping_field_is_invalid_field(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    before = await counts(session_id)
    for frame, field in BAD_CONTROL_FRAMES:
        await c.send(frame)
        await expect_error(c, "invalid_field", field=field)
    assert await c.nothing_more(0.1)  # in particular nothing replayed
    assert await counts(session_id) == before
    await still_usable(c, question, session_id)
    await c.close()


async def test_session_resume_replays_frames_after_last_seq_in_order(amake_invitation: Any) -> None:
    _session_id, c, question = await open_interview(amake_invitation)
    ack = await c.answer(question, "r1", GOOD_ANSWER)
    feedback = await c.recv("answer.feedback")
    nxt = await c.recv("question.asked")
    assert [ack["seq"], feedback["seq"], nxt["seq"]] == [2, 3, 4]

    await c.send({"type": "session.resume", "last_seq": 0})
    replayed = [await c.recv() for _ in range(4)]
    assert [f["seq"] for f in replayed] == [1, 2, 3, 4]
    assert [f["type"] for f in replayed] == ["question.asked", "answer.accepted", "answer.feedback", "question.asked"]
    assert replayed[1] == ack and replayed[2] == feedback and replayed[3] == nxt
    assert await c.nothing_more(0.1)

    await c.send({"type": "session.resume", "last_seq": 2})
    assert [(await c.recv())["seq"] for _ in range(2)] == [3, 4]
    await c.send({"type": "session.resume", "last_seq": 4})
    await c.send({"type": "session.resume", "last_seq": 1000})
    assert await c.nothing_more(0.2)
    await c.close()


async def test_connect_with_last_seq_query_replays_missed_frames(amake_invitation: Any) -> None:
    _session_id, c, question = await open_interview(amake_invitation)
    await c.answer(question, "q1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    await c.recv("question.asked")
    await c.close()

    again = Candidate(c.comm.scope["path"].split("/")[3], last_seq=1)
    snapshot = await again.connect()
    assert snapshot["seq"] == 4
    assert [(await again.recv())["seq"] for _ in range(3)] == [2, 3, 4]
    assert await again.nothing_more(0.1)
    await again.close()


@pytest.mark.parametrize("query", ["last_seq=abc", "last_seq=-5", "last_seq="])
async def test_bad_last_seq_query_is_reported_not_fatal(amake_invitation: Any, query: str) -> None:
    _session_id, c, _question = await open_interview(amake_invitation)
    token = c.comm.scope["path"].split("/")[3]
    await c.close()
    comm = WebsocketCommunicator(application, f"/ws/interview/{token}/?{query}")
    connected, _ = await comm.connect(timeout=10)
    assert connected
    error = await comm.receive_json_from(timeout=10)
    assert (error["type"], error["code"], error["field"]) == ("error", "invalid_field", "last_seq")
    snapshot = await comm.receive_json_from(timeout=10)
    assert snapshot["type"] == "session.state"
    assert await comm.receive_nothing(timeout=0.1)  # nothing replayed
    await comm.disconnect()


async def test_session_sync_sends_a_fresh_snapshot(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send({"type": "session.sync"})
    snapshot = await c.recv("session.state")
    assert snapshot["seq"] == 1
    assert snapshot["session"]["id"] == session_id
    assert snapshot["session"]["awaiting"] == "answer"
    assert snapshot["session"]["current_question"]["id"] == question["id"]
    assert await c.nothing_more(0.1)  # the question was already sent on this socket
    await c.close()


async def test_ping_answers_pong_with_the_same_ref(amake_invitation: Any) -> None:
    session_id, c, _question = await open_interview(amake_invitation)
    for ref in ["abc", 7, 0, "", -3]:
        await c.send({"type": "ping", "ref": ref})
        pong = await c.recv("pong")
        assert pong == {"type": "pong", "ref": ref}  # no seq: not logged
    await c.send({"type": "ping"})
    assert (await c.recv("pong")).get("ref") is None
    assert await counts(session_id) == (0, 1)  # only the first question.asked is logged
    await c.close()


async def test_ping_with_a_fractional_number_ref_gets_pong(amake_invitation: Any) -> None:
    _, c, _ = await open_interview(amake_invitation)
    await c.send({"type": "ping", "ref": 1.5})
    pong = await c.recv()
    await c.close()
    assert pong == {"type": "pong", "ref": 1.5}


async def test_out_of_range_submitted_at_is_invalid_field(amake_invitation: Any) -> None:
    _session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, submitted_at=1e20))
    error = await c.recv("error")
    await c.close()
    assert (error["code"], error.get("field")) == ("invalid_field", "submitted_at")


async def test_out_of_range_submitted_at_stores_nothing_and_keeps_the_socket(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, submitted_at=1e20))
    assert (await c.recv("error"))["code"] in ("invalid_field", "internal_error")
    assert (await counts(session_id))[0] == 0
    await still_usable(c, question, session_id)
    await c.close()


async def test_submitted_at_is_stored_from_client_milliseconds(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(submit(question, client_id="ts", submitted_at=1_767_225_600_000, text=GOOD_ANSWER))
    await c.recv("answer.accepted")
    stored = await AIInterviewResponse.objects.aget(session_id=session_id, client_id="ts")
    assert stored.submitted_at is not None and stored.submitted_at.timestamp() == 1_767_225_600
    await c.close()


# --- after completion --------------------------------------------------------------------------------------


async def test_answer_after_completion_is_interview_completed_and_stores_nothing(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation, question_count=1)
    await c.answer(question, "only", GOOD_ANSWER)
    await c.recv("answer.feedback")
    await c.recv("interview.completed")
    before = await counts(session_id)
    await c.send(submit(question, client_id="after"))
    error = await expect_error(c, "interview_completed")
    assert error["client_id"] == "after"
    # The interview's state is checked before the question: completed says more than "not current".
    await c.send(submit(question, client_id="after-2", question_id=OTHER_UUID))
    await expect_error(c, "interview_completed")
    assert await counts(session_id) == before
    # Still usable: a ping is answered and the original answer's retry is recognised.
    await c.send({"type": "ping", "ref": 1})
    assert (await c.recv("pong"))["ref"] == 1
    await c.send(submit(question, client_id="only"))
    assert (await c.recv("answer.accepted"))["duplicate"] is True
    await c.close()


# --- link refusals: error frame then close code --------------------------------------------------------------


async def refused_link(token: str, code: str, close_code: int) -> None:
    comm = WebsocketCommunicator(application, f"/ws/interview/{token}/")
    connected, _ = await comm.connect(timeout=10)
    assert connected  # accepted so the browser sees the close code
    error = await comm.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    closed = await comm.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": close_code}
    await comm.disconnect(code=close_code)
    assert await AIInterviewSession.objects.acount() == 0


async def test_forged_token_closes_4401(amake_invitation: Any) -> None:
    _, token = await amake_invitation()
    await refused_link(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "link_invalid", 4401)


@pytest.mark.parametrize("token", ["garbage", "a:b:c", "x" * 600])
async def test_malformed_token_closes_4401(token: str) -> None:
    await refused_link(token, "link_invalid", 4401)


async def test_expired_link_closes_4410(amake_invitation: Any) -> None:
    invitation, token = await amake_invitation()
    await database_sync_to_async(expired)(invitation)
    await refused_link(token, "link_expired", 4410)


async def test_revoked_link_closes_4403(amake_invitation: Any) -> None:
    invitation, token = await amake_invitation()
    await InterviewInvitation.objects.filter(pk=invitation.pk).aupdate(revoked=True)
    await refused_link(token, "link_revoked", 4403)


async def test_deleted_invitation_closes_4404(amake_invitation: Any) -> None:
    invitation, token = await amake_invitation()
    await invitation.adelete()
    await refused_link(token, "not_found", 4404)


# --- Origin -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [b"https://evil.example.com", b"http://localhost.evil.com", b"null", b"http://127.0.0.2:8000", b"file://"],
)
async def test_foreign_browser_origin_is_refused(amake_invitation: Any, origin: bytes) -> None:
    _, token = await amake_invitation()
    comm = WebsocketCommunicator(application, f"/ws/interview/{token}/", headers=[(b"origin", origin)])
    connected, _ = await comm.connect(timeout=10)
    assert connected is False
    assert await AIInterviewSession.objects.acount() == 0  # refused before the link was even opened


@pytest.mark.parametrize("origin", [b"http://localhost:8000", b"https://localhost", b"http://127.0.0.1:8000"])
async def test_own_origin_is_accepted(amake_invitation: Any, origin: bytes) -> None:
    _, token = await amake_invitation()
    c = Candidate(token, headers=[(b"origin", origin)])
    snapshot = await c.connect()
    assert snapshot["session"]["status"] == "in_progress"
    await c.close()


async def test_no_origin_is_accepted(amake_invitation: Any) -> None:
    _, token = await amake_invitation()
    c = Candidate(token)
    assert not any(name == b"origin" for name, _ in c.comm.scope["headers"])
    snapshot = await c.connect()
    assert snapshot["type"] == "session.state"
    await c.close()


async def test_answer_after_the_link_expired_while_open_is_session_expired(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    invitation = await InterviewInvitation.objects.aget(session__id=session_id)
    await database_sync_to_async(expired)(invitation)
    before = await counts(session_id)
    await c.send(submit(question, client_id="too-late"))
    error = await expect_error(c, "session_expired")
    assert error["client_id"] == "too-late"
    assert await counts(session_id) == before
    # No later frame could succeed: the socket is closed as a reconnect would be (4410).
    assert await c.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4410}
    await c.comm.disconnect(code=4410)


async def test_revoking_closes_open_sockets_4403_and_refuses_every_action(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    invitation = await InterviewInvitation.objects.aget(session__id=session_id)
    before = await counts(session_id)
    await runtime.candidate_db(services.invitation_revoke)(invitation_id=invitation.id)
    error = await expect_error(c, "link_revoked")
    assert await c.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await c.comm.disconnect(code=4403)
    assert await counts(session_id) == before
    # An answer that raced the revocation is refused as well.
    with pytest.raises(InterviewError) as refused:
        await runtime.answer_db(services.answer_submit)(
            session_id=session_id, client_id="late-1", question_id=question["id"], text="x"
        )
    assert refused.value.code == "link_revoked" and error["message"]
    for call in (services.session_start, services.session_sync, services.session_check):
        with pytest.raises(InterviewError) as refused:
            await runtime.candidate_db(call)(session_id=session_id)
        assert refused.value.code == "link_revoked"
    assert await counts(session_id) == before


# --- a superseded socket going away ----------------------------------------------------------------------


async def superseded_pair(amake_invitation: Any) -> tuple[str, Candidate, Candidate]:
    _, token = await amake_invitation(question_count=2)
    first = Candidate(token)
    session_id = (await first.connect())["session"]["id"]
    second = Candidate(token)
    await second.connect()
    while (frame := await first.recv())["type"] != "error":
        pass
    assert frame["code"] == "superseded"
    assert await first.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4409}
    return session_id, first, second


async def test_superseded_socket_echoing_4409_leaves_the_session_in_progress(amake_invitation: Any) -> None:
    session_id, first, second = await superseded_pair(amake_invitation)
    await first.comm.disconnect(code=4409)
    assert (await AIInterviewSession.objects.aget(pk=session_id)).status == "in_progress"
    await second.close()


class GatedProvider:
    """Delegates to the real provider but holds every evaluation until `gate` is set."""

    def __init__(self, real: Any, gate: asyncio.Event) -> None:
        self.real, self.gate = real, gate
        self.name, self.alias = real.name, real.alias

    async def warm_up(self) -> None:
        await self.real.warm_up()

    async def generate_questions(self, context: Any) -> Any:
        return await self.real.generate_questions(context)

    async def evaluate(self, request: Any) -> Any:
        await self.gate.wait()
        return await self.real.evaluate(request)


async def test_superseded_socket_dropping_does_not_stall_the_live_socket(
    amake_invitation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    real = ai.provider()
    monkeypatch.setattr(ai, "provider", lambda alias="default": GatedProvider(real, gate))
    _, token = await amake_invitation(question_count=2)
    first = Candidate(token)
    snapshot = await first.connect()
    session_id = snapshot["session"]["id"]
    question = snapshot["session"]["current_question"] or (await first.recv("question.asked"))["question"]
    second = Candidate(token)
    assert (await second.connect())["session"]["current_question"]["id"] == question["id"]
    while (frame := await first.recv())["type"] != "error":
        pass
    assert frame["code"] == "superseded"
    assert await first.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4409}

    await second.answer(question, "live-1", GOOD_ANSWER)  # graded only when the gate opens
    await first.comm.disconnect(code=1006)  # the old connection was dead: no clean 4409 echo
    status = (await AIInterviewSession.objects.aget(pk=session_id)).status
    gate.set()
    await second.recv("answer.feedback")
    nothing = await second.nothing_more(timeout=1.5)
    nxt = {"type": "nothing within 1.5 s"} if nothing else await second.recv()
    await second.close()
    assert status == "in_progress"
    assert nxt["type"] == "question.asked"


# --- text no database can store ------------------------------------------------------------------------


async def test_unstorable_characters_in_an_answer_are_cleaned_not_refused(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    # Raw JSON text: a lone surrogate and a NUL as a client's JSON encoder writes them.
    frame = json.dumps(submit(question, client_id="odd", text="X" + GOOD_ANSWER))
    await c.send(frame.replace('"X', '"\\ud83d \\u0000'))
    ack = await c.recv("answer.accepted")
    assert ack["client_id"] == "odd"
    stored = await AIInterviewResponse.objects.aget(session_id=session_id)
    assert stored.response_text == "\ufffd " + GOOD_ANSWER


@pytest.mark.parametrize("client_id", ["a\\u0000b", "\\udc00"])
async def test_unstorable_characters_in_a_client_id_are_invalid_field(amake_invitation: Any, client_id: str) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    frame = json.dumps(submit(question, client_id="PLACEHOLDER")).replace("PLACEHOLDER", client_id)
    await c.send(frame)
    await expect_error(c, "invalid_field", field="client_id")
    await still_usable(c, question, session_id)
    await c.close()


async def test_errors_echo_the_refused_frames_ref_and_client_id(amake_invitation: Any) -> None:
    session_id, c, question = await open_interview(amake_invitation)
    await c.send(json.dumps({"type": "answer.nope", "ref": "f1"}))
    assert (await expect_error(c, "unknown_type"))["ref"] == "f1"
    await c.send(json.dumps({"type": "session.resume", "ref": 7, "last_seq": "abc"}))
    assert (await expect_error(c, "invalid_field"))["ref"] == 7
    await c.send(json.dumps({"type": "answer.submit", "client_id": "cid-9", "text": "an answer"}))
    error = await expect_error(c, "invalid_field", field="question_id")
    assert error["client_id"] == "cid-9" and "ref" not in error
    await still_usable(c, question, session_id)
    await c.close()
