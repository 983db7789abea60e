"""The publish step: what services emitted goes out over the channel layer, in order, after commit.

Services return an `Emitted` once their transaction committed; the runtime hands it here. One task
on the server's loop drains an ordered queue, so sends keep commit order and the caller (an
answer's acknowledgement, a database thread's result) never waits on a channel layer round trip.
A send that fails is only logged: the frame log in the database is the source of truth, and a
socket that misses a push gets the frame from the log on its next frame, `session.resume` or
reconnect; a worker that misses a nudge finds the job in its sweep.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from interview_rt.interviews.events import STAFF_GROUP, Emitted, session_group, watch_group

log = logging.getLogger(__name__)

Message = tuple[str, str, dict[str, Any]]  # (layer method, channel or group, message)


def messages(emitted: Emitted) -> list[Message]:
    out: list[Message] = [
        ("group_send", session_group(session_id), {"type": "session.frame", "frame": frame})
        for session_id, frame in emitted.frames
    ]
    # Staff frames travel encoded once: every staff socket sends the same text, and the channel
    # layer copies (in memory) or packs (Redis) a string, not a nested dict, per socket.
    if emitted.staff:
        out.append(
            (
                "group_send",
                STAFF_GROUP,
                {
                    "type": "staff.frames",
                    "items": [[s.job_id, s.session_id, s.frame["seq"], json.dumps(s.frame)] for s in emitted.staff],
                },
            )
        )
    out += [
        (
            "group_send",
            watch_group(d.session_id),
            {"type": "staff.draft", "session_id": d.session_id, "text": json.dumps(d.frame)},
        )
        for d in emitted.drafts
    ]
    out += [("send", settings.AI_WORKER_CHANNEL, job.message()) for job in emitted.jobs]
    out += [
        ("group_send", session_group(session_id), {"type": "session.close", "code": code})
        for session_id, code in emitted.closes
    ]
    return out


# Messages taken from the queue at once (a burst of commits: an evaluation batch, a connect storm).
DRAIN_BATCH = 500


def coalesce(batch: list[Message]) -> list[Message]:
    """The batch with all its staff feed frames in one `staff.frames` message, where the first
    was, in their order. Measured: with 5 staff sockets watching 100 busy sessions, each staff
    consumer took its messages one event-loop round trip at a time, and an answer's frame waited
    80-200 ms behind a burst of others in each socket's queue; one message per burst is one trip."""
    out: list[Message] = []
    staff: dict[str, Any] | None = None
    for method, target, body in batch:
        if target == STAFF_GROUP and body.get("type") == "staff.frames":
            if staff is None:
                staff = {"type": "staff.frames", "items": list(body["items"])}
                out.append((method, target, staff))
            else:
                staff["items"].extend(body["items"])
            continue
        out.append((method, target, body))
    return out


async def send(message: Message) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    method, target, body = message
    try:
        await getattr(layer, method)(target, body)
    except Exception as exc:  # the log has the frame; a socket catches up from it
        log.warning("%s to %s failed: %s: %s", method, target, type(exc).__name__, exc)


class Outbox:
    """An ordered queue drained by one task on the loop it was started on."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and self.loop is not None and not self.loop.is_closed()

    def start(self) -> None:
        """Start draining on the running loop (again, if an earlier loop has gone)."""
        loop = asyncio.get_running_loop()
        if self.running and self.loop is loop:
            return
        self.loop, self._queue = loop, asyncio.Queue()
        self._task = loop.create_task(self._drain(self._queue), name="outbox")

    async def _drain(self, queue: asyncio.Queue[Message]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < DRAIN_BATCH:
                batch.append(queue.get_nowait())
            try:
                for message in coalesce(batch):
                    await send(message)
            finally:
                for _ in batch:
                    queue.task_done()

    def publish(self, emitted: Emitted) -> None:
        """Queue everything `emitted` holds; from the loop's thread or any other."""
        if not emitted:
            return
        loop, queue = self.loop, self._queue
        if not self.running or loop is None or queue is None:
            # No server loop in this process (a management command): send and wait.
            for message in messages(emitted):
                async_to_sync(send)(message)
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        for message in messages(emitted):
            if on_loop:
                queue.put_nowait(message)
            else:
                loop.call_soon_threadsafe(queue.put_nowait, message)

    async def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (bounded), then stop."""
        task, queue = self._task, self._queue
        if task is None or queue is None:
            return
        if self.loop is asyncio.get_running_loop() and not task.done():
            try:
                async with asyncio.timeout(timeout):
                    await queue.join()
            except TimeoutError:
                log.warning("outbox: %s messages unsent at shutdown (they are in the log)", queue.qsize())
        task.cancel()
        if task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)
        self._task = self._queue = self.loop = None
