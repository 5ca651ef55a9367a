"""The upstream transport's connections per origin and event loop: idle ones are reused most
recently used first, and at most `max_connections` stand at once. A request over that cap waits
for one to come back or close, up to its pool timeout (then `httpx.PoolTimeout`, as httpcore).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

import httpx

from authai_embed._transports.connection import Connection, wait

__all__ = ["Key", "Pool"]

Key = tuple[str, str, int, asyncio.AbstractEventLoop]
"""scheme, host, port, and the event loop the connections belong to."""


class _Origin:
    """One origin's connections: the idle ones, how many stand, who waits for one."""

    __slots__ = ("idle", "key", "open", "waiters")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.idle: list[Connection] = []
        self.open = 0  # connections in use or idle; a closed one is counted out by its on_close
        self.waiters: deque[asyncio.Future[None]] = deque()


class Pool:
    """Connections per origin, at most `max_connections` of them, at most `max_idle` idle."""

    def __init__(self, *, max_connections: int, max_idle: int, keepalive_expiry: float) -> None:
        self._max_connections = max_connections
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._origins: dict[Key, _Origin] = {}
        self.closed = False

    async def acquire(
        self, key: Key, connect: Callable[[], Awaitable[Connection]], limit: float | None
    ) -> Connection:
        """A fit idle connection, a new one if the cap allows, or the next one freed."""
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(key)
        loop = key[3]
        deadline = None if limit is None else loop.time() + limit
        queued = False
        while True:
            if self.closed:
                raise RuntimeError("the transport is closed")
            conn = self._take(origin)
            if conn is not None:
                return conn
            if origin.open < self._max_connections:
                origin.open += 1
                try:
                    conn = await connect()
                except BaseException:
                    self._free(origin)
                    raise
                conn.on_close = lambda: self._free(origin)
                return conn
            waiter: asyncio.Future[None] = loop.create_future()
            if queued:  # woken, then beaten to the connection: keep the place at the front
                origin.waiters.appendleft(waiter)
            else:
                origin.waiters.append(waiter)
                queued = True
            left = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                woken = await wait(loop, waiter, left)
            except BaseException:
                self._forget(origin, waiter)
                raise
            if not woken:
                self._forget(origin, waiter)
                raise httpx.PoolTimeout("timed out waiting for a connection to the provider")

    def release(self, key: Key, conn: Connection, *, reusable: bool) -> None:
        """Back to the idle connections if `reusable` (and open), else closed."""
        origin = self._origins.get(key)
        if not reusable or origin is None or self.closed or self._max_idle == 0 or conn.closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        origin.idle.append(conn)
        if len(origin.idle) > self._max_idle:
            origin.idle.pop(0).close()
        self._wake(origin)

    def close(self) -> None:
        """Close every idle connection; those in use close when they come back."""
        self.closed = True
        for origin in list(self._origins.values()):
            idle, origin.idle = origin.idle, []
            for conn in idle:
                conn.close()
            while origin.waiters:  # they wake up to find the pool closed
                self._wake(origin)

    def _take(self, origin: _Origin) -> Connection | None:
        """The most recently used idle connection that is still fit, closing unfit ones."""
        idle = origin.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.fit_for_reuse(now, self._expiry):
                return conn
            conn.close()
        return None

    def _free(self, origin: _Origin) -> None:
        origin.open -= 1
        if origin.open == 0 and not origin.waiters and self._origins.get(origin.key) is origin:
            del self._origins[origin.key]  # no event loop is kept alive by an empty entry
            return
        self._wake(origin)

    def _wake(self, origin: _Origin) -> None:
        waiters = origin.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, origin: _Origin, waiter: asyncio.Future[None]) -> None:
        """A waiter that gives up leaves the queue; a wake-up it got but cannot use (it was
        cancelled at the same moment) goes to the next in line."""
        try:
            origin.waiters.remove(waiter)
        except ValueError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._wake(origin)
