"""The SQLite store's point reads (a record or pending login by its key) run on the caller's
thread, see every commit of every other connection at once, and never make the event loop wait:
a read that would wait for a lock goes to the store's thread instead."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authai_embed.errors import StoreError
from authai_embed.stores import Record, SQLiteStore

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _record(version: int = 1, blob: bytes = b"sealed") -> Record:
    return Record(
        id="rec-1",
        app_id=None,
        provider="openai",
        account_id_hash="user-1",
        iv=b"\x00" * 12,
        blob=blob,
        version=version,
        access_expires_at=NOW + 3600,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 86400,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """An open file store holding `_record()`."""
    opened = SQLiteStore(tmp_path / "s.db")
    await opened.open()
    try:
        await opened.put_record(_record())
        yield opened
    finally:
        await opened.close()


def _reading_threads(store: SQLiteStore) -> list[int]:
    """The threads that run a SELECT on `store`'s connections from now on."""
    seen: list[int] = []

    def trace(statement: str) -> None:
        if statement.startswith("SELECT"):
            seen.append(threading.get_ident())

    for conn in (store._conn, store._now):
        if conn is not None:
            conn.set_trace_callback(trace)
    return seen


async def test_a_point_read_runs_on_the_callers_thread(store: SQLiteStore) -> None:
    threads = _reading_threads(store)
    assert (await store.get_record("rec-1")) == _record()
    assert await store.get_record("missing") is None
    assert threads == [threading.get_ident()] * 2


async def test_with_inline_reads_off_every_read_goes_to_the_stores_thread(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db", inline_reads=False)
    await store.open()
    try:
        await store.put_record(_record())
        threads = _reading_threads(store)
        assert (await store.get_record("rec-1")) == _record()
        assert len(threads) == 1
        assert threads[0] != threading.get_ident()
    finally:
        await store.close()


async def test_a_point_read_sees_another_processes_commits_at_once(tmp_path: Path) -> None:
    """No read transaction is left open between reads: a refresh or a revocation made through
    another connection (another worker, the CLI) shows in the very next read."""
    path = tmp_path / "s.db"
    mine, theirs = SQLiteStore(path), SQLiteStore(path)
    await mine.open()
    await theirs.open()
    try:
        await mine.put_record(_record())
        assert (await mine.get_record("rec-1")) == _record()
        refreshed = _record(version=2, blob=b"rotated")
        assert await theirs.swap_record(refreshed, expected_version=1)
        assert (await mine.get_record("rec-1")) == refreshed
        assert await theirs.delete_record("rec-1")
        assert await mine.get_record("rec-1") is None
    finally:
        await mine.close()
        await theirs.close()


class _Refusing:
    """Stands in for the point reads' connection: every statement fails with SQLite's
    `code` (what a read with no busy timeout answers while another connection holds a lock
    that makes readers wait, such as a WAL recovery)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def execute(self, *args: object) -> sqlite3.Cursor:
        self.calls += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = self.code
        raise error

    def close(self) -> None:
        pass


async def test_a_read_that_would_wait_goes_to_the_thread_and_the_loop_runs_on(
    store: SQLiteStore,
) -> None:
    """The point read answers "busy" at once instead of waiting on the loop; the store's
    thread then waits its turn (here, for the connection another thread holds) and reads the
    record; meanwhile the loop keeps running."""
    threads = _reading_threads(store)
    refusing = _Refusing(sqlite3.SQLITE_BUSY)
    store._now = refusing  # type: ignore[assignment]
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    with store._lock:  # another thread's transaction holds the store's connection
        ticker = asyncio.create_task(tick())
        read = asyncio.create_task(store.get_record("rec-1"))
        await asyncio.sleep(0.3)
        assert not read.done()
        assert ticks >= 20  # the loop was never held by the waiting read
    assert (await asyncio.wait_for(read, 5)) == _record()
    ticker.cancel()
    assert refusing.calls == 1  # tried here first
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


async def test_a_read_that_fails_otherwise_is_a_store_error_at_once(store: SQLiteStore) -> None:
    threads = _reading_threads(store)
    store._now = _Refusing(sqlite3.SQLITE_IOERR)  # type: ignore[assignment]
    with pytest.raises(StoreError, match="get_record failed: OperationalError"):
        await store.get_record("rec-1")
    assert threads == []  # not retried on the store's thread


async def test_a_closed_store_reads_nothing_and_a_reopened_one_reads_again(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.open()
    await store.put_record(_record())
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.get_record("rec-1")
    await store.open()
    try:
        assert (await store.get_record("rec-1")) == _record()
    finally:
        await store.close()
