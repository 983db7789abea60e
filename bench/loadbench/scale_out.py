"""The scale-out scenario's services: a PostgreSQL database and a Redis prefix of its own per run."""

from __future__ import annotations

import contextlib
import os
import sys
import time

from .config import PG_ADMIN, REDIS_URL, log
from .processes import Processes


async def create_pg_database() -> str:
    import psycopg

    name = f"interview_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_redis(prefix: str) -> None:
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


async def prepare(name: str, procs: Processes, env: dict[str, str]) -> tuple[str, str]:
    """A fresh PostgreSQL database (migrated) and Redis prefix for the run, set in env; (URL, prefix)."""
    pg_url = await create_pg_database()
    redis_prefix = f"bench{os.getpid()}x{int(time.time())}"
    env.update(
        {
            "DATABASE_URL": pg_url,
            "REDIS_URL": REDIS_URL,
            "CHANNELS_REDIS_PREFIX": redis_prefix,
            "AI_WORKER_INPROCESS": "0",
        }
    )
    log(f"scale-out: PostgreSQL {pg_url.rsplit('@', 1)[-1]}, Redis prefix {redis_prefix}; migrating")
    await procs.run(f"{name}-migrate", [sys.executable, "manage.py", "migrate", "--verbosity", "0"], env, 600)
    return pg_url, redis_prefix
