"""The baseline: a bare Channels JSON echo consumer on daphne, measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import websockets

from .config import HOST, log
from .processes import Processes, daphne_argv, free_port, wait_for_port
from .stats import fmt, summary_ms
from .usage import proc_cpu_seconds, rss_kib


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
