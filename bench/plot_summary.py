#!/usr/bin/env python
"""One figure of every scenario's headline numbers against the issue's targets, from the
`summary` of each bench/results/load-<scenario>.json: bench/results/summary.png.

    python bench/plot_summary.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# (scenario, figure, label, target, higher is better)
# The targets of issue #18 (cost per operation); "embedded" as a target: the embedded row's value.
PANELS = [
    ("embedded", "server_cpu_ms_per_answer", "embedded: server CPU ms / graded answer", 10, False),
    ("embedded", "connect_cpu_over_echo", "embedded: CPU per connect / echo's", 1.5, False),
    ("storm", "connect_cpu_over_echo", "storm: CPU per connect / echo's", 1.5, False),
    ("embedded", "answers_per_s", "embedded: answers/s", 100, True),
    ("embedded", "ack_p99_ms", "embedded: ack p99 (ms)", 100, False),
    ("embedded", "feedback_p99_ms", "embedded: feedback p99 (ms)", 1000, False),
    ("embedded", "first_question_p99_ms", "embedded: 1st question p99 (ms)", 1000, False),
    ("storm", "first_question_p99_ms", "storm: 1st question p99 (ms)", 1000, False),
    ("storm", "rss_per_idle_socket_kib", "storm: RSS per idle socket (KiB)", None, False),
    ("scale-out", "answers_per_s", "scale-out: answers/s", "embedded", True),
    ("scale-out", "feedback_p99_ms", "scale-out: feedback p99 (ms)", 1000, False),
    ("scale-out", "server_cpu_ms_per_answer", "scale-out: CPU ms / answer (pg, redis incl.)", "embedded2x", False),
]


def table(summaries: dict[str, dict[str, object]]) -> str:
    """The markdown table of docs/performance.md: each scenario's figures beside its same-run echo."""

    def f(v: object, digits: int = 0) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.{digits}f}"
        return str(v)

    rows = [
        "| scenario | sessions | answers/s | ack p50 / p99 ms | feedback p50 / p99 ms | 1st question p50 / p99 ms "
        "| cold start ms | RSS/idle socket KiB (echo) | lost / dup | server CPU ms per graded answer "
        "| per connect (echo's) | same-run echo rt/s (p99 ms) | other load (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("embedded", "scale-out", "storm", "idle", "slow-model"):
        s = summaries.get(name)
        if not s:
            continue
        rss = f"{f(s.get('rss_per_idle_socket_kib'), 1)} ({f(s.get('echo_rss_per_idle_socket_kib'), 1)})"
        rows.append(
            f"| {name} | {s['sessions']} | {f(s.get('answers_per_s'), 1)} "
            f"| {f(s.get('ack_p50_ms'))} / {f(s.get('ack_p99_ms'))} "
            f"| {f(s.get('feedback_p50_ms'))} / {f(s.get('feedback_p99_ms'))} "
            f"| {f(s.get('first_question_p50_ms'))} / {f(s.get('first_question_p99_ms'))} "
            f"| {f(s.get('cold_start_ms'))} | {rss} | {f(s.get('lost'))} / {f(s.get('duplicated'))} "
            f"| {f(s.get('server_cpu_ms_per_answer'), 1)} "
            f"| {f(s.get('server_cpu_ms_per_connect'), 1)} ({f(s.get('echo_cpu_ms_per_connect'), 1)}) "
            f"| {f(s.get('echo_rt_per_s'))} ({f(s.get('echo_rtt_p99_ms'))}) "
            f"| {f(s.get('machine_cores_busy_other'), 2)} |"
        )
    return "\n".join(rows)


def main() -> int:
    import sys

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = {}
    for path in sorted(RESULTS.glob("load-*.json")):
        if path.name.endswith(".raw.json"):
            continue
        data = json.loads(path.read_text())
        if "summary" in data:
            summaries[data["scenario"]] = data["summary"]
    if "--table" in sys.argv:
        print(table(summaries))
        return 0
    fig, axes = plt.subplots(2, 6, figsize=(20, 6.5))
    embedded = summaries.get("embedded") or {}
    for ax, (scenario, key, label, wanted, higher) in zip(axes.flat, PANELS, strict=True):
        s = summaries.get(scenario) or {}
        value = s.get(key)
        target: float | None = wanted if isinstance(wanted, int | float) else None
        if wanted == "embedded":
            target = embedded.get(key)
        elif wanted == "embedded2x" and embedded.get(key) is not None:
            target = 2 * embedded[key]
        if key == "rss_per_idle_socket_kib":
            echo = s.get("echo_rss_per_idle_socket_kib")
            target = round(echo * 1.1, 1) if echo else None
        bar_color = "grey"
        if value is not None and target is not None:
            bar_color = "tab:green" if (value >= target if higher else value <= target) else "tab:red"
        ax.bar([0], [value or 0], color=bar_color, width=0.5)
        if target is not None:
            ax.axhline(target, color="black", ls="--", lw=1)
            ax.text(0.3, target, f" target {target:g}", va="bottom", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.text(
            0, (value or 0), f"{value:,.1f}" if value is not None else "not run", ha="center", va="bottom", fontsize=9
        )
        echo_rt = s.get("echo_rt_per_s")
        if echo_rt:
            ax.set_xlabel(f"same-run echo {echo_rt:,.0f} rt/s", fontsize=8)
    fig.suptitle("interview-rt load benchmark vs the targets of issue #18 (green: met, red: not met)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    out = RESULTS / "summary.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
