"""What a run prints: the one-line summary `--json` emits, and the human-readable report."""

from __future__ import annotations

from typing import Any

from .stats import fmt, ratio


def summary_line(r: dict[str, Any]) -> dict[str, Any]:
    """The one JSON object `--json` prints last: the headline figures, each beside the same-run echo."""
    e = r.get("echo") or {}
    crowd = r.get("crowd") or {}
    exact = (r.get("db") or {}).get("exactly_once") or {}
    ack, fb, fq = r["ack_ms"], r["feedback_ms"], r["first_question_ms"]
    out: dict[str, Any] = {
        "scenario": r["scenario"],
        "sessions": r["sessions"],
        "answers_per_s": r["throughput"]["answers_acked_per_s"] if ack["count"] else None,
        "ack_p50_ms": ack["p50"],
        "ack_p99_ms": ack["p99"],
        "feedback_p50_ms": fb["p50"],
        "feedback_p99_ms": fb["p99"],
        "first_question_p50_ms": fq["p50"],
        "first_question_p99_ms": fq["p99"],
        "cold_start_ms": (r.get("cold_start") or {}).get("first_question_ms"),
        "echo_rt_per_s": e.get("round_trips_per_s"),
        "echo_rtt_p99_ms": (e.get("rtt_ms") or {}).get("p99"),
        "rss_per_idle_socket_kib": crowd.get("rss_per_socket_kib"),
        "echo_rss_per_idle_socket_kib": (e.get("idle") or {}).get("rss_per_socket_kib"),
        "lost": exact.get("lost"),
        "duplicated": exact.get("duplicated"),
        "not_graded": exact.get("not_graded"),
        "completed": r["completed_interviews"],
        "failed_sessions": r["failed_sessions"],
        "errors": r["errors"],
        "seq_ok": r["seq_check"]["sessions_in_order_exactly_once"],
        "server_cpu_ms_per_session": round(1000 * r["server"]["daphne_cpu_seconds"] / max(1, r["sessions"]), 1)
        if r["server"].get("daphne_cpu_seconds") is not None
        else None,
        "machine_cores_busy_other": r["machine"].get("cpu_cores_busy_other_processes"),
    }
    cpu = r.get("cpu_per_operation") or {}
    out["server_cpu_ms_per_answer"] = cpu.get("server_cpu_ms_per_answer")
    out["server_cpu_ms_per_connect"] = cpu.get("server_cpu_ms_per_connect")
    out["echo_cpu_ms_per_connect"] = cpu.get("echo_cpu_ms_per_connect")
    out["connect_cpu_over_echo"] = ratio(cpu.get("server_cpu_ms_per_connect"), cpu.get("echo_cpu_ms_per_connect"))
    out["cpu_ms_by_process"] = cpu.get("cpu_ms_by_process") or cpu.get("cpu_ms_per_connect_by_process")
    if crowd:
        out["idle_cpu_percent_of_one_core"] = crowd.get("idle_cpu_percent_of_one_core")
        for when in ("probe_alone", "probe_beside_crowd"):
            probe = crowd.get(when)
            if probe:
                out[f"{when}_ack_p50_ms"] = probe["ack_ms"]["p50"]
                out[f"{when}_feedback_p50_ms"] = probe["feedback_ms"]["p50"]
    if "model" in r:
        m = r["model"]
        out["model_bound_p99_ms"] = m["expected_feedback_fifo_bound_ms"]["p99"]
        out["feedback_p99_over_bound"] = ratio(fb["p99"], m["expected_feedback_fifo_bound_ms"]["p99"])
    return out


def print_report(r: dict[str, Any]) -> None:
    a, f, e = r["ack_ms"], r["feedback_ms"], r.get("echo")
    cold_ms = (r.get("cold_start") or {}).get("first_question_ms")
    lines = [
        "",
        f"=== {r['scenario']}: {r['sessions']} sessions x {r['config']['questions']} questions "
        f"({r['sessions_run_seconds']}s of sessions, {r['wall_seconds']}s wall) ===",
        f"answer -> ack       n={a['count']:<5} p50 {fmt(a['p50'])}  p95 {fmt(a['p95'])}  "
        f"p99 {fmt(a['p99'])}  max {fmt(a['max'])} ms",
        f"answer -> feedback  n={f['count']:<5} p50 {fmt(f['p50'])}  p95 {fmt(f['p95'])}  "
        f"p99 {fmt(f['p99'])}  max {fmt(f['max'])} ms",
        f"connect -> 1st question p50 {fmt(r['first_question_ms']['p50'])}  "
        f"p99 {fmt(r['first_question_ms']['p99'])} ms   (cold start, warm-up interview: {fmt(cold_ms)} ms)",
        f"completed interviews {r['completed_interviews']}/{r['sessions']}   "
        f"errors {r['errors']} {r['error_kinds'] or ''}  answers {r['answers_sent']} "
        f"(follow-up questions {r.get('follow_up_questions')})",
        f"seq check: {r['seq_check']['sessions_in_order_exactly_once']}/{r['sessions']} sessions in order exactly "
        f"once; log replay ok {r['seq_check']['log_replay_ok']}/{r['seq_check']['log_replay_checked']}",
        f"throughput: {r['throughput']['answers_acked_per_s']} answers acked/s, "
        f"{r['throughput']['interviews_completed_per_s']} interviews/s, "
        f"{r['throughput']['frames_received_per_s']} frames/s; daphne CPU "
        f"{fmt(r['server']['daphne_cpu_percent_of_one_core'], '%')} of a core, client CPU "
        f"{r['server']['client_cpu_seconds']}s; machine busy "
        f"{r['machine'].get('cpu_cores_busy_during_sessions')} of {r['machine']['cpus']} cores (others "
        f"{r['machine'].get('cpu_cores_busy_other_processes')}"
        + (
            f", model server {r['server']['reference_server_cpu_percent_of_one_core']}% of a core"
            if r["server"].get("reference_server_cpu_percent_of_one_core") is not None
            else ""
        )
        + "), "
        f"load {(r['machine'].get('loadavg_at_start') or [float('nan')])[0]:.1f}",
        f"DB: responses {r['db']['responses_by_status']}, fallback_used {r['db']['fallback_used']}, "
        f"providers {r['db']['by_provider']}, error kinds {r['db']['error_kinds'] or '-'}",
    ]
    if e:
        rr = r["ratios_vs_echo"]
        lines += [
            f"echo baseline: {e['round_trips_per_s']:,.0f} round trips/s, p50 {fmt(e['rtt_ms']['p50'])} "
            f"p99 {fmt(e['rtt_ms']['p99'])} ms ({e['connections']} conns, {e['frame_bytes']} B)",
            f"ratios: ack p50/echo p50 {rr['ack_p50_over_echo_p50']}x, ack p99/echo p99 "
            f"{rr['ack_p99_over_echo_p99']}x, feedback p99/echo p99 {rr['feedback_p99_over_echo_p99']}x, "
            f"acks/s / echo rt/s {rr['answers_acked_per_s_over_echo_round_trips_per_s']}",
        ]
    cpu = r.get("cpu_per_operation") or {}
    if cpu:
        lines.append(
            f"server CPU per connect -> 1st question {fmt(cpu['server_cpu_ms_per_connect'])} ms "
            f"(echo {fmt(cpu.get('echo_cpu_ms_per_connect'))} ms) by process {cpu['cpu_ms_per_connect_by_process']}"
        )
        if "server_cpu_ms_per_answer" in cpu:
            lines.append(
                f"server CPU per graded answer {fmt(cpu['server_cpu_ms_per_answer'])} ms "
                f"by process {cpu['cpu_ms_by_process']} ({cpu['answers']} answers)"
            )
    if "staff" in r:
        st, d = r["staff"], r["staff"]["answer_to_admin_ms"]
        lines.append(
            f"staff: {st['admins']} admins; answer.accepted -> admin answer.received p50 {fmt(d['p50'])} "
            f"p99 {fmt(d['p99'])} max {fmt(d['max'])} ms; missing {st['pairs_missing']}, "
            f"order violations {st['admin_order_violations']}, errors {st['admin_errors'] or 0}"
        )
    if "instrument" in r:
        ins = r["instrument"]
        top = ", ".join(
            f"{k.split('.')[-1]} {v['calls']}x{v['exec_ms_mean']}ms (wait {v['wait_ms_mean']}ms)"
            for k, v in list(ins["db_calls"].items())[:6]
        )
        lines += [
            f"instrument: DB thread busy {ins['db_thread_busy_s']}s of {ins['db_calls_span_s']}s "
            f"({fmt(100 * (ins['db_thread_utilisation'] or 0), '%')}); SQLite connections opened "
            f"{ins['sqlite_connections_opened']}; loop lag p50 {ins['loop_lag_ms']['p50']} p99 "
            f"{ins['loop_lag_ms']['p99']} max {ins['loop_lag_ms']['max']} ms",
            f"DB calls (calls x mean exec): {top}",
        ]
    if "model" in r:
        m = r["model"]
        lines += [
            f"target ack p99 < 100 ms: {'MET' if r['target']['met'] else 'NOT MET'} ({fmt(a['p99'])} ms)",
            f"model: {m['model_latency_ms']} ms/call, limit {m['max_concurrency']}; calls generate "
            f"{m['generate_calls']} (expected {m['expected_generate_calls']}), evaluate {m['evaluate_calls']} "
            f"(expected {m['expected_evaluate_calls']}); reference max in-flight {m['reference_max_in_flight']}, "
            f"mean in-flight while busy {m['mean_in_flight_while_busy']}",
            f"feedback bound from the limit (d*ceil(k/L)): p50 {fmt(m['expected_feedback_fifo_bound_ms']['p50'])} "
            f"p95 {fmt(m['expected_feedback_fifo_bound_ms']['p95'])} p99 "
            f"{fmt(m['expected_feedback_fifo_bound_ms']['p99'])} ms; measured - bound: p50 "
            f"{fmt(m['feedback_minus_fifo_bound_signed_p50_ms'])} ms, p99 (>=0) "
            f"{fmt(m['feedback_minus_fifo_bound_ms']['p99'])} ms; within bound+{m['slack_ms']} ms: "
            f"{m['answers_within_fifo_bound_plus_slack']}/{m['answers_with_feedback']}",
            f"model busy {m['model_busy_seconds']}s vs floor {m['model_makespan_floor_seconds']}s (calls*d/L)",
        ]
    print("\n".join(lines), flush=True)
