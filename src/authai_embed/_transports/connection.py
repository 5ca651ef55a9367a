"""One upstream connection as a plain asyncio protocol: it keeps reading into its buffer (pausing
only past `HIGH_WATER`), so a read costs no system call beyond the `recv` itself, and a closed
connection frees its place in the pool exactly once.

Reads land in one buffer per thread (`READ_SIZE` bytes, shared by every connection of that
thread's loop) and only what arrived is copied out: a plain protocol's transport allocates a
256 KiB `bytes` for every `recv` and shrinks it, which costs time on every event of a stream
and leaves the heap fragmented with thousands of streams open.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import cast

import httpx

__all__ = ["HIGH_WATER", "READ_SIZE", "Connection", "wait"]

HIGH_WATER = 1024 * 1024  # unread bytes past which a connection stops reading
READ_SIZE = 64 * 1024  # the most one read takes in


class _ReadBuffer(threading.local):
    """The buffer reads land in: one per thread (an event loop reads one socket at a time, and
    copies what it got out before the next)."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_SIZE))


_read_buffer = _ReadBuffer()


class Connection(asyncio.BufferedProtocol):
    """One TCP (or TLS) connection: what it has received, and whether it still stands."""

    __slots__ = (
        "_drained",
        "_loop",
        "_read_deadline",
        "_read_timer",
        "_reading_paused",
        "_received",
        "_size",
        "_transport",
        "_waiter",
        "_writing_paused",
        "closed",
        "idle_since",
        "on_close",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._received: list[bytes] = []
        self._size = 0
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        # One read-timeout timer that outlives the reads: a stream's every event moves the
        # deadline, instead of making and cancelling a timer per read.
        self._read_deadline: float | None = None  # set while a read waits
        self._read_timer: asyncio.TimerHandle | None = None
        self._drained: asyncio.Future[None] | None = None
        self._writing_paused = False
        self.closed = False  # the peer closed, the connection failed, or we closed it
        self.idle_since = 0.0
        self.on_close: Callable[[], None] | None = None  # set by the pool: frees the place

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; not an `asyncio.Transport` instance on every loop (uvloop's is not)
        self._transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(_read_buffer.view[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self._received.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()
        self._stop_read_timer()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the transport ----------------------------------------------------------

    def fit_for_reuse(self, now: float, expiry: float) -> bool:
        """Idle, open, nothing unasked-for received, and not kept too long."""
        return not self.closed and not self._received and now - self.idle_since <= expiry

    async def send(self, data: bytes, limit: float | None) -> None:
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            raise httpx.WriteError("the connection closed before the request was sent")
        transport.write(data)
        if self._writing_paused and not self.closed:
            self._drained = self._loop.create_future()
            if not await wait(self._loop, self._drained, limit):
                raise httpx.WriteTimeout("timed out sending the request")
            if self.closed:
                raise httpx.WriteError("the connection closed while the request was sent")

    async def receive(self, limit: float | None) -> bytes:
        """Everything received since the last call (waiting for something), or b"" once the
        peer has closed and nothing is left."""
        if not self._received:
            if self.closed:
                return b""
            waiter = self._waiter = self._loop.create_future()
            if limit is None:
                await waiter
            else:
                deadline = self._read_deadline = self._loop.time() + limit
                if self._read_timer is None:
                    self._read_timer = self._loop.call_at(deadline, self._read_expired)
                try:
                    await waiter
                except TimeoutError:
                    raise httpx.ReadTimeout("timed out waiting for the provider") from None
                finally:
                    self._read_deadline = None
            if not self._received:
                return b""
        received = self._received
        data = received[0] if len(received) == 1 else b"".join(received)
        self._received = []
        self._size = 0
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    def _read_expired(self) -> None:
        self._read_timer = None
        deadline = self._read_deadline
        if deadline is None:  # no read waits: the next one starts the timer again
            return
        if self._loop.time() < deadline:  # reads went on since: wait for the latest deadline
            self._read_timer = self._loop.call_at(deadline, self._read_expired)
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError())

    def _stop_read_timer(self) -> None:
        timer, self._read_timer = self._read_timer, None
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Drop the connection at once (nothing is waited for) and free its place."""
        self.closed = True
        self._stop_read_timer()
        if self._transport is not None:
            self._transport.abort()
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()


async def wait(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], limit: float | None
) -> bool:
    """Wait for `future`; False when `limit` seconds passed first. Cheaper than
    `asyncio.timeout()`: one timer, no context manager."""
    if limit is None:
        await future
        return True
    timer = loop.call_later(limit, _expire, future)
    try:
        await future
    except TimeoutError:
        return False
    finally:
        timer.cancel()
    return True


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
