"""The AI provider as the worker sees it: in this process, or in a child process of its own.

`ProcessProvider` runs the configured provider (`settings.AI_PROVIDERS`) in a child process
(`child.py` beside this module), so grading (CPU) uses the machine's second core while this process
serves sockets and the database; this process never loads the model. It is an `AIProvider`, so
the worker does not know the difference. `settings.AI_PROCESS` chooses (default: on where the
worker runs inside a web process and the machine has more than one core; off in `manage.py
ai_worker`, a process of its own, where the bench measured only the IPC cost).

Cold start: question selection must never wait for the grading model. While the model is still
loading, `generate_questions` of the embedded provider ranks the bank by keywords here (what the
embedded provider does without its model); once the child says it is ready, by meaning, there.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ai_service import AIProvider, ProviderError
from ai_service.errors import ProviderUnavailable
from ai_service.registry import import_backend
from ai_service.types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext
from interview_rt.runtime.metrics import observe_batches, process_exited

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
EMBEDDED = "ai_service.providers.embedded.EmbeddedProvider"


def embedded_with_model(config: Mapping[str, Mapping[str, Any]], alias: str = "default") -> bool:
    """Is the provider the embedded one with its semantic model (whose question ranking would
    wait for the model to load)?"""
    entry = config.get(alias) or {}
    return entry.get("BACKEND") == EMBEDDED and (entry.get("OPTIONS") or {}).get("grader", "semantic") == "semantic"


def keyword_questions(context: InterviewContext) -> list[GeneratedQuestion]:
    """The embedded provider's questions ranked without the model (tags and keywords): what it
    does when the model is unavailable, used while the model is still loading."""
    from ai_service.providers.embedded import bank_questions

    return bank_questions(context, use_embeddings=False)


class ProcessProvider(AIProvider):
    """Calls the configured provider in a child process (started on first use or warm-up,
    restarted if it dies; calls in flight when it dies fail as `unavailable` and are retried by
    the worker like any provider failure)."""

    def __init__(
        self, providers: Mapping[str, Mapping[str, Any]], alias: str = "default", warm_up: bool = True, nice: int = 0
    ):
        super().__init__(alias, {})
        self.providers = {k: dict(v) for k, v in providers.items()}
        entry = self.providers[alias]
        self.name = "fallback" if entry.get("FALLBACK") else import_backend(entry["BACKEND"]).name
        self.keywords_while_loading = embedded_with_model(self.providers, alias)
        self._warm_up = warm_up
        self._nice = nice
        self._proc: asyncio.subprocess.Process | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self.info: dict[str, Any] = {}
        self.closed = False

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        async with self._start_lock:
            if self.closed:
                raise ProviderUnavailable("the AI process is shut down", kind="unavailable")
            if self._proc is not None and self._proc.returncode is None:
                return
            self._ready = asyncio.Event()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "interview_rt.aiproc.child",
                cwd=str(ROOT),
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**26,
            )
            self._write(
                {"providers": self.providers, "alias": self.alias, "warm_up": self._warm_up, "nice": self._nice}
            )
            # Calls in flight belong to one child: if it dies, its reader fails only those.
            self._pending = {}
            self._reader_task = asyncio.get_running_loop().create_task(
                self._read(self._proc, self._pending), name="ai-process-reader"
            )
            log.info("AI process started (pid %s)", self._proc.pid)

    async def warm_up(self) -> None:
        """Start the child and wait until its model is loaded."""
        await self.start()
        await self._ready.wait()

    async def aclose(self) -> None:
        """Let the child finish what is in flight (it exits when its stdin closes), bounded."""
        self.closed = True
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader_task is not None:
            await asyncio.wait([self._reader_task], timeout=2)
        process_exited(proc.pid)

    # --- calls -----------------------------------------------------------------------------------

    def _write(self, message: Any) -> None:
        from .child import encode_frame

        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(encode_frame(message))

    async def _call(self, op: str, args: Any) -> Any:
        await self.start()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = self._pending
        pending[call_id] = future
        try:
            self._write(("call", call_id, op, args))
            return await future
        except asyncio.CancelledError:
            if self._proc is not None and self._proc.returncode is None and not self._proc.stdin.is_closing():  # type: ignore[union-attr]
                self._write(("cancel", call_id))
            raise
        finally:
            pending.pop(call_id, None)

    async def _read(self, proc: asyncio.subprocess.Process, pending: dict[int, asyncio.Future[Any]]) -> None:
        from .child import read_frame

        assert proc.stdout is not None
        try:
            while True:
                message = await read_frame(proc.stdout)
                kind = message[0]
                if kind == "result":
                    _, call_id, ok, value = message
                    future = pending.get(call_id)
                    if future is None or future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        error_kind, text = value
                        future.set_exception(ProviderError(text, kind=error_kind))
                elif kind == "ready":
                    self.info = message[1]
                    self._ready.set()
                    log.info("AI process ready: %s", self.info)
                elif kind == "stats":
                    observe_batches(message[1])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("AI process reader failed")
        finally:
            code: int | None = None
            try:
                async with asyncio.timeout(5):
                    code = await proc.wait()
            except TimeoutError:
                pass
            for future in pending.values():
                if not future.done():
                    future.set_exception(ProviderUnavailable(f"the AI process exited ({code})", kind="unavailable"))
            if not self.closed:
                log.warning("AI process %s exited with %s; it restarts on the next call", proc.pid, code)
                process_exited(proc.pid)

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        result: Evaluation = await self._call("evaluate", request)
        return result

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        result: list[Evaluation] = await self._call("evaluate_many", list(requests))
        return result

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        if self.keywords_while_loading and not self.ready:
            if self._proc is None:
                asyncio.get_running_loop().create_task(self.start())
            return await asyncio.to_thread(keyword_questions, context)
        result: Sequence[GeneratedQuestion] = await self._call("generate", context)
        return result
