"""What every part of the load benchmark shares: addresses, the scenarios, the answer text, `log`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
LOGGED = ("question.asked", "answer.accepted", "answer.feedback", "interview.completed")
ANSWER = (
    "I would add an index on the filtered columns and check the query plan with EXPLAIN, cache hot "
    "reads in Redis with a TTL and invalidate on write, use a connection pool so requests do not open "
    "new connections, and measure p95 latency before and after each change."
)
MAX_SESSIONS = 2000
# topology "single": one server as deployed on the embedded default (SQLite, in-memory layer, the
# worker in the server, grading in its AI process); "scale-out": PostgreSQL, Redis, two servers and
# a separate `manage.py ai_worker`. kind "interview": every session answers every question;
# "storm": sessions connect within --ramp-s and wait for their first question; "idle": a crowd of
# idle sockets, then one probe interview beside it.
SCENARIOS: dict[str, dict[str, Any]] = {
    "embedded": {"sessions": 100, "questions": 5, "provider": "embedded", "topology": "single", "kind": "interview"},
    "scale-out": {
        "sessions": 200,
        "questions": 5,
        "provider": "embedded",
        "topology": "scale-out",
        "kind": "interview",
    },
    "storm": {
        "sessions": 1000,
        "questions": 5,
        "provider": "embedded",
        "topology": "single",
        "kind": "storm",
        "ramp_s": 10,
    },
    "idle": {
        "sessions": 2000,
        "questions": 5,
        "provider": "embedded",
        "topology": "single",
        "kind": "idle",
        "ramp_s": 40,
    },
    "slow-model": {"sessions": 200, "questions": 3, "provider": "http", "topology": "single", "kind": "interview"},
}
PG_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
