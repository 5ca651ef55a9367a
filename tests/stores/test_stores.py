"""One behaviour suite for every credential store, then what only SQLite promises.

The `store` fixture below is parametrized over the stores; every test that takes it runs
against each. To add a store, add its name to `STORE_KINDS` and a branch in `make_store`; nothing
else changes. The PostgreSQL store is marked `postgres`: each test gets its own schema
(`authai_test_<hex>`), dropped afterwards, and a server that is not reachable skips the test
unless `AUTHAI_REQUIRE_SERVICES` is set (see `tests/_support/services.py`).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import asyncpg  # type: ignore[import-untyped]
import pytest

from authai_embed.errors import ConfigError, StoreError
from authai_embed.stores import (
    AuthStore,
    MemoryStore,
    PendingLogin,
    PostgresStore,
    Record,
    SQLiteStore,
    store_from_url,
)
from authai_embed.stores.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from authai_embed.stores.sqlite import DEFAULT_CACHE_KIB, SCHEMA_VERSION
from tests._support.processes import run_processes as spawn_processes
from tests._support.services import drop_schema, require_postgres, unique_schema

NOW = 1_800_000_000.0
# Bytes a text round trip would mangle: NUL, every byte value, invalid UTF-8.
AWKWARD = bytes(range(256)) + b"\x00\xff\xfe\x80"

# Every store the shared suite runs against.
STORE_KINDS = (
    "memory",
    "sqlite-file",
    "sqlite-memory",
    pytest.param("postgres", marks=pytest.mark.postgres),
)

# Stores with the maintenance extras (`counts`, used by `authai-embed store doctor`).
ConcreteStore = MemoryStore | SQLiteStore | PostgresStore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_store(kind: str, tmp_path: Path) -> ConcreteStore:
    """A fresh, unopened store of `kind`."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite-file":
        return SQLiteStore(tmp_path / "store.db")
    if kind == "sqlite-memory":
        return SQLiteStore(":memory:")
    if kind == "postgres":
        return PostgresStore(require_postgres(), schema=unique_schema())
    raise AssertionError(f"no factory for store kind {kind!r}")


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConcreteStore]:
    made = make_store(request.param, tmp_path)
    try:
        await made.open()
        yield made
    finally:
        await made.close()
        if isinstance(made, PostgresStore):
            await drop_schema(made.schema)


def make_record(
    *,
    app_id: str | None = None,
    account: str = "account-1",
    version: int = 1,
    expires_at: float = NOW + 3600,
    **changes: Any,
) -> Record:
    record = Record(
        id=secrets.token_hex(16),
        app_id=app_id,
        provider="openai",
        account_id_hash=account,
        iv=secrets.token_bytes(12),
        blob=secrets.token_bytes(64),
        version=version,
        access_expires_at=NOW + 600,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
    )
    return replace(record, **changes)


def make_login(*, expires_at: float = NOW + 900, **changes: Any) -> PendingLogin:
    login = PendingLogin(
        id=secrets.token_hex(32),
        app_id=None,
        provider="openai",
        iv=secrets.token_bytes(12),
        blob=secrets.token_bytes(48),
        status="pending",
        error=None,
        interval=5.0,
        next_poll_at=NOW + 5,
        expires_at=expires_at,
        created_at=NOW,
        version=1,
    )
    return replace(login, **changes)


def next_version(record: Record, blob: bytes = b"refreshed") -> Record:
    return replace(record, version=record.version + 1, blob=blob, updated_at=record.updated_at + 1)


# -- the shared suite: records ----------------------------------------------------------------


@pytest.mark.anyio
async def test_every_store_speaks_the_protocol(store: ConcreteStore) -> None:
    assert isinstance(store, AuthStore)


@pytest.mark.anyio
async def test_put_then_get_returns_the_same_record(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    assert await store.get_record(record.id) == record


@pytest.mark.anyio
async def test_binary_iv_and_blob_round_trip_exactly(store: ConcreteStore) -> None:
    record = make_record(iv=AWKWARD[:12], blob=AWKWARD * 64, access_expires_at=None)
    await store.put_record(record)
    got = await store.get_record(record.id)
    assert got is not None
    assert type(got.iv) is bytes
    assert type(got.blob) is bytes
    assert (got.iv, got.blob, got.access_expires_at) == (record.iv, record.blob, None)


@pytest.mark.anyio
async def test_a_new_record_for_the_account_keeps_the_old_one(store: ConcreteStore) -> None:
    old = make_record()
    new = make_record(blob=b"second sign-in", created_at=NOW + 1)
    await store.put_record(old)
    await store.put_record(new)
    assert await store.get_record(old.id) == old
    assert await store.get_record(new.id) == new
    assert await store.list_records(None, "account-1") == [old, new]
    assert (await store.counts())["records"] == 2


@pytest.mark.anyio
async def test_list_records_is_one_users_records_oldest_first(store: ConcreteStore) -> None:
    later = make_record(created_at=NOW + 5)
    earlier = make_record(created_at=NOW + 1)
    other_user = make_record(account="account-2")
    other_tenant = make_record(app_id="t1")
    for record in (later, earlier, other_user, other_tenant):
        await store.put_record(record)
    assert await store.list_records(None, "account-1") == [earlier, later]
    assert await store.list_records("", "account-1") == [earlier, later]
    assert await store.list_records("t1", "account-1") == [other_tenant]
    assert await store.list_records(None, "nobody") == []


@pytest.mark.anyio
async def test_touch_and_label_write_only_their_column(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    await store.touch_record(record.id, NOW + 60)
    assert await store.label_record(record.id, "Firefox on Linux") is True
    got = await store.get_record(record.id)
    assert got == replace(record, last_used_at=NOW + 60, label="Firefox on Linux")
    # A refresh's compare-and-swap keeps them, and they never bump the version.
    assert await store.swap_record(next_version(record), expected_version=1) is True
    swapped = await store.get_record(record.id)
    assert swapped is not None
    assert (swapped.version, swapped.label, swapped.last_used_at) == (
        2,
        "Firefox on Linux",
        NOW + 60,
    )
    assert await store.label_record(record.id, None) is True
    assert (await store.get_record(record.id) or record).label is None
    assert await store.label_record("missing", "x") is False
    await store.touch_record("missing", NOW)  # no error
    assert await store.get_record("missing") is None


@pytest.mark.anyio
async def test_putting_the_same_record_twice_keeps_one(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    await store.put_record(record)
    assert await store.get_record(record.id) == record
    assert (await store.counts())["records"] == 1


@pytest.mark.anyio
async def test_app_ids_keep_the_same_account_apart(store: ConcreteStore) -> None:
    default, tenant = make_record(app_id=None), make_record(app_id="t1")
    await store.put_record(default)
    await store.put_record(tenant)
    assert await store.get_record(default.id) == default
    assert await store.get_record(tenant.id) == tenant

    again = make_record(app_id="t1", blob=b"again", created_at=NOW + 1)
    await store.put_record(again)
    assert await store.list_records("t1", "account-1") == [tenant, again]
    assert await store.list_records(None, "account-1") == [default]


@pytest.mark.anyio
async def test_an_empty_app_id_is_the_default_tenant(store: ConcreteStore) -> None:
    default = make_record(app_id=None)
    await store.put_record(default)
    empty = make_record(app_id="", created_at=NOW + 1)
    await store.put_record(empty)
    assert await store.get_record(empty.id) == replace(empty, app_id=None)
    assert await store.list_records(None, "account-1") == [default, replace(empty, app_id=None)]


@pytest.mark.anyio
async def test_an_id_held_by_another_account_is_refused(store: ConcreteStore) -> None:
    first = make_record(account="account-1")
    await store.put_record(first)
    with pytest.raises(StoreError, match="put_record"):
        await store.put_record(replace(first, account_id_hash="account-2"))
    assert await store.get_record(first.id) == first


@pytest.mark.anyio
async def test_swap_writes_the_record_when_the_version_matches(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    updated = replace(next_version(record), access_expires_at=NOW + 1200, expires_at=NOW + 7200)
    assert await store.swap_record(updated, expected_version=1) is True
    assert await store.get_record(record.id) == updated


@pytest.mark.anyio
async def test_swap_never_changes_the_identity_of_a_record(store: ConcreteStore) -> None:
    record = make_record(app_id="t1")
    await store.put_record(record)
    moved = replace(
        next_version(record), app_id="t2", account_id_hash="other", provider="x", created_at=0.0
    )
    assert await store.swap_record(moved, expected_version=1) is True
    kept: dict[str, Any] = {
        "app_id": "t1",
        "account_id_hash": "account-1",
        "provider": "openai",
        "created_at": NOW,
    }
    assert await store.get_record(record.id) == replace(moved, **kept)


@pytest.mark.anyio
async def test_swap_with_a_stale_version_changes_nothing(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    assert await store.swap_record(next_version(record), expected_version=1) is True
    stale = replace(record, version=2, blob=b"loser")
    assert await store.swap_record(stale, expected_version=1) is False
    got = await store.get_record(record.id)
    assert got is not None
    assert (got.version, got.blob) == (2, b"refreshed")


@pytest.mark.anyio
async def test_swap_refuses_a_version_that_is_not_the_next(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    with pytest.raises(ValueError, match="expected_version"):
        await store.swap_record(replace(record, version=3), expected_version=1)
    with pytest.raises(ValueError, match="expected_version"):
        await store.swap_record(record, expected_version=1)
    login = make_login()
    await store.put_pending(login)
    with pytest.raises(ValueError, match="expected_version"):
        await store.swap_pending(login, expected_version=1)
    assert await store.get_record(record.id) == record
    assert await store.get_pending(login.id) == login


@pytest.mark.anyio
async def test_concurrent_swaps_of_one_version_have_exactly_one_winner(
    store: ConcreteStore,
) -> None:
    record = make_record()
    await store.put_record(record)
    wins: list[bytes] = []

    async def contend(blob: bytes) -> None:
        if await store.swap_record(next_version(record, blob), expected_version=1):
            wins.append(blob)

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(contend, f"contender {n}".encode())

    assert len(wins) == 1
    got = await store.get_record(record.id)
    assert got is not None
    assert (got.version, got.blob) == (2, wins[0])


@pytest.mark.anyio
async def test_unknown_ids_are_none_or_false(store: ConcreteStore) -> None:
    ghost = make_record()
    assert await store.get_record(ghost.id) is None
    assert await store.swap_record(next_version(ghost), expected_version=1) is False
    assert await store.delete_record(ghost.id) is False
    login = make_login()
    assert await store.get_pending(login.id) is None
    assert await store.swap_pending(replace(login, version=2), expected_version=1) is False
    assert await store.counts() == {"records": 0, "pending_logins": 0, "leases": 0}


@pytest.mark.anyio
async def test_delete_removes_the_record_and_frees_the_account(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    assert await store.delete_record(record.id) is True
    assert await store.get_record(record.id) is None
    assert await store.delete_record(record.id) is False
    again = make_record()
    await store.put_record(again)
    assert await store.get_record(again.id) == again


# -- the shared suite: pending logins ---------------------------------------------------------


@pytest.mark.anyio
async def test_pending_logins_round_trip(store: ConcreteStore) -> None:
    plain = make_login()
    tenant = make_login(app_id="t1", iv=AWKWARD[:12], blob=AWKWARD, status="error", error="denied")
    await store.put_pending(plain)
    await store.put_pending(tenant)
    assert await store.get_pending(plain.id) == plain
    assert await store.get_pending(tenant.id) == tenant


@pytest.mark.anyio
async def test_pending_swap_wins_once_and_keeps_its_identity(store: ConcreteStore) -> None:
    login = make_login()
    await store.put_pending(login)
    done = replace(
        login,
        version=2,
        status="complete",
        blob=b"sealed jwt",
        next_poll_at=NOW + 10,
        provider="ignored",
        created_at=0.0,
    )
    assert await store.swap_pending(done, expected_version=1) is True
    assert await store.get_pending(login.id) == replace(done, provider="openai", created_at=NOW)
    late = replace(login, version=2, status="expired")
    assert await store.swap_pending(late, expected_version=1) is False


@pytest.mark.anyio
async def test_concurrent_pending_swaps_have_exactly_one_winner(store: ConcreteStore) -> None:
    login = make_login()
    await store.put_pending(login)
    wins: list[float] = []

    async def contend(next_poll_at: float) -> None:
        claimed = replace(login, version=2, next_poll_at=next_poll_at)
        if await store.swap_pending(claimed, expected_version=1):
            wins.append(next_poll_at)

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(contend, NOW + n)

    assert len(wins) == 1
    got = await store.get_pending(login.id)
    assert got is not None
    assert (got.version, got.next_poll_at) == (2, wins[0])


# -- the shared suite: leases and sweeping ----------------------------------------------------


@pytest.mark.anyio
async def test_a_free_lease_is_taken_and_then_refused_to_others(store: ConcreteStore) -> None:
    assert await store.acquire_lease("refresh:r1", "a", until=NOW + 30, now=NOW) is True
    assert await store.acquire_lease("refresh:r1", "b", until=NOW + 30, now=NOW + 29) is False
    assert await store.acquire_lease("refresh:r2", "b", until=NOW + 30, now=NOW) is True


@pytest.mark.anyio
async def test_an_expired_lease_goes_to_the_next_owner(store: ConcreteStore) -> None:
    assert await store.acquire_lease("lease", "a", until=NOW + 30, now=NOW) is True
    assert await store.acquire_lease("lease", "b", until=NOW + 60, now=NOW + 30) is True
    assert await store.acquire_lease("lease", "a", until=NOW + 90, now=NOW + 31) is False


@pytest.mark.anyio
async def test_the_holder_retakes_its_lease_and_extends_it(store: ConcreteStore) -> None:
    assert await store.acquire_lease("lease", "a", until=NOW + 30, now=NOW) is True
    assert await store.acquire_lease("lease", "a", until=NOW + 60, now=NOW + 10) is True
    assert await store.acquire_lease("lease", "b", until=NOW + 90, now=NOW + 45) is False
    assert await store.acquire_lease("lease", "b", until=NOW + 90, now=NOW + 60) is True


@pytest.mark.anyio
async def test_only_the_holder_releases_a_lease(store: ConcreteStore) -> None:
    assert await store.acquire_lease("lease", "a", until=NOW + 30, now=NOW) is True
    await store.release_lease("lease", "b")
    assert await store.acquire_lease("lease", "b", until=NOW + 30, now=NOW) is False
    await store.release_lease("lease", "a")
    assert await store.acquire_lease("lease", "b", until=NOW + 30, now=NOW) is True
    await store.release_lease("never-taken", "a")


@pytest.mark.anyio
async def test_sweep_deletes_only_what_has_expired_and_counts_it(store: ConcreteStore) -> None:
    expired = make_record(account="old", expires_at=NOW - 1)
    boundary = make_record(account="boundary", expires_at=NOW)
    live = make_record(account="live", expires_at=NOW + 1)
    for record in (expired, boundary, live):
        await store.put_record(record)
    old_login, live_login = make_login(expires_at=NOW - 1), make_login(expires_at=NOW + 1)
    await store.put_pending(old_login)
    await store.put_pending(live_login)
    await store.acquire_lease("old", "a", until=NOW - 1, now=NOW - 10)
    await store.acquire_lease("ending", "a", until=NOW, now=NOW - 10)
    await store.acquire_lease("live", "a", until=NOW + 1, now=NOW)

    assert await store.sweep(NOW) == 4
    assert await store.get_record(expired.id) is None
    assert await store.get_record(boundary.id) == boundary
    assert await store.get_record(live.id) == live
    assert await store.get_pending(old_login.id) is None
    assert await store.get_pending(live_login.id) == live_login
    assert await store.acquire_lease("live", "b", until=NOW + 9, now=NOW) is False
    assert await store.counts() == {"records": 2, "pending_logins": 1, "leases": 1}
    assert await store.sweep(NOW) == 0

    # A swept account can sign in again.
    again = make_record(account="old")
    await store.put_record(again)
    assert await store.get_record(again.id) == again


@pytest.mark.anyio
async def test_open_and_close_are_idempotent(store: ConcreteStore) -> None:
    record = make_record()
    await store.put_record(record)
    await store.open()
    assert await store.get_record(record.id) == record
    await store.close()
    await store.close()


# -- SQLite only ------------------------------------------------------------------------------


async def opened(path: Path | str, **options: Any) -> SQLiteStore:
    store = SQLiteStore(path, **options)
    await store.open()
    return store


@pytest.mark.anyio
async def test_the_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = await opened(tmp_path / "wal.db")
    try:
        await store.put_record(make_record())
        with closing(sqlite3.connect(tmp_path / "wal.db")) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (tmp_path / "wal.db-wal").exists()
    finally:
        await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("cache_kib", [None, 4096])
async def test_the_page_cache_is_bounded_by_cache_kib(
    tmp_path: Path, cache_kib: int | None
) -> None:
    options = {} if cache_kib is None else {"cache_kib": cache_kib}
    store = await opened(tmp_path / "cache.db", **options)
    try:
        size = await store._call("cache", lambda c: c.execute("PRAGMA cache_size").fetchone()[0])
        assert size == -(cache_kib or DEFAULT_CACHE_KIB)  # negative: KiB
    finally:
        await store.close()


def test_a_page_cache_below_16_kib_is_a_config_error() -> None:
    for bad in (0, 15, -64, 1.5, True):
        with pytest.raises(ConfigError, match="cache_kib"):
            SQLiteStore(":memory:", cache_kib=bad)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_fresh_file_gets_the_current_schema(tmp_path: Path) -> None:
    store = await opened(tmp_path / "fresh.db")
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.counts() == {"records": 0, "pending_logins": 0, "leases": 0}
    finally:
        await store.close()


@pytest.mark.anyio
async def test_reopening_a_file_migrates_nothing_and_keeps_the_data(tmp_path: Path) -> None:
    record = make_record()
    first = await opened(tmp_path / "again.db")
    await first.put_record(record)
    await first.close()

    second = await opened(tmp_path / "again.db")
    try:
        assert await second.schema_version() == SCHEMA_VERSION
        assert await second.get_record(record.id) == record
    finally:
        await second.close()


@pytest.mark.anyio
async def test_two_stores_on_one_file_open_together_and_share_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    async with anyio.create_task_group() as group:
        for store in stores:
            group.start_soon(store.open)
    one, two = stores
    try:
        record = make_record()
        await one.put_record(record)
        assert await two.get_record(record.id) == record
        results: list[bool] = []

        async def contend(store: SQLiteStore, blob: bytes) -> None:
            results.append(await store.swap_record(next_version(record, blob), 1))

        async with anyio.create_task_group() as group:
            group.start_soon(contend, one, b"one")
            group.start_soon(contend, two, b"two")
        assert sorted(results) == [False, True]
        assert await one.schema_version() == await two.schema_version() == SCHEMA_VERSION
    finally:
        for store in stores:
            await store.close()


@pytest.mark.anyio
async def test_a_copied_store_file_keeps_its_data(tmp_path: Path) -> None:
    record, login = make_record(blob=AWKWARD), make_login()
    original = await opened(tmp_path / "original.db")
    await original.put_record(record)
    await original.put_pending(login)
    await original.close()
    shutil.copyfile(tmp_path / "original.db", tmp_path / "copy.db")

    copy = await opened(tmp_path / "copy.db")
    try:
        assert await copy.get_record(record.id) == record
        assert await copy.get_pending(login.id) == login
    finally:
        await copy.close()


@pytest.mark.anyio
async def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SQLiteStore(path)
    with pytest.raises(StoreError, match="newer"):
        await store.open()
    with pytest.raises(StoreError, match="call open"):
        await store.get_record("any")


@pytest.mark.anyio
async def test_using_a_store_before_open_or_after_close_is_a_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "unopened.db")
    with pytest.raises(StoreError, match=r"call open\(\) first"):
        await store.get_record("any")
    await store.close()
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match=r"call open\(\) first"):
        await store.put_record(make_record())


@pytest.mark.anyio
async def test_sqlite_errors_name_the_operation_and_file_not_the_data(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing-dir") as unopenable:
        await opened(tmp_path / "missing-dir" / "store.db")
    assert "open" in str(unopenable.value)

    path = tmp_path / "broken.db"
    store = await opened(path)
    try:
        with closing(sqlite3.connect(path)) as raw:
            raw.execute("DROP TABLE records")
        record = make_record(account="secret-account-hash")
        with pytest.raises(StoreError) as failed:
            await store.put_record(record)
        message = str(failed.value)
        assert "put_record" in message
        assert str(path) in message
        assert record.id not in message
        assert "secret-account-hash" not in message
        # The failed transaction was rolled back: the store still serves what remains.
        await store.put_pending(make_login())
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_file_that_is_not_a_database_is_refused_without_its_contents(
    tmp_path: Path,
) -> None:
    path = tmp_path / "junk.db"
    junk = b"NOT A DATABASE: secret-file-contents \x00\xff\xfe" * 200
    path.write_bytes(junk)
    store = SQLiteStore(path)
    with pytest.raises(StoreError) as refused:
        await store.open()
    message = str(refused.value)
    assert "open" in message
    assert str(path) in message
    assert "Traceback" not in message
    assert 'File "' not in message
    assert "secret-file-contents" not in message
    # Refused, not repaired: the file is left as it was, and the store stays unopened.
    assert path.read_bytes() == junk
    with pytest.raises(StoreError, match=r"call open\(\) first"):
        await store.get_record("any")


@pytest.mark.anyio
async def test_sqlite_memory_stores_are_separate_and_throwaway() -> None:
    one, two = await opened(":memory:"), await opened(":memory:")
    record = make_record()
    await one.put_record(record)
    assert await two.get_record(record.id) is None
    await one.close()
    await one.open()
    assert await one.get_record(record.id) is None
    await one.close()
    await two.close()


@pytest.mark.anyio
async def test_many_writes_leave_the_event_loop_running(tmp_path: Path) -> None:
    store = await opened(tmp_path / "loop.db")
    writes, ticks = 200, 0
    finished = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not finished.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async def write() -> None:
        for n in range(writes):
            await store.put_record(make_record(account=f"account-{n}"))
        finished.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            group.start_soon(write)
        # Each write waited on its worker thread, and the loop ran the ticker meanwhile.
        assert ticks >= writes
        assert (await store.counts())["records"] == writes
    finally:
        await store.close()


@pytest.mark.anyio
async def test_waiting_for_a_locked_file_leaves_the_event_loop_running(tmp_path: Path) -> None:
    """Another connection holds the write lock until a task on the loop lets go. A store that
    waited on the loop would starve that task and fail with 'database is locked'."""
    path = tmp_path / "locked.db"
    store = await opened(path, busy_timeout=10.0)
    blocker = sqlite3.connect(path, isolation_level=None)
    record = make_record()
    written = False

    async def put() -> None:
        nonlocal written
        await store.put_record(record)
        written = True

    async def let_go_later() -> None:
        for _ in range(100):
            await anyio.lowlevel.checkpoint()
        assert not written
        blocker.execute("COMMIT")

    try:
        blocker.execute("BEGIN IMMEDIATE")
        async with anyio.create_task_group() as group:
            group.start_soon(put)
            group.start_soon(let_go_later)
        assert written
        assert await store.get_record(record.id) == record
    finally:
        blocker.close()
        await store.close()


# -- SQLite across processes ------------------------------------------------------------------


def increment_in_process(path: str, record_id: str, times: int, start: Any) -> None:
    """A child process: wait for the others, then bump the record `times` times by CAS."""

    async def run() -> None:
        store = SQLiteStore(path, busy_timeout=30.0)
        await store.open()
        try:
            start.wait()
            done = 0
            while done < times:
                current = await store.get_record(record_id)
                assert current is not None
                bumped = replace(current, version=current.version + 1, blob=b"%d" % done)
                if await store.swap_record(bumped, current.version):
                    done += 1
        finally:
            await store.close()

    anyio.run(run)


def open_in_process(path: str, start: Any) -> None:
    """A child process: open (and so migrate) a fresh file at the same moment as the others."""

    async def run() -> None:
        store = SQLiteStore(path, busy_timeout=30.0)
        start.wait()
        await store.open()
        try:
            assert await store.schema_version() == SCHEMA_VERSION
            await store.put_record(make_record(account=secrets.token_hex(8)))
        finally:
            await store.close()

    anyio.run(run)


def run_processes(target: Any, args: tuple[Any, ...], count: int) -> None:
    exitcodes = spawn_processes(target, [args] * count)
    assert exitcodes == [0] * count, f"worker processes failed (exit codes {exitcodes}); see stderr"


@pytest.mark.anyio
async def test_cas_increments_from_several_processes_all_land(tmp_path: Path) -> None:
    path, processes, times = tmp_path / "shared.db", 3, 40
    store = await opened(path)
    record = make_record()
    await store.put_record(record)
    try:
        await anyio.to_thread.run_sync(
            run_processes, increment_in_process, (str(path), record.id, times), processes
        )
        got = await store.get_record(record.id)
        assert got is not None
        assert got.version == record.version + processes * times
    finally:
        await store.close()


@pytest.mark.anyio
async def test_processes_opening_a_fresh_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path, processes = tmp_path / "race.db", 4
    await anyio.to_thread.run_sync(run_processes, open_in_process, (str(path),), processes)
    store = await opened(path)
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        assert (await store.counts())["records"] == processes
    finally:
        await store.close()


# -- PostgreSQL only --------------------------------------------------------------------------


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A schema name no other test uses, dropped (with whatever was made in it) afterwards."""
    require_postgres()
    schema = unique_schema()
    try:
        yield schema
    finally:
        await drop_schema(schema)


async def pg_opened(schema: str, dsn: str | None = None, **options: Any) -> PostgresStore:
    store = PostgresStore(dsn or require_postgres(), schema=schema, **options)
    await store.open()
    return store


async def pg_fetch(query: str, *args: Any) -> list[Any]:
    """Run `query` on a connection of its own, outside any store."""
    conn = await asyncpg.connect(require_postgres())
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def migrated_versions(schema: str) -> list[int]:
    rows = await pg_fetch(f'SELECT version FROM "{schema}".schema_migrations ORDER BY version')  # noqa: S608
    return [row["version"] for row in rows]


@pytest.mark.postgres
@pytest.mark.anyio
async def test_reopening_a_postgres_schema_migrates_nothing_and_keeps_the_data(
    pg_schema: str,
) -> None:
    record = make_record(blob=AWKWARD)
    first = await pg_opened(pg_schema)
    await first.put_record(record)
    await first.close()

    second = await pg_opened(pg_schema)
    try:
        assert await second.schema_version() == PG_SCHEMA_VERSION
        assert await second.get_record(record.id) == record
        assert await migrated_versions(pg_schema) == list(range(1, PG_SCHEMA_VERSION + 1))
    finally:
        await second.close()


@pytest.mark.postgres
@pytest.mark.anyio
async def test_stores_opening_a_fresh_postgres_schema_at_once_migrate_it_once(
    pg_schema: str,
) -> None:
    stores = [PostgresStore(require_postgres(), schema=pg_schema, max_size=2) for _ in range(6)]
    try:
        async with anyio.create_task_group() as group:
            for store in stores:
                group.start_soon(store.open)
        for store in stores:
            assert await store.schema_version() == PG_SCHEMA_VERSION
        assert await migrated_versions(pg_schema) == list(range(1, PG_SCHEMA_VERSION + 1))

        # Separate pools, one database: a record put by one is swapped by exactly one of all.
        record = make_record()
        await stores[0].put_record(record)
        wins: list[bytes] = []

        async def contend(store: PostgresStore, blob: bytes) -> None:
            if await store.swap_record(next_version(record, blob), expected_version=1):
                wins.append(blob)

        async with anyio.create_task_group() as group:
            for n, store in enumerate(stores):
                group.start_soon(contend, store, b"store %d" % n)
        assert len(wins) == 1
        got = await stores[-1].get_record(record.id)
        assert got is not None
        assert (got.version, got.blob) == (2, wins[0])
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
@pytest.mark.anyio
async def test_a_postgres_schema_newer_than_the_code_is_refused(pg_schema: str) -> None:
    await (await pg_opened(pg_schema)).close()
    await pg_fetch(
        f'INSERT INTO "{pg_schema}".schema_migrations (version) VALUES ($1)',  # noqa: S608
        PG_SCHEMA_VERSION + 1,
    )
    store = PostgresStore(require_postgres(), schema=pg_schema)
    with pytest.raises(StoreError, match="newer"):
        await store.open()
    with pytest.raises(StoreError, match=r"call open\(\) first"):
        await store.get_record("any")


@pytest.mark.postgres
@pytest.mark.anyio
async def test_postgres_errors_name_the_operation_and_server_not_the_data(pg_schema: str) -> None:
    # Trust authentication ignores the password, so it can be one the message must not show.
    parts = require_postgres().split("://", 1)
    user, _, rest = parts[1].partition("@")
    dsn = f"{parts[0]}://{user}:hunter2-password@{rest}" if rest else require_postgres()
    store = await pg_opened(pg_schema, dsn)
    try:
        first = make_record(account="secret-account-hash")
        await store.put_record(first)
        with pytest.raises(StoreError) as taken:
            await store.put_record(replace(first, account_id_hash="other-secret-hash"))
        # Deliberately the wrong type, so the driver fails on a value the message must not show.
        wrong = replace(first, account_id_hash=b"secret-account-hash")  # type: ignore[arg-type]
        with pytest.raises(StoreError) as mistyped:
            await store.put_record(wrong)
        await pg_fetch(f'DROP TABLE "{pg_schema}".records')
        with pytest.raises(StoreError) as dropped:
            await store.get_record(first.id)
        failures = ((taken, "put_record"), (mistyped, "put_record"), (dropped, "get_record"))
        for failed, operation in failures:
            message = str(failed.value)
            assert operation in message
            assert store.server in message
            for secret in (first.id, "secret-account-hash", "other-secret-hash", "hunter2"):
                assert secret not in message
        # The failed transaction was rolled back and its connection went back to the pool.
        await store.put_pending(make_login())
    finally:
        await store.close()


@pytest.mark.anyio
async def test_an_unreachable_postgres_server_is_a_quick_store_error() -> None:
    store = PostgresStore("postgresql://authai:hunter2@127.0.0.1:1/authai")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1") as refused:
        await store.open()
    assert time.monotonic() - started < 6
    assert "open" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    with pytest.raises(StoreError, match=r"call open\(\) first"):
        await store.get_record("any")
    await store.close()


@pytest.mark.postgres
@pytest.mark.anyio
async def test_the_pool_reconnects_by_itself_after_its_connections_die(pg_schema: str) -> None:
    store = await pg_opened(pg_schema, min_size=1, max_size=1)
    try:
        record = make_record()
        await store.put_record(record)
        assert await store.get_record(record.id) == record
        # Kill the server side of the pool's connection (its application_name names the schema).
        killed = await pg_fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            f"authai_embed:{pg_schema}",
        )
        assert killed
        # A call may still meet the dead connection (and fail as a StoreError); the next one
        # gets a fresh connection without anyone reopening the store.
        with contextlib.suppress(StoreError):
            await store.get_record(record.id)
        assert await store.get_record(record.id) == record
    finally:
        await store.close()


def test_postgres_schema_names_are_plain_identifiers() -> None:
    for bad in ("", "1abc", "a-b", 'a"b', "a b", "x" * 64, "a;drop"):
        with pytest.raises(ConfigError, match="identifier"):
            PostgresStore("postgresql://db/x", schema=bad)
    assert PostgresStore("postgresql://db/x", schema="Tenant_1").schema == "Tenant_1"


@pytest.mark.anyio
async def test_without_asyncpg_opening_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    store = PostgresStore("postgresql://db/x")
    with pytest.raises(ConfigError, match=r"pip install 'authai-embed\[postgres\]'"):
        await store.open()


# -- store_from_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///authai.db", Path("authai.db")),
        ("sqlite:///data/authai.db", Path("data/authai.db")),
        ("sqlite:////var/lib/authai/authai.db", Path("/var/lib/authai/authai.db")),
        ("sqlite:///:memory:", Path(":memory:")),
        ("SQLite:///authai.db ", Path("authai.db")),
    ],
)
def test_sqlite_urls_name_the_file(url: str, path: Path) -> None:
    store = store_from_url(url)
    assert isinstance(store, SQLiteStore)
    assert store.path == path


@pytest.mark.parametrize("url", ["memory://", "memory:"])
def test_memory_urls_make_a_memory_store(url: str) -> None:
    assert isinstance(store_from_url(url), MemoryStore)


@pytest.mark.anyio
async def test_the_sqlite_memory_url_gives_a_working_store() -> None:
    store = store_from_url("sqlite:///:memory:")
    await store.open()
    record = make_record()
    await store.put_record(record)
    assert await store.get_record(record.id) == record
    await store.close()


@pytest.mark.parametrize(
    ("url", "dsn", "schema"),
    [
        ("postgres://u:pw@db/authai", "postgres://u:pw@db/authai", "authai"),
        ("postgresql://db:5433/authai", "postgresql://db:5433/authai", "authai"),
        ("PostgreSQL://db/authai?schema=tenant_a", "postgresql://db/authai", "tenant_a"),
        (
            "postgresql://u@db/authai?sslmode=require&schema=s1",
            "postgresql://u@db/authai?sslmode=require",
            "s1",
        ),
    ],
)
def test_postgres_urls_make_a_postgres_store_in_the_named_schema(
    url: str, dsn: str, schema: str
) -> None:
    store = store_from_url(url)
    assert isinstance(store, PostgresStore)
    assert (store.dsn, store.schema) == (dsn, schema)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("postgresql://:secret@db/x?schema=bad-name", "identifier"),
        ('postgresql://db/x?schema=a";drop', "identifier"),
        ("postgresql://db/x?schema=a&schema=b", "more than once"),
        ("postgresql:", "names no server"),
    ],
)
def test_bad_postgres_urls_are_config_errors(url: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint) as refused:
        store_from_url(url)
    assert "secret" not in str(refused.value)


@pytest.mark.postgres
@pytest.mark.anyio
async def test_the_postgres_url_gives_a_working_store() -> None:
    schema = unique_schema()
    dsn = require_postgres()
    store = store_from_url(f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}")
    try:
        await store.open()
        record = make_record(blob=AWKWARD)
        await store.put_record(record)
        assert await store.get_record(record.id) == record
    finally:
        await store.close()
        await drop_schema(schema)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("redis://:secret@localhost/0", "sqlite:///"),
        ("authai.db", "no scheme"),
        ("sqlite://:memory:", "three slashes"),
        ("sqlite://authai.db", "three slashes"),
        ("sqlite:///", "no path"),
        ("sqlite:///authai.db?mode=ro", "no query"),
        ("memory://somewhere", "memory://"),
    ],
)
def test_other_urls_are_config_errors_naming_the_accepted_forms(url: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint) as refused:
        store_from_url(url)
    assert "secret" not in str(refused.value)
