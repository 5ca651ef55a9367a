"""The mount's lifespan: open the store (and start the periodic sweep) once, close it at the end.

One implementation for the three ways it starts: the ASGI lifespan protocol on its own, folded
into a wrapped app's (`AuthAI.wrap`), or lazily on the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import httpx

from authai_embed._util.logs import get_logger
from authai_embed.errors import AuthAIError
from authai_embed.observe.bus import EventBus
from authai_embed.stores.base import AuthStore
from authai_embed.types import ASGIApp, Message, Receive, Scope, Send
from authai_embed.usage.ledger import UsageLedger

__all__ = ["Lifespan"]

logger = get_logger("app")

T = TypeVar("T")


class Lifespan:
    """Starts and stops what the mount holds open: the store, the sweep task, the usage
    ledger's flushes, and the upstream client and rate limiter when the mount made them.
    `startup` and `shutdown` are idempotent."""

    __slots__ = (
        "_close_limiter",
        "_events",
        "_http",
        "_interval",
        "_ledger",
        "_lock",
        "_store",
        "_sweep",
        "_sweeper",
        "loop",
        "started",
    )

    def __init__(
        self,
        store: AuthStore,
        http: httpx.AsyncClient | None,
        sweep: Callable[[], Awaitable[int]],
        sweep_interval: float | None,
        ledger: UsageLedger | None = None,
        events: EventBus | None = None,
        close_limiter: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._close_limiter = close_limiter  # closes only a limiter the mount made (`Gate`)
        self._events = events  # its drain task runs while the mount does
        self._store = store
        self._ledger = ledger
        self._http = http  # closed at shutdown: the client the mount made, else None
        self._sweep = sweep
        self._interval = sweep_interval
        self._lock = anyio.Lock()
        self._sweeper: asyncio.Task[None] | None = None
        self.started = False
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop the mount started on

    async def startup(self) -> None:
        """Open the store (running migrations) and start the periodic sweep if configured."""
        async with self._lock:
            if not self.started:
                await self._store.open()
                self.started = True
                self.loop = asyncio.get_running_loop()
                if self._ledger is not None:
                    await self._ledger.start()
                if self._interval is not None:
                    self._sweeper = self.loop.create_task(self._sweep_every(self._interval))
                if self._events is not None:
                    self._events.start()

    async def shutdown(self) -> None:
        """Stop the periodic sweep, hand on the queued events (within a bound), close the store,
        and the upstream client and rate limiter (if we made them)."""
        async with self._lock:
            if self._events is not None:
                await self._events.stop()
            if self._sweeper is not None:
                self._sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sweeper
                self._sweeper = None
            if self.started:
                if self._ledger is not None:
                    try:  # the shutdown flush: counts still in memory go to the store
                        await self._ledger.stop()
                    except AuthAIError as exc:
                        logger.warning("usage ledger's last flush failed: %s", exc)
                await self._store.close()
                self.started = False
            if self._http is not None and not self._http.is_closed:
                await self._http.aclose()
            if self._close_limiter is not None:
                await self._close_limiter()

    @asynccontextmanager
    async def running(self, value: T) -> AsyncIterator[T]:
        """Started while the block runs (`AuthAI.lifespan`), stopped on the way out."""
        await self.startup()
        try:
            yield value
        finally:
            await self.shutdown()

    async def ensure_started(self) -> None:
        """The lazy start of a request that comes before (or without) the lifespan protocol."""
        if not self.started:
            await self.startup()

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, app: ASGIApp | None = None
    ) -> None:
        """Serve the ASGI lifespan protocol; with `app` (a wrapped app), run its lifespan with
        ours folded in, or ours alone when it refuses lifespan (Django raises before reading)."""
        if app is None:
            await self._serve(receive, send)
            return
        received = False

        async def receive_tracked() -> Message:
            nonlocal received
            received = True
            return await receive()

        async def send_folded(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and not await self._start(send):
                return
            if message["type"] == "lifespan.shutdown.complete":
                await self.shutdown()
            await send(message)

        try:
            await app(scope, receive_tracked, send_folded)
        except Exception:
            if received:
                raise
            await self._serve(receive, send)

    async def _serve(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if await self._start(send):
                    await send({"type": "lifespan.startup.complete"})
                else:
                    return
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self, send: Send) -> bool:
        """`startup`; on failure, send `lifespan.startup.failed` and answer False."""
        try:
            await self.startup()
        except Exception as exc:
            # Our messages name the problem and never carry secrets; others may: the type only.
            failure = (
                str(exc)
                if isinstance(exc, AuthAIError)
                else f"authai_embed startup failed: {type(exc).__name__}"
            )
            await send({"type": "lifespan.startup.failed", "message": failure})
            return False
        return True

    async def _sweep_every(self, interval: float) -> None:
        """The periodic sweep: a failure (store briefly unreachable) is logged, never fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self._sweep()
            except AuthAIError as exc:
                logger.warning("periodic sweep failed, will retry: %s", exc)
