"""Cancel a request's work when its client goes away before the answer is ready.

Work done before the first byte (a non-streamed completion folds the whole upstream stream first)
would otherwise run on, holding an upstream request, for an answer nobody reads. `DisconnectWatch`
listens for `http.disconnect` once the body has been read, and cancels the work when it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import anyio

from authai_embed._util.loop import running_loop
from authai_embed.types import Message, Receive

__all__ = ["DisconnectWatch", "watched"]

T = TypeVar("T")


async def watched(
    work: Awaitable[T], gone: Callable[[], Awaitable[bool]], *, after: float = 0.0
) -> tuple[T | None, bool]:
    """`(await work, False)`, or `(None, True)` when `gone()` returns True first: `work` is
    then cancelled, so its `finally` blocks run. Exceptions from `work` propagate. `work` is
    an awaitable (a coroutine), not a function making one: a closure over the caller's locals
    would stay alive, with its cells, for as long as a stream lasts.

    On asyncio the watcher is one bare task and the work runs in an `asyncio.timeout` scope that
    the watcher expires: a task group (or an anyio cancel scope) costs more, and this runs, and
    stays for the whole stream, for every proxied request. With `after`, the task starts only
    once the work has run that many seconds (the mount's `/v1` calls: `WATCH_AFTER`): most
    answers that are ready at once are sent before then, and a client that left meanwhile is
    noticed as the watcher starts (a server keeps the disconnect for the next `receive`).
    Elsewhere (trio) it is a task group, from the start.
    """
    loop = running_loop()
    if loop is None:
        return await _watched_in_group(work, gone)
    # The stdlib's own scope (a timeout that the watcher expires at once): lighter than an
    # anyio cancel scope, and it takes its cancellation back on the way out, as anyio's does.
    watcher = _Watcher(gone, asyncio.timeout(None))
    later = loop.call_later(after, watcher.start, loop) if after > 0 else None
    if later is None:
        watcher.start(loop)
    try:
        async with watcher.scope:
            result = await work
    except TimeoutError:
        if not watcher.left or not watcher.scope.expired():
            raise
        return None, True
    finally:
        if later is not None:
            later.cancel()
        if watcher.task is not None:
            watcher.task.cancel()
    return (None, True) if watcher.left else (result, False)


WATCH_AFTER: Final = 0.02
"""Seconds a `/v1` call's work runs before `DisconnectWatch` listens for a disconnect
(asyncio). A watcher task started for every call cost a short proxied answer several percent of
its CPU (docs/performance.md); noticing a client's leaving this much later costs nothing."""


class _Watcher:
    """What the watcher task of `watched` shares with the work (asyncio): a slotted object, not
    closure cells, as it lives as long as the answer."""

    __slots__ = ("gone", "left", "scope", "task")

    def __init__(self, gone: Callable[[], Awaitable[bool]], scope: asyncio.Timeout) -> None:
        self.gone = gone
        self.scope = scope
        self.left = False
        self.task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start watching (at once, or a loop callback `after` seconds into the work)."""
        self.task = loop.create_task(self.watch())

    async def watch(self) -> None:
        with contextlib.suppress(Exception):  # a receive that fails is no disconnect
            if await self.gone():
                self.left = True
                self.scope.reschedule(-1.0)  # already past: the work is cancelled at once


async def _watched_in_group(
    work: Awaitable[T], gone: Callable[[], Awaitable[bool]]
) -> tuple[T | None, bool]:
    """`watched` on a loop other than asyncio's (trio): a task group."""
    left = False
    result: T | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:

        async def watch_in_group() -> None:
            nonlocal left
            if await gone():
                left = True
                tg.cancel_scope.cancel()

        tg.start_soon(watch_in_group)
        try:
            result = await work
        except Exception as exc:  # re-raised outside the group, so never wrapped in one
            failure = exc
        tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return (None, True) if left else (result, False)


class DisconnectWatch:
    """Wraps an ASGI `receive`; `run(work)` cancels `work` (a coroutine) if the client
    disconnects meanwhile.

    Use `watch.receive` in place of the original for everything else (it notes when the body
    has been read in full, so the watch never takes a body message from the handler).
    """

    __slots__ = ("_bodiless", "_body_read", "_body_waiter", "_receive", "disconnected")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._body_read = False
        # Made only if the watch starts before the body is read (it usually is read first).
        self._body_waiter: anyio.Event | None = None
        self._bodiless = False  # set by `run`
        self.disconnected = False

    async def receive(self) -> Message:
        """The wrapped `receive`, noting the end of the body and a disconnect."""
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
            self._note_body_read()
        elif message["type"] == "http.request" and not message.get("more_body", False):
            self._note_body_read()
        return message

    def _note_body_read(self) -> None:
        self._body_read = True
        waiter, self._body_waiter = self._body_waiter, None
        if waiter is not None:
            waiter.set()

    async def _wait_body_read(self) -> None:
        if self._body_read:
            return
        if self._body_waiter is None:
            self._body_waiter = anyio.Event()
        await self._body_waiter.wait()

    async def _read_body(self) -> None:
        """Take the (ignored) body of a request whose handler never reads it."""
        while not self._body_read:
            await self.receive()

    async def run(self, work: Awaitable[T], *, bodiless: bool) -> T | None:
        """`await work`, or `None` when the client went away first (the work is cancelled, so
        its `finally` blocks close what it opened). `bodiless`: the handler never reads the
        body (GET, HEAD), so the watch may listen at once."""
        self._bodiless = bodiless
        try:
            result, left = await watched(work, self._gone, after=WATCH_AFTER)
        except Exception:
            if self.disconnected:  # the failure is the client's leaving: nobody to answer
                return None
            raise
        return None if left or self.disconnected else result

    async def _gone(self) -> bool:
        """Whether the client left: waits for the body to be read, then for the server's next
        message, which is the disconnect."""
        if self._bodiless:
            await self._read_body()
        else:
            await self._wait_body_read()
        # After the body, a server's `receive` blocks until the client leaves. Anything
        # else means a caller off the spec: stop watching rather than spin.
        if not self.disconnected:
            message = await self._receive()
            self.disconnected = message["type"] == "http.disconnect"
        return self.disconnected
