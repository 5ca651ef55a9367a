"""Cancel a request's work when its client goes away before the answer is ready.

A streamed answer notices a disconnect by itself (`StreamingResponse` listens while it sends).
Work done before the first byte (a non-streamed completion folds the whole upstream stream
first) would otherwise run on, holding an upstream request, for an answer nobody will read.
ASGI servers say "gone" with an `http.disconnect` message on `receive`, so `DisconnectWatch`
listens for it once the request body has been read, and cancels the work when it comes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .types import Message, Receive

__all__ = ["DisconnectWatch"]

T = TypeVar("T")


class DisconnectWatch:
    """Wraps an ASGI `receive`; `run(work)` cancels `work` if the client disconnects meanwhile.

    Use `watch.receive` in place of the original for everything else (it notes when the body
    has been read in full, so the watch never takes a body message from the handler).
    """

    __slots__ = ("_body_read", "_receive", "disconnected")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._body_read = anyio.Event()
        self.disconnected = False

    async def receive(self) -> Message:
        """The wrapped `receive`, noting the end of the body and a disconnect."""
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
            self._body_read.set()
        elif message["type"] == "http.request" and not message.get("more_body", False):
            self._body_read.set()
        return message

    async def _read_body(self) -> None:
        """Take the (ignored) body of a request whose handler never reads it."""
        while not self._body_read.is_set():
            await self.receive()

    async def run(self, work: Callable[[], Awaitable[T]], *, bodiless: bool) -> T | None:
        """`await work()`, or `None` when the client went away first (the work is cancelled, so
        its `finally` blocks close what it opened). `bodiless`: the handler never reads the
        body (GET, HEAD), so the watch may listen at once."""
        result: T | None = None
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                if bodiless:
                    await self._read_body()
                else:
                    await self._body_read.wait()
                # After the body, a server's `receive` blocks until the client leaves. Anything
                # else means a caller off the spec: stop watching rather than spin.
                if not self.disconnected:
                    message = await self._receive()
                    self.disconnected = message["type"] == "http.disconnect"
                if self.disconnected:
                    tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                result = await work()
            except Exception as exc:  # re-raised below, outside the task group (no wrapping)
                failure = exc
            tg.cancel_scope.cancel()
        if failure is not None and not self.disconnected:
            raise failure
        return None if self.disconnected else result
