"""Server runtime: what a running process needs besides the interview rules.

- database lanes (`lanes.py`): where ORM calls from async code run, by priority;
- the publish step (`outbox.py`): what services emitted goes out after commit, in order;
- the background AI worker inside this process (embedded default) and the grading model's
  warm-up, started with the process, not on the first request or socket;
- beside the worker, the webhook sender (`webhooks.py`), which delivers the database's queue;
- shutdown: stop the worker, flush the outbox, close the providers' HTTP clients.

There is one `Runtime` per process (`runtime`). The ASGI application starts it when the server's
loop starts (`install()`); `manage.py ai_worker` starts it with the worker on; tests start it per
test loop. Consumers, views and the worker call services through `answer_db`, `candidate_db` and
`worker_db` (and staff sockets through `staff_db`), which run the call on its lane and publish
what it emitted.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings

from interview_rt.interviews import ai
from interview_rt.interviews.events import Emitted

from .lanes import ANSWER, CANDIDATE, STAFF, WORKER, Lanes
from .outbox import Outbox, messages, send
from .webhooks import WebhookSender
from .worker import AIWorker

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

__all__ = ["AIWorker", "Runtime", "answer_db", "candidate_db", "install", "publish", "runtime", "staff_db", "worker_db"]


def emitted_of(result: object) -> Emitted | None:
    """Services return an `Emitted`, or a result that carries one as `.emitted`."""
    if isinstance(result, Emitted):
        return result
    emitted = getattr(result, "emitted", None)
    return emitted if isinstance(emitted, Emitted) else None


class Runtime:
    def __init__(self) -> None:
        self.lanes = Lanes()
        self.outbox = Outbox()
        self.worker: AIWorker | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- calls -----------------------------------------------------------------------------------

    def _db(self, fn: Callable[P, T], kind: int) -> Callable[P, Awaitable[T]]:
        wrapped = self.lanes.wrap(fn, kind)

        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            result = await wrapped(*args, **kwargs)
            emitted = emitted_of(result)
            if emitted:
                if self.outbox.running:
                    self.outbox.publish(emitted)
                else:
                    # A host that runs us without start() (channels' runworker, a sync test client's
                    # throwaway loop): send from here, in order, before returning.
                    for message in messages(emitted):
                        await send(message)
            return result

        return call

    def answer_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """The write behind an answer's acknowledgement: ahead of everything else."""
        return self._db(fn, ANSWER)

    def candidate_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """A service or selector for a candidate's socket or request."""
        return self._db(fn, CANDIDATE)

    def worker_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """A service or selector for the background AI worker."""
        return self._db(fn, WORKER)

    def staff_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """A service or selector for a staff socket or view: after every candidate and the worker."""
        return self._db(fn, STAFF)

    def publish(self, emitted: Emitted | None) -> None:
        """Publish what a service called outside the lanes emitted (management commands)."""
        if emitted:
            self.outbox.publish(emitted)

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self.loop is not None and self.loop is _running_loop() and self.outbox.running

    async def start(self, *, inprocess_worker: bool | None = None) -> None:
        """Start on the running loop, once: the outbox, then (if configured) the worker, which
        begins loading the grading model at once."""
        if self.started:
            return
        self.loop = asyncio.get_running_loop()
        self.outbox.start()
        with_worker = settings.AI_WORKER_INPROCESS if inprocess_worker is None else inprocess_worker
        if with_worker:
            self.worker = AIWorker(self)
            if settings.AI_WARM_UP:
                self._spawn(self._warm_up(), "ai-warm-up")
            self._spawn(self.worker.run(), "ai-worker")
            self._start_webhooks()
        log.info("runtime started (in-process AI worker: %s)", "on" if with_worker else "off")

    async def run_worker(self, *, concurrency: int | None = None) -> None:
        """A worker process (`manage.py ai_worker`): the runtime with the worker in the foreground."""
        await self.start(inprocess_worker=False)
        self.worker = AIWorker(self, concurrency=concurrency)
        if settings.AI_WARM_UP:
            self._spawn(self._warm_up(), "ai-warm-up")
        self._start_webhooks()
        try:
            await self.worker.run()
        finally:
            await self.stop()

    def _start_webhooks(self) -> None:
        # Wherever the AI worker runs, so a deployment with separate workers sends from them.
        if settings.WEBHOOKS_INPROCESS:
            self._spawn(WebhookSender(self).run(), "webhooks")

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    async def _warm_up(self) -> None:
        # Beside the worker: jobs start at once and wait for the model only if they need it.
        try:
            await ai.provider().warm_up()
        except Exception:
            log.exception("provider warm-up failed; it will load on first use")

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (bounded), send what is queued, close the providers' HTTP clients."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            # asyncio.wait, not gather: bounded even if a task swallows its cancel.
            await asyncio.wait(tasks, timeout=timeout)
        if self.worker is not None:
            await self.worker.drain(timeout=timeout)
            self.worker = None
        await self.outbox.stop(timeout)
        try:
            await ai.registry().aclose()
        except Exception:
            log.exception("closing AI providers failed")
        self.loop = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


runtime = Runtime()
answer_db = runtime.answer_db
candidate_db = runtime.candidate_db
worker_db = runtime.worker_db
staff_db = runtime.staff_db
publish = runtime.publish


def install() -> None:
    """Start the runtime with the server. daphne speaks no ASGI lifespan, so under daphne hook
    Twisted's reactor: start when it runs, stop before it shuts down (daphne installs the reactor
    on its asyncio loop before it imports the application). Servers that speak lifespan use
    `lifespan_app` instead."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not hasattr(reactor, "_asyncioEventloop"):
        return
    from twisted.internet import defer

    def start() -> None:
        reactor._asyncioEventloop.create_task(runtime.start())

    def stop() -> Any:
        return defer.Deferred.fromFuture(reactor._asyncioEventloop.create_task(runtime.stop()))

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)


async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI lifespan (uvicorn, hypercorn): start and stop the runtime with the server."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await runtime.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await runtime.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
