"""The AI provider in a process of its own: `python -m interview_rt.aiproc.child` (started by
`parent.py` beside it, never by hand).

Grading is CPU work (the MiniLM forward pass and its features) and a Python process runs on one
core at a time; here it runs beside the web process, on the second core, and the web process
never imports torch. This module imports only `ai_service` (never Django or the project's models),
so the child starts in about a second and loads the model in the background.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a pickle (both ends are this
project, on one host). The parent sends the provider settings first, then
`("call", id, op, args)` with op `evaluate`, `evaluate_many` or `generate` (and
`("cancel", id)` when the caller gave up); the child answers
`("result", id, True, value)` or `("result", id, False, (error kind, message))`, says
`("ready", info)` once the model is loaded, and reports grader batches as
`("stats", [(answers, seconds), ...])` about once a second. Calls run concurrently, so the
provider's micro-batcher groups concurrent evaluations into one model batch.

The child ignores SIGINT and SIGTERM (the parent decides when it stops: it finishes in-flight
calls during a graceful shutdown) and exits when stdin closes or the parent dies.
"""

from __future__ import annotations

import asyncio
import functools
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

HEADER = struct.Struct("!I")
STATS_EVERY = 1.0


async def read_frame(reader: asyncio.StreamReader) -> Any:
    header = await reader.readexactly(HEADER.size)
    (size,) = HEADER.unpack(header)
    return pickle.loads(await reader.readexactly(size))


def encode_frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _batchers(provider: Any) -> list[Any]:
    """The micro-batchers of the provider (and of a fallback's two sides), if it has any."""
    found = []
    for candidate in (provider, getattr(provider, "primary", None), getattr(provider, "fallback", None)):
        batcher = getattr(candidate, "_batcher", None)
        if batcher is not None and callable(getattr(batcher, "fn", None)):
            found.append(batcher)
    return found


def _timed(fn: Callable[[Sequence[Any]], Any], sink: list[tuple[int, float]]) -> Callable[[Sequence[Any]], Any]:
    def run(items: Sequence[Any]) -> Any:
        started = time.perf_counter()
        try:
            return fn(items)
        finally:
            sink.append((len(items), time.perf_counter() - started))  # list.append is thread-safe

    return run


def _grader_info(provider: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"provider": provider.name, "pid": os.getpid()}
    for side in (provider, getattr(provider, "fallback", None)):
        version = getattr(side, "grader_version", None)
        if isinstance(version, str):
            info["grader"] = version
    return info


async def serve(config: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    from ai_service import ProviderError, ProviderRegistry

    registry = ProviderRegistry(config["providers"])
    provider = registry.get(config.get("alias", "default"))
    batches: list[tuple[int, float]] = []
    for batcher in _batchers(provider):
        batcher.fn = _timed(batcher.fn, batches)
    tasks: dict[int, asyncio.Task[None]] = {}

    def send(message: Any) -> None:
        writer.write(encode_frame(message))

    def forget(call_id: int, _task: asyncio.Task[None]) -> None:
        tasks.pop(call_id, None)

    async def warm_up() -> None:
        try:
            if config.get("warm_up", True):
                await provider.warm_up()
        except Exception as exc:  # the provider falls back by itself; say so
            print(f"ai_process: warm-up failed: {exc!r}", file=sys.stderr, flush=True)
        send(("ready", _grader_info(provider)))

    async def call(call_id: int, op: str, args: Any) -> None:
        try:
            if op == "evaluate":
                value: Any = await provider.evaluate(args)
            elif op == "evaluate_many":
                value = await provider.evaluate_many(args)
            elif op == "generate":
                value = await provider.generate_questions(args)
            else:
                raise ProviderError(f"unknown operation {op!r}", kind="internal")
            send(("result", call_id, True, value))
        except ProviderError as exc:
            send(("result", call_id, False, (exc.kind, str(exc))))
        except Exception as exc:
            send(("result", call_id, False, ("internal", f"{type(exc).__name__}: {exc}")))
        await writer.drain()

    async def report_stats() -> None:
        while True:
            await asyncio.sleep(STATS_EVERY)
            if batches:
                drained = batches[:]
                del batches[: len(drained)]
                send(("stats", drained))
                await writer.drain()

    background = [asyncio.create_task(warm_up()), asyncio.create_task(report_stats())]
    try:
        while True:
            try:
                message = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break  # the parent closed stdin: finish what is in flight, then exit
            if message[0] == "call":
                _, call_id, op, args = message
                task = asyncio.create_task(call(call_id, op, args))
                tasks[call_id] = task
                task.add_done_callback(functools.partial(forget, call_id))
            elif message[0] == "cancel":  # the caller gave up (its job was cancelled)
                cancelled = tasks.get(message[1])
                if cancelled is not None:
                    cancelled.cancel()
        if tasks:
            await asyncio.wait(list(tasks.values()), timeout=30)
    finally:
        for task in background:
            task.cancel()
        await registry.aclose() if hasattr(registry, "aclose") else None
        for batcher in _batchers(provider):
            close = getattr(batcher, "close", None)
            if close:
                close()


async def amain() -> None:
    loop = asyncio.get_running_loop()
    # The frames go to the original stdout; anything else printed goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    config = await read_frame(reader)
    if config.get("nice"):
        # Sockets before grading: the web process preempts a model batch, so acks and staff
        # frames do not queue behind it; grading takes the CPU they leave.
        os.nice(int(config["nice"]))
    await serve(config, reader, writer)
    await writer.drain()
    transport.close()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        _die_with_parent()
    asyncio.run(amain())
    # Nothing left to flush (the frames are written); skip the interpreter's and torch's teardown,
    # which takes seconds on a busy machine.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
