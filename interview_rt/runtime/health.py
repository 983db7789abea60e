"""Readiness of this process: can it serve a candidate now?

- database: a `SELECT 1` on the candidate lane (the path a connect takes);
- channel layer: a message sent to and received from a fresh channel of this process (for
  Redis: a real round trip);
- grading model: loaded by this process's worker (or its AI process); "not in this process"
  where the worker runs elsewhere;
- not shutting down.

Each check is bounded (`READY_CHECK_TIMEOUT`), so a hung dependency makes the probe fail, not hang.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.db import connection

if TYPE_CHECKING:
    from . import Runtime

READY_CHECK_TIMEOUT = 3.0


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {READY_CHECK_TIMEOUT:.0f}s"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200]


async def _database(runtime: Runtime) -> str | None:
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT):
            await runtime.candidate_db(_select_one)()
    except Exception as exc:
        return _error(exc)
    return None


async def _channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT):
            channel = await layer.new_channel("readyz.")
            await layer.send(channel, {"type": "readyz.probe"})
            message = await layer.receive(channel)
    except Exception as exc:
        return _error(exc)
    return None if message.get("type") == "readyz.probe" else "the probe came back changed"


async def readiness(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """(ready, report): report has `checks` (name -> "ok" or what is wrong) and, when not
    ready, `reason` (the first failed check)."""
    if runtime.stopping:
        return False, {"status": "not_ready", "reason": "shutting down", "checks": {"server": "shutting down"}}
    db_error, layer_error = await asyncio.gather(_database(runtime), _channel_layer())
    checks: dict[str, Any] = {
        "database": db_error or "ok",
        "channel_layer": layer_error or "ok",
    }
    model_error = None
    if runtime.model == "off":
        checks["grading_model"] = "not in this process (a separate AI worker grades)"
    elif runtime.model == "loading":
        model_error = checks["grading_model"] = "loading"
    else:
        checks["grading_model"] = "ok"
        if runtime.model_info:
            checks["grading_model_info"] = runtime.model_info
    failed = [
        f"{name}: {error}"
        for name, error in (("database", db_error), ("channel_layer", layer_error), ("grading_model", model_error))
        if error
    ]
    if failed:
        return False, {"status": "not_ready", "reason": "; ".join(failed), "checks": checks}
    return True, {"status": "ready", "checks": checks}
