"""The usage ledger: each model call is added up in memory and written in batches.

A call costs no store round trip: its counts join an in-memory row per user, provider, model
and UTC day, and the rows (with the quota counters' settlements) are written in one
transaction every `flush_seconds`, as soon as `flush_calls` calls have been counted, and at
shutdown. A process that dies without shutting down loses what it counted since its last flush.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from authai_embed._util.logs import get_logger
from authai_embed.errors import AuthAIError
from authai_embed.stores.base import AuthStore, UsageRow

__all__ = ["UsageLedger"]

logger = get_logger("usage")

_Key = tuple[str, str, str, str]  # user, provider, model, day
_MAX_HELD = 100_000  # rows kept for a retry while the store is down; beyond, the oldest go


class UsageLedger:
    """Counts calls in memory and flushes them to `store`. One per `AuthAI`."""

    __slots__ = (
        "_calls",
        "_flusher",
        "_flushing",
        "_interval",
        "_rows",
        "_settle",
        "_store",
        "_threshold",
        "_timer",
        "before_flush",
        "flushes",
    )

    def __init__(self, store: AuthStore, *, flush_seconds: float, flush_calls: int) -> None:
        self._store = store
        self._interval = flush_seconds
        self._threshold = flush_calls
        self._rows: dict[_Key, list[int]] = {}
        self._settle: dict[tuple[str, str], list[int]] = {}  # (user, day): [requests, tokens]
        self._calls = 0
        self._flushing = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0
        """How many batches were written (the bench reports store writes per call)."""
        self.before_flush: Callable[[bool], None] | None = None
        """Called at the start of each flush, with `True` for the shutdown flush (the quota
        allowance hands back what it holds)."""

    def add(self, key: _Key, counts: tuple[int, ...], settle_tokens: int | None) -> None:
        """Count one call (`counts` in `USAGE_COUNTS` order); `settle_tokens`, when a quota
        reservation was made, is what to add to (or take off) the user's day counter."""
        held = self._rows.get(key)
        if held is None:
            self._rows[key] = list(counts)
        else:
            for i, value in enumerate(counts):
                held[i] += value
        if settle_tokens:
            self.settle(key[0], key[3], 0, settle_tokens)
        self._calls += 1
        if self._calls >= self._threshold and self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    def settle(self, user_id: str, day: str, requests: int, tokens: int) -> None:
        """Add `requests` and `tokens` (either may be negative) to the user's quota counter for
        `day` at the next flush."""
        held = self._settle.setdefault((user_id, day), [0, 0])
        held[0] += requests
        held[1] += tokens

    @property
    def pending_flush(self) -> asyncio.Task[None] | None:
        """The flush started because `flush_calls` calls were counted, while it runs."""
        return self._flusher

    async def flush(self) -> None:
        """Write what is held, in one transaction. On a store failure it is kept for the next
        flush and the failure is logged (a caller of `AuthAI.usage` sees the `StoreError`)."""
        await self._flush(final=False)

    async def _flush(self, *, final: bool) -> None:
        async with self._flushing:
            if self.before_flush is not None:
                self.before_flush(final)
            if not self._rows and not self._settle:
                return
            rows, self._rows = self._rows, {}
            settle, self._settle = self._settle, {}
            self._calls = 0
            batch = [UsageRow(*key, *counts) for key, counts in rows.items()]
            counters = [(user, day, r, t) for (user, day), (r, t) in settle.items() if r or t]
            try:
                await self._store.add_usage(batch, counters)
            except BaseException:
                self._keep(rows, settle)
                raise
            self.flushes += 1

    async def start(self) -> None:
        """Start the periodic flush (on the running event loop)."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._flush_every())

    async def stop(self) -> None:
        """Stop the periodic flush and write what is held (the shutdown flush)."""
        for task in (self._timer, self._flusher):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._timer = self._flusher = None
        await self._flush(final=True)

    def _keep(self, rows: dict[_Key, list[int]], settle: dict[tuple[str, str], list[int]]) -> None:
        """Put a batch that could not be written back in front of what came meanwhile."""
        for key, counts in rows.items():
            held = self._rows.setdefault(key, [0] * len(counts))
            for i, value in enumerate(counts):
                held[i] += value
        for (user, day), (requests, tokens) in settle.items():
            self.settle(user, day, requests, tokens)
        while len(self._rows) > _MAX_HELD:
            del self._rows[next(iter(self._rows))]

    async def _flush_soon(self) -> None:
        try:
            await self._quiet_flush()
        finally:
            self._flusher = None

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._quiet_flush()

    async def _quiet_flush(self) -> None:
        try:
            await self.flush()
        except AuthAIError as exc:
            logger.warning("usage ledger flush failed, will retry: %s", exc)
