"""Staff sockets watching every session (`--admins`): the clients, in this loop or a process of their own."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from .candidates import SessionResult
from .config import HOST
from .stats import summary_ms
from .usage import proc_cpu_seconds


@dataclass
class AdminResult:
    index: int
    received_at: dict[str, float] = field(default_factory=dict)  # response_id -> perf_counter
    in_transcript: set[str] = field(default_factory=set)  # answers first seen in a watch.transcript
    frames: int = 0
    watched: int = 0
    order_violations: list[str] = field(default_factory=list)
    error: str | None = None


async def run_admin(
    res: AdminResult, key: str, port: int, stop: asyncio.Event, ready: asyncio.Event, watch: bool = True
) -> AdminResult:
    """One staff socket: the feed of every session, and `watch` each session as it opens; notes
    when each answer arrives, and checks each session's feed seq is in order, once."""
    last: dict[str, int] = {}
    try:
        async with websockets.connect(
            f"ws://{HOST}:{port}/ws/admin/live/?token={key}",
            compression=None,
            proxy=None,
            ping_interval=None,
            open_timeout=60,
            max_size=2**24,
        ) as ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                frame = json.loads(raw)
                res.frames += 1
                kind = frame.get("type")
                if kind == "feed.snapshot":
                    last.update({row["id"]: row["feed_seq"] for row in frame["sessions"]})
                    ready.set()
                    continue
                if kind == "watch.transcript":
                    last[frame["session_id"]] = max(last.get(frame["session_id"], 0), frame["seq"])
                    # Answers given before the transcript was read reach the admin in it.
                    for item in frame["items"]:
                        if item["answer"] and item["answer"]["response_id"] not in res.received_at:
                            res.received_at[item["answer"]["response_id"]] = now
                            res.in_transcript.add(item["answer"]["response_id"])
                    continue
                if kind == "error":
                    res.order_violations.append(f"error frame {frame.get('code')}")
                    continue
                if "progress" not in frame:  # drafts, pongs, replies
                    continue
                sid, seq = frame["session_id"], frame["seq"]
                if seq != last.get(sid, 0) + 1:
                    res.order_violations.append(f"{sid[:8]}: seq {seq} after {last.get(sid, 0)}")
                last[sid] = max(seq, last.get(sid, 0))
                if kind == "session.opened" and watch:
                    res.watched += 1
                    await ws.send(json.dumps({"type": "watch", "session_id": sid}))
                elif kind == "answer.received":
                    res.received_at.setdefault(frame["answer"]["response_id"], now)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"[:300]
        ready.set()
    return res


def admin_client_main(keys: list[str], port: int, watch: bool, conn: Any) -> None:
    """The staff sockets' client, in a process of its own (`--admins-client process`).

    In this script's loop, 5 admins' frames (every feed frame, 500 transcripts) are parsed between
    the candidates' reads, so the acks it timed grew with the client's own work, not the server's.
    The clocks agree: perf_counter is CLOCK_MONOTONIC, one clock for every process of the machine.
    """
    asyncio.run(_admin_client(keys, port, watch, conn))


async def _admin_client(keys: list[str], port: int, watch: bool, conn: Any) -> None:
    clients = AdminClients(keys, port, watch, in_loop=True)
    try:
        await clients.start()
        conn.send("ready")
        wanted: set[str] = await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # acked answers
        await clients.finish(wanted)
    finally:
        await clients.abort()
        conn.send([vars(r) for r in clients.results])


class AdminClients:
    """N staff sockets, in this loop (`--admins-client loop`) or in a child process."""

    def __init__(self, keys: list[str], port: int, watch: bool, in_loop: bool) -> None:
        self.keys, self.port, self.watch = keys, port, watch
        self.results = [AdminResult(i) for i in range(len(keys))]
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[AdminResult]] = []
        self.proc: Any = None
        self.conn: Any = None
        self.in_loop = in_loop

    async def start(self) -> None:
        if not self.in_loop:
            ctx = multiprocessing.get_context("spawn")
            self.conn, child = ctx.Pipe()
            self.proc = ctx.Process(
                target=admin_client_main, args=(self.keys, self.port, self.watch, child), daemon=True
            )
            self.proc.start()
            ready = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, self.conn.recv), 90)
            assert ready == "ready", ready
            return
        readies = [asyncio.Event() for _ in self.keys]
        self.tasks = [
            asyncio.create_task(run_admin(self.results[i], key, self.port, self.stop, readies[i], self.watch))
            for i, key in enumerate(self.keys)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)

    def cpu_seconds(self) -> float:
        """The child's CPU so far (0 in this process's loop: counted as the script's own)."""
        return (proc_cpu_seconds(self.proc.pid) or 0.0) if self.proc is not None else 0.0

    async def finish(self, wanted: set[str]) -> None:
        """Let the last answers reach every staff socket (bounded), then stop them."""
        if self.proc is not None:
            loop = asyncio.get_running_loop()
            self.conn.send(wanted)
            got = await asyncio.wait_for(loop.run_in_executor(None, self.conn.recv), 120)
            self.results = [AdminResult(**r) for r in got]
            await loop.run_in_executor(None, self.proc.join, 10)
            return
        until = time.perf_counter() + 30
        while time.perf_counter() < until and any(  # noqa: ASYNC110 - polls shared results, bounded
            not wanted <= adm.received_at.keys() for adm in self.results if adm.error is None
        ):
            await asyncio.sleep(0.1)
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def abort(self) -> None:
        self.stop.set()
        for a in self.tasks:
            a.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()


def admin_delays(results: list[SessionResult], admins: list[AdminResult]) -> list[tuple[float, int]]:
    """(seconds from answer.accepted to an admin's answer.received, the answer's order), per pair."""
    acked = {a.response_id: (a.ack_at, a.order) for r in results for a in r.answers if a.response_id and a.ack_at}
    return [
        (at - acked[rid][0], acked[rid][1]) for adm in admins for rid, at in adm.received_at.items() if rid in acked
    ]


def admin_delivery(
    results: list[SessionResult], admins: list[AdminResult], pairs: list[tuple[float, int]]
) -> dict[str, Any]:
    """Per (admin, answer): the admin's answer.received after the candidate's answer.accepted
    (`pairs`: admin_delays)."""
    acked = {a.response_id for r in results for a in r.answers if a.response_id and a.ack_at}
    delays = [d for d, _ in pairs]
    missing = sum(1 for adm in admins for rid in acked if rid not in adm.received_at)
    by_order: dict[int, list[float]] = {}
    for d, order in pairs:
        by_order.setdefault(order, []).append(d)
    return {
        "admins": len(admins),
        "answer_to_admin_ms": summary_ms(delays),
        # Where the tail is: by the answer's place in its interview, and how many pairs came in a
        # watch transcript rather than as a feed frame.
        "answer_to_admin_ms_by_order": {str(k): summary_ms(v) for k, v in sorted(by_order.items())},
        "pairs_in_transcript": sum(len(a.in_transcript & acked) for a in admins),
        "pairs_missing": missing,
        "admin_errors": [a.error for a in admins if a.error],
        "admin_order_violations": sum(len(a.order_violations) for a in admins),
        "admin_order_violation_examples": [v for a in admins for v in a.order_violations][:10],
        "sessions_watched_per_admin": [a.watched for a in admins],
        "frames_per_admin": [a.frames for a in admins],
    }
