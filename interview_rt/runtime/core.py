"""The process's `Runtime`: lanes, the outbox, the in-process worker and AI process, shutdown
(the package's docstring says what each part is). It imports no app: the worker it runs is the
class RUNTIME_WORKER names (the lifecycle's, interviews/worker.py), its periodic tasks are named
in RUNTIME_TASKS, and what services emitted reaches it as an `Envelope`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

from django.conf import settings
from django.utils.module_loading import import_string

import interview_rt.runtime.metrics as metrics
from ai_service import AIProvider
from ai_service.types import GeneratedQuestion, InterviewContext
from interview_rt.aiproc.parent import ProcessProvider, embedded_with_model, keyword_questions

from . import ai
from .lanes import ANSWER, CANDIDATE, STAFF, WORKER, Lanes
from .outbox import Envelope, Outbox, send

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

__all__ = [
    "Runtime",
    "answer_db",
    "candidate_db",
    "install",
    "publish",
    "runtime",
    "staff_db",
    "waiting_db",
    "worker_db",
]


def emitted_of(result: object) -> Envelope | None:
    """Services return what they emitted (an `Envelope`), or a result that carries it as `.emitted`."""
    if isinstance(result, Envelope):
        return result
    emitted = getattr(result, "emitted", None)
    return emitted if isinstance(emitted, Envelope) else None


class Worker(Protocol):
    """What the runtime needs of the background worker it runs (RUNTIME_WORKER names the class,
    built with the runtime: `Worker(runtime, concurrency=...)`)."""

    id: str
    stopping: bool

    async def run(self) -> None: ...
    def submit(self, message: dict[str, Any], claimed: Any = None) -> bool: ...
    async def shutdown(self, grace: float) -> dict[str, int]: ...
    async def drain(self, timeout: float | None = None) -> None: ...


def _worker(runtime: Runtime, concurrency: int | None = None) -> Worker:
    return import_string(settings.RUNTIME_WORKER)(runtime, concurrency=concurrency)


class Runtime:
    def __init__(self) -> None:
        self.lanes = Lanes()
        self.outbox = Outbox()
        self.worker: Worker | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self._process: ProcessProvider | None = None
        # The provider in a child process (settings.AI_PROCESS; decided when the worker starts).
        self.ai_process = False
        # The grading model of this process's worker: "off" (no worker here), "loading", "ready".
        self.model = "off"
        self.model_info: dict[str, Any] = {}
        # Shutdown: hooks the server registers (stop accepting, close sockets), run first.
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self.stopping = False
        self._shutdown: asyncio.Task[None] | None = None
        self._stopped: asyncio.Event | None = None

    # --- calls -----------------------------------------------------------------------------------

    def _db(self, fn: Callable[P, T], kind: int) -> Callable[P, Awaitable[T]]:
        wrapped = self.lanes.wrap(fn, kind)

        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            result = await wrapped(*args, **kwargs)
            emitted = emitted_of(result)
            if emitted:
                for job in emitted.take_claimed():
                    self._hand_over(job)
                if self.outbox.running:
                    self.outbox.publish(emitted)
                else:
                    # A host that runs us without start() (a sync test client's throwaway loop):
                    # send from here, in order, before returning.
                    for message in emitted.messages():
                        await send(message)
            return result

        return call

    def claimer(self) -> str:
        """The id of this process's worker, for a service to take a job's lease for it (see
        services.answer_submit's claim_for); "" when no worker runs here or it is stopping."""
        worker = self.worker
        return worker.id if worker is not None and not worker.stopping and not self.stopping else ""

    def _hand_over(self, job: Any) -> None:
        """A job a service claimed for this process's worker: run it here. If that worker is gone
        meanwhile, its lease lapses with its heartbeat and a sweep (here or elsewhere) takes it."""
        worker = self.worker
        if worker is not None:
            worker.submit({"kind": job.kind, "id": job.id}, claimed=job.claimed)

    def answer_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """The write behind an answer's acknowledgement: ahead of everything else."""
        return self._db(fn, ANSWER)

    def waiting_db(self, fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """Work a connected candidate is waiting on (the first question's claim and store, the
        catch-up after connect): with the answers, ahead of new connects, so a connect storm
        finishes the candidates it started instead of queueing their next step behind every new
        connect (bench storm: each session's later trips waited behind the whole queue)."""
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

    def publish(self, emitted: Envelope | None) -> None:
        """Publish what a service called outside the lanes emitted (management commands)."""
        if emitted:
            self.outbox.publish(emitted)

    # --- the AI provider -------------------------------------------------------------------------

    def provider(self) -> AIProvider:
        """The provider the worker calls: in a child process (`settings.AI_PROCESS`), or here."""
        if self.ai_process:
            if self._process is None or self._process.closed:
                self._process = ProcessProvider(
                    settings.AI_PROVIDERS, warm_up=settings.AI_WARM_UP, nice=settings.AI_PROCESS_NICE
                )
            return self._process
        return ai.provider()

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        """Questions for a session; never waits for the grading model to load (keywords until then)."""
        provider = self.provider()
        loading = self.model == "loading" and not isinstance(provider, ProcessProvider)
        if loading and embedded_with_model(settings.AI_PROVIDERS):
            return await asyncio.to_thread(keyword_questions, context)
        return await provider.generate_questions(context)

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
        self.stopping = False
        self._shutdown = None
        self._stopped = asyncio.Event()
        self.outbox.start()
        with_worker = settings.AI_WORKER_INPROCESS if inprocess_worker is None else inprocess_worker
        # auto: the child takes grading off the web process's core; a worker process of its own
        # (run_worker) grades itself.
        auto = with_worker and (os.cpu_count() or 1) > 1
        self.ai_process = auto if settings.AI_PROCESS is None else bool(settings.AI_PROCESS)
        if with_worker:
            self.worker = _worker(self)
            self._start_warm_up()
            self._spawn(self.worker.run(), "ai-worker")
            self._start_tasks()
        log.info(
            "runtime started (in-process AI worker: %s, AI process: %s)",
            "on" if with_worker else "off",
            "on" if with_worker and self.ai_process else "off",
        )

    async def run_worker(self, *, concurrency: int | None = None) -> None:
        """A worker process (`manage.py ai_worker`): the runtime with the worker in the foreground,
        until SIGTERM or SIGINT, which stop it gracefully (see `shutdown`)."""
        await self.start(inprocess_worker=False)
        self.ai_process = bool(settings.AI_PROCESS)  # auto: off, this process is the worker
        self.worker = _worker(self, concurrency=concurrency)
        self._start_warm_up()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, lambda: loop.create_task(self.shutdown()))
        self._start_tasks()
        self._spawn(self.worker.run(), "ai-worker")
        try:
            assert self._stopped is not None
            await self._stopped.wait()
        finally:
            if not self.stopping:
                await self.shutdown()

    def _start_warm_up(self) -> None:
        if settings.AI_WARM_UP:
            self.model = "loading"
            self._spawn(self._warm_up(), "ai-warm-up")
        else:
            self.model = "ready"  # loads on first use (tests)

    def _start_tasks(self) -> None:
        # Wherever the AI worker runs, so a deployment with separate workers runs them there too.
        # Named by dotted path (RUNTIME_TASKS) so the runtime imports none of the apps that add
        # one (the webhook sender is the delivery app's); each is built with the runtime and
        # gives None when its settings turn it off.
        for name, path in settings.RUNTIME_TASKS.items():
            task = import_string(path)(self)
            if task is not None:
                self._spawn(task, name)

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    async def _warm_up(self) -> None:
        # Beside the worker: jobs start at once and wait for the model only if they need it.
        provider = self.provider()
        try:
            await provider.warm_up()
        except Exception:
            log.exception("provider warm-up failed; it will load on first use")
        if isinstance(provider, ProcessProvider):
            self.model_info = dict(provider.info)
        else:
            version = getattr(provider, "grader_version", None) or getattr(
                getattr(provider, "fallback", None), "grader_version", None
            )
            self.model_info = {"provider": provider.name, **({"grader": version} if version else {})}
        self.model = "ready"

    async def shutdown(self) -> None:
        """Graceful stop (SIGTERM), once, bounded by SHUTDOWN_TIMEOUT_SECONDS: run the server's
        hooks (stop accepting, close candidate sockets with 1012), stop the worker taking jobs,
        give the jobs in hand SHUTDOWN_GRACE_SECONDS to finish and release the rest, send what
        the outbox holds, stop the AI process."""
        if self._shutdown is None:
            self._shutdown = asyncio.get_running_loop().create_task(self._graceful(), name="runtime-shutdown")
        await asyncio.shield(self._shutdown)

    async def _graceful(self) -> None:
        self.stopping = True
        started = time.monotonic()
        try:
            async with asyncio.timeout(settings.SHUTDOWN_TIMEOUT_SECONDS):
                for hook in self.shutdown_hooks:
                    try:
                        await hook()
                    except Exception:
                        log.exception("shutdown hook %r failed", hook)
                # Stop receiving nudges first: a nudge taken now could not be run here.
                for task in [t for t in self._tasks if t.get_name() == "ai-worker"]:
                    task.cancel()
                if self.worker is not None:
                    outcome = await self.worker.shutdown(settings.SHUTDOWN_GRACE_SECONDS)
                    log.info("shutdown: AI worker stopped after %.1fs: %s", time.monotonic() - started, outcome)
                await self.stop(timeout=3.0)
        except TimeoutError:
            log.error("graceful shutdown took longer than %ss; stopping anyway", settings.SHUTDOWN_TIMEOUT_SECONDS)
        # Multi-process metrics: this process's live gauges (sockets, jobs) stop counting.
        metrics.process_exited(os.getpid())
        log.warning("runtime stopped in %.1fs", time.monotonic() - started)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (bounded), send what is queued, close the providers."""
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
        process, self._process = self._process, None
        try:
            if process is not None:
                began = time.monotonic()
                await process.aclose()
                log.info("AI process stopped in %.1fs", time.monotonic() - began)
            await ai.registry().aclose()
        except Exception:
            log.exception("closing AI providers failed")
        self.model = "off"
        if self._stopped is not None:
            self._stopped.set()
        self.loop = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


runtime = Runtime()
answer_db = runtime.answer_db
candidate_db = runtime.candidate_db
waiting_db = runtime.waiting_db
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
        # SIGTERM/SIGINT: Twisted stops the reactor, which runs this first (see Runtime.shutdown).
        return defer.Deferred.fromFuture(reactor._asyncioEventloop.create_task(runtime.shutdown()))

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
            await runtime.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
