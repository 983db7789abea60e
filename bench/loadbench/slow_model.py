"""The slow-model scenario: the reference model server answering late, and how far feedback is from its limit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import re
import sys
import time
from typing import Any

import httpx
import numpy as np

from .candidates import AnswerRecord, SessionResult
from .config import HOST, log
from .processes import Processes, free_port
from .stats import summary_ms


async def start_reference_server(procs: Processes, env: dict[str, str], args: argparse.Namespace) -> tuple[str, Any]:
    """Start `tools.reference_server`; its base URL (parsed from 'listening on ...')."""
    for attempt in range(1, args.ref_attempts + 1):
        # A name of its own per start: the URL is read from the log, which a second scenario in
        # the same run (--admins-baseline) would otherwise share with the first, dead, server.
        name = f"reference-server-{len(procs.procs)}-{attempt}"
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "tools.reference_server",
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


async def reference_stats(url: str) -> dict[str, Any] | None:
    """The reference server's /_stats (requests by path, in flight), or None if it does not answer."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            stats: dict[str, Any] = (await client.get(f"{url}/_stats")).json()
            return stats
    return None


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
        # the upper median (sorted[n // 2]): numpy's "higher" at q = 0.5
        "feedback_minus_fifo_bound_signed_p50_ms": round(float(np.quantile(excess, 0.5, method="higher")) * 1000, 1)
        if n
        else None,
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
