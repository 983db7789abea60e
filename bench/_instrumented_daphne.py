"""daphne with timing probes, for `bench/load.py --instrument` (diagnosis only; changes no behaviour).

    python bench/_instrumented_daphne.py -b 127.0.0.1 -p 8000 interview_rt.asgi:application

Same as `python -m daphne ...`, plus, written as JSON to $BENCH_INSTRUMENT_OUT at exit:

* per `database_sync_to_async` function: calls, time executing in the DB thread, and time
  waiting for it (await time - execution time). Channels runs every such call on one thread per
  process, so the sum of execution times over the run is that thread's utilisation;
* new SQLite connections opened (CONN_MAX_AGE=0 opens one per call);
* event-loop lag: how late a 20 ms `asyncio.sleep` wakes up (main-thread saturation).

SIGUSR1 resets the counters (sent by bench/load.py when the measured sessions start).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_lock = threading.RLock()  # re-entrant: the SIGUSR1 handler runs in the main thread, maybe inside it
_calls: dict[str, dict[str, Any]] = defaultdict(lambda: {"calls": 0, "exec_s": 0.0, "total_s": 0.0, "exec_max_s": 0.0})
_connections = {"opened": 0}
_lag: list[float] = []
_t0 = time.perf_counter()
_first_call: list[float] = []
_last_call: list[float] = []


def _name(obj: Any) -> str:
    func = getattr(obj, "func", None)
    return getattr(func, "__qualname__", None) or repr(func)[:60]


def install() -> None:
    from channels.db import DatabaseSyncToAsync

    orig_handler = DatabaseSyncToAsync.thread_handler
    orig_call = DatabaseSyncToAsync.__call__

    def thread_handler(self: Any, loop: Any, *args: Any, **kwargs: Any) -> Any:
        # Runs in the DB thread: execution time, including close_old_connections() around it.
        t = time.perf_counter()
        try:
            return orig_handler(self, loop, *args, **kwargs)
        finally:
            exec_s = time.perf_counter() - t
            with _lock:
                st = _calls[_name(self)]
                st["exec_s"] += exec_s
                st["exec_max_s"] = max(st["exec_max_s"], exec_s)

    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Runs in the event loop: time from the await to the result (queue wait + execution).
        t = time.perf_counter()
        try:
            return await orig_call(self, *args, **kwargs)
        finally:
            now = time.perf_counter()
            with _lock:
                st = _calls[_name(self)]
                st["calls"] += 1
                st["total_s"] += now - t
                st["total_max_s"] = max(st.get("total_max_s", 0.0), now - t)
                if not _first_call:
                    _first_call.append(t)
                _last_call[:] = [now]

    DatabaseSyncToAsync.thread_handler = thread_handler
    DatabaseSyncToAsync.__call__ = call

    from django.db.backends.sqlite3.base import DatabaseWrapper

    orig_new = DatabaseWrapper.get_new_connection

    def get_new_connection(self: Any, conn_params: Any) -> Any:
        with _lock:
            _connections["opened"] += 1
        return orig_new(self, conn_params)

    DatabaseWrapper.get_new_connection = get_new_connection  # type: ignore[method-assign]


def _reset(*_: Any) -> None:
    """SIGUSR1: forget everything so far (bench/load.py sends it when the measured sessions start)."""
    with _lock:
        _calls.clear()
        _connections["opened"] = 0
        _lag.clear()
        _first_call.clear()
        _last_call.clear()


def _start_lag_probe() -> None:
    import asyncio

    async def probe() -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.02)
            _lag.append(time.perf_counter() - t - 0.02)

    asyncio.get_event_loop().create_task(probe())


def _dump() -> None:
    out = os.environ.get("BENCH_INSTRUMENT_OUT")
    if not out:
        return
    lag = list(_lag)

    def q(p: float) -> float | None:
        # The sample at index floor(p*n) of the sorted lags: numpy's "higher" (index ceil(p*(n-1)))
        # is that same sample at p = 0.5, 0.95 and 0.99 (checked for n = 1..100,000).
        import numpy as np

        return round(float(np.quantile(lag, p, method="higher")) * 1000, 2) if lag else None

    span = (_last_call[0] - _first_call[0]) if _first_call and _last_call else 0.0
    calls = {
        k: {
            **v,
            "exec_ms_mean": round(1000 * v["exec_s"] / v["calls"], 2) if v["calls"] else None,
            "wait_ms_mean": round(1000 * (v["total_s"] - v["exec_s"]) / v["calls"], 2) if v["calls"] else None,
        }
        for k, v in sorted(_calls.items(), key=lambda kv: -kv[1]["exec_s"])
    }
    busy = sum(v["exec_s"] for v in _calls.values())
    Path(out).write_text(
        json.dumps(
            {
                "db_calls": calls,
                "db_thread_busy_s": round(busy, 3),
                "db_calls_span_s": round(span, 3),
                "db_thread_utilisation": round(busy / span, 3) if span else None,
                "sqlite_connections_opened": _connections["opened"],
                "loop_lag_ms": {
                    "samples": len(lag),
                    "p50": q(0.5),
                    "p95": q(0.95),
                    "p99": q(0.99),
                    "max": round(max(lag) * 1000, 2) if lag else None,
                },
            },
            indent=1,
        )
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.local")
    import django

    django.setup()
    install()
    atexit.register(_dump)
    from daphne.cli import CommandLineInterface
    from twisted.internet import reactor

    reactor.callWhenRunning(_start_lag_probe)
    import signal

    signal.signal(signal.SIGUSR1, _reset)
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
