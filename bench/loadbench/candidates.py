"""The candidates' websockets clients: one interview per session, timed, its log order checked."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from .config import ANSWER, HOST, LOGGED
from .stats import summary_ms


@dataclass
class Live:
    """Counters shared by all sessions (progress output, and the model-queue estimate)."""

    t0: float = 0.0
    connected: int = 0
    awaiting_first_question: int = 0  # sessions whose questions are being generated (a model call)
    evaluations_outstanding: int = 0  # answers sent, feedback not yet received (a model call each)
    answers_sent: int = 0
    acks: int = 0
    feedbacks: int = 0
    completed: int = 0
    finished: int = 0  # completed or failed
    errors: int = 0
    first_questions: int = 0
    all_done: asyncio.Event = field(default_factory=asyncio.Event)
    # storm / idle: sessions hold their socket open after the first question until this is set
    release: asyncio.Event = field(default_factory=asyncio.Event)
    # Interview scenarios: sessions answer once every session has its first question (or the
    # wait is over), so the server's CPU of the connects and of the answers are measured apart.
    answering: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class AnswerRecord:
    session: int
    order: int
    sent_at: float  # s since the run started
    ack_s: float | None = None
    response_id: str | None = None
    ack_at: float | None = None  # perf_counter when the candidate read its answer.accepted
    feedback_s: float | None = None
    model_calls_outstanding: int = 0  # client-side count when sent, this answer included


@dataclass
class SessionResult:
    index: int
    completed: bool = False
    error: str | None = None
    error_frames: list[dict[str, Any]] = field(default_factory=list)
    connect_s: float | None = None
    started_at: float | None = None  # s since the run started, when it began to connect
    first_question_s: float | None = None  # connect -> first question (includes generation)
    duration_s: float | None = None
    snapshot_seq: int | None = None
    last_seq: int | None = None
    seqs: list[int] = field(default_factory=list)
    types: dict[int, str] = field(default_factory=dict)
    order_violations: list[str] = field(default_factory=list)
    answers: list[AnswerRecord] = field(default_factory=list)
    frames_received: int = 0
    replay: dict[str, Any] | None = None


def expected_log(questions: int, feedback_mode: str) -> list[str]:
    kinds: list[str] = []
    for _ in range(questions):
        kinds.append("question.asked")
        kinds.append("answer.accepted")
        if feedback_mode == "immediate":
            kinds.append("answer.feedback")
    kinds.append("interview.completed")
    return kinds


async def run_session(
    index: int, token: str, port: int, live: Live, args: argparse.Namespace, deadline: float
) -> SessionResult:
    res = SessionResult(index)
    url = f"ws://{HOST}:{port}/ws/interview/{token}/"
    sent: dict[str, AnswerRecord] = {}
    in_generation = False
    counted_connected = False
    try:
        if args.ramp_s > 0:
            await asyncio.sleep(args.ramp_s * index / max(1, args.sessions))
        t_start = time.perf_counter()
        res.started_at = t_start - live.t0
        async with websockets.connect(
            url, compression=None, proxy=None, ping_interval=None, open_timeout=60, max_size=2**22, close_timeout=5
        ) as ws:
            res.connect_s = time.perf_counter() - t_start
            live.connected += 1
            counted_connected = True
            live.awaiting_first_question += 1
            in_generation = True
            last_seq: int | None = None
            answered = 0
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError("scenario deadline reached")
                raw = await asyncio.wait_for(ws.recv(), min(args.frame_timeout, remaining))
                now = time.perf_counter()
                frame = json.loads(raw)
                res.frames_received += 1
                kind = frame.get("type")
                question = None
                if kind == "session.state":
                    if last_seq is None:
                        last_seq = res.snapshot_seq = int(frame["seq"])
                    question = frame["session"].get("current_question")
                    if frame["session"].get("status") in ("expired",):
                        raise RuntimeError("session expired")
                elif kind in LOGGED:
                    seq = int(frame["seq"])
                    if last_seq is None:
                        res.order_violations.append(f"logged frame seq {seq} before the snapshot")
                    elif seq != last_seq + 1:
                        what = "duplicate/old" if seq <= last_seq else "gap"
                        res.order_violations.append(f"{what}: seq {seq} after {last_seq}")
                    if seq in res.types:
                        res.order_violations.append(f"seq {seq} received twice")
                    res.types[seq] = kind
                    res.seqs.append(seq)
                    last_seq = seq if last_seq is None else max(last_seq, seq)
                elif kind == "error":
                    res.error_frames.append(frame)
                    live.errors += 1
                if kind == "question.asked":
                    question = frame["question"]
                elif kind == "answer.accepted":
                    rec = sent.get(frame.get("client_id", ""))
                    if rec is not None and rec.ack_s is None:
                        rec.ack_s = now - (rec.sent_at + live.t0)
                        rec.response_id, rec.ack_at = frame.get("response_id"), now
                        live.acks += 1
                        if args.feedback_mode == "end":
                            live.evaluations_outstanding -= 1
                elif kind == "answer.feedback":
                    rec = sent.get(frame.get("client_id", ""))
                    if rec is not None and rec.feedback_s is None:
                        rec.feedback_s = now - (rec.sent_at + live.t0)
                        live.feedbacks += 1
                        live.evaluations_outstanding -= 1
                elif kind == "interview.completed":
                    res.completed = True
                    res.last_seq = last_seq
                    res.duration_s = now - t_start
                    live.completed += 1
                    break
                if question is not None and question.get("order") == answered:
                    if in_generation:
                        in_generation = False
                        live.awaiting_first_question -= 1
                        res.first_question_s = now - t_start
                        live.first_questions += 1
                    if getattr(args, "hold", False):
                        # storm / idle: the first question is what is measured; keep the socket
                        # open (an idle candidate reading it) until the scenario releases it.
                        res.completed = True
                        live.finished += 1
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(live.release.wait(), max(0.0, deadline - time.perf_counter()) + 1)
                        return res
                    if answered == 0 and not live.answering.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(live.answering.wait(), max(0.0, deadline - time.perf_counter()))
                    if args.think_ms:
                        await asyncio.sleep(args.think_ms / 1000)
                    answered += 1
                    client_id = f"s{index}-a{answered}"
                    live.evaluations_outstanding += 1
                    rec = AnswerRecord(
                        session=index,
                        order=question["order"],
                        sent_at=time.perf_counter() - live.t0,
                        model_calls_outstanding=live.awaiting_first_question + live.evaluations_outstanding,
                    )
                    sent[client_id] = rec
                    res.answers.append(rec)
                    live.answers_sent += 1
                    await ws.send(
                        json.dumps(
                            {
                                "type": "answer.submit",
                                "client_id": client_id,
                                "question_id": question["id"],
                                "text": ANSWER,
                            }
                        )
                    )
            # Everyone finished (or the deadline passed): read the whole log back and compare.
            live.finished += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.all_done.wait(), max(0.0, deadline - time.perf_counter()) + 1)
            if args.verify_log:
                res.replay = await replay_check(ws, res, args)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"[:300]
        live.errors += 1
        if not res.completed:
            live.finished += 1
    finally:
        if in_generation:
            live.awaiting_first_question -= 1
        for rec in sent.values():
            if rec.feedback_s is None and (args.feedback_mode == "immediate" or rec.ack_s is None):
                live.evaluations_outstanding -= 1
        if counted_connected:
            live.connected -= 1
    return res


async def replay_check(ws: Any, res: SessionResult, args: argparse.Namespace) -> dict[str, Any]:
    """`session.resume` from 0: the log must be 1..N, in order, of the expected kinds (one
    question/ack[/feedback] triple per answered question, follow-ups included, then the result),
    and agree with what arrived live."""
    await ws.send(json.dumps({"type": "session.resume", "last_seq": 0}))
    expected = expected_log(len(res.answers), args.feedback_mode)
    got: list[dict[str, Any]] = []
    problems: list[str] = []
    while len(got) < len(expected) + 20:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except TimeoutError:
            problems.append(f"replay stopped after {len(got)} of {len(expected)} frames")
            break
        if frame.get("type") in LOGGED:
            got.append(frame)
            if frame["type"] == "interview.completed":
                break
    seqs = [f["seq"] for f in got]
    if seqs != list(range(1, len(got) + 1)):
        problems.append(f"replayed seqs are not 1..n in order: {seqs[:12]}")
    kinds = [f["type"] for f in got]
    if kinds != expected:
        problems.append(f"replayed kinds differ from the expected flow ({len(kinds)} vs {len(expected)}): {kinds}")
    for f in got:
        live_kind = res.types.get(f["seq"])
        if live_kind is not None and live_kind != f["type"]:
            problems.append(f"seq {f['seq']}: live {live_kind}, log {f['type']}")
    # Seqs the live socket did not receive must be exactly those the first snapshot covered.
    covered = set(range(1, (res.snapshot_seq or 0) + 1)) | set(res.seqs)
    missing = sorted(set(seqs) - covered)
    if missing:
        problems.append(f"never delivered live: {missing}")
    return {"frames": len(got), "ok": not problems, "problems": problems}


async def warm_up_session(token: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one interview to the end before measuring; its timings are the server's cold start."""
    wargs = argparse.Namespace(
        **{**vars(args), "ramp_s": 0, "think_ms": 0, "verify_log": False, "sessions": 1, "hold": False}
    )
    live = Live(t0=time.perf_counter())
    live.answering.set()  # no connect/answer barrier outside the measured scenario
    live.all_done.set()
    # An index no measured session has: its client_ids must not collide with theirs in the DB check.
    res = await run_session(90000, token, port, live, wargs, time.perf_counter() + args.warm_up_timeout)
    return {
        "first_question_ms": round(res.first_question_s * 1000, 1) if res.first_question_s is not None else None,
        "duration_s": round(res.duration_s, 2) if res.duration_s is not None else None,
        "answers": len(res.answers),
        "completed": res.completed,
        "error": res.error,
    }


async def probe_session(token: str, port: int, args: argparse.Namespace, index: int) -> dict[str, Any]:
    """One interview, answering every question at once, alone on the client side: its ack and
    feedback latencies (idle: before and beside the crowd)."""
    pargs = argparse.Namespace(
        **{**vars(args), "ramp_s": 0, "think_ms": 0, "verify_log": False, "sessions": 1, "hold": False}
    )
    live = Live(t0=time.perf_counter())
    live.answering.set()  # no connect/answer barrier outside the measured scenario
    live.all_done.set()
    res = await run_session(index, token, port, live, pargs, time.perf_counter() + 120)
    acks = [a.ack_s for a in res.answers if a.ack_s is not None]
    fbs = [a.feedback_s for a in res.answers if a.feedback_s is not None]
    return {
        "completed": res.completed,
        "error": res.error,
        "ack_ms": summary_ms(acks),
        "feedback_ms": summary_ms(fbs),
        "first_question_ms": round(res.first_question_s * 1000, 1) if res.first_question_s else None,
    }
