"""One clear log line per channel-layer outage, not a traceback per socket.

When Redis restarts, every open socket's receive loop fails at once and daphne logs each as
"Exception inside application" with a traceback (120-140 of them for a few hundred sockets). The
sockets are closed with 1011 either way and the clients reconnect with `last_seq`; what the
operator needs is one line saying the channel layer is down, then one saying how many sockets it
closed. `ChannelLayerOutage` (on the logging handler, settings.LOGGING) turns the first such record
of an outage into that line and drops the rest for OUTAGE_WINDOW seconds.
"""

from __future__ import annotations

import logging
import threading
import time

OUTAGE_WINDOW = 30.0
# Names of exceptions that mean "the channel layer's connection failed" (redis-py's, and the OS's
# below it), matched by name so this module needs neither redis nor channels_redis.
_CONNECTION_ERRORS = {"ConnectionError", "TimeoutError", "ConnectionRefusedError", "ConnectionResetError", "OSError"}


def _is_connection_failure(exc: BaseException | None, *, redis_only: bool = False) -> bool:
    """A connection failure in `exc`'s chain; `redis_only`: one raised by redis-py itself (so a
    model API's refused connection, say, is never mistaken for the channel layer's)."""
    seen = 0
    while exc is not None and seen < 5:
        module = type(exc).__module__
        if type(exc).__name__ in _CONNECTION_ERRORS and (
            module.startswith("redis") or (not redis_only and (module == "builtins" or isinstance(exc, OSError)))
        ):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class ChannelLayerOutage(logging.Filter):
    def __init__(self, name: str = "", window: float = OUTAGE_WINDOW) -> None:
        super().__init__(name)
        self.window = window
        self.started: float | None = None
        self.suppressed = 0
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # daphne's "Exception inside application" for any connection failure; any other logger's
        # record (a consumer's, the outbox's) only for redis-py's own, as under load a socket's
        # frame handler or a publish can be the first to meet the outage.
        if not _is_connection_failure(exc, redis_only=record.name != "daphne.server"):
            return True
        now = time.monotonic()
        with self.lock:
            if self.started is not None and now - self.started < self.window:
                self.suppressed += 1
                return False
            earlier, self.suppressed, self.started = self.suppressed, 0, now
        record.levelno, record.levelname = logging.ERROR, "ERROR"
        record.msg = (
            "channel layer unavailable (%s: %s): sockets are closed with 1011 and their clients "
            "reconnect with last_seq; the same error on other sockets is not logged for %.0f s%s"
        )
        record.args = (
            type(exc).__name__,
            exc,
            self.window,
            f" ({earlier} suppressed in the previous window)" if earlier else "",
        )
        record.exc_info, record.exc_text = None, None
        return True
