"""The storm and idle scenarios: a crowd of sockets holding their first question, its memory and
idle CPU, and (idle) one probe interview alone and then beside the crowd."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from .candidates import SessionResult, probe_session
from .config import log
from .usage import rss_kib, tree_cpu_seconds


async def probe_alone(crowd: dict[str, Any], token: str, port: int, args: argparse.Namespace, web_pid: int) -> None:
    """idle, before the crowd: the probe interview alone, then the server's RSS."""
    # The probe alone first (the model is loaded by now: the warm-up interview was graded).
    crowd["probe_alone"] = await probe_session(token, port, args, 90001)
    log(f"probe interview alone: ack {crowd['probe_alone']['ack_ms']}, feedback {crowd['probe_alone']['feedback_ms']}")
    await asyncio.sleep(1.0)
    crowd["rss_before_kib"] = rss_kib(web_pid)


async def measure_crowd(
    crowd: dict[str, Any],
    kind: str,
    tasks: list[asyncio.Task[SessionResult]],
    web_pid: int,
    server_pids: list[int],
    args: argparse.Namespace,
    probe_token: str,
    port: int,
) -> None:
    """Once every socket of the crowd holds its first question: RSS per socket, the idle crowd's
    CPU over --idle-window-s, and (idle) the probe interview beside it."""
    await asyncio.sleep(3.0)  # the crowd is idle now: let the server settle
    crowd["sockets"] = sum(1 for t in tasks if not t.done())
    crowd["rss_after_kib"] = rss_kib(web_pid)
    if crowd["rss_before_kib"] is not None and crowd["rss_after_kib"] is not None and crowd["sockets"]:
        crowd["rss_per_socket_kib"] = round((crowd["rss_after_kib"] - crowd["rss_before_kib"]) / crowd["sockets"], 1)
    idle_cpu0, t_idle = tree_cpu_seconds(server_pids), time.perf_counter()
    await asyncio.sleep(args.idle_window_s)
    crowd["idle_cpu_percent_of_one_core"] = round(
        100 * (tree_cpu_seconds(server_pids) - idle_cpu0) / (time.perf_counter() - t_idle), 1
    )
    if kind == "idle":
        crowd["probe_beside_crowd"] = await probe_session(probe_token, port, args, 90002)
        log(
            f"probe interview beside {crowd['sockets']} idle sockets: ack "
            f"{crowd['probe_beside_crowd']['ack_ms']}, feedback {crowd['probe_beside_crowd']['feedback_ms']}"
        )
