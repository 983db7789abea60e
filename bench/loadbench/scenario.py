"""One scenario run: servers up, a warm-up interview, every session at once, then the report."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from . import crowd as storm
from . import scale_out
from .analysis import analyse, machine_cpu_report
from .candidates import Live, SessionResult, run_session, warm_up_session
from .config import HOST, SCENARIOS, log
from .echo import echo_baseline
from .processes import Processes, base_env
from .report import summary_line
from .servers import (
    Invitations,
    progress,
    read_db_report,
    read_instrument,
    server_environment,
    setup_invitations,
    start_servers,
)
from .slow_model import poll_reference, reference_stats, start_reference_server
from .staff import AdminClients, admin_delays, admin_delivery
from .stats import fmt
from .usage import CpuReading, cpu_by_role, per_operation_cpu, rss_kib


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
        pg_url, redis_prefix = await scale_out.prepare(name, procs, env)
    try:
        return await _run_scenario(name, args, procs, sdir, env, started, label)
    finally:
        if pg_url:
            scale_out.drop_pg_database(pg_url)
        if redis_prefix:
            scale_out.clear_redis(redis_prefix)


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
    links = await setup_invitations(name, args, procs, sdir, env)

    eargs = argparse.Namespace(**vars(args))
    eargs.echo_idle_sockets = args.sessions if kind in ("idle", "storm") else 0
    echo = await echo_baseline(procs, env, eargs) if args.echo_seconds > 0 else None

    ref_url, ref_proc = None, None
    if spec["provider"] == "http":
        ref_url, ref_proc = await start_reference_server(procs, env, args)
    server_env = server_environment(env, args, ref_url)
    servers, others = await start_servers(name, args, procs, server_env, sdir)
    ports = [port for port, _ in servers]
    server_pids = [proc.pid for _, proc in servers] + [proc.pid for proc in others]
    log(
        f"interview servers: pids {server_pids} on {HOST}:{ports}; cold start: first candidate of the fresh "
        "server (warm-up interview, not measured)"
    )
    cold = await warm_up_session(links.warm_up["token"], ports[0], args)
    log(
        f"warm-up interview: first question after {fmt(cold.get('first_question_ms'), ' ms')}, done in "
        f"{fmt(cold.get('duration_s'), ' s')} {cold.get('error') or ''}"
    )
    ref_before = (await reference_stats(ref_url) or {}) if ref_url else {}

    m = await _measure(kind, args, links, servers, others, server_env, ref_url, ref_proc)

    ref_stats = None
    if ref_url:
        ref_stats = await reference_stats(ref_url)
        if ref_stats:  # the measured sessions' calls: minus the warm-up interview's
            before = ref_before.get("by_path", {})
            ref_stats["by_path_including_warm_up"] = dict(ref_stats.get("by_path", {}))
            ref_stats["by_path"] = {k: v - before.get(k, 0) for k, v in ref_stats.get("by_path", {}).items()}
    for proc in others:
        procs.stop(proc)
    for _, proc in servers:
        procs.stop(proc)
    daphne_log = "\n".join(procs.log_text(f"{name}-server-{i + 1}") for i in range(len(servers)))
    instrument = read_instrument(sdir)
    if ref_proc is not None:
        procs.stop(ref_proc)
    db_report = await read_db_report(name, procs, sdir, env, m.results, links)
    cpu_report = per_operation_cpu(m.roles0, m.roles_mid, m.roles_end, len(m.results), m.results, echo)
    report = analyse(
        label or name,
        args,
        m.results,
        echo,
        db_report,
        ref_stats,
        m.ref_samples,
        m.run_s,
        (m.end.server - m.start.server),
        m.end.client - m.start.client,
        daphne_log,
        time.perf_counter() - started,
    )
    report["cpu_per_operation"] = cpu_report
    if instrument is not None:
        report["instrument"] = instrument
    if links.staff_keys:
        pairs = admin_delays(m.results, m.admins.results)
        report["staff"] = {**admin_delivery(m.results, m.admins.results, pairs), "client": args.admins_client}
        report["staff_delays_raw"] = [d for d, _ in pairs]
    report["cold_start"] = cold
    report["topology"] = {
        "kind": spec["topology"],
        "servers": len(servers),
        "separate_ai_worker": bool(others),
        "database": "postgresql" if spec["topology"] == "scale-out" else "sqlite",
        "channel_layer": "redis" if spec["topology"] == "scale-out" else "in-memory",
    }
    if m.crowd:
        report["crowd"] = m.crowd
    report["machine"]["loadavg_at_start"] = m.load_at_start
    machine_cpu_report(report, m.start, m.end, m.run_s, with_reference=ref_proc is not None)
    report["summary"] = summary_line(report)
    return report


class _Measured:
    """What the measured sessions left: their records and the CPU readings around them."""

    def __init__(self) -> None:
        self.results: list[SessionResult] = []
        self.crowd: dict[str, Any] = {}
        self.ref_samples: list[dict[str, Any]] = []
        self.roles0: dict[str, float] = {}
        self.roles_mid: dict[str, float] | None = None
        self.roles_end: dict[str, float] = {}
        self.run_s = 0.0
        self.load_at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.start: CpuReading
        self.end: CpuReading
        self.admins: AdminClients


async def _measure(
    kind: str,
    args: argparse.Namespace,
    links: Invitations,
    servers: list[tuple[int, subprocess.Popen[bytes]]],
    others: list[subprocess.Popen[bytes]],
    server_env: dict[str, str],
    ref_url: str | None,
    ref_proc: Any,
) -> _Measured:
    """Every session at once (and the staff sockets), from the first connect to the last replay."""
    m = _Measured()
    ports = [port for port, _ in servers]
    server_pids = [proc.pid for _, proc in servers] + [proc.pid for proc in others]
    web_pid = servers[0][1].pid
    stop = asyncio.Event()
    admins = m.admins = AdminClients(links.staff_keys, ports[0], args.admins_watch, args.admins_client == "loop")
    if links.staff_keys:
        await admins.start()
        log(f"{len(links.staff_keys)} staff sockets connected ({args.admins_client}), watching every session")
    crowd = m.crowd
    if kind == "idle":
        await storm.probe_alone(crowd, links.probes[0]["token"], ports[0], args, web_pid)

    if args.instrument:
        os.kill(web_pid, signal.SIGUSR1)  # the probes count from here: the measured sessions only
        await asyncio.sleep(0.05)
    live = Live()
    ref_samples = m.ref_samples
    live.t0 = time.perf_counter()
    deadline = live.t0 + args.deadline

    def reading() -> CpuReading:  # the client: this script, and the staff sockets' process when they have one
        return CpuReading.take(server_pids, admins.cpu_seconds(), ref_proc.pid if ref_proc is not None else None)

    web_roots, worker_roots = [proc.pid for _, proc in servers], [proc.pid for proc in others]
    with_services = server_env.get("DATABASE_URL", "").startswith("postgres")
    m.roles0 = cpu_by_role(web_roots, worker_roots, with_services)
    m.start = reading()
    m.load_at_start = os.getloadavg()
    if kind in ("storm", "idle"):
        crowd["rss_before_kib"] = crowd.get("rss_before_kib") or rss_kib(web_pid)
    helpers = [asyncio.create_task(progress(live, args, server_pids, ref_samples if ref_url else None, stop))]
    if ref_url:
        helpers.append(asyncio.create_task(poll_reference(ref_url, ref_samples, live.t0, stop)))
    tasks = [
        asyncio.create_task(run_session(i, tok, ports[i % len(ports)], live, args, deadline))
        for i, tok in enumerate(links.tokens)
    ]
    try:
        while live.finished < len(tasks) and time.perf_counter() < deadline:
            if all(t.done() for t in tasks):
                break
            if (
                m.roles_mid is None
                and kind != "idle"
                and (live.first_questions >= len(tasks) or time.perf_counter() - live.t0 > 60)
            ):
                # Every session has its first question: the connects are done, the answers begin
                # (storm: the sockets idle from here on, which is not a connect's cost).
                m.roles_mid = cpu_by_role(web_roots, worker_roots, with_services)
                live.answering.set()
            await asyncio.sleep(0.05)
        live.answering.set()
        m.roles_end = cpu_by_role(web_roots, worker_roots, with_services)
        m.run_s = time.perf_counter() - live.t0
        m.end = reading()
        if kind in ("storm", "idle"):
            await storm.measure_crowd(
                crowd, kind, tasks, web_pid, server_pids, args, links.probes[1]["token"], ports[0]
            )
            live.release.set()
        live.all_done.set()
        done, pending = await asyncio.wait(tasks, timeout=120)
        for t in pending:
            t.cancel()
        m.results = [t.result() for t in tasks if t in done and not t.cancelled()]
        for i, t in enumerate(tasks):
            if t in pending:
                m.results.append(SessionResult(i, error="cancelled: did not finish the replay in time"))
        if links.staff_keys:
            await admins.finish({a.response_id for r in m.results for a in r.answers if a.response_id})
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
    return m
