"""`UsageLedger` on its own: counts of one key add up in memory, a batch the store refused is
kept for the next one, and settlements reach the quota counters."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from authai_embed import MemoryStore, StoreError, UsageRow
from authai_embed.usage.ledger import UsageLedger

pytestmark = pytest.mark.anyio

KEY = ("u1", "openai", "gpt-5.4", "2026-12-05")


class FlakyStore(MemoryStore):
    """A memory store whose next `fail` writes of usage raise `StoreError`."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = 0
        self.writes = 0

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_settle: Sequence[tuple[str, str, int, int]] = ()
    ) -> None:
        if self.fail:
            self.fail -= 1
            raise StoreError("down")
        self.writes += 1
        await super().add_usage(rows, quota_settle)


async def test_a_refused_batch_is_written_with_the_next() -> None:
    store = FlakyStore()
    ledger = UsageLedger(store, flush_seconds=60, flush_calls=1000)
    ledger.add(KEY, (1, 10, 0, 5, 0, 0, 0), None)
    store.fail = 1
    with pytest.raises(StoreError):
        await ledger.flush()
    ledger.add(KEY, (1, 20, 4, 6, 2, 1, 1), None)
    await ledger.flush()
    assert store.writes == 1
    assert await store.get_usage("u1", KEY[3], KEY[3]) == [UsageRow(*KEY, 2, 30, 4, 11, 2, 1, 1)]
    assert ledger.flushes == 1


async def test_settlements_reach_the_quota_counter_and_stop_flushes() -> None:
    store = FlakyStore()
    ledger = UsageLedger(store, flush_seconds=60, flush_calls=1000)
    await ledger.start()
    assert await store.reserve_quota("u1", KEY[3], 1, 90, None, 100)
    ledger.add(KEY, (1, 5, 0, 5, 0, 0, 0), -80)  # used 10 of the 90 reserved
    await ledger.stop()  # the shutdown flush
    assert store.writes == 1
    assert await store.reserve_quota("u1", KEY[3], 1, 90, None, 100)  # 10 + 90 fits
    assert await store.reserve_quota("u1", KEY[3], 1, 1, None, 100) is None
    assert [r.requests for r in await store.get_usage("u1", KEY[3], KEY[3])] == [1]
