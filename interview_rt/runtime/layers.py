"""The channel layer of the embedded default (one process, no Redis).

channels' `InMemoryChannelLayer` walks every channel queue and every group membership of the
process (`_clean_expired`) on each `receive()` and `group_send()`: with N open sockets every frame
delivered costs O(N), and every connect too (a consumer's first receive, the takeover
`group_send`). At 1,000-2,000 candidates that is most of the server's time (bench/load.py, idle
and storm scenarios). It also deep-copies each message once per receiver and fans a group send
out through one task per member.

This subclass keeps the semantics (capacity per channel, message expiry, group expiry) but sweeps
at most once a second, copies only the top-level dict of a message (receivers never mutate a
frame; the outbox builds a fresh message per send), and delivers a group send without tasks.
`receive_nowait` lets a busy consumer take what is already queued in one go (see
`consumers.admin_live`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

SWEEP_INTERVAL = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        super()._clean_expired()

    def _put(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, dict(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    def receive_nowait(self, channel: str) -> dict[str, Any] | None:
        """The next message already queued on `channel`, or None (never waits)."""
        queue = self.channels.get(channel)
        if queue is None:
            return None
        try:
            _, message = queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        # The queue stays even when empty: a receive() already waiting holds this very queue.
        return message

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass
