"""The server side of a scenario: its interview servers, progress lines, invitations and what it stored."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .candidates import Live, SessionResult
from .config import SCENARIOS, log
from .processes import Processes, daphne_argv, free_port, server_argv, wait_for_port
from .usage import tree_cpu_seconds


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


@dataclass
class Invitations:
    """The scenario's invitations: one for the warm-up interview, two for probes, one per session."""

    warm_up: dict[str, str]
    probes: list[dict[str, str]]
    tokens: list[str]
    staff_keys: list[str]


async def setup_invitations(
    name: str, args: argparse.Namespace, procs: Processes, sdir: Path, env: dict[str, str]
) -> Invitations:
    """bench/_setup_invitations.py in the scenario's DB: the invitations, and the staff's API tokens."""
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
    log(f"invitations (+1 warm-up, +2 probes): {out.strip().splitlines()[-1]}")
    return Invitations(links[0], links[1:3], [link["token"] for link in links[3:]], staff_keys)


def server_environment(env: dict[str, str], args: argparse.Namespace, ref_url: str | None) -> dict[str, str]:
    """The interview servers' environment: the model server's URL (slow-model), --max-follow-ups,
    --server-env."""
    server_env = dict(env)
    if ref_url is not None:
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
    return server_env


def read_instrument(sdir: Path) -> dict[str, Any] | None:
    """What bench/_instrumented_daphne.py wrote on exit (--instrument), if it ran."""
    instrument_file = sdir / "instrument.json"
    return json.loads(instrument_file.read_text()) if instrument_file.exists() else None


async def read_db_report(
    name: str,
    procs: Processes,
    sdir: Path,
    env: dict[str, str],
    results: list[SessionResult],
    links: Invitations,
) -> dict[str, Any]:
    """bench/_db_report.py: what the server stored for the acked answers (the warm-up and probes left out)."""
    acked_file = sdir / "acked.json"
    acked_file.write_text(
        json.dumps([f"s{r.index}-a{k + 1}" for r in results for k, a in enumerate(r.answers) if a.ack_s is not None])
    )
    out = await procs.run(
        f"{name}-db-report",
        [
            sys.executable,
            "bench/_db_report.py",
            "--acked",
            str(acked_file),
            *[f"--exclude-invitation={link['invitation']}" for link in [links.warm_up, *links.probes]],
        ],
        env,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report
