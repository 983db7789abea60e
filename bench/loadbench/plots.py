"""The PNGs beside the results (matplotlib, drawn from the raw samples)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .stats import fmt


def plot_crowd(r: dict[str, Any], path: Path) -> None:
    """storm / idle: connect and first-question latency (CDF against the echo RTT, and over time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    raw = r.get("sessions_raw") or []
    fq = np.array([x["fq_ms"] for x in raw if x["fq_ms"] is not None])
    conn = np.array([x["connect_ms"] for x in raw if x["connect_ms"] is not None])
    echo = np.array(r["echo"]["rtt_ms_raw"]) if r.get("echo") else np.array([])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    fig.suptitle(
        f"interview-rt, scenario {r['scenario']}: {r['sessions']} candidates connecting over "
        f"{r['config']['ramp_s']:.0f}s ({r['generated_at']})",
        fontsize=11,
    )
    ax = axes[0]
    for data, label, color in (
        (echo, "echo RTT (baseline)", "grey"),
        (conn, "connect (handshake)", "tab:green"),
        (fq, "connect → first question.asked", "tab:blue"),
    ):
        if len(data):
            d = np.sort(np.maximum(data, 0.01))
            ax.step(d, np.arange(1, len(d) + 1) / len(d), where="post", label=f"{label} (n={len(d)})", color=color)
    ax.axvline(2000, color="red", ls="--", lw=1, label="target p99 2 s")
    ax.axhline(0.99, color="black", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ms (log)")
    ax.set_ylabel("fraction ≤ x")
    ax.set_title("CDF")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[1]
    pts = [(x["t"], x["fq_ms"]) for x in raw if x["fq_ms"] is not None and x["t"] is not None]
    if pts:
        ax.scatter([p[0] for p in pts], [max(p[1], 0.01) for p in pts], s=5, color="tab:blue")
        ax.set_yscale("log")
    ax.set_xlabel("connect started at (s since start)")
    ax.set_ylabel("connect → first question (ms, log)")
    ax.set_title("first question over the storm")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot(r: dict[str, Any], path: Path) -> None:
    if "answers_raw" not in r:
        return  # a summary JSON: the samples are in the .raw.json beside it
    if not r["ack_ms"]["count"]:
        plot_crowd(r, path)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ack = np.array([a["ack_ms"] for a in r["answers_raw"] if a["ack_ms"] is not None])
    fb = np.array([a["fb_ms"] for a in r["answers_raw"] if a["fb_ms"] is not None])
    echo = np.array(r["echo"]["rtt_ms_raw"]) if r.get("echo") else np.array([])
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    title = (
        f"interview-rt load, scenario {r['scenario']}: {r['sessions']} sessions x {r['config']['questions']} "
        f"questions, {r['completed_interviews']} completed, {r['errors']} errors ({r['generated_at']})"
    )
    fig.suptitle(title, fontsize=11)

    ax = axes[0][0]
    for data, label, color in (
        (echo, "echo RTT (baseline)", "grey"),
        (ack, "answer → ack", "tab:blue"),
        (fb, "answer → feedback", "tab:orange"),
    ):
        if len(data):
            s = np.sort(data)
            ax.step(s, np.arange(1, len(s) + 1) / len(s), where="post", label=f"{label} (n={len(s)})", color=color)
    if "model" in r:
        d, lim = r["model"]["model_latency_ms"], r["model"]["max_concurrency"]
        b = np.sort([d * math.ceil(max(1, a["k"]) / lim) for a in r["answers_raw"] if a["fb_ms"] is not None])
        if len(b):
            ax.step(
                b,
                np.arange(1, len(b) + 1) / len(b),
                where="post",
                color="green",
                ls="--",
                label=f"feedback bound from model limit d·ceil(k/L) (d={d} ms, L={lim})",
            )
        ax.axvline(100, color="red", ls="--", lw=1, label="ack p99 target 100 ms")
    ax.axhline(0.99, color="black", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("fraction ≤ x")
    ax.set_title("CDF")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ax.grid(True, which="both", alpha=0.3)

    for ax, data, label, color in (
        (axes[0][1], ack, "answer → answer.accepted", "tab:blue"),
        (axes[1][0], fb, "answer → answer.feedback", "tab:orange"),
    ):
        if len(data):
            ax.hist(data, bins=min(60, max(10, len(data) // 5)), color=color, alpha=0.85)
            for q, ls in ((50, "-"), (95, "--"), (99, ":")):
                v = np.percentile(data, q, method="inverted_cdf")
                ax.axvline(v, color="black", ls=ls, lw=1, label=f"p{q} {v:,.1f} ms")
        ax.set_xlabel("ms")
        ax.set_ylabel("answers")
        ax.set_title(f"{label} histogram")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)

    ax = axes[1][1]
    raw = r["answers_raw"]
    t_ack = [a["t"] for a in raw if a["ack_ms"] is not None]
    ax.scatter(t_ack, [a["ack_ms"] for a in raw if a["ack_ms"] is not None], s=6, label="ack", color="tab:blue")
    t_fb = [a["t"] for a in raw if a["fb_ms"] is not None]
    ax.scatter(t_fb, [a["fb_ms"] for a in raw if a["fb_ms"] is not None], s=6, label="feedback", color="tab:orange")
    if "model" in r:
        d, lim = r["model"]["model_latency_ms"], r["model"]["max_concurrency"]
        bound = [d * math.ceil(max(1, a["k"]) / lim) for a in raw if a["fb_ms"] is not None]
        ax.scatter(t_fb, bound, s=14, marker="_", color="green", label="model-limit bound d·ceil(k/L)")
        if r.get("model_in_flight_samples"):
            ax2 = ax.twinx()
            st = [s["t"] for s in r["model_in_flight_samples"]]
            sv = [s["in_flight"] for s in r["model_in_flight_samples"]]
            ax2.plot(st, sv, color="purple", lw=0.8, alpha=0.6, label="model in-flight")
            ax2.axhline(lim, color="purple", ls=":", lw=0.8)
            ax2.set_ylabel("model requests in flight", color="purple")
            ax2.set_ylim(0, max([*sv, lim]) * 1.15)
            ax2.legend(fontsize=8, loc="lower right")
    ax.set_yscale("log")
    ax.set_xlabel("answer sent at (s since start)")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("latency over the run")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="both", alpha=0.3)

    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_admin_comparison(out: dict[str, Any], acks_without: list[float], acks_with: list[float], path: Path) -> None:
    """`--admins-repeat`: the pooled acks' CDFs without and with admins (seconds), and each run's p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    fig.suptitle(
        f"candidate ack with and without {out['admins']} admins watching: {out['sessions']} sessions x "
        f"{out['questions']} questions, {out['runs_each']} alternating runs each ({out['generated_at']})",
        fontsize=10,
    )
    for acks, label, color in (
        (acks_without, "without admins", "tab:blue"),
        (acks_with, "with admins", "tab:red"),
    ):
        data = np.sort(np.array(acks) * 1000)
        ax.plot(data, np.arange(1, len(data) + 1) / len(data), label=f"{label} (n={len(data)})", color=color)
    ax.axhline(0.99, color="grey", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("answer -> answer.accepted (ms, log)")
    ax.set_ylabel("fraction of acks")
    a0, a1 = out["ack_ms_without_admins"], out["ack_ms_with_admins"]
    ax.set_title(f"pooled acks: p99 {fmt(a0['p99'])} -> {fmt(a1['p99'])} ms", fontsize=10)
    ax.legend()
    xs = np.arange(out["runs_each"])
    bx.plot(xs, out["ack_p99_per_run_without"], "o-", color="tab:blue", label="ack p99 without admins")
    bx.plot(xs, out["ack_p99_per_run_with"], "o-", color="tab:red", label="ack p99 with admins")
    bx.plot(xs, out["answer_to_admin_p99_per_run"], "s--", color="tab:green", label="answer -> admin p99")
    bx.set_xticks(xs)
    bx.set_xlabel("run (alternating: without, then with)")
    bx.set_ylabel("ms")
    bx.set_title("each run's p99", fontsize=10)
    bx.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
