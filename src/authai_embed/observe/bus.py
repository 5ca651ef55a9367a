"""The event bus: requests drop events into a bounded queue; one background task hands them on.

A request never waits for a handler: `emit` only enqueues (a full queue drops the event, logged).
The drain task, started with the mount, awaits each handler in turn under a time bound and logs
what one raises (its type only: a handler's message is not ours to vouch for). Shutdown drains
what is queued, within a bound. docs/events.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol

from authai_embed._util.clock import Clock, SystemClock
from authai_embed._util.logs import get_logger
from authai_embed.errors import ConfigError
from authai_embed.events import Event, EventHandler, QuotaExceededEvent

__all__ = ["MAX_QUEUE", "EventBus", "Service", "handlers_of"]

logger = get_logger("events")

MAX_QUEUE: Final = 1000
"""Events waiting for the handlers at most; past it new ones are dropped (and logged)."""
HANDLER_TIMEOUT: Final = 10.0
"""Seconds one handler may take on one event before it is given up on (logged)."""
DRAIN_TIMEOUT: Final = 5.0
"""Seconds shutdown waits for queued events to be handled."""


class Service(Protocol):
    """Something with its own background task, started and stopped with the bus (webhooks)."""

    def start(self) -> None: ...

    async def stop(self, within: float) -> None: ...


def handlers_of(on_event: EventHandler | Sequence[EventHandler] | None) -> list[EventHandler]:
    """`on_event` as a list: one async callable, several, or none. `ConfigError` otherwise."""
    if on_event is None:
        return []
    wrong = ConfigError("on_event must be an async callable or a sequence of them")
    if callable(on_event):
        return [on_event]
    if not isinstance(on_event, Sequence) or not all(callable(h) for h in on_event):
        raise wrong
    return list(on_event)


class EventBus:
    """Queues events for the host's handlers (and the webhook sender) and drains them."""

    __slots__ = ("_clock", "_dropped", "_handlers", "_queue", "_services", "_task")

    def __init__(
        self,
        handlers: Sequence[EventHandler] = (),
        *,
        clock: Clock | None = None,
        services: Sequence[Service] = (),
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self._handlers = list(handlers)
        self._services = list(services)
        self._clock = clock if clock is not None else SystemClock()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    @property
    def active(self) -> bool:
        """Whether anyone listens (else `emit` does nothing, and callers may skip the work)."""
        return bool(self._handlers)

    @property
    def services(self) -> tuple[Service, ...]:
        """The services started and stopped with the bus (the webhook sender, when set)."""
        return tuple(self._services)

    @property
    def dropped(self) -> int:
        """Events dropped so far because the queue was full."""
        return self._dropped

    def now(self) -> float:
        """The time an event happens at (the mount's clock)."""
        return self._clock.now()

    def emit(self, event: Event) -> None:
        """Queue `event` for the handlers; never blocks and never raises."""
        if not self._handlers:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._dropped += 1
            dropped = self._dropped
            logger.warning("event queue full: dropped a %s event (%d so far)", event.type, dropped)

    def quota_exceeded(
        self,
        user_id: str,
        provider: str,
        quota: str,
        *,
        limit: float | None = None,
        used: float | None = None,
    ) -> None:
        """Emit `QuotaExceededEvent` for a call a host quota refused (`Metering` calls it)."""
        self.emit(QuotaExceededEvent(user_id, provider, self.now(), quota, limit, used))

    def start(self) -> None:
        """Start the drain task (and the services') on the running loop. Idempotent."""
        if self._task is None and self._handlers:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        for service in self._services:
            service.start()

    async def flush(self) -> None:
        """Wait until every queued event has been handled (tests; a graceful drain)."""
        if self._task is not None:
            await self._queue.join()

    async def stop(self, within: float = DRAIN_TIMEOUT) -> None:
        """Handle what is queued (at most `within` seconds), then stop the tasks. Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), within)
            except TimeoutError:
                left = self._queue.qsize()
                logger.warning("shutdown: %d events were not handled in time", left)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for service in self._services:
            await service.stop(within)

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                for handler in self._handlers:
                    await _call(handler, event)
            finally:
                self._queue.task_done()


async def _call(handler: Callable[[Event], Awaitable[None]], event: Event) -> None:
    """One handler on one event: bounded in time; what it raises is logged, by type only.

    The handler runs in the drain task itself, under a deadline (no task per event)."""
    try:
        async with asyncio.timeout(HANDLER_TIMEOUT):
            await handler(event)
    except TimeoutError:
        name = _name(handler)
        logger.warning("event handler %s took over %.0fs on %s", name, HANDLER_TIMEOUT, event.type)
    except Exception as exc:
        name = _name(handler)
        logger.warning("event handler %s failed on %s: %s", name, event.type, type(exc).__name__)


def _name(handler: Callable[[Event], Awaitable[None]]) -> str:
    """What the logs call `handler`."""
    return str(getattr(handler, "__qualname__", type(handler).__name__))
