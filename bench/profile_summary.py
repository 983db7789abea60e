#!/usr/bin/env python
"""Where a process's time goes, from a py-spy raw (collapsed) profile:

    py-spy record -p PID -d 15 --format raw -o web.txt      # while bench/load.py runs
    python bench/profile_summary.py web.txt [--top 15]

Each sample is put in the first category (in the order below) one of whose markers appears in
its stack; then the hottest leaf functions are listed. Idle samples (a thread waiting in
select/epoll, a lock or a queue) are counted apart, so the shares are of the busy time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# A sample is idle when its innermost frame is one of these (a thread parked in a wait).
IDLE_LEAVES = (
    "select (selectors.py",
    "poll (selectors.py",
    "wait (threading.py",
    "get (queue.py",
    "_wait_for_tstate_lock",
    "acquire",
    "sleep",
    "epoll",
    # a pool thread parked on its queue (py-spy shows no frame below it), the child watcher
    "_worker (concurrent/futures/thread.py:81)",
    "_do_waitpid",
)
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("grading model (forward, tokenizer)", ("onnx", "torch", "_encode_batch", "_lean_bert", "tokeniz", "transformers")),
    ("grading features (python)", ("ai_service/grading", "ai_service/feedback")),
    ("question selection", ("select_questions", "_rank_questions", "bank_vectors")),
    ("database (ORM + sqlite/psycopg)", ("django/db", "sqlite3", "psycopg")),
    ("interview services/state", ("interview_rt/interviews",)),
    ("metrics (prometheus-client)", ("prometheus_client",)),
    ("channel layer", ("channels/layers", "channels_redis", "interview_rt/runtime/layers.py")),
    ("websocket send/receive (autobahn, twisted, daphne)", ("autobahn", "twisted", "daphne")),
    ("json / pydantic", ("json/", "pydantic", "orjson")),
    ("AI process IPC (pickle, pipes)", ("aiproc/child.py", "aiproc/parent.py", "pickle")),
    ("consumers and runtime", ("consumers/", "interview_rt/runtime", "channels/")),
    ("asyncio loop", ("asyncio",)),
]


def classify(stack: str) -> str:
    leaf = stack.split(";")[-1]
    if any(m in leaf for m in IDLE_LEAVES):
        return "idle (waiting)"
    for name, markers in CATEGORIES:
        if any(m in stack for m in markers):
            return name
    return "other"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    by_cat: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        cat = classify(stack)
        by_cat[cat] += n
        if cat != "idle (waiting)":
            leaves[stack.split(";")[-1].strip()] += n
    busy = total - by_cat["idle (waiting)"]
    print(f"{args.profile.name}: {total} samples, {busy} busy ({100 * busy / max(1, total):.0f}%)")
    print("| where | share of busy samples |")
    print("| --- | --- |")
    for cat, n in by_cat.most_common():
        if cat != "idle (waiting)":
            print(f"| {cat} | {100 * n / max(1, busy):.0f}% |")
    print("\nhottest leaves (of busy samples):")
    for leaf, n in leaves.most_common(args.top):
        print(f"  {100 * n / max(1, busy):5.1f}%  {leaf[:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
