"""`--admins-baseline`: runs without and with staff sockets, compared."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .plots import plot_admin_comparison
from .stats import fmt, ratio, summary_ms


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
    plot_admin_comparison(out, acks(without), acks(with_admins), stem.with_suffix(".png"))


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
