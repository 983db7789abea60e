"""Load benchmark of the candidate socket, against real daphne processes on 127.0.0.1.

    .venv/bin/python bench/load.py --scenario embedded      # 50 sessions x 5 questions, offline AI
    .venv/bin/python bench/load.py --scenario slow-model    # 200 sessions x 3, model answering in 500 ms
    .venv/bin/python bench/load.py --scenario all
    .venv/bin/python bench/load.py --sessions 100 --admins 5 --admins-baseline   # staff watching

Each scenario, in a fresh temp dir:
  1. migrates a SQLite DB and creates the invitations in one Python subprocess
     (bench/_setup_invitations.py: services.invitation_create + links.make_token);
  2. measures the baseline: a bare Channels JSON echo consumer on daphne (bench/echo_asgi.py),
     N connections in closed loop with fixed-size JSON frames;
  3. starts the interview server (`python -m daphne ... interview_rt.asgi:application`, embedded
     default: in-process AI worker, in-memory channel layer) and, for `slow-model`, the reference
     model server (`python -m tools.reference_server --fault latency --latency-ms 500`);
  4. runs every session concurrently with `websockets` clients, answering each question as soon as
     it is asked, and times answer -> `answer.accepted` and answer -> `answer.feedback`; checks that
     each session got every logged seq once, in order (live, and again from the log with
     `session.resume` once every session is done);
  5. reads provenance the frames do not carry (fallback_used, provider, attempts) from the DB;
  6. writes bench/results/load-<scenario>.json (the summary, committed) and .png, and the raw
     samples to bench/results/raw/load-<scenario>.json (git-ignored; --replot reads them).

`--admins N` adds N staff sockets (API tokens of users in the `admin` group) that take the feed of
every session and `watch` each as it opens, connected before the measured sessions start; it
reports answer -> admin delivery (the admin's `answer.received` after the candidate's
`answer.accepted`). `--admins-baseline` first runs the same scenario without admins, so the ack
percentiles can be compared in one invocation.

Every process is started by this script, listens on 127.0.0.1 only and is stopped on exit,
failure or Ctrl-C. Runs are bounded: --deadline seconds for the sessions, --frame-timeout per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from .admins import compare_admin_runs, print_admin_comparison
from .config import MAX_SESSIONS, ROOT, SCENARIOS, log
from .plots import plot
from .processes import Processes, base_env
from .report import print_report
from .results import display_path, load_results, raw_path, write_results
from .scenario import run_scenario


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="embedded")
    p.add_argument(
        "--sessions",
        type=int,
        help="sessions (default: embedded 100, scale-out 200, storm 1000, idle 2000, slow-model 200)",
    )
    p.add_argument("--questions", type=int, help="questions per interview (default: 5; slow-model 3)")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the servers (A/B runs, e.g. AI_PROCESS=0)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object of the headline figures last")
    p.add_argument(
        "--idle-window-s", type=float, default=10, help="storm/idle: seconds the idle crowd's CPU is measured"
    )
    p.add_argument("--feedback-mode", choices=("immediate", "end"), default="immediate")
    p.add_argument("--think-ms", type=float, default=0, help="pause before answering each question")
    p.add_argument(
        "--ramp-s",
        type=float,
        default=None,
        help="spread the connects over this many seconds (default: 0; storm 10; idle 40)",
    )
    p.add_argument("--model-latency-ms", type=int, default=500, help="slow-model: reference server latency")
    p.add_argument("--max-concurrency", type=int, default=32, help="slow-model: AI_MODEL_MAX_CONCURRENCY")
    p.add_argument(
        "--max-follow-ups",
        type=int,
        default=None,
        help="AI_MODEL_MAX_FOLLOW_UPS for the server (default: unset, the server's default)",
    )
    p.add_argument(
        "--excess-slack-ms",
        type=float,
        default=100,
        help="slow-model: feedback within bound+slack counts as not waiting beyond the limit",
    )
    p.add_argument("--echo-seconds", type=float, default=10, help="echo baseline duration (0: skip)")
    p.add_argument("--echo-connections", type=int, default=50)
    p.add_argument("--echo-connects", type=int, default=300, help="echo baseline: connects measured for CPU/connect")
    p.add_argument("--echo-frame-bytes", type=int, default=200)
    p.add_argument("--deadline", type=float, default=240, help="max seconds for the sessions of a scenario")
    p.add_argument("--frame-timeout", type=float, default=60, help="max seconds to wait for any one frame")
    p.add_argument(
        "--no-verify-log",
        dest="verify_log",
        action="store_false",
        help="skip the session.resume replay check at the end",
    )
    p.add_argument(
        "--warm-up-timeout", type=float, default=180, help="max seconds for the unmeasured warm-up interview"
    )
    p.add_argument("--ref-attempts", type=int, default=3, help="tries to start the reference server")
    p.add_argument("--ref-retry-wait", type=float, default=60)
    p.add_argument("--progress-every", type=float, default=2.0)
    p.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    p.add_argument(
        "--db-settings",
        choices=("url", "tuned", "tuned-persistent", "persistent"),
        default="url",
        help="url: interview_rt.settings.local with DATABASE_URL=sqlite:///... (default, as deployed "
        "by the e2e tests); the others: A/B variants from bench/settings_db.py",
    )
    p.add_argument(
        "--instrument",
        action="store_true",
        help="run daphne through bench/_instrumented_daphne.py: DB-thread busy time per call, "
        "SQLite connections opened, event-loop lag (diagnosis)",
    )
    p.add_argument(
        "--replot",
        type=Path,
        metavar="JSON",
        help="only print the summary of a results JSON and redraw the PNG next to it (needs the raw "
        "samples the run wrote to raw/ beside it)",
    )
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (DB, server logs)")
    p.add_argument("--admins", type=int, default=0, help="staff sockets watching every session (0: none)")
    p.add_argument(
        "--admins-baseline",
        action="store_true",
        help="with --admins: run the scenario without admins first and compare the ack percentiles",
    )
    p.add_argument(
        "--admins-repeat",
        type=int,
        default=1,
        help="with --admins-baseline: alternate K runs without and K with admins, and compare the pooled "
        "acks (writes results/load-<scenario>-admins-compare.json and .png)",
    )
    p.add_argument(
        "--admins-client",
        choices=("process", "loop"),
        default="process",
        help="where the staff sockets' client runs: a process of its own (default), or this script's "
        "loop, beside the candidates whose acks it times (how it was measured before 2026-12-02 06:00)",
    )
    p.add_argument(
        "--no-admins-watch",
        dest="admins_watch",
        action="store_false",
        help="the staff sockets take the feed only, without `watch` (no transcripts, no drafts)",
    )
    args = p.parse_args(argv)
    if args.sessions is not None and not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions must be 1..{MAX_SESSIONS}")
    if args.questions is not None and not 1 <= args.questions <= 20:
        p.error("--questions must be 1..20")
    if not 1 <= args.max_concurrency <= 1024:
        p.error("--max-concurrency must be 1..1024")
    if not 0 < args.deadline <= 1800 or not 0 < args.frame_timeout <= 600:
        p.error("--deadline must be in (0, 1800] and --frame-timeout in (0, 600]")
    if not 0 <= args.admins <= 100:
        p.error("--admins must be 0..100")
    if not 0 <= args.echo_seconds <= 120 or not 1 <= args.echo_connections <= 1000:
        p.error("--echo-seconds must be 0..120 and --echo-connections 1..1000")
    return args


async def amain(args: argparse.Namespace, procs: Processes, workdir: Path) -> list[dict[str, Any]]:
    template = workdir / "template.sqlite3"
    log(f"migrating a fresh SQLite DB in {workdir}")
    t = time.perf_counter()
    await procs.run(
        "migrate", [sys.executable, "manage.py", "migrate", "--verbosity", "0"], base_env(template), timeout=300
    )
    log(f"migrated in {time.perf_counter() - t:.1f}s")
    reports = []
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    for name in names:
        sargs = argparse.Namespace(**vars(args))
        sargs.sessions = args.sessions or SCENARIOS[name]["sessions"]
        sargs.questions = args.questions or SCENARIOS[name]["questions"]
        sargs.ramp_s = args.ramp_s if args.ramp_s is not None else SCENARIOS[name].get("ramp_s", 0)
        sargs.hold = SCENARIOS[name]["kind"] in ("storm", "idle")
        # The baseline is a copy of the complete scenario arguments, differing only in admins.
        runs: list[tuple[str, argparse.Namespace]] = [(name if not args.admins else f"{name}-admins", sargs)]
        if args.admins and args.admins_baseline:
            runs.insert(0, (f"{name}-no-admins", argparse.Namespace(**{**vars(sargs), "admins": 0})))
            # Alternating pairs: a p99 of 500 acks is its 5th worst, and one run's swings as much as
            # the effect; the comparison pools every repeat's acks (and the files keep the last).
            runs *= args.admins_repeat
        pair: list[dict[str, Any]] = []
        for label, rargs in runs:
            report = await run_scenario(name, rargs, procs, workdir, template, label=label)
            args.results_dir.mkdir(parents=True, exist_ok=True)
            json_path = args.results_dir / f"load-{label}.json"
            png_path = args.results_dir / f"load-{label}.png"
            samples = write_results(report, json_path)
            plot(report, png_path)
            print_report(report)
            log(f"summary: {json.dumps(report['summary'])}")
            shown = json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path
            log(f"wrote {shown}, {png_path.name} and {display_path(samples)}")
            reports.append(report)
            pair.append(report)
        if len(pair) >= 2:
            if args.admins_repeat == 1:
                print_admin_comparison(pair[0], pair[1])
            else:
                compare_admin_runs(pair[0::2], pair[1::2], args.results_dir / f"load-{name}-admins-compare")
    return reports


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot:
        report, has_samples = load_results(args.replot)
        print_report(report)
        if not has_samples:  # the PNG is drawn from the samples, which only the run's machine has
            log(f"no raw samples at {display_path(raw_path(args.replot))}: the PNG is not redrawn")
            return 1
        plot(report, args.replot.with_suffix(".png"))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="interview-rt-load-"))
    procs = Processes(workdir)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    # Even when started in the background by a shell that ignores SIGINT: Ctrl-C / kill -INT stops us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    failed = False
    try:
        reports = asyncio.run(amain(args, procs, workdir))
        failed = any(r["failed_sessions"] or r["errors"] for r in reports)
    except KeyboardInterrupt:
        log("interrupted; stopping servers")
        return 130
    except Exception as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    finally:
        procs.stop_all()
        if args.keep_tmp or failed:
            log(f"kept {workdir} (DB and server logs)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:  # the last line: one JSON object per scenario, the last scenario's last
        for r in reports:
            print(json.dumps(r["summary"]), flush=True)
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
