"""The usage ledger and quota counters of every store (memory, SQLite, PostgreSQL): the same
suite over each, through the `store` fixture of `test_stores.py`."""

from __future__ import annotations

import pytest

from authai_embed.stores import UsageRow
from authai_embed.stores.base import QuotaCounter
from tests.stores.test_stores import ConcreteStore, anyio_backend, store

__all__ = ["anyio_backend", "store"]

pytestmark = pytest.mark.anyio


def row(
    user: str = "u1", day: str = "2026-12-05", model: str = "gpt-5.4", **counts: int
) -> UsageRow:
    return UsageRow(user, "openai", model, day, **counts)


async def test_usage_rows_of_one_key_add_up(store: ConcreteStore) -> None:
    await store.add_usage([row(requests=1, input_tokens=10, output_tokens=3)])
    await store.add_usage(
        [
            row(
                requests=2,
                input_tokens=5,
                cached_input_tokens=4,
                reasoning_tokens=2,
                errors=1,
                rate_limited=1,
            )
        ]
    )
    assert await store.get_usage("u1", "2026-12-05", "2026-12-05") == [
        row(
            requests=3,
            input_tokens=15,
            cached_input_tokens=4,
            output_tokens=3,
            reasoning_tokens=2,
            errors=1,
            rate_limited=1,
        )
    ]


async def test_usage_is_read_per_user_and_day_range(store: ConcreteStore) -> None:
    await store.add_usage(
        [
            row("u1", "2026-12-03", requests=1),
            row("u1", "2026-12-04", requests=2),
            row("u1", "2026-12-04", model="other", requests=3),
            row("u2", "2026-12-04", requests=4),
            row("u1", "2026-12-06", requests=5),
        ]
    )
    mine = await store.get_usage("u1", "2026-12-04", "2026-12-05")
    assert [(r.day, r.model, r.requests) for r in mine] == [
        ("2026-12-04", "gpt-5.4", 2),
        ("2026-12-04", "other", 3),
    ]
    everyone = await store.get_usage(None, "2026-12-04", "2026-12-04")
    assert [(r.user_id, r.requests) for r in everyone] == [("u1", 2), ("u1", 3), ("u2", 4)]


async def test_a_quota_reservation_stops_at_its_bounds(store: ConcreteStore) -> None:
    day = "2026-12-05"
    assert [await store.reserve_quota("u1", day, 1, 10, 2, None) for _ in range(3)] == [
        QuotaCounter(1, 10),
        QuotaCounter(2, 20),
        None,
    ]
    assert await store.reserve_quota("u2", day, 1, 10, 2, None)  # another user's counter
    assert await store.reserve_quota("u1", "2026-12-06", 1, 10, 2, None)  # another day's
    assert await store.reserve_quota("u3", day, 1, 101, None, 100) is None  # too big alone
    assert await store.reserve_quota("u3", day, 1, 60, None, 100) == QuotaCounter(1, 60)
    assert await store.reserve_quota("u3", day, 1, 41, None, 100) is None
    assert await store.reserve_quota("u3", day, 1, 40, None, 100) == QuotaCounter(2, 100)


async def test_a_reservation_may_count_many_calls_or_tokens_only(store: ConcreteStore) -> None:
    day = "2026-12-05"
    assert await store.reserve_quota("u1", day, 5, 50, 4, None) is None  # 5 calls do not fit
    assert await store.reserve_quota("u1", day, 4, 40, 4, None) == QuotaCounter(4, 40)
    assert await store.reserve_quota("u1", day, 0, 5, 4, 50) == QuotaCounter(4, 45)
    assert await store.reserve_quota("u1", day, 1, 0, 4, None) is None


async def test_settlements_free_or_use_quota(store: ConcreteStore) -> None:
    day = "2026-12-05"
    assert await store.reserve_quota("u1", day, 1, 80, None, 100)
    await store.add_usage([], [("u1", day, 0, -70)])  # the call used 10, not 80
    assert await store.reserve_quota("u1", day, 1, 80, None, 100) == QuotaCounter(2, 90)
    await store.add_usage([], [("u1", day, -1, -1000)])  # never below zero
    assert await store.reserve_quota("u1", day, 1, 100, None, 100) == QuotaCounter(2, 100)
    assert await store.reserve_quota("u1", day, 1, 1, None, 100) is None
    await store.add_usage([], [("u1", day, -5, 0), ("u9", day, 3, 3)])  # u9 has no counter
    assert await store.reserve_quota("u1", day, 2, 0, 2, None) == QuotaCounter(2, 100)
    assert await store.reserve_quota("u9", day, 1, 1, 1, 1) == QuotaCounter(1, 1)


async def test_sweep_usage_drops_old_days_only(store: ConcreteStore) -> None:
    await store.add_usage([row(day="2026-11-01", requests=1), row(day="2026-12-05", requests=1)])
    assert await store.reserve_quota("u1", "2026-11-01", 1, 1, None, None)
    assert await store.reserve_quota("u1", "2026-12-05", 1, 1, None, None)
    assert await store.sweep_usage("2026-12-01") == 2
    assert [r.day for r in await store.get_usage(None, "2000-01-01", "2100-01-01")] == [
        "2026-12-05"
    ]
    stayed = await store.reserve_quota("u1", "2026-12-05", 1, 1, 1, None)
    assert stayed is None  # its counter stayed
