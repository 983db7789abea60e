"""The circuit breaker of a networked provider: fail fast while the model server is down.

Ours, not a library's. What it must do: be shared by every event loop and thread of a process
(Django's `async_to_sync` runs a provider in several loops, so no asyncio lock and no state bound
to a loop); count a call only once, after its retries, and only when the server was unavailable
(the caller decides from the error kind: a 4xx or a bad body means the server is up); admit one
probe at a time when half-open; and forget a probe that was cancelled (`release`). The
libraries we looked at (pybreaker, whose asyncio support goes through Tornado; aiobreaker, not
released since 2021; purgatory; circuitbreaker) wrap the call themselves and decide from the
exception what counts; none does the four points above without being wrapped in turn, and the
whole of ours is the class below, tested state by state (tests/ai_service/test_http_client.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..errors import ProviderUnavailable

logger = logging.getLogger(__name__)


class CircuitBreaker:
    """Consecutive-failure circuit breaker, safe to share between event loops and threads.

    closed -> (threshold consecutive failures) -> open -> (cooldown) -> half-open: one probe call
    is admitted; its success closes the circuit, its failure opens it again.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self, name: str, *, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at = 0.0
        self._state = self.CLOSED
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and self.clock() - self._opened_at >= self.cooldown:
                return self.HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def before_call(self) -> bool:
        """Admit a call or raise `ProviderUnavailable(kind="circuit_open")`; True when it is the probe."""
        with self._lock:
            if self._state == self.CLOSED:
                return False
            if self._state == self.OPEN:
                remaining = self.cooldown - (self.clock() - self._opened_at)
                if remaining > 0:
                    raise ProviderUnavailable(
                        f"{self.name}: circuit open after {self._failures} consecutive failures; "
                        f"next probe in {remaining:.1f}s",
                        kind="circuit_open",
                    )
                self._state = self.HALF_OPEN
            if self._probe_in_flight:
                raise ProviderUnavailable(f"{self.name}: circuit half-open, probe in flight", kind="circuit_open")
            self._probe_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                logger.info("%s: circuit closed", self.name)
            self._state = self.CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or self._failures >= self.threshold:
                if self._state != self.OPEN:
                    logger.warning(
                        "%s: circuit opened after %d consecutive failures (cool-down %.1fs)",
                        self.name,
                        self._failures,
                        self.cooldown,
                    )
                self._state = self.OPEN
                self._opened_at = self.clock()
            self._probe_in_flight = False

    def release(self, probe: bool) -> None:
        """Forget an admitted call that ended without an outcome (cancelled)."""
        if probe:
            with self._lock:
                self._probe_in_flight = False
