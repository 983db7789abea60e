"""A scenario's report from its sessions' records: latencies, throughput, seq checks, ratios to the echo."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .candidates import SessionResult, expected_log
from .slow_model import model_analysis
from .stats import ratio, summary_ms
from .usage import CpuReading


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


def machine_cpu_report(
    report: dict[str, Any], start: CpuReading, end: CpuReading, run_s: float, with_reference: bool
) -> None:
    """The machine's busy cores over the sessions, and how many of them were others' processes."""
    mach0, mach1 = start.machine, end.machine
    if mach0 and mach1 and mach1[1] > mach0[1]:
        ncpu = os.cpu_count() or 1
        busy_cores = ncpu * (mach1[0] - mach0[0]) / (mach1[1] - mach0[1])
        ref_cpu0, ref_cpu1 = start.reference, end.reference
        ref_cpu = (ref_cpu1 - ref_cpu0) if ref_cpu0 is not None and ref_cpu1 is not None else 0.0
        ours = (end.server - start.server) + (end.client - start.client) + ref_cpu
        report["machine"]["cpu_cores_busy_during_sessions"] = round(busy_cores, 2)
        if with_reference:
            report["server"]["reference_server_cpu_percent_of_one_core"] = round(100 * ref_cpu / run_s, 1)
        # Everything else on this shared machine (other engineers' jobs), not the server, this client or the model:
        report["machine"]["cpu_cores_busy_other_processes"] = round(max(0.0, busy_cores - ours / run_s), 2)
