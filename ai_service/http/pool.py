"""One `httpx.AsyncClient` and one concurrency limit per event loop.

Django's `async_to_sync` may run a provider in several loops of one process, and an httpx client
(its connection pool) and an `asyncio.Semaphore` must not cross loops: each loop gets its own,
created lazily on first use; those of closed loops are dropped, and `aclose()` closes each client
on its own loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from dataclasses import dataclass

import httpx

from .settings import HTTPSettings

logger = logging.getLogger(__name__)

# Seconds `aclose()` waits for a client to close on another event loop.
CLOSE_TIMEOUT = 5.0


@dataclass
class LoopState:
    loop_ref: weakref.ReferenceType[asyncio.AbstractEventLoop]
    semaphore: asyncio.Semaphore
    client: httpx.AsyncClient | None = None


class LoopPool:
    """The per-loop clients and semaphores of one provider (`name` is for the logs).

    `transport` is used for the clients created here; an injected `client` is used as-is in every
    loop and never closed here (its owner closes it).
    """

    def __init__(
        self,
        name: str,
        settings: HTTPSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._transport = transport
        self._injected_client = client
        self._states: dict[int, LoopState] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The loops that have a state here."""
        return len(self._states)

    def state(self) -> LoopState:
        """The running loop's state, created on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.get(id(loop))
            if state is None or state.loop_ref() is not loop:
                self._prune()
                state = LoopState(weakref.ref(loop), asyncio.Semaphore(self.settings.max_concurrency))
                self._states[id(loop)] = state
            return state

    def _prune(self) -> None:
        """Drop the state of loops that are gone or closed (their clients cannot be awaited any more)."""
        for key, state in list(self._states.items()):
            loop = state.loop_ref()
            if loop is None or loop.is_closed():
                del self._states[key]

    def client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` of the running loop, created on first use."""
        if self._injected_client is not None:
            return self._injected_client
        state = self.state()
        if state.client is None or state.client.is_closed:
            limit = self.settings.max_concurrency
            state.client = httpx.AsyncClient(
                transport=self._transport,
                timeout=self.settings.timeout(),
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                verify=self.settings.verify,
                follow_redirects=False,
                trust_env=self._transport is None,
            )
        return state.client

    async def aclose(self) -> None:
        """Close every client created here: the running loop's here, a live other loop's on that loop
        (bounded by CLOSE_TIMEOUT); those of closed loops are just dropped."""
        running = asyncio.get_running_loop()
        with self._lock:
            states = list(self._states.values())
            self._states.clear()
        for state in states:
            loop, client = state.loop_ref(), state.client
            if client is None or client.is_closed or loop is None or loop.is_closed():
                continue
            if loop is running:
                await client.aclose()
                continue
            # An httpx client must be closed on its own loop.
            future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.wrap_future(future)
            except Exception as exc:
                future.cancel()
                logger.warning("%s: could not close the client of another event loop: %r", self.name, exc)
