"""`SQLiteStore`: the default store, one file, safe across processes on one host.

Every call runs in a worker thread (`anyio.to_thread`), never on the event loop. The file is in
WAL mode with a busy timeout; every write is a `BEGIN IMMEDIATE` transaction, so concurrent
writers from several processes queue instead of failing. The schema is versioned with
`PRAGMA user_version` and migrated on `open()`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from authai_embed.errors import StoreError

from .base import PendingLogin, Record

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

T = TypeVar("T")

MIGRATIONS: Sequence[str] = (
    # 1: records, pending logins, leases.
    """
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL,
        account_id_hash TEXT NOT NULL,
        iv BLOB NOT NULL,
        blob BLOB NOT NULL,
        version INTEGER NOT NULL,
        access_expires_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        UNIQUE (app_id, account_id_hash)
    );
    CREATE INDEX records_expires_at ON records (expires_at);
    CREATE TABLE pending_logins (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL,
        iv BLOB NOT NULL,
        blob BLOB NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        interval REAL NOT NULL,
        next_poll_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        created_at REAL NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX pending_logins_expires_at ON pending_logins (expires_at);
    CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_RECORD_FIELDS = tuple(f.name for f in fields(Record))
_PENDING_FIELDS = tuple(f.name for f in fields(PendingLogin))
_RECORD_COLUMNS = ", ".join(_RECORD_FIELDS)
_PENDING_COLUMNS = ", ".join(_PENDING_FIELDS)
_BLOBS = frozenset({"iv", "blob"})


def _params(row: Record | PendingLogin, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of `row` in column order; `app_id` None is stored as '' (for UNIQUE)."""
    return tuple(
        ("" if getattr(row, n) is None else getattr(row, n)) if n == "app_id" else getattr(row, n)
        for n in names
    )


def _from_row(cls: type[T], names: tuple[str, ...], row: Any) -> T:
    """Rebuild a dataclass from a row selected in `names` order."""
    values: dict[str, Any] = dict(zip(names, row, strict=True))
    values["app_id"] = values["app_id"] or None
    for name in _BLOBS:
        values[name] = bytes(values[name])
    return cls(**values)


def _marks(names: tuple[str, ...]) -> str:
    return ",".join("?" * len(names))


def _check_version(new: int, expected: int) -> None:
    if new != expected + 1:
        raise ValueError("the written version must be expected_version + 1")


class SQLiteStore:
    """Credential store in one SQLite file (`":memory:"` for a throwaway one)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------

    async def _run(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                if self._conn is None:
                    raise StoreError(f"SQLiteStore({self.path}) is not open: call open() first")
                try:
                    return fn(self._conn)
                except sqlite3.Error as exc:
                    if self._conn.in_transaction:
                        self._conn.rollback()
                    kind = type(exc).__name__
                    raise StoreError(f"SQLite {what} failed on {self.path}: {kind}") from None

        return await anyio.to_thread.run_sync(call)

    @staticmethod
    def _write(conn: sqlite3.Connection, statements: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = statements(conn)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return result

    async def open(self) -> None:
        """Open the file (creating it), set WAL and timeouts, run pending migrations."""

        def connect() -> None:
            with self._lock:
                if self._conn is not None:
                    return
                try:
                    conn = sqlite3.connect(
                        str(self.path),
                        timeout=self.busy_timeout,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                    conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                    if str(self.path) != ":memory:":
                        conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                    conn.execute("PRAGMA foreign_keys = ON")
                    self._write(conn, _migrate)
                except sqlite3.Error as exc:
                    kind = type(exc).__name__
                    raise StoreError(f"cannot open SQLite store {self.path}: {kind}") from None
                self._conn = conn

        await anyio.to_thread.run_sync(connect)

    async def close(self) -> None:
        """Close the connection. Idempotent."""

        def disconnect() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await anyio.to_thread.run_sync(disconnect)

    async def schema_version(self) -> int:
        """The schema version of the open file."""
        return await self._run(
            "schema check", lambda c: int(c.execute("PRAGMA user_version").fetchone()[0])
        )

    async def counts(self) -> dict[str, int]:
        """How many records, pending logins and leases the file holds."""

        def count(conn: sqlite3.Connection) -> dict[str, int]:
            tables = ("records", "pending_logins", "leases")
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608

        return await self._run("count", count)

    # -- records --------------------------------------------------------------------------

    async def put_record(self, record: Record) -> None:
        """Insert, replacing the account's previous record, in one transaction."""

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM records WHERE app_id = ? AND account_id_hash = ?",
                ("" if record.app_id is None else record.app_id, record.account_id_hash),
            )
            conn.execute(
                f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES ({_marks(_RECORD_FIELDS)})",  # noqa: S608
                _params(record, _RECORD_FIELDS),
            )

        await self._run("put_record", lambda c: self._write(c, put))

    async def get_record(self, record_id: str) -> Record | None:
        """The record, or `None`."""

        def get(conn: sqlite3.Connection) -> Record | None:
            row = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE id = ?",  # noqa: S608
                (record_id,),
            ).fetchone()
            return None if row is None else _from_row(Record, _RECORD_FIELDS, row)

        return await self._run("get_record", get)

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Compare-and-swap the sealed blob and timestamps on `version`."""
        _check_version(record.version, expected_version)

        def swap(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE records SET iv = ?, blob = ?, version = ?, access_expires_at = ?, "
                "updated_at = ?, expires_at = ? WHERE id = ? AND version = ?",
                (
                    record.iv,
                    record.blob,
                    record.version,
                    record.access_expires_at,
                    record.updated_at,
                    record.expires_at,
                    record.id,
                    expected_version,
                ),
            )
            return cursor.rowcount == 1

        return await self._run("swap_record", lambda c: self._write(c, swap))

    async def delete_record(self, record_id: str) -> bool:
        """Delete; return whether it existed."""

        def delete(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount == 1

        return await self._run("delete_record", lambda c: self._write(c, delete))

    # -- pending logins -------------------------------------------------------------------

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a pending login."""

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT OR REPLACE INTO pending_logins ({_PENDING_COLUMNS}) "  # noqa: S608
                f"VALUES ({_marks(_PENDING_FIELDS)})",
                _params(login, _PENDING_FIELDS),
            )

        await self._run("put_pending", lambda c: self._write(c, put))

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login, or `None`."""

        def get(conn: sqlite3.Connection) -> PendingLogin | None:
            row = conn.execute(
                f"SELECT {_PENDING_COLUMNS} FROM pending_logins WHERE id = ?",  # noqa: S608
                (login_id,),
            ).fetchone()
            return None if row is None else _from_row(PendingLogin, _PENDING_FIELDS, row)

        return await self._run("get_pending", get)

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap on `version`."""
        _check_version(login.version, expected_version)

        def swap(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE pending_logins SET iv = ?, blob = ?, status = ?, error = ?, interval = ?, "
                "next_poll_at = ?, expires_at = ?, version = ? WHERE id = ? AND version = ?",
                (
                    login.iv,
                    login.blob,
                    login.status,
                    login.error,
                    login.interval,
                    login.next_poll_at,
                    login.expires_at,
                    login.version,
                    login.id,
                    expected_version,
                ),
            )
            return cursor.rowcount == 1

        return await self._run("swap_pending", lambda c: self._write(c, swap))

    # -- leases and sweeping --------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Take or extend the lease if free, expired at `now`, or already `owner`'s."""

        def acquire(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until "
                "WHERE leases.owner = excluded.owner OR leases.until <= ?",
                (name, owner, until, now),
            )
            return cursor.rowcount == 1

        return await self._run("acquire_lease", lambda c: self._write(c, acquire))

    async def release_lease(self, name: str, owner: str) -> None:
        """Release if `owner` holds it."""

        def release(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

        await self._run("release_lease", lambda c: self._write(c, release))

    async def sweep(self, now: float) -> int:
        """Delete expired records, pending logins and leases; return the number of rows."""

        def sweep(conn: sqlite3.Connection) -> int:
            gone = conn.execute("DELETE FROM records WHERE expires_at < ?", (now,)).rowcount
            gone += conn.execute("DELETE FROM pending_logins WHERE expires_at < ?", (now,)).rowcount
            gone += conn.execute("DELETE FROM leases WHERE until < ?", (now,)).rowcount
            return gone

        return await self._run("sweep", lambda c: self._write(c, sweep))


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the file lacks (inside the caller's `BEGIN IMMEDIATE`)."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise sqlite3.DatabaseError("the file's schema is newer than this authai_embed")
    for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
