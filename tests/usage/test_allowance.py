"""The quota allowance: calls of a daily quota reserved in blocks, so most calls take no store
round trip, while the store's counter never admits more than the quota and ends exact."""

from __future__ import annotations

import pytest

from authai_embed.stores.memory import MemoryStore
from authai_embed.usage.allowance import SHARE, Allowance
from authai_embed.usage.ledger import UsageLedger
from authai_embed.usage.quotas import Quota

pytestmark = pytest.mark.anyio

DAY = "2026-12-06"


def process(store: MemoryStore, block: int = 16) -> tuple[Allowance, UsageLedger]:
    """One process's allowance and ledger on the shared `store`."""
    ledger = UsageLedger(store, flush_seconds=3600, flush_calls=10**9)
    return Allowance(store, ledger, block), ledger


async def counter(store: MemoryStore, user: str = "u1") -> tuple[int, int]:
    """The user's counter today (a reservation of nothing reads it)."""
    found = await store.reserve_quota(user, DAY, 0, 0, None, None)
    assert found is not None
    return found.requests, found.tokens


async def test_most_calls_take_no_store_round_trip_and_the_counter_ends_exact() -> None:
    store = MemoryStore()
    allowance, ledger = process(store)
    quota = Quota(requests_per_day=10**6, tokens_per_day=10**9)
    assert all([await allowance.take("u1", DAY, 100, quota) for _ in range(200)])
    assert allowance.reservations <= 2 + 200 // 16
    assert (await counter(store))[0] >= 200  # reserved ahead
    await ledger.stop()  # the shutdown flush hands back what was not used
    assert await counter(store) == (200, 200 * 100)


async def test_every_call_reserves_its_own_with_one_call_per_reservation() -> None:
    store = MemoryStore()
    allowance, _ = process(store, block=1)
    quota = Quota(requests_per_day=10**6)
    for _ in range(20):
        assert await allowance.take("u1", DAY, 10, quota)
    assert allowance.reservations == 20
    assert await counter(store) == (20, 200)


async def test_near_the_limit_blocks_shrink_to_one_call() -> None:
    store = MemoryStore()
    allowance, _ = process(store)
    quota = Quota(requests_per_day=2 * SHARE)
    admitted = 0
    while await allowance.take("u1", DAY, 1, quota):
        admitted += 1
        held = await counter(store)
        left = quota.requests_per_day - held[0]  # type: ignore[operator]
        assert held[0] - admitted <= max(0, left // SHARE + 1)  # ahead: a share of what is left
    assert admitted == 2 * SHARE


async def test_processes_sharing_a_counter_admit_exactly_the_quota() -> None:
    store = MemoryStore()
    processes = [process(store) for _ in range(3)]
    quota = Quota(requests_per_day=1000)
    admitted, refused = 0, [False] * 3
    while not all(refused):  # round robin, each until the store refuses it
        for n, (allowance, _) in enumerate(processes):
            if await allowance.take("u1", DAY, 5, quota):
                admitted += 1
                refused = [False] * 3
            else:
                refused[n] = True
    assert admitted == 1000
    assert sum(a.reservations for a, _ in processes) < 1000 // 2
    for _, ledger in processes:
        await ledger.stop()
    assert await counter(store) == (1000, 5000)


async def test_a_token_quota_is_never_exceeded() -> None:
    store = MemoryStore()
    allowance, ledger = process(store)
    quota = Quota(tokens_per_day=10_000)
    admitted = 0
    while await allowance.take("u1", DAY, 70, quota):
        admitted += 1
    assert admitted == 10_000 // 70
    await ledger.stop()
    assert await counter(store) == (admitted, admitted * 70)


async def test_what_is_left_unused_goes_back_after_one_flush_interval() -> None:
    store = MemoryStore()
    allowance, ledger = process(store)
    quota = Quota(requests_per_day=10**6)
    for _ in range(3):  # the first reservation is exact; it tells how much is left
        assert await allowance.take("u1", DAY, 10, quota)
    assert (await counter(store))[0] > 3
    await ledger.flush()  # used since the previous flush: kept
    assert (await counter(store))[0] > 3
    await ledger.flush()  # unused for a whole interval: handed back
    assert await counter(store) == (3, 30)


async def test_an_unbounded_dimension_is_still_counted_exactly() -> None:
    store = MemoryStore()
    allowance, ledger = process(store)
    quota = Quota(tokens_per_day=10**9)  # calls are not bounded, yet counted
    for size in range(1, 51):
        assert await allowance.take("u1", DAY, size, quota)
    await ledger.stop()
    assert await counter(store) == (50, sum(range(1, 51)))


async def test_one_users_allowance_never_serves_another() -> None:
    store = MemoryStore()
    allowance, _ = process(store)
    big, small = Quota(requests_per_day=10**6), Quota(requests_per_day=1)
    for _ in range(5):
        assert await allowance.take("rich", DAY, 1, big)
    assert await allowance.take("poor", DAY, 1, small)
    assert not await allowance.take("poor", DAY, 1, small)
    assert await counter(store, "poor") == (1, 1)


async def test_a_block_handed_back_while_the_store_answers_is_reserved_again() -> None:
    """Two flushes while a reservation is on its way hand the user's spare calls back: the call
    waiting on it must not be admitted on calls this process no longer holds."""
    store = MemoryStore()
    allowance, ledger = process(store)
    quota = Quota(requests_per_day=2000, tokens_per_day=10**9)
    for _ in range(3):  # the second reservation is a block of 16: 14 spare calls are held
        assert await allowance.take("u1", DAY, 10, quota)
    assert await store.reserve_quota("u1", DAY, 1900, 0, None, None)  # another process
    assert await allowance.take("u1", DAY, 10**6, quota)  # tokens short: learns 81 calls left
    reserve = store.reserve_quota

    async def slow(*args: object) -> object:
        store.reserve_quota = reserve  # type: ignore[method-assign]
        await ledger.flush()  # the first marks the entry unused ...
        await ledger.flush()  # ... the second hands its spare calls back
        return await reserve(*args)  # type: ignore[arg-type]

    store.reserve_quota = slow  # type: ignore[method-assign,assignment]
    # Tokens short again, calls held: a tokens-only reservation, while the calls go back.
    assert await allowance.take("u1", DAY, 10**8, quota)
    assert (await counter(store))[0] >= 1900 + 5  # every call admitted so far is on it
    await ledger.stop()
    assert await counter(store) == (1900 + 5, 30 + 10**6 + 10**8)  # every admitted call counted
