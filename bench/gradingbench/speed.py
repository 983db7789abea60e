"""The speed probe, run in a fresh process that only loads the grader: single and micro-batched
latency, throughput, RSS and how busy the machine was; and its lines of the report."""

from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import time
from pathlib import Path

import fit_grader
import numpy as np
import psutil

from ai_service.grading import encoder, semantic
from ai_service.grading.batcher import MAX_BATCH, MAX_CONCURRENT, MicroBatcher
from ai_service.grading.types import GradeInput


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MiB."""
    return float(psutil.Process().memory_info().rss) / 2**20


def cpu_busy_total() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot; busy is all but idle and iowait."""
    t = psutil.cpu_times()
    total = float(sum(t))
    return total - t.idle - getattr(t, "iowait", 0.0), total


class CpuWatch:
    """Wall time, this process's CPU time and the machine's busy share over a block of work."""

    def __enter__(self) -> CpuWatch:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.machine = cpu_busy_total()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        busy, total = cpu_busy_total()
        self.machine_busy = (busy - self.machine[0]) / max(1e-9, total - self.machine[1])
        cores = os.cpu_count() or 1
        self.own_share = self.cpu / max(1e-9, self.wall * cores)


def speed_probe(data_dir: Path, n_single: int, n_batched: int) -> dict[str, float]:
    """Runs in its own process: load the grader, then time single and batched grading.

    Answers come from the test splits: "short" = SemEval answers (like short interview answers),
    "long" = SAF answers (several sentences). References and key points are cached first, as they
    are in service (one question serves many answers).
    """
    started = time.perf_counter()
    semantic.warm_up()
    load_s = time.perf_counter() - started
    rss_loaded = rss_mb()
    rows = [r for r in fit_grader.load_rows(data_dir) if r.split != "train"]
    rng = random.Random(7)
    short = [r.item for r in rng.sample([r for r in rows if r.set != "saf"], n_batched)]
    long = [r.item for r in rng.sample([r for r in rows if r.set == "saf"], min(n_batched // 4, 479))]
    warm = [GradeInput(i.question, i.reference_answer, "warm", i.key_points, i.alternative_references) for i in short]
    warm += [GradeInput(i.question, i.reference_answer, "warm", i.key_points) for i in long]
    for start in range(0, len(warm), 64):
        semantic.grade_many(warm[start : start + 64])
    for item in short[:20]:  # warm the code paths
        semantic.grade(item)
    times: list[float] = []
    cpu_times: list[float] = []
    with CpuWatch() as single_watch:
        for item in short[:n_single]:
            t0 = time.perf_counter()
            c0 = time.process_time()
            semantic.grade(item)
            times.append((time.perf_counter() - t0) * 1000)
            cpu_times.append((time.process_time() - c0) * 1000)
    long_times = []
    for item in long[:50]:
        t0 = time.perf_counter()
        semantic.grade(item)
        long_times.append((time.perf_counter() - t0) * 1000)

    async def concurrent(items: list[GradeInput], concurrency: int) -> tuple[float, float, list[int]]:
        batcher: MicroBatcher[GradeInput, object] = MicroBatcher(semantic.grade_many)
        queue = list(items)
        latencies: list[float] = []

        async def caller() -> None:
            while queue:
                item = queue.pop()
                t0 = time.perf_counter()
                await batcher.grade(item)
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        batcher.close()
        return len(items) / elapsed, statistics.median(latencies), list(batcher.batch_sizes)

    async def via_batcher_single(items: list[GradeInput]) -> float:
        batcher: MicroBatcher[GradeInput, object] = MicroBatcher(semantic.grade_many)
        lat = []
        for item in items:
            t0 = time.perf_counter()
            await batcher.grade(item)
            lat.append((time.perf_counter() - t0) * 1000)
        batcher.close()
        return statistics.median(lat)

    asyncio.run(concurrent(short[:128], 64))  # warm-up
    with CpuWatch() as batched_watch:
        throughput, batched_p50, sizes = asyncio.run(concurrent(short, 64))
    long_throughput, _, _ = asyncio.run(concurrent(long, 64))
    single_batcher_p50 = asyncio.run(via_batcher_single(short[:100]))
    enc = encoder.load_encoder()
    return {
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "rss_after_mb": rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "single_p50_ms": statistics.median(times),
        "single_p95_ms": float(np.percentile(times, 95)),
        "single_n": float(len(times)),
        "single_cpu_p50_ms": statistics.median(cpu_times),
        "single_machine_busy": single_watch.machine_busy,
        "single_own_share": single_watch.own_share,
        "long_single_p50_ms": statistics.median(long_times),
        "single_via_batcher_p50_ms": single_batcher_p50,
        "throughput": throughput,
        "throughput_n": float(len(short)),
        "batched_latency_p50_ms": batched_p50,
        "mean_batch": float(np.mean(sizes)) if sizes else 0.0,
        "batched_machine_busy": batched_watch.machine_busy,
        "batched_own_share": batched_watch.own_share,
        "evals_per_cpu_second": len(short) / max(1e-9, batched_watch.cpu),
        "long_throughput": long_throughput,
        "long_n": float(len(long)),
        "mean_tokens": float(np.mean([enc.count_pieces(i.answer) for i in short])),
        "long_mean_tokens": float(np.mean([enc.count_pieces(i.answer) for i in long])),
        "bf16": float(getattr(enc.forward, "use_bf16", False)),
        "threads": float(enc.threads),
        "batch_threads": float(getattr(enc.forward, "batch_threads", enc.threads)),
    }


def speed_lines(speed: dict[str, float]) -> list[str]:
    s = speed
    return [
        f"speed ({encoder.backend_setting()} backend; threads: {int(s['threads'])} for small batches, "
        f"{int(s['batch_threads'])} for 16+ texts; "
        f"bf16 batches: {bool(s['bf16'])}; fresh process, "
        f"model load {speed['load_s']:.1f}s):",
        f"  one answer at a time, direct: p50 {speed['single_p50_ms']:.1f} ms, p95 {speed['single_p95_ms']:.1f} ms "
        f"(n={int(speed['single_n'])} SemEval test answers, mean {speed['mean_tokens']:.0f} tokens, references "
        f"cached); SAF answers (mean {speed['long_mean_tokens']:.0f} tokens): p50 {speed['long_single_p50_ms']:.1f} ms",
        f"  one answer at a time through the micro-batcher (3 ms window): p50 {s['single_via_batcher_p50_ms']:.1f} ms",
        f"  64 concurrent callers, micro-batched (batches of up to {MAX_BATCH}, {MAX_CONCURRENT} in flight): "
        f"{speed['throughput']:.0f} evals/s over {int(speed['throughput_n'])} "
        f"SemEval answers (mean batch {s['mean_batch']:.1f}, per-call p50 {s['batched_latency_p50_ms']:.0f} ms); "
        f"{speed['long_throughput']:.0f} evals/s over {int(speed['long_n'])} SAF answers",
        f"  machine busy during the single / batched runs: {speed['single_machine_busy']:.0%} / "
        f"{speed['batched_machine_busy']:.0%} of all cores, this process {speed['single_own_share']:.0%} / "
        f"{speed['batched_own_share']:.0%} (the rest: other processes); CPU per single answer p50 "
        f"{speed['single_cpu_p50_ms']:.1f} ms; {speed['evals_per_cpu_second']:.0f} batched evals per CPU-second",
        f"  RSS: {speed['rss_loaded_mb']:.0f} MB with the model loaded, {speed['rss_after_mb']:.0f} MB after "
        f"grading, peak {speed['peak_rss_mb']:.0f} MB",
    ]
