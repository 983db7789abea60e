"""CPU seconds and RSS of the processes under test (the server tree, services, the machine)."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any

import psutil


def proc_cpu_seconds(pid: int) -> float | None:
    """user + system CPU seconds of a process (its own, not its children's); None if it is gone."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(t.user + t.system)


def descendants(pid: int) -> list[int]:
    """pid and every process below it (the server's AI process)."""
    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of these processes and their descendants (children not yet reaped count too)."""
    return sum(proc_cpu_seconds(p) or 0.0 for root in pids for p in descendants(root))


def rss_kib(pid: int) -> int | None:
    """Resident set size in KiB (VmRSS), None if the process is gone."""
    try:
        return int(psutil.Process(pid).memory_info().rss) // 1024
    except psutil.Error:
        return None


def machine_cpu_ticks() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of all CPUs since boot; busy is all but idle and iowait."""
    try:
        t = psutil.cpu_times()
    except (psutil.Error, OSError):
        return None
    total = float(sum(t))
    return total - t.idle - getattr(t, "iowait", 0.0), total


def self_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


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
        for proc in psutil.process_iter(["name", "cpu_times"]):
            name, times = proc.info["name"] or "", proc.info["cpu_times"]
            if times is None:
                continue
            if name.startswith("postgres"):
                out["postgres"] += times.user + times.system
            elif name.startswith("redis-server"):
                out["redis"] += times.user + times.system
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


@dataclass
class CpuReading:
    """CPU seconds so far of what a scenario measures, read together."""

    server: float  # the interview servers' process trees (and the scale-out's AI worker)
    client: float  # this script, and the staff sockets' process when they have one
    machine: tuple[float, float] | None  # machine_cpu_ticks()
    reference: float | None  # the reference model server (slow-model)

    @classmethod
    def take(cls, server_pids: list[int], staff_client_cpu: float, reference_pid: int | None) -> CpuReading:
        return cls(
            tree_cpu_seconds(server_pids),
            self_cpu_seconds() + staff_client_cpu,
            machine_cpu_ticks(),
            proc_cpu_seconds(reference_pid) if reference_pid is not None else None,
        )
