"""A whole interview over one socket, and resuming it at every point."""

from __future__ import annotations

from typing import Any

import channels.consumer
import pytest
from channels.db import database_sync_to_async

from interview_rt.interviews.models import AIInterviewResponse, AIInterviewResult, AIInterviewSession, SessionFrame

from .helpers import GOOD_ANSWER, Candidate

pytestmark = pytest.mark.django_db(transaction=True)


async def first_question(c: Candidate, snapshot: dict[str, Any]) -> dict[str, Any]:
    if snapshot["session"]["current_question"]:
        return snapshot["session"]["current_question"]
    return (await c.recv("question.asked"))["question"]


async def test_full_interview_immediate_feedback(amake_invitation: Any) -> None:
    invitation, token = await amake_invitation(question_count=3)
    c = Candidate(token)
    snapshot = await c.connect()
    assert snapshot["session"]["status"] == "in_progress"
    question = await first_question(c, snapshot)
    seqs = []
    for i in range(3):
        assert "reference_answer" not in question and "key_points" not in question
        ack = await c.answer(question, f"a{i}", GOOD_ANSWER)
        assert ack["question_id"] == question["id"] and ack["late"] is False
        feedback = await c.recv("answer.feedback")
        assert feedback["client_id"] == f"a{i}"
        assert feedback["insufficient_evidence"] or 0 <= feedback["score"] <= 10
        assert feedback["feedback"]
        seqs += [ack["seq"], feedback["seq"]]
        if i < 2:
            nxt = await c.recv("question.asked")
            seqs.append(nxt["seq"])
            assert nxt["question"]["order"] == i + 1
            question = nxt["question"]
    done = await c.recv("interview.completed")
    seqs.append(done["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert done["result"]["recommendation"] in {"strong_hire", "hire", "maybe", "no_hire", "insufficient_evidence"}
    assert len(done["answers"]) == 3
    await c.close()

    session = await AIInterviewSession.objects.aget(invitation=invitation)
    assert session.status == "completed"
    assert await AIInterviewResponse.objects.filter(session=session, evaluation_status="done").acount() == 3
    assert await AIInterviewResult.objects.filter(session=session).aexists()
    # Every pushed frame is in the log, seq 1..N without gaps.
    logged = [s async for s in SessionFrame.objects.filter(session=session).values_list("seq", flat=True)]
    assert logged == list(range(1, session.last_seq + 1))


async def test_feedback_mode_end_only_acknowledges(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=2, feedback_mode="end")
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "e1", GOOD_ANSWER)
    second = await c.recv("question.asked")  # straight after the ack, no feedback frame
    await c.answer(second["question"], "e2", GOOD_ANSWER)
    done = await c.recv("interview.completed")
    assert [f["type"] for f in c.frames].count("answer.feedback") == 0
    assert all("feedback" in a for a in done["answers"])
    await c.close()


async def test_replay_from_zero_matches_snapshot(amake_invitation: Any) -> None:
    """Replaying the log from seq 0 ends in the state a fresh snapshot shows."""
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "r1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    await c.recv("question.asked")
    await c.close()

    again = Candidate(token, last_seq=0)
    snapshot = await again.connect()
    replayed = [await again.recv() for _ in range(snapshot["seq"])]
    assert [f["seq"] for f in replayed] == list(range(1, snapshot["seq"] + 1))
    answered = sum(f["type"] == "answer.accepted" for f in replayed)
    last_question = [f for f in replayed if f["type"] == "question.asked"][-1]["question"]
    assert answered == snapshot["session"]["answered"]
    assert last_question["id"] == snapshot["session"]["current_question"]["id"]
    assert await again.nothing_more()
    await again.close()


async def test_resume_mid_question_gets_nothing_twice(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    snapshot = await c.connect()
    question = await first_question(c, snapshot)
    last_seq = max(f.get("seq", 0) for f in c.frames)
    await c.close()
    session = await AIInterviewSession.objects.aget(pk=snapshot["session"]["id"])
    assert session.status == "abandoned"

    again = Candidate(token, last_seq=last_seq)
    resumed = await again.connect()
    assert resumed["session"]["status"] == "in_progress"
    assert resumed["session"]["current_question"]["id"] == question["id"]
    assert await again.nothing_more()  # no frame repeated, no question asked twice
    assert await SessionFrame.objects.filter(session_id=session.pk, type="question.asked").acount() == 1
    await again.answer(question, "m1", GOOD_ANSWER)
    await again.recv("answer.feedback")
    await again.close()


async def test_resume_mid_evaluation_delivers_missed_feedback(amake_invitation: Any, monkeypatch: Any) -> None:
    """The candidate drops right after the ack; the grade lands while away and is replayed."""
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    ack = await c.answer(question, "d1", GOOD_ANSWER)
    await c.close()

    response = await AIInterviewResponse.objects.aget(client_id="d1")
    for _ in range(100):  # the in-process worker goes on grading without the socket
        await response.arefresh_from_db()
        if response.evaluation_status == "done":
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert response.evaluation_status == "done"

    again = Candidate(token, last_seq=ack["seq"])
    await again.connect()
    feedback = await again.recv("answer.feedback")
    assert feedback["seq"] == ack["seq"] + 1 and feedback["client_id"] == "d1"
    nxt = await again.recv("question.asked")
    assert nxt["question"]["order"] == 1
    await again.close()


async def test_reconnect_after_completion(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=1)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "f1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    done = await c.recv("interview.completed")
    await c.close()

    again = Candidate(token, last_seq=done["seq"])
    snapshot = await again.connect()
    assert snapshot["session"]["status"] == "completed"
    assert snapshot["session"]["result"]["recommendation"] == done["result"]["recommendation"]
    # The answers too, so a client that never saw interview.completed can still list them.
    assert snapshot["session"]["answers"] == done["answers"] and len(done["answers"]) == 1
    assert await again.nothing_more()
    await again.send({"type": "answer.submit", "client_id": "late", "question_id": question["id"], "text": "more"})
    error = await again.recv("error")
    assert error["code"] == "interview_completed"
    await again.close()


async def test_duplicate_client_id_returns_same_ack_and_feedback(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    ack = await c.answer(question, "dup", GOOD_ANSWER)
    feedback = await c.recv("answer.feedback")
    await c.recv("question.asked")
    await c.send({"type": "answer.submit", "client_id": "dup", "question_id": question["id"], "text": "changed"})
    again_ack = await c.recv("answer.accepted")
    again_feedback = await c.recv("answer.feedback")
    assert again_ack["duplicate"] is True and again_ack["seq"] == ack["seq"]
    assert again_ack["response_id"] == ack["response_id"]
    assert again_feedback["seq"] == feedback["seq"] and again_feedback["score"] == feedback["score"]
    assert await AIInterviewResponse.objects.filter(client_id="dup").acount() == 1
    stored = await AIInterviewResponse.objects.aget(client_id="dup")
    assert stored.response_text == GOOD_ANSWER
    await c.close()


async def test_answer_to_other_question_is_refused(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "q1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    await c.recv("question.asked")
    # A new client id for the question already answered.
    await c.send({"type": "answer.submit", "client_id": "q1-again", "question_id": question["id"], "text": "x y z"})
    error = await c.recv("error")
    assert error["code"] == "question_not_current" and error["client_id"] == "q1-again"
    await c.send(
        {
            "type": "answer.submit",
            "client_id": "q-unknown",
            "question_id": "7f8d4a52-3b1f-4d61-9c39-5b6d0d3f0b11",
            "text": "x",
        }
    )
    assert (await c.recv("error"))["code"] == "question_not_current"
    assert await AIInterviewResponse.objects.acount() == 1
    await c.close()


async def test_second_socket_supersedes_first(amake_invitation: Any) -> None:
    _, token = await amake_invitation(question_count=1)
    first = Candidate(token)
    await first.connect()
    second = Candidate(token)
    await second.connect()
    while True:
        frame = await first.recv()
        if frame["type"] == "error":
            assert frame["code"] == "superseded"
            break
    closed = await first.comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4409}
    await second.close()


async def test_late_answer_is_stored_and_marked(amake_invitation: Any, settings: Any) -> None:
    settings.INTERVIEW_LATE_GRACE_SECONDS = 0
    _, token = await amake_invitation(question_count=1, time_limit_seconds=10)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    # Move the clock of the question back instead of sleeping past its limit.
    from datetime import timedelta

    from interview_rt.interviews.models import AIInterviewQuestion

    q = await AIInterviewQuestion.objects.aget(pk=question["id"])
    assert q.asked_at is not None
    q.asked_at = q.asked_at - timedelta(seconds=11)
    await q.asave(update_fields=["asked_at"])
    ack = await c.answer(question, "slow", GOOD_ANSWER)
    assert ack["late"] is True
    feedback = await c.recv("answer.feedback")
    assert feedback["late"] is True
    stored = await AIInterviewResponse.objects.aget(client_id="slow")
    assert stored.is_late and (stored.time_taken_seconds or 0) >= 11
    await c.close()


async def test_pending_evaluation_is_done_after_a_crash(amake_invitation: Any) -> None:
    """An answer stored with no evaluation (the worker died) is graded by the sweep on restart,
    and the candidate gets the feedback on reconnect."""
    from interview_rt.interviews import services
    from interview_rt.interviews.worker import AIWorker
    from interview_rt.runtime import runtime

    # No worker in this process until the "restart": the answer below must stay pending.
    await runtime.stop()
    await runtime.start(inprocess_worker=False)
    _, token = await amake_invitation(question_count=2)
    session = (await database_sync_to_async(services.session_open)(token=token)).session
    await database_sync_to_async(services.session_start)(session_id=session.pk)
    w = AIWorker(runtime)
    await w.generate(str(session.pk))
    q = await database_sync_to_async(lambda: session.questions.get(order=0))()
    # Store the answer but let no worker see the nudge: the "crash".
    receipt = await database_sync_to_async(services.answer_submit)(
        session_id=session.pk, client_id="crash", question_id=q.pk, text=GOOD_ANSWER
    )
    response = await AIInterviewResponse.objects.aget(pk=receipt.response_id)
    assert response.evaluation_status == "pending"

    restarted = AIWorker(runtime)
    assert await restarted.sweep() >= 1
    await restarted.drain()
    await response.arefresh_from_db()
    assert response.evaluation_status == "done"

    c = Candidate(token, last_seq=receipt.frames[0]["seq"])
    await c.connect()
    feedback = await c.recv("answer.feedback")
    assert feedback["client_id"] == "crash"
    await c.close()


async def test_frames_are_handled_without_a_thread_hop_per_message(amake_invitation: Any, monkeypatch: Any) -> None:
    # channels would close old connections in a thread before every handler; our consumers reach
    # the database only through the runtime's lanes, so each frame skips that round trip.
    hops = 0

    async def counted() -> None:
        nonlocal hops
        hops += 1

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    _, token = await amake_invitation(question_count=1)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.send({"type": "ping", "ref": 1})
    assert (await c.recv("pong"))["ref"] == 1
    await c.answer(question, "h1", GOOD_ANSWER)
    await c.recv("answer.feedback")
    await c.recv("interview.completed")
    await c.close()
    assert hops == 0


async def test_the_in_process_worker_gets_its_jobs_claimed_with_the_connect_and_the_answer(
    amake_invitation: Any, monkeypatch: Any
) -> None:
    """With a worker in this process, the connect that creates the session and each answer take
    the job's lease for it and hand the job over: the worker never claims (nor needs a nudge)."""
    from interview_rt.interviews import services
    from interview_rt.runtime import runtime

    claims: list[str] = []
    for name in ("generation_claim", "evaluation_claim"):
        original = getattr(services, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            claims.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, counted)
    _, token = await amake_invitation(question_count=2)
    c = Candidate(token)
    question = await first_question(c, await c.connect())
    await c.answer(question, "own-1", GOOD_ANSWER)
    response = await AIInterviewResponse.objects.aget(client_id="own-1")
    assert runtime.worker is not None
    assert response.claimed_by == runtime.worker.id and response.attempts == 1
    assert (await c.recv("answer.feedback"))["client_id"] == "own-1"
    session = await AIInterviewSession.objects.aget(pk=response.session_id)
    assert session.generation_claimed_by == runtime.worker.id
    await c.close()
    assert claims == []


async def test_an_answer_claimed_by_a_worker_that_died_is_graded_by_the_next(amake_invitation: Any) -> None:
    """The lease taken with the answer belongs to a worker with no heartbeat (its process died
    after the acknowledgement): the next worker's sweep takes it over and grades it."""
    from interview_rt.interviews import services
    from interview_rt.interviews.worker import AIWorker
    from interview_rt.runtime import runtime

    await runtime.stop()
    await runtime.start(inprocess_worker=False)
    _, token = await amake_invitation(question_count=2)
    connection = await database_sync_to_async(services.session_connect)(token=token, last_seq=None)
    w = AIWorker(runtime)
    await w.generate(connection.session_id)
    q = await AIInterviewSession.objects.aget(pk=connection.session_id)
    question = await database_sync_to_async(lambda: q.questions.get(order=0))()
    receipt = await database_sync_to_async(services.answer_submit)(
        session_id=connection.session_id,
        client_id="orphan",
        question_id=question.pk,
        text=GOOD_ANSWER,
        claim_for="host:1:died",
    )
    assert receipt.emitted.jobs[0].claimed is not None  # handed to a worker that is gone
    response = await AIInterviewResponse.objects.aget(pk=receipt.response_id)
    assert response.claimed_by == "host:1:died" and response.evaluation_status == "pending"
    restarted = AIWorker(runtime)
    assert await restarted.sweep() >= 1
    await restarted.drain()
    await response.arefresh_from_db()
    assert response.evaluation_status == "done" and response.claimed_by == restarted.id
    await restarted.gone()
    await w.gone()
