"""What the server counts for `GET /_stats`: API requests (in flight, most at once, per path),
faults applied, the latency added, and the TCP connections open."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    faults_applied: int = 0
    # The answers' added latency, in all: what a test checks instead of timing the client.
    delayed_ms: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    def started(self, path: str) -> None:
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1


class Connections:
    """Open TCP connections that carried a request, and the most open at once.

    daphne reports each request (`Server.protocol_connected`, see cli.serve) with its connection's
    channel; a channel whose transport has disconnected is closed. Held weakly: twisted drops
    closed ones.
    """

    def __init__(self) -> None:
        self._channels: weakref.WeakSet[Any] = weakref.WeakSet()
        self.max_open = 0

    def track(self, channel: Any) -> None:
        if channel is not None and channel not in self._channels:
            self._channels.add(channel)
            self.max_open = max(self.max_open, self.open)

    @property
    def open(self) -> int:
        return sum(1 for c in list(self._channels) if getattr(getattr(c, "transport", None), "connected", False))

    def reset(self) -> None:
        self.max_open = self.open
