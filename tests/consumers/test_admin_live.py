"""The staff socket `ws/admin/live/` with real parts: channels' test communicator against the
project's ASGI application (auth middleware, origin check, routing), the in-memory channel layer,
the in-process AI worker with the lexical grader, and the database."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from consumers.protocol import Throttle
from interview_rt.interviews.constants import CONSENT_NOTICE_VERSION
from interview_rt.interviews.models import AdminAction, AIInterviewResponse, AIInterviewResult, Job

from .helpers import GOOD_ANSWER, Candidate, Staff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("model_free_ai")]


@database_sync_to_async
def make_user(username: str, role: str | None = None, *, superuser: bool = False) -> tuple[Any, str]:
    user = get_user_model().objects.create_user(username=username, password="pw", is_superuser=superuser)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user, Token.objects.create(user=user).key


@database_sync_to_async
def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@database_sync_to_async
def give_job(invitation: Any, owner: Any) -> None:
    Job.objects.filter(pk=invitation.job_id).update(owner=owner)


async def first_question(c: Candidate, snapshot: dict[str, Any]) -> dict[str, Any]:
    if snapshot["session"]["current_question"]:
        return snapshot["session"]["current_question"]
    return (await c.recv("question.asked"))["question"]


def of(session_id: str, frame_type: str) -> Any:
    return lambda f: f.get("session_id") == session_id and f["type"] == frame_type


# --- who may connect -------------------------------------------------------------------------------


async def test_no_credentials_is_an_error_then_close_4401() -> None:
    staff = Staff()
    assert (await staff.connect()) == {
        "type": "error",
        "code": "not_authenticated",
        "message": "Log in as staff, or send an API token.",
    }
    assert await staff.closed_with() == 4401


async def test_a_bad_token_is_4401(db: Any) -> None:
    staff = Staff(token="0" * 40)
    assert (await staff.connect())["code"] == "not_authenticated"
    assert await staff.closed_with() == 4401


async def test_a_user_without_a_staff_role_is_4403() -> None:
    _, token = await make_user("nobody")
    staff = Staff(token=token)
    assert (await staff.connect())["code"] == "permission_denied"
    assert await staff.closed_with() == 4403


async def test_a_cookie_needs_an_origin() -> None:
    user, _ = await make_user("cookie-admin", "admin")
    cookie = await session_cookie(user)
    refused = Staff(cookie=cookie, origin=None)
    assert (await refused.connect())["code"] == "permission_denied"
    assert await refused.closed_with() == 4403
    staff = Staff(cookie=cookie)
    snapshot = await staff.connect()
    assert snapshot["type"] == "feed.snapshot" and snapshot["user"] == {"username": "cookie-admin", "role": "admin"}
    await staff.close()


async def test_a_foreign_origin_is_refused_at_the_handshake() -> None:
    user, _ = await make_user("cookie-admin2", "admin")
    staff = Staff(cookie=await session_cookie(user), origin="https://evil.example")
    connected, _ = await staff.comm.connect(timeout=30)
    assert not connected


@pytest.mark.parametrize("via", ["query", "subprotocol", "header"])
async def test_an_api_token_in_each_place(via: str) -> None:
    _, token = await make_user(f"tool-{via}", "reviewer")
    staff = Staff(token=token, via=via, origin=None)
    connected, subprotocol = await staff.comm.connect(timeout=30)
    assert connected
    # The token is never echoed back as the chosen subprotocol.
    assert subprotocol == ("interview-rt.staff" if via == "subprotocol" else None)
    assert (await staff.recv("feed.snapshot"))["user"]["role"] == "reviewer"
    await staff.close()


# --- snapshot, deltas, watch, drafts ---------------------------------------------------------------


async def test_snapshot_then_deltas_in_each_sessions_seq_order(amake_invitation: Any) -> None:
    _, token = await make_user("boss", superuser=True)
    _, waiting_token = await amake_invitation(candidate_name="Waiting")
    staff = Staff(token=token)
    await staff.connect()
    # A session created before connecting is in the next snapshot; one started later arrives as deltas.
    c = Candidate(waiting_token)
    snapshot = await c.connect()
    opened = await staff.until(lambda f: f["type"] == "session.opened")
    sid = opened["session_id"]
    assert opened["seq"] == 1 and opened["session"]["candidate_name"] == "Waiting"
    question = await first_question(c, snapshot)
    asked = await staff.until(of(sid, "question.asked"))
    assert asked["question"]["id"] == question["id"] and asked["question"]["key_points"]
    await c.answer(question, "a1", GOOD_ANSWER)
    received = await staff.until(of(sid, "answer.received"))
    assert received["answer"]["text"] == GOOD_ANSWER and received["progress"]["answered"] == 1
    graded = await staff.until(of(sid, "answer.feedback"))
    assert graded["feedback"]["response_id"] == received["answer"]["response_id"]
    assert graded["feedback"]["insufficient_evidence"] or graded["feedback"]["score"] is not None
    seqs = [f["seq"] for f in staff.frames if f.get("session_id") == sid]
    assert seqs == list(range(1, len(seqs) + 1))
    # A fresh snapshot has the row as of the last seq, with the score so far.
    await staff.send({"type": "feed.sync"})
    snap = await staff.until(lambda f: f["type"] == "feed.snapshot")
    row = next(r for r in snap["sessions"] if r["id"] == sid)
    assert row["feed_seq"] >= graded["seq"] and row["scores"][0]["order"] == 0
    await c.close()
    left = await staff.until(of(sid, "session.left"))
    assert left["progress"]["connected"] is False
    await staff.close()


async def test_watch_gives_the_transcript_then_drafts_never_echoed(amake_invitation: Any) -> None:
    _, token = await make_user("watcher", "admin")
    _, cand_token = await amake_invitation()
    c = Candidate(cand_token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "a1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    question = (await c.recv("question.asked"))["question"]
    staff = Staff(token=token)
    snapshot = await staff.connect()
    sid = snapshot["sessions"][0]["id"]
    await staff.send({"type": "watch", "session_id": sid, "ref": 7})
    transcript = await staff.until(lambda f: f["type"] == "watch.transcript")
    items = transcript["items"]
    assert [i["question"]["order"] for i in items] == [0, 1]
    assert items[0]["answer"]["text"] == GOOD_ANSWER and items[0]["feedback"] is not None
    assert items[1]["answer"] is None and transcript["seq"] == transcript["session"]["feed_seq"]

    await c.send({"type": "answer.draft", "question_id": question["id"], "text": "I would"})
    draft = await staff.until(lambda f: f["type"] == "answer.draft")
    assert draft == {**draft, "session_id": sid, "question_id": question["id"], "text": "I would"}
    # Typing fast: the server forwards at most 2 a second and always the latest text last.
    for n in range(10):
        await c.send({"type": "answer.draft", "question_id": question["id"], "text": "I would " + "x" * n})
    last = await staff.until(lambda f: f["type"] == "answer.draft" and f["text"] == "I would " + "x" * 9)
    drafts = [f for f in staff.frames if f["type"] == "answer.draft"]
    assert last is drafts[-1] and len(drafts) < 11
    # Drafts are never stored as answers and never sent back to the candidate.
    assert await c.nothing_more()
    assert await AIInterviewResponse.objects.acount() == 1
    await staff.send({"type": "unwatch", "session_id": sid})
    await c.send({"type": "answer.draft", "question_id": question["id"], "text": "after unwatch"})
    await c.send({"type": "ping", "ref": "sync"})
    await c.recv("pong")
    await staff.send({"type": "ping", "ref": "p"})
    pong = await staff.until(lambda f: f["type"] == "pong")
    assert pong["ref"] == "p" and not [f for f in staff.frames if f.get("text") == "after unwatch"]
    await c.close()
    await staff.close()


def test_throttle_passes_two_a_second_and_the_latest_last() -> None:
    now = [0.0]
    timers: list[tuple[float, Any]] = []
    sent: list[int] = []

    def call_at(when: float, fn: Any) -> object:
        timers.append((when, fn))
        return object()

    throttle = Throttle(2, sent.append, clock=lambda: now[0], call_at=call_at)
    for i in range(10):  # ten in 0.1 s
        now[0] = i * 0.01
        throttle.offer(i)
    assert sent == [0] and [t[0] for t in timers] == [0.5]
    now[0] = 0.5
    timers.pop()[1]()
    assert sent == [0, 9]
    now[0] = 0.6
    throttle.offer(10)  # within 0.5 s of the last: waits for its turn
    assert sent == [0, 9] and timers[0][0] == 1.0


async def test_integrity_signals_are_pushed_and_summarised_never_scored(amake_invitation: Any) -> None:
    _, token = await make_user("signals", "admin")
    _, cand_token = await amake_invitation()
    staff = Staff(token=token)
    await staff.connect()
    c = Candidate(cand_token)
    question = await first_question(c, await c.connect())
    for kind, value in (("first_keystroke", 1500), ("paste", 120), ("focus_lost", None), ("focus_regained", 4000)):
        await c.send({"type": "integrity.signal", "question_id": question["id"], "kind": kind, "value": value})
    signal = await staff.until(lambda f: f["type"] == "integrity.signal" and f["signal"]["kind"] == "focus_regained")
    assert signal["signal"]["value"] == 4000
    await c.send({"type": "integrity.signal", "question_id": question["id"], "kind": "teleport"})
    assert (await c.recv("error"))["code"] == "invalid_field"
    await c.answer(question, "a1", GOOD_ANSWER)
    received = await staff.until(lambda f: f["type"] == "answer.received")
    integrity = received["answer"]["integrity"]
    assert integrity["paste_count"] == 1 and integrity["paste_chars"] == 120
    assert integrity["focus_lost_count"] == 1 and integrity["focus_away_ms"] == 4000
    assert integrity["first_keystroke_ms"] == 1500 and integrity["time_to_submit_ms"] is not None
    await c.close()
    await staff.close()


# --- live actions ----------------------------------------------------------------------------------


async def test_message_extend_add_question_end(amake_invitation: Any) -> None:
    user, token = await make_user("lead", "recruiter")
    invitation, cand_token = await amake_invitation(question_count=2)
    await give_job(invitation, user)
    staff = Staff(token=token)
    await staff.connect()
    c = Candidate(cand_token)
    question = await first_question(c, await c.connect())
    sid = (await staff.until(lambda f: f["type"] == "session.opened"))["session_id"]

    await staff.send({"type": "candidate.message", "session_id": sid, "text": "Take your time.", "ref": "m1"})
    accepted = await staff.until(lambda f: f["type"] == "action.accepted")
    assert accepted["ref"] == "m1" and accepted["action"]["kind"] == "message" and accepted["action"]["actor"] == "lead"
    assert (await c.recv("interviewer.message"))["text"] == "Take your time."
    await staff.until(of(sid, "admin.action"))

    await staff.send({"type": "question.extend", "session_id": sid, "seconds": 120, "ref": "x"})
    extended = await c.recv("question.extended")
    assert extended["question_id"] == question["id"] and extended["added_seconds"] == 120
    assert extended["deadline_ms"] == question["deadline_ms"] + 120_000

    await staff.send(
        {
            "type": "question.add",
            "session_id": sid,
            "text": "How would you roll back a bad deploy?",
            "key_points": ["keep the previous release", "feature flags"],
            "ref": "q",
        }
    )
    added = await staff.until(lambda f: f["type"] == "action.accepted" and f["ref"] == "q")
    assert added["action"]["detail"]["order"] == 1
    await c.answer(question, "a1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    nxt = await c.recv("question.asked")
    assert nxt["question"]["text"] == "How would you roll back a bad deploy?" and nxt["total"] == 3
    staff_q = await staff.until(lambda f: of(sid, "question.asked")(f) and f["question"]["order"] == 1)
    assert staff_q["question"]["added_by"] == "lead" and staff_q["question"]["key_points"]
    await c.answer(nxt["question"], "a2", "Keep the previous release ready and switch feature flags off.")
    await c.recv("answer.feedback")  # graded like the others
    await c.recv("question.asked")

    await staff.send({"type": "interview.end", "session_id": sid, "reason": "enough", "ref": "end"})
    assert (await c.recv("interview.ended"))["by"] == "interviewer"
    done = await c.recv("interview.completed")
    assert done["result"]["ended_early"] is True and len(done["answers"]) == 2
    completed = await staff.until(of(sid, "interview.completed"))
    assert completed["result"]["ended_early"] is True
    # Refused once over, with the code and the request's ref.
    await staff.send({"type": "question.extend", "session_id": sid, "seconds": 5, "ref": "late"})
    refused = await staff.until(lambda f: f["type"] == "error")
    assert refused["code"] == "interview_completed" and refused["ref"] == "late" and refused["session_id"] == sid
    kinds = [k async for k in AdminAction.objects.order_by("id").values_list("kind", flat=True)]
    assert kinds == ["message", "extend_time", "add_question", "end"]
    result = await AIInterviewResult.objects.aget(session_id=sid)
    assert result.ended_early
    await c.close()
    await staff.close()


async def test_extend_without_an_open_question_and_bad_fields(amake_invitation: Any) -> None:
    _, token = await make_user("admin2", "admin")
    _, cand_token = await amake_invitation()
    c = Candidate(cand_token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "a1", GOOD_ANSWER)
    staff = Staff(token=token)
    sid = (await staff.connect())["sessions"][0]["id"]
    await c.recv("answer.feedback")
    await c.recv("question.asked")
    await staff.send({"type": "question.extend", "session_id": sid, "seconds": 0})
    assert (await staff.until(lambda f: f["type"] == "error"))["field"] == "seconds"
    await staff.send({"type": "interview.end", "session_id": "not-a-uuid"})
    assert (await staff.until(lambda f: f["type"] == "error"))["code"] == "invalid_field"
    await staff.send({"type": "sessions.delete"})
    assert (await staff.until(lambda f: f["type"] == "error"))["code"] == "unknown_type"
    await c.close()
    await staff.close()


async def test_every_staff_error_names_the_frame_it_is_about(amake_invitation: Any) -> None:
    """Several frames in flight: each error echoes the frame's ref and session_id, parsed or not."""
    _, token = await make_user("admin-refs", "admin")
    _, cand_token = await amake_invitation()
    c = Candidate(cand_token)
    await first_question(c, await c.connect())
    staff = Staff(token=token)
    sid = (await staff.connect())["sessions"][0]["id"]
    sent = [
        ({"type": "sessions.delete", "ref": "r1", "session_id": sid}, "unknown_type", None),
        ({"type": "interview.end", "ref": "r2", "session_id": "not-a-uuid"}, "invalid_field", "session_id"),
        ({"type": "candidate.message", "ref": 3, "session_id": sid, "text": ""}, "invalid_field", "text"),
        ({"type": "question.extend", "ref": "r4", "session_id": sid, "seconds": "ten"}, "invalid_field", "seconds"),
    ]
    for frame, _code, _field in sent:
        await staff.send(frame)
    errors = [await staff.until(lambda f: f["type"] == "error") for _ in sent]
    for (frame, code, field), error in zip(sent, errors, strict=True):
        assert error["code"] == code and error["ref"] == frame["ref"], error
        assert error["session_id"] == frame["session_id"], error
        if field:
            assert error["field"] == field, error
    # A too-short text is said to be too short, not of the wrong type; a string for a number is.
    assert "wrong type" not in errors[2]["message"], errors[2]
    assert "wrong type" in errors[3]["message"], errors[3]
    await c.close()
    await staff.close()


# --- roles and visibility ----------------------------------------------------------------------------


async def test_recruiters_see_only_their_jobs_and_reviewers_cannot_act(amake_invitation: Any) -> None:
    mine_user, mine_token = await make_user("mine", "recruiter")
    _, other_token = await make_user("other", "recruiter")
    reviewer, reviewer_token = await make_user("rev", "reviewer")
    inv, token = await amake_invitation(job_title="Mine")
    await give_job(inv, mine_user)
    await database_sync_to_async(lambda: Job.objects.get(pk=inv.job_id).team.add(reviewer))()
    mine, other, rev = Staff(token=mine_token), Staff(token=other_token), Staff(token=reviewer_token)
    for s in (mine, other, rev):
        await s.connect()
    c = Candidate(token)
    await c.connect()
    sid = (await mine.until(lambda f: f["type"] == "session.opened"))["session_id"]
    await rev.until(lambda f: f["type"] == "session.opened")
    # The other recruiter hears nothing of it, and cannot watch or act: as if it did not exist.
    await other.send({"type": "watch", "session_id": sid})
    assert (await other.until(lambda f: f["type"] == "error"))["code"] == "session_not_found"
    await other.send({"type": "interview.end", "session_id": sid})
    assert (await other.until(lambda f: f["type"] == "error"))["code"] == "session_not_found"
    assert not [f for f in other.frames if f.get("session_id") == sid and f["type"] != "error"]
    await other.send({"type": "feed.sync"})
    assert (await other.until(lambda f: f["type"] == "feed.snapshot"))["sessions"] == []
    # The reviewer watches but may not act.
    await rev.send({"type": "watch", "session_id": sid})
    await rev.until(lambda f: f["type"] == "watch.transcript")
    await rev.send({"type": "candidate.message", "session_id": sid, "text": "hi"})
    assert (await rev.until(lambda f: f["type"] == "error"))["code"] == "permission_denied"
    for s in (mine, other, rev):
        await s.close()
    await c.close()


# --- consent -------------------------------------------------------------------------------------------


async def test_consent_before_the_first_question(amake_invitation: Any, settings: Any) -> None:
    settings.INTERVIEW_REQUIRE_CONSENT = True
    _, token = await make_user("consent-watch", "admin")
    staff = Staff(token=token)
    await staff.connect()
    _, cand_token = await amake_invitation()
    c = Candidate(cand_token)
    snapshot = await c.connect()
    assert snapshot["session"]["awaiting"] == "consent" and snapshot["session"]["current_question"] is None
    assert await c.nothing_more(0.5)
    await c.send({"type": "consent.accept", "notice_version": "1999-01-01"})
    refused = await c.recv("error")
    assert refused["code"] == "consent_outdated" and refused["field"] == "notice_version"
    await c.send({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION})
    recorded = await c.recv("consent.recorded")
    assert recorded["notice_version"] == CONSENT_NOTICE_VERSION
    frame = await c.recv()
    while frame["type"] != "question.asked":
        frame = await c.recv()
    accepted = await staff.until(lambda f: f["type"] == "consent.accepted")
    assert accepted["notice_version"] == CONSENT_NOTICE_VERSION
    await c.close()
    await staff.close()


async def test_a_lost_feed_message_is_filled_from_the_log(amake_invitation: Any) -> None:
    from interview_rt.interviews import services

    _, token = await make_user("gaps", "admin")
    _, cand_token = await amake_invitation()
    c = Candidate(cand_token)
    question = await first_question(c, await c.connect())
    staff = Staff(token=token)
    sid = (await staff.connect())["sessions"][0]["id"]
    # Logged but never published: as if the channel layer lost the message.
    await database_sync_to_async(services.signal_record)(
        session_id=sid, kind="paste", value=5, question_id=question["id"]
    )
    await c.send({"type": "integrity.signal", "question_id": question["id"], "kind": "paste", "value": 6})
    first = await staff.until(lambda f: f["type"] == "integrity.signal")
    second = await staff.until(lambda f: f["type"] == "integrity.signal")
    assert [first["signal"]["value"], second["signal"]["value"]] == [5, 6]
    assert second["seq"] == first["seq"] + 1
    await c.close()
    await staff.close()


async def test_other_sessions_flow_while_a_watch_is_opening(amake_invitation: Any, monkeypatch: Any) -> None:
    import asyncio

    from consumers import admin_live
    from interview_rt.interviews import selectors, services

    _, token = await make_user("busy", "admin")
    _, token_a = await amake_invitation(candidate_name="Slow")
    _, token_b = await amake_invitation(candidate_name="Fast")
    a, b = Candidate(token_a), Candidate(token_b)
    qa, qb = await first_question(a, await a.connect()), await first_question(b, await b.connect())
    staff = Staff(token=token)
    snapshot = await staff.connect()
    sid_a = next(r["id"] for r in snapshot["sessions"] if r["candidate_name"] == "Slow")
    release = asyncio.Event()
    real_staff_db = admin_live.staff_db

    def held_staff_db(fn: Any) -> Any:
        call = real_staff_db(fn)
        if fn not in (services.staff_transcript, selectors.transcript_of):
            return call

        async def held(*args: Any, **kwargs: Any) -> Any:
            await release.wait()  # the transcript read is held back (a busy database)
            return await call(*args, **kwargs)

        return held

    monkeypatch.setattr(admin_live, "staff_db", held_staff_db)
    await staff.send({"type": "watch", "session_id": sid_a})
    await b.answer(qb, "b1", GOOD_ANSWER)
    await a.answer(qa, "a1", GOOD_ANSWER)
    # Both answers arrive while A's transcript is still being read.
    await staff.until(lambda f: f["type"] == "answer.received" and f["session_id"] != sid_a)
    await staff.until(lambda f: f["type"] == "answer.received" and f["session_id"] == sid_a)
    release.set()
    transcript = await staff.until(lambda f: f["type"] == "watch.transcript")
    at = staff.frames.index(transcript)
    before = [f["seq"] for f in staff.frames[:at] if f.get("session_id") == sid_a and "progress" in f]
    # The transcript covers every frame of A sent before it (folded in from the log) ...
    assert transcript["seq"] >= max(before) and transcript["items"][0]["answer"]["text"] == GOOD_ANSWER
    # ... and what follows it is newer.
    if transcript["items"][0]["feedback"] is None:
        later = await staff.until(lambda f: f.get("session_id") == sid_a and f["type"] == "answer.feedback")
        assert later["seq"] > transcript["seq"]
    for c in (a, b):
        await c.close()
    await staff.close()
