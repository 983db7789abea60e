#!/usr/bin/env python
"""Load benchmark of the candidate socket, against real daphne processes on 127.0.0.1.

    .venv/bin/python bench/load.py --scenario embedded      # 50 sessions x 5 questions, offline AI
    .venv/bin/python bench/load.py --scenario slow-model    # 200 sessions x 3, model answering in 500 ms
    .venv/bin/python bench/load.py --scenario all
    .venv/bin/python bench/load.py --sessions 100 --admins 5 --admins-baseline   # staff watching

Each scenario, in a fresh temp dir:
  1. migrates a SQLite DB and creates the invitations in one Python subprocess
     (bench/_setup_invitations.py: services.invitation_create + links.make_token);
  2. measures the baseline: a bare Channels JSON echo consumer on daphne (bench/echo_asgi.py),
     N connections in closed loop with fixed-size JSON frames;
  3. starts the interview server (`python -m daphne ... interview_rt.asgi:application`, embedded
     default: in-process AI worker, in-memory channel layer) and, for `slow-model`, the reference
     model server (`python -m ai_service.reference_server --fault latency --latency-ms 500`);
  4. runs every session concurrently with `websockets` clients, answering each question as soon as
     it is asked, and times answer -> `answer.accepted` and answer -> `answer.feedback`; checks that
     each session got every logged seq once, in order (live, and again from the log with
     `session.resume` once every session is done);
  5. reads provenance the frames do not carry (fallback_used, provider, attempts) from the DB;
  6. writes bench/results/load-<scenario>.json (the summary, committed) and .png, and the raw
     samples to bench/results/raw/load-<scenario>.json (git-ignored; --replot reads them).

`--admins N` adds N staff sockets (API tokens of users in the `admin` group) that take the feed of
every session and `watch` each as it opens, connected before the measured sessions start; it
reports answer -> admin delivery (the admin's `answer.received` after the candidate's
`answer.accepted`). `--admins-baseline` first runs the same scenario without admins, so the ack
percentiles can be compared in one invocation.

Every process is started by this script, listens on 127.0.0.1 only and is stopped on exit,
failure or Ctrl-C. Runs are bounded: --deadline seconds for the sessions, --frame-timeout per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
LOGGED = ("question.asked", "answer.accepted", "answer.feedback", "interview.completed")
ANSWER = (
    "I would add an index on the filtered columns and check the query plan with EXPLAIN, cache hot "
    "reads in Redis with a TTL and invalidate on write, use a connection pool so requests do not open "
    "new connections, and measure p95 latency before and after each change."
)
MAX_SESSIONS = 2000
RAW_KEYS = ("answers_raw", "sessions_raw", "model_in_flight_samples", "staff_delays_raw")
# topology "single": one server as deployed on the embedded default (SQLite, in-memory layer, the
# worker in the server, grading in its AI process); "scale-out": PostgreSQL, Redis, two servers and
# a separate `manage.py ai_worker`. kind "interview": every session answers every question;
# "storm": sessions connect within --ramp-s and wait for their first question; "idle": a crowd of
# idle sockets, then one probe interview beside it.
SCENARIOS: dict[str, dict[str, Any]] = {
    "embedded": {"sessions": 100, "questions": 5, "provider": "embedded", "topology": "single", "kind": "interview"},
    "scale-out": {
        "sessions": 200,
        "questions": 5,
        "provider": "embedded",
        "topology": "scale-out",
        "kind": "interview",
    },
    "storm": {
        "sessions": 1000,
        "questions": 5,
        "provider": "embedded",
        "topology": "single",
        "kind": "storm",
        "ramp_s": 10,
    },
    "idle": {
        "sessions": 2000,
        "questions": 5,
        "provider": "embedded",
        "topology": "single",
        "kind": "idle",
        "ramp_s": 40,
    },
    "slow-model": {"sessions": 200, "questions": 3, "provider": "http", "topology": "single", "kind": "interview"},
}
PG_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- statistics ----------------------------------------------------------------------------------


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    s = sorted(v * 1000 for v in seconds)
    if not s:
        return {"count": 0, "min": None, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "count": len(s),
        "min": round(s[0], 2),
        "mean": round(sum(s) / len(s), 2),
        "p50": round(pct(s, 0.50), 2),
        "p95": round(pct(s, 0.95), 2),
        "p99": round(pct(s, 0.99), 2),
        "max": round(s[-1], 2),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or b is None or not b:
        return None
    return round(a / b, digits)


def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}"
    return f"{v}{unit}"


# --- results files -------------------------------------------------------------------------------

# Per-sample lists: tens of thousands of lines per run, so they stay out of the committed summary.
RAW_TOP_LEVEL = RAW_KEYS


def raw_path(summary_path: Path) -> Path:
    return summary_path.parent / "raw" / summary_path.name


def split_report(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, raw samples) of a full report; join_report puts them back together."""
    summary = {k: v for k, v in report.items() if k not in RAW_TOP_LEVEL}
    raw: dict[str, Any] = {"scenario": report.get("scenario"), "generated_at": report.get("generated_at")}
    raw.update({k: report[k] for k in RAW_TOP_LEVEL if k in report})
    if isinstance(report.get("echo"), dict) and "rtt_ms_raw" in report["echo"]:
        summary["echo"] = {k: v for k, v in report["echo"].items() if k != "rtt_ms_raw"}
        raw["echo_rtt_ms_raw"] = report["echo"]["rtt_ms_raw"]
    return summary, raw


def join_report(summary: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    report = dict(summary)
    report.update({k: raw[k] for k in RAW_TOP_LEVEL if k in raw})
    if isinstance(summary.get("echo"), dict) and "echo_rtt_ms_raw" in raw:
        report["echo"] = {**summary["echo"], "rtt_ms_raw": raw["echo_rtt_ms_raw"]}
    return report


def display_path(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def write_results(report: dict[str, Any], json_path: Path) -> Path:
    """Write the summary to json_path and the raw samples next to it under raw/; returns the latter."""
    summary, raw = split_report(report)
    samples = raw_path(json_path)
    summary["raw_samples"] = f"{display_path(samples)} (not committed)"
    samples.parent.mkdir(parents=True, exist_ok=True)
    samples.write_text(json.dumps(raw, default=str))
    json_path.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return samples


def load_results(json_path: Path) -> tuple[dict[str, Any], bool]:
    """The report in json_path with its raw samples when they are there: (report, has samples).
    A report written before the split carries its samples itself."""
    report = json.loads(json_path.read_text())
    if "answers_raw" in report:
        return report, True
    samples = raw_path(json_path)
    if not samples.exists():
        return report, False
    return join_report(report, json.loads(samples.read_text())), True


# --- processes -----------------------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if this script dies without cleaning up (even SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Processes:
    """Every subprocess this script starts; stop_all() ends them (by pid) and is idempotent."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        logfile = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed by the child's exit
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only this script, which stops children in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        logfile.close()
        self.procs.append((name, proc))
        return proc

    def log_text(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()

    async def run(self, name: str, argv: list[str], env: dict[str, str], timeout: float) -> str:
        """Run a helper to completion (tracked, so Ctrl-C stops it too); its output, or RuntimeError."""
        proc = self.start(name, argv, env)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} took more than {timeout:.0f}s")
                await asyncio.sleep(0.05)
        finally:
            self.stop(proc)
        out = self.log_text(name)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed with exit code {proc.returncode}:\n{out[-3000:]}")
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before listening")
        try:
            _r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1)
            w.close()
            return
        except (OSError, TimeoutError):
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{name}: nothing listening on {HOST}:{port} after {timeout:.0f}s")


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid: int) -> list[int]:
    """pid and every process below it (the server's AI process), from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of these processes and their descendants (children not yet reaped count too)."""
    return sum(proc_cpu_seconds(p) or 0.0 for root in pids for p in descendants(root))


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, from /proc/stat (Linux)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def self_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def base_env(db_path: Path, db_settings: str = "url") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AI_", "BENCH_")) and k not in ("REDIS_URL", "CONN_MAX_AGE")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.local",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "AI_PROVIDER": "embedded",
            # The benchmark's clients answer at once; the consent notice is a page's step, not load.
            "INTERVIEW_REQUIRE_CONSENT": "0",
            # Thousands of sockets from one address: the benchmark measures the server, not its
            # rate limits (which would refuse them, as they should).
            "RATE_LIMITS_ENABLED": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    if db_settings != "url":  # A/B of the SQLite configuration (bench/settings_db.py)
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings_db"
        env["BENCH_DB_VARIANT"] = db_settings
    return env


def daphne_argv(port: int, app: str) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), app]


def server_argv(port: int) -> list[str]:
    """The interview server as deployed (Procfile): daphne with a listen backlog of 1024 and
    graceful shutdown (interview_rt/server.py)."""
    return [sys.executable, "-m", "interview_rt.server", "-b", HOST, "-p", str(port), "-v", "0"]


# --- echo baseline -------------------------------------------------------------------------------


async def echo_client(
    url: str,
    conn: int,
    frame_bytes: int,
    start: float,
    measure_from: float,
    end: float,
    rtts: list[float],
    errors: Counter[str],
) -> None:
    n = 0
    try:
        async with websockets.connect(url, compression=None, proxy=None, ping_interval=None, open_timeout=20) as ws:
            while time.perf_counter() < end:
                n += 1
                msg = json.dumps({"type": "echo", "c": conn, "n": n, "pad": ""})
                msg = msg[:-2] + "x" * max(0, frame_bytes - len(msg)) + msg[-2:]
                t0 = time.perf_counter()
                await ws.send(msg)
                reply = await asyncio.wait_for(ws.recv(), 30)
                t1 = time.perf_counter()
                if json.loads(reply).get("n") != n:
                    errors["mismatch"] += 1
                if t0 >= measure_from:
                    rtts.append(t1 - t0)
    except Exception as exc:
        errors[type(exc).__name__] += 1


async def echo_connect_cost(pid: int, url: str, connects: int, concurrency: int = 50) -> dict[str, Any]:
    """The bare echo's server CPU per connect: `connects` sockets, each opened, one frame echoed
    (its "first question"), closed; at most `concurrency` at a time."""
    slots = asyncio.Semaphore(concurrency)
    errors: Counter[str] = Counter()

    async def one(i: int) -> None:
        async with slots:
            try:
                async with websockets.connect(url, compression=None, proxy=None, ping_interval=None) as ws:
                    await ws.send(json.dumps({"type": "echo", "c": i, "n": 1}))
                    await asyncio.wait_for(ws.recv(), 30)
            except Exception as exc:
                errors[type(exc).__name__] += 1

    cpu0 = proc_cpu_seconds(pid)
    await asyncio.gather(*(one(i) for i in range(connects)))
    await asyncio.sleep(0.5)  # the server's side of the closes
    cpu1 = proc_cpu_seconds(pid)
    per = 1000 * (cpu1 - cpu0) / max(1, connects) if cpu0 is not None and cpu1 is not None else None
    return {"connects": connects, "errors": dict(errors), "cpu_ms_per_connect": round(per, 2) if per else per}


def proc_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_by_role(server_roots: list[int], worker_roots: list[int], with_services: bool) -> dict[str, float]:
    """CPU seconds so far of the server side by role: `web` (the interview servers' own processes),
    `ai` (their children: the AI process), `worker` (manage.py ai_worker and its children), and
    with `with_services` `postgres` (every process of the PostgreSQL cluster: backends, WAL writer,
    checkpointer) and `redis` (redis-server). Processes that exited meanwhile are not counted."""
    out = {"web": 0.0, "ai": 0.0, "worker": 0.0}
    for root in server_roots:
        for p in descendants(root):
            out["web" if p == root else "ai"] += proc_cpu_seconds(p) or 0.0
    out["worker"] = tree_cpu_seconds(worker_roots)
    if with_services:
        out["postgres"] = out["redis"] = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                name = proc_name(int(entry.name))
                if name.startswith("postgres"):
                    out["postgres"] += proc_cpu_seconds(int(entry.name)) or 0.0
                elif name.startswith("redis-server"):
                    out["redis"] += proc_cpu_seconds(int(entry.name)) or 0.0
    return out


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b[k] - a.get(k, 0.0) for k in b}


def per_operation_cpu(
    start: dict[str, float],
    mid: dict[str, float] | None,
    end: dict[str, float],
    sessions: int,
    results: list[Any],
    echo: dict[str, Any] | None,
) -> dict[str, Any]:
    """Server CPU per connect -> first question (start -> mid: every session has its first question;
    the whole run for idle) and per graded answer (mid -> end), by process role, in ms."""
    connect = cpu_delta(start, mid if mid is not None else end)
    answers = sum(1 for r in results for a in r.answers if a.ack_s is not None)
    out: dict[str, Any] = {
        "connects": sessions,
        "server_cpu_ms_per_connect": round(1000 * sum(connect.values()) / max(1, sessions), 2),
        "cpu_ms_per_connect_by_process": {k: round(1000 * v / max(1, sessions), 2) for k, v in connect.items()},
        "echo_cpu_ms_per_connect": ((echo or {}).get("connect") or {}).get("cpu_ms_per_connect"),
    }
    if mid is not None and answers:
        answering = cpu_delta(mid, end)
        out.update(
            answers=answers,
            server_cpu_ms_per_answer=round(1000 * sum(answering.values()) / answers, 2),
            cpu_ms_by_process={k: round(1000 * v / answers, 2) for k, v in answering.items()},
        )
    return out


async def echo_baseline(procs: Processes, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    echo_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = procs.start("echo-daphne", daphne_argv(port, "bench.echo_asgi:application"), echo_env)
    try:
        await wait_for_port(port, proc, "echo daphne")
        url = f"ws://{HOST}:{port}/ws/echo/"
        rtts: list[float] = []
        errors: Counter[str] = Counter()
        warmup = 1.0
        start = time.perf_counter()
        measure_from, end = start + warmup, start + warmup + args.echo_seconds
        log(
            f"echo baseline: {args.echo_connections} connections, {args.echo_frame_bytes}-byte JSON frames, "
            f"{args.echo_seconds:.0f}s (+{warmup:.0f}s warm-up)"
        )
        cpu0 = proc_cpu_seconds(proc.pid)
        await asyncio.gather(
            *(
                echo_client(url, c, args.echo_frame_bytes, start, measure_from, end, rtts, errors)
                for c in range(args.echo_connections)
            )
        )
        cpu1 = proc_cpu_seconds(proc.pid)
        window = max(1e-9, min(time.perf_counter(), end) - measure_from)
        result = {
            "connections": args.echo_connections,
            "frame_bytes": args.echo_frame_bytes,
            "seconds": round(window, 2),
            "round_trips": len(rtts),
            "round_trips_per_s": round(len(rtts) / window, 1),
            "rtt_ms": summary_ms(rtts),
            "errors": dict(errors),
            "server_cpu_percent": round(100 * (cpu1 - cpu0) / (time.perf_counter() - start), 1)
            if cpu0 is not None and cpu1 is not None
            else None,
            "rtt_ms_raw": [round(v * 1000, 3) for v in rtts[:: max(1, len(rtts) // 5000)]],
        }
        s = result["rtt_ms"]
        log(
            f"echo baseline: {result['round_trips_per_s']:,.0f} round trips/s, p50 {fmt(s['p50'], ' ms')}, "
            f"p99 {fmt(s['p99'], ' ms')}, errors {dict(errors) or 0}"
        )
        result["connect"] = await echo_connect_cost(proc.pid, url, args.echo_connects)
        log(
            f"echo baseline: {result['connect']['connects']} connects (one frame each), "
            f"{fmt(result['connect']['cpu_ms_per_connect'], ' ms')} of server CPU per connect"
        )
        if getattr(args, "echo_idle_sockets", 0):
            result["idle"] = await idle_sockets_rss(proc.pid, url, args.echo_idle_sockets, args)
            log(
                f"echo baseline: {result['idle']['sockets']} idle sockets, "
                f"{fmt(result['idle']['rss_per_socket_kib'], ' KiB')} of RSS each"
            )
        return result
    finally:
        procs.stop(proc)


async def idle_sockets_rss(pid: int, url: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """RSS of a server before and after `n` idle sockets (connected over --ramp-s, then left
    alone for a few seconds): what one idle socket costs it."""
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    opened: list[Any] = []
    errors: Counter[str] = Counter()

    async def one(i: int) -> None:
        await asyncio.sleep(args.ramp_s * i / max(1, n))
        try:
            opened.append(
                await websockets.connect(url, compression=None, proxy=None, ping_interval=None, open_timeout=60)
            )
        except Exception as exc:
            errors[type(exc).__name__] += 1

    await asyncio.gather(*(one(i) for i in range(n)))
    await asyncio.sleep(3.0)
    after = rss_kib(pid)
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()
    per = (after - before) / len(opened) if before is not None and after is not None and opened else None
    return {
        "sockets": len(opened),
        "errors": dict(errors),
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_per_socket_kib": round(per, 1) if per is not None else None,
    }


# --- one candidate session -----------------------------------------------------------------------


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


# --- staff sockets watching ----------------------------------------------------------------------


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


# --- reference model server ----------------------------------------------------------------------


async def start_reference_server(procs: Processes, env: dict[str, str], args: argparse.Namespace) -> tuple[str, Any]:
    """Start `ai_service.reference_server`; its base URL (parsed from 'listening on ...')."""
    for attempt in range(1, args.ref_attempts + 1):
        # A name of its own per start: the URL is read from the log, which a second scenario in
        # the same run (--admins-baseline) would otherwise share with the first, dead, server.
        name = f"reference-server-{len(procs.procs)}-{attempt}"
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "ai_service.reference_server",
            "--host",
            HOST,
            "--port",
            str(port),
            "--fault",
            "latency",
            "--latency-ms",
            str(args.model_latency_ms),
        ]
        proc = procs.start(name, argv, env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            m = re.search(r"listening on (http://([\d.]+):(\d+))", procs.log_text(name))
            if m:
                if m.group(2) != HOST:
                    procs.stop(proc)
                    raise RuntimeError(f"reference server listens on {m.group(2)}, not {HOST}")
                url = m.group(1)
                async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
                    health = await client.get(f"{url}/healthz")
                if health.status_code == 200:
                    log(f"reference server: {url} (--fault latency --latency-ms {args.model_latency_ms})")
                    return url, proc
            await asyncio.sleep(0.1)
        out = procs.log_text(name)[-1500:]
        procs.stop(proc)
        log(f"reference server attempt {attempt}/{args.ref_attempts} failed:\n{out}")
        if attempt < args.ref_attempts:
            log(f"retrying in {args.ref_retry_wait:.0f}s")
            await asyncio.sleep(args.ref_retry_wait)
    raise RuntimeError("the reference server did not start")


async def poll_reference(url: str, samples: list[dict[str, Any]], t0: float, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError, ValueError):
                stats = (await client.get(f"{url}/_stats")).json()
                samples.append(
                    {
                        "t": round(time.perf_counter() - t0, 3),
                        "in_flight": stats.get("in_flight"),
                        "requests": stats.get("requests"),
                    }
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)


# --- a scenario ----------------------------------------------------------------------------------


async def progress(
    live: Live,
    args: argparse.Namespace,
    server_pids: list[int],
    ref_samples: list[dict[str, Any]] | None,
    stop: asyncio.Event,
) -> None:
    last_cpu, last_t = tree_cpu_seconds(server_pids), time.perf_counter()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.progress_every)
        cpu, t = tree_cpu_seconds(server_pids), time.perf_counter()
        cpu_pct = 100 * (cpu - last_cpu) / (t - last_t)
        last_cpu, last_t = cpu, t
        extra = ""
        if ref_samples:
            extra = f" | model in-flight {ref_samples[-1]['in_flight']}"
        log(
            f"  t={t - live.t0:6.1f}s connected {live.connected:4d}/{args.sessions} "
            f"answers {live.answers_sent:5d} acks {live.acks:5d} feedback {live.feedbacks:5d} "
            f"completed {live.completed:4d} 1st-q {live.first_questions:4d} errors {live.errors} | generating "
            f"{live.awaiting_first_question} evaluating {live.evaluations_outstanding} "
            f"| server cpu {cpu_pct:5.1f}%{extra}"
        )


async def create_pg_database() -> str:
    import psycopg

    name = f"interview_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_redis(prefix: str) -> None:
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


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


async def start_servers(
    name: str, args: argparse.Namespace, procs: Processes, env: dict[str, str], sdir: Path
) -> tuple[list[tuple[int, subprocess.Popen[bytes]]], list[subprocess.Popen[bytes]]]:
    """The interview servers of the scenario's topology: [(port, process)], and the other server
    processes (the scale-out's AI worker)."""
    servers: list[tuple[int, subprocess.Popen[bytes]]] = []
    others: list[subprocess.Popen[bytes]] = []
    count = 2 if SCENARIOS[name]["topology"] == "scale-out" else 1
    for i in range(count):
        port = free_port()
        argv = server_argv(port)
        if args.instrument and count == 1:  # same server, plus DB-thread and event-loop probes
            argv = [
                sys.executable,
                "bench/_instrumented_daphne.py",
                *daphne_argv(port, "interview_rt.asgi:application")[3:],
            ]
            env = {**env, "BENCH_INSTRUMENT_OUT": str(sdir / "instrument.json")}
        servers.append((port, procs.start(f"{name}-server-{i + 1}", argv, env)))
    if SCENARIOS[name]["topology"] == "scale-out":
        others.append(procs.start(f"{name}-ai-worker", [sys.executable, "manage.py", "ai_worker"], env))
    for port, proc in servers:
        await wait_for_port(port, proc, f"interview server on {port}")
    return servers, others


async def run_scenario(
    name: str, args: argparse.Namespace, procs: Processes, workdir: Path, template_db: Path, label: str = ""
) -> dict[str, Any]:
    started = time.perf_counter()
    spec = SCENARIOS[name]
    sdir = workdir / (label or name)
    for n in range(2, 1000):  # a repeated run (--admins-repeat) gets a directory of its own
        if not sdir.exists():
            break
        sdir = workdir / f"{label or name}-{n}"
    sdir.mkdir()
    db = sdir / "db.sqlite3"
    shutil.copyfile(template_db, db)
    env = base_env(db, args.db_settings)
    pg_url = redis_prefix = None
    if spec["topology"] == "scale-out":
        pg_url = await create_pg_database()
        redis_prefix = f"bench{os.getpid()}x{int(time.time())}"
        env.update(
            {
                "DATABASE_URL": pg_url,
                "REDIS_URL": REDIS_URL,
                "CHANNELS_REDIS_PREFIX": redis_prefix,
                "AI_WORKER_INPROCESS": "0",
            }
        )
        log(f"scale-out: PostgreSQL {pg_url.rsplit('@', 1)[-1]}, Redis prefix {redis_prefix}; migrating")
        await procs.run(f"{name}-migrate", [sys.executable, "manage.py", "migrate", "--verbosity", "0"], env, 600)
    try:
        return await _run_scenario(name, args, procs, sdir, env, started, label)
    finally:
        if pg_url:
            drop_pg_database(pg_url)
        if redis_prefix:
            clear_redis(redis_prefix)


async def _run_scenario(
    name: str,
    args: argparse.Namespace,
    procs: Processes,
    sdir: Path,
    env: dict[str, str],
    started: float,
    label: str = "",
) -> dict[str, Any]:
    spec = SCENARIOS[name]
    kind = spec["kind"]
    log(
        f"=== scenario {name}: {args.sessions} sessions x {args.questions} questions, "
        f"feedback {args.feedback_mode}, provider {spec['provider']}, {spec['topology']}, {kind} ==="
    )
    links_file = sdir / "links.json"
    out = await procs.run(
        f"{name}-setup",
        [
            sys.executable,
            "bench/_setup_invitations.py",
            "--count",
            str(args.sessions + 3),
            "--questions",
            str(args.questions),
            "--feedback-mode",
            args.feedback_mode,
            "--out",
            str(links_file),
            "--admins",
            str(args.admins),
            "--staff-out",
            str(sdir / "staff.json"),
        ],
        env,
        timeout=600,
    )
    staff_keys: list[str] = json.loads((sdir / "staff.json").read_text()) if args.admins else []
    links: list[dict[str, str]] = json.loads(links_file.read_text())
    warm_up_link, probe_links, tokens = links[0], links[1:3], [link["token"] for link in links[3:]]
    log(f"invitations (+1 warm-up, +2 probes): {out.strip().splitlines()[-1]}")

    eargs = argparse.Namespace(**vars(args))
    eargs.echo_idle_sockets = args.sessions if kind in ("idle", "storm") else 0
    echo = await echo_baseline(procs, env, eargs) if args.echo_seconds > 0 else None

    server_env = dict(env)
    ref_url, ref_proc = None, None
    if spec["provider"] == "http":
        ref_url, ref_proc = await start_reference_server(procs, env, args)
        server_env.update(
            {
                "AI_PROVIDER": "http",
                "AI_MODEL_API_ENDPOINT": ref_url,
                "AI_MODEL_MAX_CONCURRENCY": str(args.max_concurrency),
            }
        )
    if args.max_follow_ups is not None:
        server_env["AI_MODEL_MAX_FOLLOW_UPS"] = str(args.max_follow_ups)
    for item in args.server_env:
        key, _, value = item.partition("=")
        server_env[key] = value
    servers, others = await start_servers(name, args, procs, server_env, sdir)
    ports = [port for port, _ in servers]
    server_pids = [proc.pid for _, proc in servers] + [proc.pid for proc in others]
    web_pid = servers[0][1].pid
    log(
        f"interview servers: pids {server_pids} on {HOST}:{ports}; cold start: first candidate of the fresh "
        "server (warm-up interview, not measured)"
    )
    cold = await warm_up_session(warm_up_link["token"], ports[0], args)
    log(
        f"warm-up interview: first question after {fmt(cold.get('first_question_ms'), ' ms')}, done in "
        f"{fmt(cold.get('duration_s'), ' s')} {cold.get('error') or ''}"
    )
    ref_before: dict[str, Any] = {}
    if ref_url:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
                ref_before = (await client.get(f"{ref_url}/_stats")).json()

    stop = asyncio.Event()
    admins = AdminClients(staff_keys, ports[0], args.admins_watch, args.admins_client == "loop")
    if staff_keys:
        await admins.start()
        log(f"{len(staff_keys)} staff sockets connected ({args.admins_client}), watching every session")
    crowd: dict[str, Any] = {}
    if kind == "idle":
        # The probe alone first (the model is loaded by now: the warm-up interview was graded).
        crowd["probe_alone"] = await probe_session(probe_links[0]["token"], ports[0], args, 90001)
        log(
            f"probe interview alone: ack {crowd['probe_alone']['ack_ms']}, "
            f"feedback {crowd['probe_alone']['feedback_ms']}"
        )
        await asyncio.sleep(1.0)
        crowd["rss_before_kib"] = rss_kib(web_pid)

    if args.instrument:
        os.kill(web_pid, signal.SIGUSR1)  # the probes count from here: the measured sessions only
        await asyncio.sleep(0.05)
    live = Live()
    ref_samples: list[dict[str, Any]] = []
    live.t0 = time.perf_counter()
    deadline = live.t0 + args.deadline

    def client_cpu() -> float:  # this script's, and the staff sockets' process when they have one
        return self_cpu_seconds() + admins.cpu_seconds()

    web_roots, worker_roots = [proc.pid for _, proc in servers], [proc.pid for proc in others]
    with_services = server_env.get("DATABASE_URL", "").startswith("postgres")
    roles0 = cpu_by_role(web_roots, worker_roots, with_services)
    roles_mid: dict[str, float] | None = None
    cpu0, self_cpu0, mach0 = tree_cpu_seconds(server_pids), client_cpu(), machine_cpu_ticks()
    ref_cpu0 = proc_cpu_seconds(ref_proc.pid) if ref_proc is not None else None
    load_at_start = os.getloadavg()
    if kind in ("storm", "idle"):
        crowd["rss_before_kib"] = crowd.get("rss_before_kib") or rss_kib(web_pid)
    helpers = [asyncio.create_task(progress(live, args, server_pids, ref_samples if ref_url else None, stop))]
    if ref_url:
        helpers.append(asyncio.create_task(poll_reference(ref_url, ref_samples, live.t0, stop)))
    tasks = [
        asyncio.create_task(run_session(i, tok, ports[i % len(ports)], live, args, deadline))
        for i, tok in enumerate(tokens)
    ]
    try:
        while live.finished < len(tasks) and time.perf_counter() < deadline:
            if all(t.done() for t in tasks):
                break
            if (
                roles_mid is None
                and kind != "idle"
                and (live.first_questions >= len(tasks) or time.perf_counter() - live.t0 > 60)
            ):
                # Every session has its first question: the connects are done, the answers begin
                # (storm: the sockets idle from here on, which is not a connect's cost).
                roles_mid = cpu_by_role(web_roots, worker_roots, with_services)
                live.answering.set()
            await asyncio.sleep(0.05)
        live.answering.set()
        roles_end = cpu_by_role(web_roots, worker_roots, with_services)
        run_s = time.perf_counter() - live.t0
        cpu1, self_cpu1, mach1 = tree_cpu_seconds(server_pids), client_cpu(), machine_cpu_ticks()
        ref_cpu1 = proc_cpu_seconds(ref_proc.pid) if ref_proc is not None else None
        if kind in ("storm", "idle"):
            await asyncio.sleep(3.0)  # the crowd is idle now: let the server settle
            crowd["sockets"] = sum(1 for t in tasks if not t.done())
            crowd["rss_after_kib"] = rss_kib(web_pid)
            if crowd["rss_before_kib"] is not None and crowd["rss_after_kib"] is not None and crowd["sockets"]:
                crowd["rss_per_socket_kib"] = round(
                    (crowd["rss_after_kib"] - crowd["rss_before_kib"]) / crowd["sockets"], 1
                )
            idle_cpu0, t_idle = tree_cpu_seconds(server_pids), time.perf_counter()
            await asyncio.sleep(args.idle_window_s)
            crowd["idle_cpu_percent_of_one_core"] = round(
                100 * (tree_cpu_seconds(server_pids) - idle_cpu0) / (time.perf_counter() - t_idle), 1
            )
            if kind == "idle":
                crowd["probe_beside_crowd"] = await probe_session(probe_links[1]["token"], ports[0], args, 90002)
                log(
                    f"probe interview beside {crowd['sockets']} idle sockets: ack "
                    f"{crowd['probe_beside_crowd']['ack_ms']}, feedback {crowd['probe_beside_crowd']['feedback_ms']}"
                )
            live.release.set()
        live.all_done.set()
        done, pending = await asyncio.wait(tasks, timeout=120)
        for t in pending:
            t.cancel()
        results: list[SessionResult] = [t.result() for t in tasks if t in done and not t.cancelled()]
        for i, t in enumerate(tasks):
            if t in pending:
                results.append(SessionResult(i, error="cancelled: did not finish the replay in time"))
        if staff_keys:
            await admins.finish({a.response_id for r in results for a in r.answers if a.response_id})
    finally:
        live.release.set()
        stop.set()
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await admins.abort()
    ref_stats = None
    if ref_url:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
                ref_stats = (await client.get(f"{ref_url}/_stats")).json()
        if ref_stats:  # the measured sessions' calls: minus the warm-up interview's
            before = ref_before.get("by_path", {})
            ref_stats["by_path_including_warm_up"] = dict(ref_stats.get("by_path", {}))
            ref_stats["by_path"] = {k: v - before.get(k, 0) for k, v in ref_stats.get("by_path", {}).items()}
    for proc in others:
        procs.stop(proc)
    for _, proc in servers:
        procs.stop(proc)
    daphne_log = "\n".join(procs.log_text(f"{name}-server-{i + 1}") for i in range(len(servers)))
    instrument_file = sdir / "instrument.json"
    instrument = json.loads(instrument_file.read_text()) if instrument_file.exists() else None
    if ref_proc is not None:
        procs.stop(ref_proc)
    acked_file = sdir / "acked.json"
    acked_file.write_text(
        json.dumps([f"s{r.index}-a{k + 1}" for r in results for k, a in enumerate(r.answers) if a.ack_s is not None])
    )
    db_report = json.loads(
        (
            await procs.run(
                f"{name}-db-report",
                [
                    sys.executable,
                    "bench/_db_report.py",
                    "--acked",
                    str(acked_file),
                    *[f"--exclude-invitation={link['invitation']}" for link in [warm_up_link, *probe_links]],
                ],
                env,
                timeout=300,
            )
        )
        .strip()
        .splitlines()[-1]
    )
    cpu_report = per_operation_cpu(roles0, roles_mid, roles_end, len(results), results, echo)
    report = analyse(
        label or name,
        args,
        results,
        echo,
        db_report,
        ref_stats,
        ref_samples,
        run_s,
        (cpu1 - cpu0),
        self_cpu1 - self_cpu0,
        daphne_log,
        time.perf_counter() - started,
    )
    report["cpu_per_operation"] = cpu_report
    if instrument is not None:
        report["instrument"] = instrument
    if staff_keys:
        pairs = admin_delays(results, admins.results)
        report["staff"] = {**admin_delivery(results, admins.results, pairs), "client": args.admins_client}
        report["staff_delays_raw"] = [d for d, _ in pairs]
    report["cold_start"] = cold
    report["topology"] = {
        "kind": spec["topology"],
        "servers": len(servers),
        "separate_ai_worker": bool(others),
        "database": "postgresql" if spec["topology"] == "scale-out" else "sqlite",
        "channel_layer": "redis" if spec["topology"] == "scale-out" else "in-memory",
    }
    if crowd:
        report["crowd"] = crowd
    report["machine"]["loadavg_at_start"] = load_at_start
    if mach0 and mach1 and mach1[1] > mach0[1]:
        ncpu = os.cpu_count() or 1
        busy_cores = ncpu * (mach1[0] - mach0[0]) / (mach1[1] - mach0[1])
        ref_cpu = (ref_cpu1 - ref_cpu0) if ref_cpu0 is not None and ref_cpu1 is not None else 0.0
        ours = (cpu1 - cpu0) + (self_cpu1 - self_cpu0) + ref_cpu
        report["machine"]["cpu_cores_busy_during_sessions"] = round(busy_cores, 2)
        if ref_proc is not None:
            report["server"]["reference_server_cpu_percent_of_one_core"] = round(100 * ref_cpu / run_s, 1)
        # Everything else on this shared machine (other engineers' jobs), not the server, this client or the model:
        report["machine"]["cpu_cores_busy_other_processes"] = round(max(0.0, busy_cores - ours / run_s), 2)
    report["summary"] = summary_line(report)
    return report


# --- analysis ------------------------------------------------------------------------------------


def analyse(
    name: str,
    args: argparse.Namespace,
    results: list[SessionResult],
    echo: dict[str, Any] | None,
    db: dict[str, Any],
    ref_stats: dict[str, Any] | None,
    ref_samples: list[dict[str, Any]],
    run_s: float,
    daphne_cpu_s: float | None,
    client_cpu_s: float,
    daphne_log: str,
    wall_s: float,
) -> dict[str, Any]:
    answers = [a for r in results for a in r.answers]
    acks = [a.ack_s for a in answers if a.ack_s is not None]
    feedbacks = [a.feedback_s for a in answers if a.feedback_s is not None]
    completed = sum(r.completed for r in results)
    seq_problems = {}
    for r in results:
        problems = list(r.order_violations)
        expected_frames = len(expected_log(len(r.answers), args.feedback_mode))
        if r.completed and not getattr(args, "hold", False):
            covered = set(range(1, (r.snapshot_seq or 0) + 1)) | set(r.seqs)
            if r.last_seq != expected_frames or covered != set(range(1, expected_frames + 1)):
                problems.append(
                    f"log ends at seq {r.last_seq}, live+snapshot covered {len(covered)} of {expected_frames}"
                )
            if len(r.seqs) != len(set(r.seqs)):
                problems.append("a seq arrived twice")
        if r.replay and not r.replay["ok"]:
            problems.extend(r.replay["problems"])
        if problems:
            seq_problems[r.index] = problems
    error_kinds: Counter[str] = Counter()
    for r in results:
        if r.error:
            error_kinds[r.error.split(":")[0]] += 1
        for f in r.error_frames:
            error_kinds[f"error frame {f.get('code')}"] += 1
    first_ack = min((a.sent_at for a in answers), default=0.0)
    last_ack = max((a.sent_at + a.ack_s for a in answers if a.ack_s is not None), default=0.0)
    ack_window = max(1e-9, last_ack - first_ack)
    frames_total = sum(r.frames_received for r in results)
    ack_ms, fb_ms = summary_ms(acks), summary_ms(feedbacks)
    out: dict[str, Any] = {
        "scenario": name,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_end": os.getloadavg(),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "wall_seconds": round(wall_s, 1),
        "sessions_run_seconds": round(run_s, 2),
        "sessions": len(results),
        "completed_interviews": completed,
        "failed_sessions": sum(1 for r in results if not r.completed),
        "errors": sum(error_kinds.values()),
        "error_kinds": dict(error_kinds),
        "error_examples": [r.error for r in results if r.error][:10]
        + [json.dumps(f) for r in results for f in r.error_frames][:10],
        "answers_sent": len(answers),
        # The model may ask a follow-up after a weak answer (AI_MODEL_MAX_FOLLOW_UPS per question).
        "follow_up_questions": len(answers) - args.questions * len(results),
        "questions_per_session": dict(Counter(str(len(r.answers)) for r in results)),
        "ack_ms": ack_ms,
        "feedback_ms": fb_ms,
        "connect_ms": summary_ms([r.connect_s for r in results if r.connect_s is not None]),
        "first_question_ms": summary_ms([r.first_question_s for r in results if r.first_question_s is not None]),
        "interview_duration_s": {
            k: (round(v / 1000, 2) if isinstance(v, float) else v)
            for k, v in summary_ms([r.duration_s for r in results if r.duration_s]).items()
        },
        "throughput": {
            "answers_acked_per_s": round(len(acks) / ack_window, 1),
            "interviews_completed_per_s": round(completed / max(1e-9, run_s), 2),
            "frames_received_per_s": round(frames_total / max(1e-9, run_s), 1),
            "frames_received": frames_total,
        },
        "seq_check": {
            "sessions_checked": len(results),
            "sessions_in_order_exactly_once": sum(1 for r in results if r.completed and r.index not in seq_problems),
            "log_replay_checked": sum(1 for r in results if r.replay is not None),
            "log_replay_ok": sum(1 for r in results if r.replay and r.replay["ok"]),
            "problems": {str(k): v[:5] for k, v in list(seq_problems.items())[:20]},
        },
        "server": {
            "daphne_cpu_seconds": round(daphne_cpu_s, 2) if daphne_cpu_s is not None else None,
            "daphne_cpu_percent_of_one_core": round(100 * daphne_cpu_s / run_s, 1) if daphne_cpu_s else None,
            "client_cpu_seconds": round(client_cpu_s, 2),
            "daphne_log_warnings": [ln for ln in daphne_log.splitlines() if " WARNING " in ln or " ERROR " in ln][:15],
            "daphne_log_warning_count": sum(
                1 for ln in daphne_log.splitlines() if " WARNING " in ln or " ERROR " in ln or "Traceback" in ln
            ),
        },
        "db": db,
        "fallback_used": db.get("fallback_used"),
        "echo": echo,
    }
    if echo:
        e = echo["rtt_ms"]
        out["ratios_vs_echo"] = {
            "ack_p50_over_echo_p50": ratio(ack_ms["p50"], e["p50"]),
            "ack_p95_over_echo_p95": ratio(ack_ms["p95"], e["p95"]),
            "ack_p99_over_echo_p99": ratio(ack_ms["p99"], e["p99"]),
            "feedback_p50_over_echo_p50": ratio(fb_ms["p50"], e["p50"]),
            "feedback_p99_over_echo_p99": ratio(fb_ms["p99"], e["p99"]),
            "answers_acked_per_s_over_echo_round_trips_per_s": ratio(
                out["throughput"]["answers_acked_per_s"], echo["round_trips_per_s"], 4
            ),
            "frames_per_s_over_echo_round_trips_per_s": ratio(
                out["throughput"]["frames_received_per_s"], echo["round_trips_per_s"], 4
            ),
        }
    if name == "slow-model":
        out["model"] = model_analysis(args, answers, results, ref_stats, ref_samples, db)
        out["target"] = {"ack_p99_ms_below": 100, "met": ack_ms["p99"] is not None and ack_ms["p99"] < 100}
    out["sessions_raw"] = [
        {
            "t": None if r.started_at is None else round(r.started_at, 4),
            "connect_ms": None if r.connect_s is None else round(r.connect_s * 1000, 3),
            "fq_ms": None if r.first_question_s is None else round(r.first_question_s * 1000, 3),
        }
        for r in results
    ]
    out["answers_raw"] = [
        {
            "s": a.session,
            "q": a.order,
            "t": round(a.sent_at, 4),
            "ack_ms": None if a.ack_s is None else round(a.ack_s * 1000, 3),
            "fb_ms": None if a.feedback_s is None else round(a.feedback_s * 1000, 3),
            "k": a.model_calls_outstanding,
        }
        for a in answers
    ]
    if ref_samples:
        out["model_in_flight_samples"] = ref_samples
    return out


def model_analysis(
    args: argparse.Namespace,
    answers: list[AnswerRecord],
    results: list[SessionResult],
    ref_stats: dict[str, Any] | None,
    ref_samples: list[dict[str, Any]],
    db: dict[str, Any],
) -> dict[str, Any]:
    """How far feedback latency is from what the model's concurrency limit alone imposes.

    A model call takes d = latency; at most L = max_concurrency run at once, served roughly FIFO.
    With k model calls outstanding when an answer is sent (k counted by the clients: generations not
    yet delivered + answers without feedback, this one included), the model alone makes its
    feedback wait between d*max(1, ceil(k/L)-1) (the calls in service were about to finish) and
    d*ceil(k/L) (they had just started). `excess` = measured - d*ceil(k/L) is what the server adds on
    top of the model queue; if it is small, no session waits on another's model call beyond the
    limit.
    """
    d = args.model_latency_ms / 1000
    L = args.max_concurrency
    lows, highs, excess, within = [], [], [], 0
    for a in answers:
        if a.feedback_s is None:
            continue
        k = max(1, a.model_calls_outstanding)
        hi = d * math.ceil(k / L)
        lo = d * max(1, math.ceil(k / L) - 1)
        lows.append(lo)
        highs.append(hi)
        excess.append(a.feedback_s - hi)
        if a.feedback_s <= hi + args.excess_slack_ms / 1000:
            within += 1
    n = len(excess)
    by_path = (ref_stats or {}).get("by_path", {})
    model_calls = sum(v for k, v in by_path.items() if k in ("/generate-questions", "/evaluate-response"))
    saturated = [s for s in ref_samples if s.get("in_flight") is not None]
    busy = [s for s in saturated if s["in_flight"] > 0]
    makespan_floor = d * math.ceil(model_calls / L) if model_calls else None
    first_t = min((s["t"] for s in busy), default=None)
    last_t = max((s["t"] for s in busy), default=None)
    return {
        "model_latency_ms": args.model_latency_ms,
        "max_concurrency": L,
        "expected_feedback_lower_bound_ms": summary_ms(lows),
        "expected_feedback_fifo_bound_ms": summary_ms(highs),
        "feedback_minus_fifo_bound_ms": {k: v for k, v in summary_ms([max(0.0, e) for e in excess]).items()},
        "feedback_minus_fifo_bound_signed_p50_ms": round(sorted(excess)[n // 2] * 1000, 1) if n else None,
        "answers_within_fifo_bound_plus_slack": within,
        "answers_with_feedback": n,
        "slack_ms": args.excess_slack_ms,
        "model_calls_outstanding_at_send": summary_ms([a.model_calls_outstanding / 1000 for a in answers]),
        "reference_server": ref_stats,
        "model_calls": model_calls,
        "generate_calls": by_path.get("/generate-questions"),
        "evaluate_calls": by_path.get("/evaluate-response"),
        "expected_generate_calls": len(results),
        "expected_evaluate_calls": len(answers),
        "reference_max_in_flight": (ref_stats or {}).get("max_in_flight"),
        "model_busy_seconds": round(last_t - first_t, 2) if first_t is not None else None,
        "model_makespan_floor_seconds": round(makespan_floor, 2) if makespan_floor else None,
        "mean_in_flight_while_busy": round(sum(s["in_flight"] for s in busy) / len(busy), 1) if busy else None,
        "db_evaluation_latency_ms (provider-measured, incl. slot wait)": db.get("evaluation_latency_ms"),
    }


# --- output --------------------------------------------------------------------------------------


def summary_line(r: dict[str, Any]) -> dict[str, Any]:
    """The one JSON object `--json` prints last: the headline figures, each beside the same-run echo."""
    e = r.get("echo") or {}
    crowd = r.get("crowd") or {}
    exact = (r.get("db") or {}).get("exactly_once") or {}
    ack, fb, fq = r["ack_ms"], r["feedback_ms"], r["first_question_ms"]
    out: dict[str, Any] = {
        "scenario": r["scenario"],
        "sessions": r["sessions"],
        "answers_per_s": r["throughput"]["answers_acked_per_s"] if ack["count"] else None,
        "ack_p50_ms": ack["p50"],
        "ack_p99_ms": ack["p99"],
        "feedback_p50_ms": fb["p50"],
        "feedback_p99_ms": fb["p99"],
        "first_question_p50_ms": fq["p50"],
        "first_question_p99_ms": fq["p99"],
        "cold_start_ms": (r.get("cold_start") or {}).get("first_question_ms"),
        "echo_rt_per_s": e.get("round_trips_per_s"),
        "echo_rtt_p99_ms": (e.get("rtt_ms") or {}).get("p99"),
        "rss_per_idle_socket_kib": crowd.get("rss_per_socket_kib"),
        "echo_rss_per_idle_socket_kib": (e.get("idle") or {}).get("rss_per_socket_kib"),
        "lost": exact.get("lost"),
        "duplicated": exact.get("duplicated"),
        "not_graded": exact.get("not_graded"),
        "completed": r["completed_interviews"],
        "failed_sessions": r["failed_sessions"],
        "errors": r["errors"],
        "seq_ok": r["seq_check"]["sessions_in_order_exactly_once"],
        "server_cpu_ms_per_session": round(1000 * r["server"]["daphne_cpu_seconds"] / max(1, r["sessions"]), 1)
        if r["server"].get("daphne_cpu_seconds") is not None
        else None,
        "machine_cores_busy_other": r["machine"].get("cpu_cores_busy_other_processes"),
    }
    cpu = r.get("cpu_per_operation") or {}
    out["server_cpu_ms_per_answer"] = cpu.get("server_cpu_ms_per_answer")
    out["server_cpu_ms_per_connect"] = cpu.get("server_cpu_ms_per_connect")
    out["echo_cpu_ms_per_connect"] = cpu.get("echo_cpu_ms_per_connect")
    out["connect_cpu_over_echo"] = ratio(cpu.get("server_cpu_ms_per_connect"), cpu.get("echo_cpu_ms_per_connect"))
    out["cpu_ms_by_process"] = cpu.get("cpu_ms_by_process") or cpu.get("cpu_ms_per_connect_by_process")
    if crowd:
        out["idle_cpu_percent_of_one_core"] = crowd.get("idle_cpu_percent_of_one_core")
        for when in ("probe_alone", "probe_beside_crowd"):
            probe = crowd.get(when)
            if probe:
                out[f"{when}_ack_p50_ms"] = probe["ack_ms"]["p50"]
                out[f"{when}_feedback_p50_ms"] = probe["feedback_ms"]["p50"]
    if "model" in r:
        m = r["model"]
        out["model_bound_p99_ms"] = m["expected_feedback_fifo_bound_ms"]["p99"]
        out["feedback_p99_over_bound"] = ratio(fb["p99"], m["expected_feedback_fifo_bound_ms"]["p99"])
    return out


def print_report(r: dict[str, Any]) -> None:
    a, f, e = r["ack_ms"], r["feedback_ms"], r.get("echo")
    cold_ms = (r.get("cold_start") or {}).get("first_question_ms")
    lines = [
        "",
        f"=== {r['scenario']}: {r['sessions']} sessions x {r['config']['questions']} questions "
        f"({r['sessions_run_seconds']}s of sessions, {r['wall_seconds']}s wall) ===",
        f"answer -> ack       n={a['count']:<5} p50 {fmt(a['p50'])}  p95 {fmt(a['p95'])}  "
        f"p99 {fmt(a['p99'])}  max {fmt(a['max'])} ms",
        f"answer -> feedback  n={f['count']:<5} p50 {fmt(f['p50'])}  p95 {fmt(f['p95'])}  "
        f"p99 {fmt(f['p99'])}  max {fmt(f['max'])} ms",
        f"connect -> 1st question p50 {fmt(r['first_question_ms']['p50'])}  "
        f"p99 {fmt(r['first_question_ms']['p99'])} ms   (cold start, warm-up interview: {fmt(cold_ms)} ms)",
        f"completed interviews {r['completed_interviews']}/{r['sessions']}   "
        f"errors {r['errors']} {r['error_kinds'] or ''}  answers {r['answers_sent']} "
        f"(follow-up questions {r.get('follow_up_questions')})",
        f"seq check: {r['seq_check']['sessions_in_order_exactly_once']}/{r['sessions']} sessions in order exactly "
        f"once; log replay ok {r['seq_check']['log_replay_ok']}/{r['seq_check']['log_replay_checked']}",
        f"throughput: {r['throughput']['answers_acked_per_s']} answers acked/s, "
        f"{r['throughput']['interviews_completed_per_s']} interviews/s, "
        f"{r['throughput']['frames_received_per_s']} frames/s; daphne CPU "
        f"{fmt(r['server']['daphne_cpu_percent_of_one_core'], '%')} of a core, client CPU "
        f"{r['server']['client_cpu_seconds']}s; machine busy "
        f"{r['machine'].get('cpu_cores_busy_during_sessions')} of {r['machine']['cpus']} cores (others "
        f"{r['machine'].get('cpu_cores_busy_other_processes')}"
        + (
            f", model server {r['server']['reference_server_cpu_percent_of_one_core']}% of a core"
            if r["server"].get("reference_server_cpu_percent_of_one_core") is not None
            else ""
        )
        + "), "
        f"load {(r['machine'].get('loadavg_at_start') or [float('nan')])[0]:.1f}",
        f"DB: responses {r['db']['responses_by_status']}, fallback_used {r['db']['fallback_used']}, "
        f"providers {r['db']['by_provider']}, error kinds {r['db']['error_kinds'] or '-'}",
    ]
    if e:
        rr = r["ratios_vs_echo"]
        lines += [
            f"echo baseline: {e['round_trips_per_s']:,.0f} round trips/s, p50 {fmt(e['rtt_ms']['p50'])} "
            f"p99 {fmt(e['rtt_ms']['p99'])} ms ({e['connections']} conns, {e['frame_bytes']} B)",
            f"ratios: ack p50/echo p50 {rr['ack_p50_over_echo_p50']}x, ack p99/echo p99 "
            f"{rr['ack_p99_over_echo_p99']}x, feedback p99/echo p99 {rr['feedback_p99_over_echo_p99']}x, "
            f"acks/s / echo rt/s {rr['answers_acked_per_s_over_echo_round_trips_per_s']}",
        ]
    cpu = r.get("cpu_per_operation") or {}
    if cpu:
        lines.append(
            f"server CPU per connect -> 1st question {fmt(cpu['server_cpu_ms_per_connect'])} ms "
            f"(echo {fmt(cpu.get('echo_cpu_ms_per_connect'))} ms) by process {cpu['cpu_ms_per_connect_by_process']}"
        )
        if "server_cpu_ms_per_answer" in cpu:
            lines.append(
                f"server CPU per graded answer {fmt(cpu['server_cpu_ms_per_answer'])} ms "
                f"by process {cpu['cpu_ms_by_process']} ({cpu['answers']} answers)"
            )
    if "staff" in r:
        st, d = r["staff"], r["staff"]["answer_to_admin_ms"]
        lines.append(
            f"staff: {st['admins']} admins; answer.accepted -> admin answer.received p50 {fmt(d['p50'])} "
            f"p99 {fmt(d['p99'])} max {fmt(d['max'])} ms; missing {st['pairs_missing']}, "
            f"order violations {st['admin_order_violations']}, errors {st['admin_errors'] or 0}"
        )
    if "instrument" in r:
        ins = r["instrument"]
        top = ", ".join(
            f"{k.split('.')[-1]} {v['calls']}x{v['exec_ms_mean']}ms (wait {v['wait_ms_mean']}ms)"
            for k, v in list(ins["db_calls"].items())[:6]
        )
        lines += [
            f"instrument: DB thread busy {ins['db_thread_busy_s']}s of {ins['db_calls_span_s']}s "
            f"({fmt(100 * (ins['db_thread_utilisation'] or 0), '%')}); SQLite connections opened "
            f"{ins['sqlite_connections_opened']}; loop lag p50 {ins['loop_lag_ms']['p50']} p99 "
            f"{ins['loop_lag_ms']['p99']} max {ins['loop_lag_ms']['max']} ms",
            f"DB calls (calls x mean exec): {top}",
        ]
    if "model" in r:
        m = r["model"]
        lines += [
            f"target ack p99 < 100 ms: {'MET' if r['target']['met'] else 'NOT MET'} ({fmt(a['p99'])} ms)",
            f"model: {m['model_latency_ms']} ms/call, limit {m['max_concurrency']}; calls generate "
            f"{m['generate_calls']} (expected {m['expected_generate_calls']}), evaluate {m['evaluate_calls']} "
            f"(expected {m['expected_evaluate_calls']}); reference max in-flight {m['reference_max_in_flight']}, "
            f"mean in-flight while busy {m['mean_in_flight_while_busy']}",
            f"feedback bound from the limit (d*ceil(k/L)): p50 {fmt(m['expected_feedback_fifo_bound_ms']['p50'])} "
            f"p95 {fmt(m['expected_feedback_fifo_bound_ms']['p95'])} p99 "
            f"{fmt(m['expected_feedback_fifo_bound_ms']['p99'])} ms; measured - bound: p50 "
            f"{fmt(m['feedback_minus_fifo_bound_signed_p50_ms'])} ms, p99 (>=0) "
            f"{fmt(m['feedback_minus_fifo_bound_ms']['p99'])} ms; within bound+{m['slack_ms']} ms: "
            f"{m['answers_within_fifo_bound_plus_slack']}/{m['answers_with_feedback']}",
            f"model busy {m['model_busy_seconds']}s vs floor {m['model_makespan_floor_seconds']}s (calls*d/L)",
        ]
    print("\n".join(lines), flush=True)


def plot_crowd(r: dict[str, Any], path: Path) -> None:
    """storm / idle: connect and first-question latency (CDF against the echo RTT, and over time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    raw = r.get("sessions_raw") or []
    fq = np.array([x["fq_ms"] for x in raw if x["fq_ms"] is not None])
    conn = np.array([x["connect_ms"] for x in raw if x["connect_ms"] is not None])
    echo = np.array(r["echo"]["rtt_ms_raw"]) if r.get("echo") else np.array([])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    fig.suptitle(
        f"interview-rt, scenario {r['scenario']}: {r['sessions']} candidates connecting over "
        f"{r['config']['ramp_s']:.0f}s ({r['generated_at']})",
        fontsize=11,
    )
    ax = axes[0]
    for data, label, color in (
        (echo, "echo RTT (baseline)", "grey"),
        (conn, "connect (handshake)", "tab:green"),
        (fq, "connect → first question.asked", "tab:blue"),
    ):
        if len(data):
            d = np.sort(np.maximum(data, 0.01))
            ax.step(d, np.arange(1, len(d) + 1) / len(d), where="post", label=f"{label} (n={len(d)})", color=color)
    ax.axvline(2000, color="red", ls="--", lw=1, label="target p99 2 s")
    ax.axhline(0.99, color="black", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ms (log)")
    ax.set_ylabel("fraction ≤ x")
    ax.set_title("CDF")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[1]
    pts = [(x["t"], x["fq_ms"]) for x in raw if x["fq_ms"] is not None and x["t"] is not None]
    if pts:
        ax.scatter([p[0] for p in pts], [max(p[1], 0.01) for p in pts], s=5, color="tab:blue")
        ax.set_yscale("log")
    ax.set_xlabel("connect started at (s since start)")
    ax.set_ylabel("connect → first question (ms, log)")
    ax.set_title("first question over the storm")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot(r: dict[str, Any], path: Path) -> None:
    if "answers_raw" not in r:
        return  # a summary JSON: the samples are in the .raw.json beside it
    if not r["ack_ms"]["count"]:
        plot_crowd(r, path)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ack = np.array([a["ack_ms"] for a in r["answers_raw"] if a["ack_ms"] is not None])
    fb = np.array([a["fb_ms"] for a in r["answers_raw"] if a["fb_ms"] is not None])
    echo = np.array(r["echo"]["rtt_ms_raw"]) if r.get("echo") else np.array([])
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    title = (
        f"interview-rt load, scenario {r['scenario']}: {r['sessions']} sessions x {r['config']['questions']} "
        f"questions, {r['completed_interviews']} completed, {r['errors']} errors ({r['generated_at']})"
    )
    fig.suptitle(title, fontsize=11)

    ax = axes[0][0]
    for data, label, color in (
        (echo, "echo RTT (baseline)", "grey"),
        (ack, "answer → ack", "tab:blue"),
        (fb, "answer → feedback", "tab:orange"),
    ):
        if len(data):
            s = np.sort(data)
            ax.step(s, np.arange(1, len(s) + 1) / len(s), where="post", label=f"{label} (n={len(s)})", color=color)
    if "model" in r:
        d, lim = r["model"]["model_latency_ms"], r["model"]["max_concurrency"]
        b = np.sort([d * math.ceil(max(1, a["k"]) / lim) for a in r["answers_raw"] if a["fb_ms"] is not None])
        if len(b):
            ax.step(
                b,
                np.arange(1, len(b) + 1) / len(b),
                where="post",
                color="green",
                ls="--",
                label=f"feedback bound from model limit d·ceil(k/L) (d={d} ms, L={lim})",
            )
        ax.axvline(100, color="red", ls="--", lw=1, label="ack p99 target 100 ms")
    ax.axhline(0.99, color="black", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("fraction ≤ x")
    ax.set_title("CDF")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ax.grid(True, which="both", alpha=0.3)

    for ax, data, label, color in (
        (axes[0][1], ack, "answer → answer.accepted", "tab:blue"),
        (axes[1][0], fb, "answer → answer.feedback", "tab:orange"),
    ):
        if len(data):
            ax.hist(data, bins=min(60, max(10, len(data) // 5)), color=color, alpha=0.85)
            for q, ls in ((50, "-"), (95, "--"), (99, ":")):
                v = np.percentile(data, q, method="inverted_cdf")
                ax.axvline(v, color="black", ls=ls, lw=1, label=f"p{q} {v:,.1f} ms")
        ax.set_xlabel("ms")
        ax.set_ylabel("answers")
        ax.set_title(f"{label} histogram")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)

    ax = axes[1][1]
    raw = r["answers_raw"]
    t_ack = [a["t"] for a in raw if a["ack_ms"] is not None]
    ax.scatter(t_ack, [a["ack_ms"] for a in raw if a["ack_ms"] is not None], s=6, label="ack", color="tab:blue")
    t_fb = [a["t"] for a in raw if a["fb_ms"] is not None]
    ax.scatter(t_fb, [a["fb_ms"] for a in raw if a["fb_ms"] is not None], s=6, label="feedback", color="tab:orange")
    if "model" in r:
        d, lim = r["model"]["model_latency_ms"], r["model"]["max_concurrency"]
        bound = [d * math.ceil(max(1, a["k"]) / lim) for a in raw if a["fb_ms"] is not None]
        ax.scatter(t_fb, bound, s=14, marker="_", color="green", label="model-limit bound d·ceil(k/L)")
        if r.get("model_in_flight_samples"):
            ax2 = ax.twinx()
            st = [s["t"] for s in r["model_in_flight_samples"]]
            sv = [s["in_flight"] for s in r["model_in_flight_samples"]]
            ax2.plot(st, sv, color="purple", lw=0.8, alpha=0.6, label="model in-flight")
            ax2.axhline(lim, color="purple", ls=":", lw=0.8)
            ax2.set_ylabel("model requests in flight", color="purple")
            ax2.set_ylim(0, max([*sv, lim]) * 1.15)
            ax2.legend(fontsize=8, loc="lower right")
    ax.set_yscale("log")
    ax.set_xlabel("answer sent at (s since start)")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("latency over the run")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="both", alpha=0.3)

    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="embedded")
    p.add_argument(
        "--sessions",
        type=int,
        help="sessions (default: embedded 100, scale-out 200, storm 1000, idle 2000, slow-model 200)",
    )
    p.add_argument("--questions", type=int, help="questions per interview (default: 5; slow-model 3)")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the servers (A/B runs, e.g. AI_PROCESS=0)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object of the headline figures last")
    p.add_argument(
        "--idle-window-s", type=float, default=10, help="storm/idle: seconds the idle crowd's CPU is measured"
    )
    p.add_argument("--feedback-mode", choices=("immediate", "end"), default="immediate")
    p.add_argument("--think-ms", type=float, default=0, help="pause before answering each question")
    p.add_argument(
        "--ramp-s",
        type=float,
        default=None,
        help="spread the connects over this many seconds (default: 0; storm 10; idle 40)",
    )
    p.add_argument("--model-latency-ms", type=int, default=500, help="slow-model: reference server latency")
    p.add_argument("--max-concurrency", type=int, default=32, help="slow-model: AI_MODEL_MAX_CONCURRENCY")
    p.add_argument(
        "--max-follow-ups",
        type=int,
        default=None,
        help="AI_MODEL_MAX_FOLLOW_UPS for the server (default: unset, the server's default)",
    )
    p.add_argument(
        "--excess-slack-ms",
        type=float,
        default=100,
        help="slow-model: feedback within bound+slack counts as not waiting beyond the limit",
    )
    p.add_argument("--echo-seconds", type=float, default=10, help="echo baseline duration (0: skip)")
    p.add_argument("--echo-connections", type=int, default=50)
    p.add_argument("--echo-connects", type=int, default=300, help="echo baseline: connects measured for CPU/connect")
    p.add_argument("--echo-frame-bytes", type=int, default=200)
    p.add_argument("--deadline", type=float, default=240, help="max seconds for the sessions of a scenario")
    p.add_argument("--frame-timeout", type=float, default=60, help="max seconds to wait for any one frame")
    p.add_argument(
        "--no-verify-log",
        dest="verify_log",
        action="store_false",
        help="skip the session.resume replay check at the end",
    )
    p.add_argument(
        "--warm-up-timeout", type=float, default=180, help="max seconds for the unmeasured warm-up interview"
    )
    p.add_argument("--ref-attempts", type=int, default=3, help="tries to start the reference server")
    p.add_argument("--ref-retry-wait", type=float, default=60)
    p.add_argument("--progress-every", type=float, default=2.0)
    p.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    p.add_argument(
        "--db-settings",
        choices=("url", "tuned", "tuned-persistent", "persistent"),
        default="url",
        help="url: interview_rt.settings.local with DATABASE_URL=sqlite:///... (default, as deployed "
        "by the e2e tests); the others: A/B variants from bench/settings_db.py",
    )
    p.add_argument(
        "--instrument",
        action="store_true",
        help="run daphne through bench/_instrumented_daphne.py: DB-thread busy time per call, "
        "SQLite connections opened, event-loop lag (diagnosis)",
    )
    p.add_argument(
        "--replot",
        type=Path,
        metavar="JSON",
        help="only print the summary of a results JSON and redraw the PNG next to it (needs the raw "
        "samples the run wrote to raw/ beside it)",
    )
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (DB, server logs)")
    p.add_argument("--admins", type=int, default=0, help="staff sockets watching every session (0: none)")
    p.add_argument(
        "--admins-baseline",
        action="store_true",
        help="with --admins: run the scenario without admins first and compare the ack percentiles",
    )
    p.add_argument(
        "--admins-repeat",
        type=int,
        default=1,
        help="with --admins-baseline: alternate K runs without and K with admins, and compare the pooled "
        "acks (writes results/load-<scenario>-admins-compare.json and .png)",
    )
    p.add_argument(
        "--admins-client",
        choices=("process", "loop"),
        default="process",
        help="where the staff sockets' client runs: a process of its own (default), or this script's "
        "loop, beside the candidates whose acks it times (how it was measured before 2026-12-02 06:00)",
    )
    p.add_argument(
        "--no-admins-watch",
        dest="admins_watch",
        action="store_false",
        help="the staff sockets take the feed only, without `watch` (no transcripts, no drafts)",
    )
    args = p.parse_args(argv)
    if args.sessions is not None and not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions must be 1..{MAX_SESSIONS}")
    if args.questions is not None and not 1 <= args.questions <= 20:
        p.error("--questions must be 1..20")
    if not 1 <= args.max_concurrency <= 1024:
        p.error("--max-concurrency must be 1..1024")
    if not 0 < args.deadline <= 1800 or not 0 < args.frame_timeout <= 600:
        p.error("--deadline must be in (0, 1800] and --frame-timeout in (0, 600]")
    if not 0 <= args.admins <= 100:
        p.error("--admins must be 0..100")
    if not 0 <= args.echo_seconds <= 120 or not 1 <= args.echo_connections <= 1000:
        p.error("--echo-seconds must be 0..120 and --echo-connections 1..1000")
    return args


async def amain(args: argparse.Namespace, procs: Processes, workdir: Path) -> list[dict[str, Any]]:
    template = workdir / "template.sqlite3"
    log(f"migrating a fresh SQLite DB in {workdir}")
    t = time.perf_counter()
    await procs.run(
        "migrate", [sys.executable, "manage.py", "migrate", "--verbosity", "0"], base_env(template), timeout=300
    )
    log(f"migrated in {time.perf_counter() - t:.1f}s")
    reports = []
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    for name in names:
        sargs = argparse.Namespace(**vars(args))
        sargs.sessions = args.sessions or SCENARIOS[name]["sessions"]
        sargs.questions = args.questions or SCENARIOS[name]["questions"]
        sargs.ramp_s = args.ramp_s if args.ramp_s is not None else SCENARIOS[name].get("ramp_s", 0)
        sargs.hold = SCENARIOS[name]["kind"] in ("storm", "idle")
        # The baseline is a copy of the complete scenario arguments, differing only in admins.
        runs: list[tuple[str, argparse.Namespace]] = [(name if not args.admins else f"{name}-admins", sargs)]
        if args.admins and args.admins_baseline:
            runs.insert(0, (f"{name}-no-admins", argparse.Namespace(**{**vars(sargs), "admins": 0})))
            # Alternating pairs: a p99 of 500 acks is its 5th worst, and one run's swings as much as
            # the effect; the comparison pools every repeat's acks (and the files keep the last).
            runs *= args.admins_repeat
        pair: list[dict[str, Any]] = []
        for label, rargs in runs:
            report = await run_scenario(name, rargs, procs, workdir, template, label=label)
            args.results_dir.mkdir(parents=True, exist_ok=True)
            json_path = args.results_dir / f"load-{label}.json"
            png_path = args.results_dir / f"load-{label}.png"
            samples = write_results(report, json_path)
            plot(report, png_path)
            print_report(report)
            log(f"summary: {json.dumps(report['summary'])}")
            shown = json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path
            log(f"wrote {shown}, {png_path.name} and {display_path(samples)}")
            reports.append(report)
            pair.append(report)
        if len(pair) >= 2:
            if args.admins_repeat == 1:
                print_admin_comparison(pair[0], pair[1])
            else:
                compare_admin_runs(pair[0::2], pair[1::2], args.results_dir / f"load-{name}-admins-compare")
    return reports


def compare_admin_runs(without: list[dict[str, Any]], with_admins: list[dict[str, Any]], stem: Path) -> None:
    """Pooled acks of the repeated runs without and with admins: percentiles, each run's p99, a plot."""

    def acks(runs: list[dict[str, Any]]) -> list[float]:
        return [a["ack_ms"] / 1000 for r in runs for a in r["answers_raw"] if a["ack_ms"] is not None]

    a0, a1 = summary_ms(acks(without)), summary_ms(acks(with_admins))
    delays = [d for r in with_admins for d in r["staff_delays_raw"]]
    out = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs_each": len(without),
        "sessions": with_admins[0]["sessions"],
        "questions": with_admins[0]["config"]["questions"],
        "admins": with_admins[0]["staff"]["admins"],
        "admins_client": with_admins[0]["staff"].get("client"),
        "ack_ms_without_admins": a0,
        "ack_ms_with_admins": a1,
        "ack_p99_ratio": ratio(a1["p99"], a0["p99"]),
        "ack_p50_ratio": ratio(a1["p50"], a0["p50"]),
        "ack_p99_per_run_without": [r["ack_ms"]["p99"] for r in without],
        "ack_p99_per_run_with": [r["ack_ms"]["p99"] for r in with_admins],
        # Below 0 when the candidate's client read its ack after the staff process read the frame.
        "answer_to_admin_ms": summary_ms(delays),
        "answer_to_admin_p99_per_run": [r["staff"]["answer_to_admin_ms"]["p99"] for r in with_admins],
        "pairs_missing": sum(r["staff"]["pairs_missing"] for r in with_admins),
        "admin_order_violations": sum(r["staff"]["admin_order_violations"] for r in with_admins),
        "echo_p99_ms_per_run_without": [(r.get("echo") or {}).get("rtt_ms", {}).get("p99") for r in without],
        "echo_p99_ms_per_run_with": [(r.get("echo") or {}).get("rtt_ms", {}).get("p99") for r in with_admins],
        "failed_sessions": sum(r["failed_sessions"] for r in without + with_admins),
    }
    stem.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    print(
        "\n".join(
            [
                f"=== staff watching: {out['admins']} admins, {out['sessions']} sessions, {len(without)} runs each, "
                "acks pooled ===",
                f"ack p50 {fmt(a0['p50'])} -> {fmt(a1['p50'])} ms, p95 {fmt(a0['p95'])} -> {fmt(a1['p95'])} ms, "
                f"p99 {fmt(a0['p99'])} -> {fmt(a1['p99'])} ms (x{out['ack_p99_ratio']})",
                f"each run's ack p99 without {out['ack_p99_per_run_without']}, with {out['ack_p99_per_run_with']}",
                f"answer.accepted -> admin answer.received: {out['answer_to_admin_ms']}, "
                f"{out['pairs_missing']} missing, {out['admin_order_violations']} order violations",
            ]
        ),
        flush=True,
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    fig.suptitle(
        f"candidate ack with and without {out['admins']} admins watching: {out['sessions']} sessions x "
        f"{out['questions']} questions, {len(without)} alternating runs each ({out['generated_at']})",
        fontsize=10,
    )
    for runs, label, color in ((without, "without admins", "tab:blue"), (with_admins, "with admins", "tab:red")):
        data = np.sort(np.array(acks(runs)) * 1000)
        ax.plot(data, np.arange(1, len(data) + 1) / len(data), label=f"{label} (n={len(data)})", color=color)
    ax.axhline(0.99, color="grey", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("answer -> answer.accepted (ms, log)")
    ax.set_ylabel("fraction of acks")
    ax.set_title(f"pooled acks: p99 {fmt(a0['p99'])} -> {fmt(a1['p99'])} ms", fontsize=10)
    ax.legend()
    xs = np.arange(len(without))
    bx.plot(xs, out["ack_p99_per_run_without"], "o-", color="tab:blue", label="ack p99 without admins")
    bx.plot(xs, out["ack_p99_per_run_with"], "o-", color="tab:red", label="ack p99 with admins")
    bx.plot(xs, out["answer_to_admin_p99_per_run"], "s--", color="tab:green", label="answer -> admin p99")
    bx.set_xticks(xs)
    bx.set_xlabel("run (alternating: without, then with)")
    bx.set_ylabel("ms")
    bx.set_title("each run's p99", fontsize=10)
    bx.legend()
    fig.tight_layout()
    fig.savefig(stem.with_suffix(".png"), dpi=90)
    plt.close(fig)


def print_admin_comparison(without: dict[str, Any], with_admins: dict[str, Any]) -> None:
    a0, a1 = without["ack_ms"], with_admins["ack_ms"]
    staff = with_admins.get("staff", {})
    d = staff.get("answer_to_admin_ms", {})
    print(
        "\n".join(
            [
                f"=== staff watching: {staff.get('admins')} admins, {with_admins['sessions']} sessions ===",
                f"ack p50 {fmt(a0['p50'])} -> {fmt(a1['p50'])} ms, p95 {fmt(a0['p95'])} -> {fmt(a1['p95'])} ms, "
                f"p99 {fmt(a0['p99'])} -> {fmt(a1['p99'])} ms (x{ratio(a1['p99'], a0['p99'])})",
                f"answer.accepted -> admin answer.received: p50 {fmt(d.get('p50'))} p95 {fmt(d.get('p95'))} "
                f"p99 {fmt(d.get('p99'))} max {fmt(d.get('max'))} ms over {d.get('count')} (admin, answer) pairs, "
                f"{staff.get('pairs_missing')} missing, {staff.get('admin_order_violations')} order violations",
            ]
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot:
        report, has_samples = load_results(args.replot)
        print_report(report)
        if not has_samples:  # the PNG is drawn from the samples, which only the run's machine has
            log(f"no raw samples at {display_path(raw_path(args.replot))}: the PNG is not redrawn")
            return 1
        plot(report, args.replot.with_suffix(".png"))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="interview-rt-load-"))
    procs = Processes(workdir)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    # Even when started in the background by a shell that ignores SIGINT: Ctrl-C / kill -INT stops us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    failed = False
    try:
        reports = asyncio.run(amain(args, procs, workdir))
        failed = any(r["failed_sessions"] or r["errors"] for r in reports)
    except KeyboardInterrupt:
        log("interrupted; stopping servers")
        return 130
    except Exception as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    finally:
        procs.stop_all()
        if args.keep_tmp or failed:
            log(f"kept {workdir} (DB and server logs)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:  # the last line: one JSON object per scenario, the last scenario's last
        for r in reports:
            print(json.dumps(r["summary"]), flush=True)
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
