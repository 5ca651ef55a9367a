"""`SQLiteStore`: the default store, one file, safe across processes on one host.

Writes go through `anyio.to_thread` (which waits for the thread even when cancelled), reads
through the store's own `ReaderThread`, except a point read by key (the record every proxied
request reads): it runs on the caller's thread on a read-only connection that never waits. It
costs a few microseconds there, against about a hundred for the hop to a thread and back, and
when it would have to wait (a lock held elsewhere) it goes to the thread instead (`_read_now`).
WAL mode, a busy timeout and `BEGIN IMMEDIATE` writes make concurrent writers queue instead of
failing; migrations run once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from authai_embed._util.loop import running_loop
from authai_embed.errors import ConfigError, StoreError
from authai_embed.stores._reader import ReaderThread
from authai_embed.stores.base import (
    USAGE_COUNTS,
    AuditEntry,
    Control,
    PendingLogin,
    QuotaCounter,
    Record,
    UsageRow,
    UserSummary,
    check_swap_version,
)

__all__ = ["DEFAULT_CACHE_KIB", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

T = TypeVar("T")

# Migration n (1-based) is MIGRATIONS[n - 1]: its statements, run in one transaction that also
# sets `PRAGMA user_version = n`. Only ever append; a released step never changes.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: records, pending logins, leases.
        """CREATE TABLE records (
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
        )""",
        "CREATE INDEX records_expires_at ON records (expires_at)",
        """CREATE TABLE pending_logins (
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
        )""",
        "CREATE INDEX pending_logins_expires_at ON pending_logins (expires_at)",
        "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)",
    ),
    (  # 2: one record per session, not per account; a session's label and last use.
        # SQLite cannot drop a UNIQUE constraint, so the table is rebuilt with the same rows.
        """CREATE TABLE records_v2 (
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
            label TEXT,
            last_used_at REAL
        )""",
        """INSERT INTO records_v2 (id, app_id, provider, account_id_hash, iv, blob, version,
            access_expires_at, created_at, updated_at, expires_at)
        SELECT id, app_id, provider, account_id_hash, iv, blob, version,
            access_expires_at, created_at, updated_at, expires_at FROM records""",
        "DROP TABLE records",
        "ALTER TABLE records_v2 RENAME TO records",
        "CREATE INDEX records_expires_at ON records (expires_at)",
        "CREATE INDEX records_user ON records (app_id, account_id_hash, created_at)",
    ),
    (  # 3: the kill switch's controls and the admin audit log.
        """CREATE TABLE controls (
            app_id TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,
            until REAL,
            set_by TEXT NOT NULL,
            set_at REAL NOT NULL,
            PRIMARY KEY (app_id, name)
        )""",
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app_id TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT
        )""",
        "CREATE INDEX audit_log_at ON audit_log (app_id, at)",
    ),
    (  # 4: the usage ledger and the per-user daily quota counters.
        """CREATE TABLE usage_days (
            user_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            day TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cached_input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            rate_limited INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, day, provider, model)
        )""",
        "CREATE INDEX usage_days_day ON usage_days (day)",
        """CREATE TABLE quota_days (
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            requests INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            PRIMARY KEY (user_id, day)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_MEMORY = ":memory:"
_RECORD_FIELDS = tuple(f.name for f in fields(Record))
_PENDING_FIELDS = tuple(f.name for f in fields(PendingLogin))
# A compare-and-swap writes every other column; these keep the values of the first put (or of
# their own writes: `touch_record`, `label_record`).
_IDENTITY = frozenset(
    {"id", "app_id", "provider", "account_id_hash", "created_at", "label", "last_used_at"}
)
_RECORD_SWAPPED = tuple(n for n in _RECORD_FIELDS if n not in _IDENTITY)
_PENDING_SWAPPED = tuple(n for n in _PENDING_FIELDS if n not in _IDENTITY)
_BLOBS = frozenset({"iv", "blob"})


def _value(row: Record | PendingLogin, name: str) -> Any:
    """A column value; `app_id` None is stored as '' so the UNIQUE index treats it as a value."""
    value = getattr(row, name)
    return "" if name == "app_id" and value is None else value


def _from_row(cls: type[T], names: tuple[str, ...], row: Any) -> T:
    """Rebuild a dataclass from a row selected in `names` order."""
    values: dict[str, Any] = dict(zip(names, row, strict=True))
    values["app_id"] = values["app_id"] or None
    for name in _BLOBS:
        values[name] = bytes(values[name])
    return cls(**values)


def _insert(table: str, names: tuple[str, ...], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({', '.join(names)}) VALUES ({','.join('?' * len(names))})"


def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` in `BEGIN IMMEDIATE`: the write lock is taken first (waiting up to the busy
    timeout), so a transaction never fails half-way because another process wrote meanwhile."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result


_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
"""What a read with no busy timeout answers when it would have had to wait."""

DEFAULT_CACHE_KIB = 128
"""SQLite's own page cache per store. A request reads one record by its key: a few pages of a
B-tree, whose upper pages stay cached; the rest comes from the OS's cache of the file in
microseconds. SQLite's default (2 MB) mostly held pages the OS holds too, and made a worker's
memory grow for as long as the file did (docs/operations.md)."""


class SQLiteStore:
    """Credential store in one SQLite file (`":memory:"` for a throwaway one).

    `cache_kib` bounds SQLite's page cache (`PRAGMA cache_size`); raise it for a store read
    by many processes' worth of users when the OS has little memory to cache the file.

    `inline_reads` (default on) reads a record by its key on the calling thread, without
    waiting for any lock (see the module's docstring); turn it off to send every read to the
    store's thread, for a file on storage whose reads can stall (a network filesystem).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        cache_kib: int = DEFAULT_CACHE_KIB,
        inline_reads: bool = True,
    ) -> None:
        if not isinstance(cache_kib, int) or isinstance(cache_kib, bool) or cache_kib < 16:
            raise ConfigError("SQLiteStore cache_kib must be an integer of at least 16 (KiB)")
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.cache_kib = cache_kib
        self.inline_reads = inline_reads
        self._conn: sqlite3.Connection | None = None
        # One connection shared by the worker threads; the lock makes its use one at a time.
        self._lock = threading.Lock()
        self._reader = ReaderThread("authai-sqlite")
        # The point reads' own connection (a file store with `inline_reads`): read-only, with no
        # busy timeout, used by whichever thread takes `_now_lock` without waiting.
        self._now: sqlite3.Connection | None = None
        self._now_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        # SQLite's messages name tables and columns, never bound values, so no row data leaks.
        cause = f"{type(exc).__name__}: {exc}"
        if what == "open":
            return StoreError(f"cannot open SQLite store {self.path}: {cause}")
        return StoreError(f"SQLite store {self.path}: {what} failed: {cause}")

    async def _call(
        self,
        what: str,
        work: Callable[[sqlite3.Connection], T],
        *,
        write: bool = True,
        hot: bool = False,
    ) -> T:
        """Run `work` on the connection in a worker thread (in a write transaction if `write`).
        Reads, and `hot` writes (one small transaction on a request's path), go through the
        store's own thread; a cancelled caller stops waiting but the transaction still runs
        whole."""

        def call() -> T:
            with self._lock:
                conn = self._conn
                if conn is None:
                    raise StoreError(f"SQLite store {self.path} is not open: call open() first")
                try:
                    return _transaction(conn, work) if write else work(conn)
                except sqlite3.Error as exc:
                    raise self._error(what, exc) from exc

        if (hot or not write) and running_loop() is not None:  # asyncio (else anyio's threads)
            return await self._reader.run(call)
        return await anyio.to_thread.run_sync(call)

    async def _read_now(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run the point read `work` here, on the caller's thread, when it cannot wait: its
        connection is free and no lock is held on the file (`busy_timeout` 0 answers "busy" at
        once); otherwise on the store's thread like other reads (always for `:memory:`, whose
        one connection is the store's thread's)."""
        if self._now is not None and self._now_lock.acquire(blocking=False):
            try:
                conn = self._now
                if conn is not None:  # not closed meanwhile
                    return work(conn)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in _BUSY:
                    raise self._error(what, exc) from exc
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc
            finally:
                self._now_lock.release()
        return await self._call(what, work, write=False)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=self.busy_timeout,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error("open", exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if str(self.path) != _MEMORY:
                mode = self._enter_wal(conn)
                if str(mode).lower() != "wal":
                    raise StoreError(
                        f"SQLite store {self.path}: WAL journal mode is unavailable (got {mode!r});"
                        " put the file on a local filesystem"
                    )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")  # negative: KiB, not pages
            conn.execute("PRAGMA foreign_keys = ON")
            # In `BEGIN IMMEDIATE`: two processes opening one new file migrate it once.
            _transaction(conn, self._migrate)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open", exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_reads(self) -> sqlite3.Connection:
        """The point reads' connection (after `_connect`: the file exists, in WAL, migrated).
        It only reads, and never waits: `busy_timeout` 0 makes a read that would wait answer
        "busy" at once, and `_read_now` then hands the read to the store's thread."""
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error("open", exc) from exc
        try:  # `timeout=0` above is the busy timeout
            conn.execute("PRAGMA query_only = ON")
            conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open", exc) from exc
        return conn

    def _enter_wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. The switch needs the file to itself and SQLite does not run the busy
        handler for it, so when another process is opening the same new file at that moment it
        answers "locked" at once: retry (in this worker thread) until `busy_timeout` runs out."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)  # a worker thread, never the event loop
            delay = min(delay * 2, 0.1)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the migrations the file lacks (inside `_connect`'s `BEGIN IMMEDIATE`)."""
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"SQLite store {self.path} has schema version {current}, newer than the "
                f"{SCHEMA_VERSION} this authai_embed knows: upgrade authai_embed"
            )
        for number in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating it), set WAL and timeouts, run pending migrations.

        Idempotent. Raises `StoreError` if the file cannot be opened or its schema is newer than
        this version of authai_embed.
        """

        def connect() -> None:
            with self._lock:
                if self._conn is None:
                    self._conn = self._connect()
            with self._now_lock:
                if self._now is None and self.inline_reads and str(self.path) != _MEMORY:
                    self._now = self._connect_reads()

        await anyio.to_thread.run_sync(connect)

    async def close(self) -> None:
        """Close the connection. Idempotent."""

        def disconnect() -> None:
            with self._now_lock:
                now, self._now = self._now, None
                if now is not None:
                    now.close()
            with self._lock:
                conn, self._conn = self._conn, None
                if conn is not None:
                    conn.close()

        await anyio.to_thread.run_sync(disconnect)
        self._reader.close()

    async def schema_version(self) -> int:
        """The schema version of the open file."""
        return await self._call(
            "schema_version",
            lambda c: int(c.execute("PRAGMA user_version").fetchone()[0]),
            write=False,
        )

    async def counts(self) -> dict[str, int]:
        """How many records, pending logins and leases the file holds."""

        def count(conn: sqlite3.Connection) -> dict[str, int]:
            tables = ("records", "pending_logins", "leases")
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608

        return await self._call("counts", count, write=False)

    # -- records --------------------------------------------------------------------------

    async def put_record(self, record: Record) -> None:
        """Insert a new session record (the same record again overwrites it), in one
        transaction; an id held by another account fails on the primary key."""

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM records WHERE id = ? AND app_id = ? AND account_id_hash = ?",
                (record.id, _value(record, "app_id"), record.account_id_hash),
            )
            conn.execute(
                _insert("records", _RECORD_FIELDS),
                [_value(record, n) for n in _RECORD_FIELDS],
            )

        await self._call("put_record", put)

    async def get_record(self, record_id: str) -> Record | None:
        """The record, or `None`."""
        return await self._get("get_record", Record, "records", _RECORD_FIELDS, record_id)

    async def list_records(self, app_id: str | None, account_id_hash: str) -> list[Record]:
        """The user's records in the tenant, oldest first (one index range scan)."""
        query = (
            f"SELECT {', '.join(_RECORD_FIELDS)} FROM records"  # noqa: S608
            " WHERE app_id = ? AND account_id_hash = ? ORDER BY created_at, id"
        )

        def select(conn: sqlite3.Connection) -> list[Record]:
            rows = conn.execute(query, (app_id or "", account_id_hash)).fetchall()
            return [_from_row(Record, _RECORD_FIELDS, row) for row in rows]

        return await self._call("list_records", select, write=False)

    async def touch_record(self, record_id: str, last_used_at: float) -> None:
        """Set `last_used_at` if the record exists."""

        def touch(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE records SET last_used_at = ? WHERE id = ?", (last_used_at, record_id)
            )

        await self._call("touch_record", touch)

    async def label_record(self, record_id: str, label: str | None) -> bool:
        """Set `label`; return whether the record exists."""

        def label_it(conn: sqlite3.Connection) -> bool:
            query = "UPDATE records SET label = ? WHERE id = ?"
            return conn.execute(query, (label, record_id)).rowcount == 1

        return await self._call("label_record", label_it)

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Compare-and-swap the sealed blob and timestamps on `version`.

        Raises `ValueError` unless `record.version == expected_version + 1`.
        """
        check_swap_version(record.version, expected_version)
        return await self._swap("swap_record", "records", _RECORD_SWAPPED, record, expected_version)

    async def delete_record(self, record_id: str) -> bool:
        """Delete; return whether it existed."""

        def delete(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount == 1

        return await self._call("delete_record", delete)

    # -- pending logins -------------------------------------------------------------------

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a pending login."""

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                _insert("pending_logins", _PENDING_FIELDS, "INSERT OR REPLACE"),
                [_value(login, n) for n in _PENDING_FIELDS],
            )

        await self._call("put_pending", put)

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login, or `None`."""
        return await self._get(
            "get_pending", PendingLogin, "pending_logins", _PENDING_FIELDS, login_id
        )

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap on `version`.

        Raises `ValueError` unless `login.version == expected_version + 1`.
        """
        check_swap_version(login.version, expected_version)
        return await self._swap(
            "swap_pending", "pending_logins", _PENDING_SWAPPED, login, expected_version
        )

    async def _get(
        self, what: str, cls: type[T], table: str, names: tuple[str, ...], row_id: str
    ) -> T | None:
        query = f"SELECT {', '.join(names)} FROM {table} WHERE id = ?"  # noqa: S608

        def get(conn: sqlite3.Connection) -> T | None:
            row = conn.execute(query, (row_id,)).fetchone()
            return None if row is None else _from_row(cls, names, row)

        return await self._read_now(what, get)

    async def _swap(
        self,
        what: str,
        table: str,
        names: tuple[str, ...],
        row: Record | PendingLogin,
        expected_version: int,
    ) -> bool:
        assignments = ", ".join(f"{n} = ?" for n in names)
        query = f"UPDATE {table} SET {assignments} WHERE id = ? AND version = ?"  # noqa: S608
        params = [*(_value(row, n) for n in names), row.id, expected_version]

        def swap(conn: sqlite3.Connection) -> bool:
            return conn.execute(query, params).rowcount == 1

        return await self._call(what, swap)

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

        return await self._call("acquire_lease", acquire)

    async def release_lease(self, name: str, owner: str) -> None:
        """Release if `owner` holds it."""

        def release(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

        await self._call("release_lease", release)

    async def sweep(self, now: float) -> int:
        """Delete expired records, pending logins and leases; return the number of rows.

        Records and pending logins go when `expires_at < now`; a lease goes when `until <= now`,
        the moment another owner could take it.
        """

        def sweep(conn: sqlite3.Connection) -> int:
            gone = conn.execute("DELETE FROM records WHERE expires_at < ?", (now,)).rowcount
            gone += conn.execute("DELETE FROM pending_logins WHERE expires_at < ?", (now,)).rowcount
            gone += conn.execute("DELETE FROM leases WHERE until <= ?", (now,)).rowcount
            return gone

        return await self._call("sweep", sweep)

    # -- admin: users, the kill switch's controls, the audit log ---------------------------

    async def list_users(
        self, app_id: str | None, *, created_after: float, limit: int
    ) -> list[UserSummary]:
        """The tenant's users with a live record, most recently used first."""
        query = (
            "SELECT account_id_hash, provider, min(created_at),"
            " max(coalesce(last_used_at, created_at)), count(*) FROM records"
            " WHERE app_id = ? AND created_at > ? GROUP BY account_id_hash, provider"
            " ORDER BY 4 DESC, 1, 2 LIMIT ?"
        )

        def select(conn: sqlite3.Connection) -> list[UserSummary]:
            rows = conn.execute(query, (app_id or "", created_after, limit)).fetchall()
            return [UserSummary(*row) for row in rows]

        return await self._call("list_users", select, write=False)

    async def put_control(self, app_id: str | None, control: Control) -> None:
        """Set a control, replacing the one of that name."""

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO controls (app_id, name, until, set_by, set_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (app_id or "", control.name, control.until, control.set_by, control.set_at),
            )

        await self._call("put_control", put)

    async def delete_control(self, app_id: str | None, name: str) -> bool:
        """Lift a control; return whether it was set."""

        def delete(conn: sqlite3.Connection) -> bool:
            query = "DELETE FROM controls WHERE app_id = ? AND name = ?"
            return conn.execute(query, (app_id or "", name)).rowcount == 1

        return await self._call("delete_control", delete)

    async def list_controls(self, app_id: str | None) -> list[Control]:
        """The tenant's controls, by name."""
        query = "SELECT name, until, set_by, set_at FROM controls WHERE app_id = ? ORDER BY name"

        def select(conn: sqlite3.Connection) -> list[Control]:
            return [Control(*row) for row in conn.execute(query, (app_id or "",)).fetchall()]

        return await self._call("list_controls", select, write=False)

    async def add_audit(self, app_id: str | None, entry: AuditEntry) -> None:
        """Append to the audit log."""

        def add(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO audit_log (app_id, at, actor, action, target, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (app_id or "", entry.at, entry.actor, entry.action, entry.target, entry.detail),
            )

        await self._call("add_audit", add)

    async def list_audit(self, app_id: str | None, *, since: float, limit: int) -> list[AuditEntry]:
        """The tenant's entries since `since`, oldest first (the newest `limit`)."""
        query = (
            "SELECT at, actor, action, target, detail FROM (SELECT * FROM audit_log"
            " WHERE app_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id"
        )

        def select(conn: sqlite3.Connection) -> list[AuditEntry]:
            rows = conn.execute(query, (app_id or "", since, limit)).fetchall()
            return [AuditEntry(*row) for row in rows]

        return await self._call("list_audit", select, write=False)

    # -- usage ledger and quotas ----------------------------------------------------------

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_settle: Sequence[tuple[str, str, int, int]] = ()
    ) -> None:
        """Sum `rows` into the ledger and `quota_settle` into the quota counters, in one
        transaction."""
        add = [(*_usage_key(r), *(getattr(r, n) for n in USAGE_COUNTS)) for r in rows]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(_USAGE_UPSERT, add)
            conn.executemany(_QUOTA_SETTLE, [(r, t, u, d) for u, d, r, t in quota_settle])

        await self._call("add_usage", write)

    async def get_usage(self, user_id: str | None, since: str, until: str) -> list[UsageRow]:
        """The rows of `user_id` (or everyone) from `since` to `until`, days included."""
        who = "" if user_id is None else " AND user_id = ?"
        query = (
            f"SELECT {', '.join(_USAGE_FIELDS)} FROM usage_days"  # noqa: S608
            f" WHERE day >= ? AND day <= ?{who} ORDER BY day, user_id, provider, model"
        )
        params = (since, until) if user_id is None else (since, until, user_id)

        def read(conn: sqlite3.Connection) -> list[UsageRow]:
            return [UsageRow(*row) for row in conn.execute(query, params)]

        return await self._call("get_usage", read, write=False)

    async def reserve_quota(
        self,
        user_id: str,
        day: str,
        requests: int,
        tokens: int,
        max_requests: int | None,
        max_tokens: int | None,
    ) -> QuotaCounter | None:
        """One conditional upsert: counted only if both bounds hold afterwards."""
        bounds = (user_id, day, requests, tokens, max_requests, max_tokens)

        def reserve(conn: sqlite3.Connection) -> QuotaCounter | None:
            row = conn.execute(_QUOTA_RESERVE, bounds).fetchone()
            return None if row is None else QuotaCounter(*row)

        return await self._call("reserve_quota", reserve, hot=True)

    async def sweep_usage(self, before_day: str) -> int:
        """Delete usage rows and quota counters of days before `before_day`."""

        def sweep(conn: sqlite3.Connection) -> int:
            gone = conn.execute("DELETE FROM usage_days WHERE day < ?", (before_day,)).rowcount
            return (
                gone + conn.execute("DELETE FROM quota_days WHERE day < ?", (before_day,)).rowcount
            )

        return await self._call("sweep_usage", sweep)


_USAGE_FIELDS = tuple(f.name for f in fields(UsageRow))


def _usage_key(row: UsageRow) -> tuple[str, str, str, str]:
    return (row.user_id, row.provider, row.model, row.day)


_USAGE_UPSERT = (
    _insert("usage_days", _USAGE_FIELDS)
    + " ON CONFLICT (user_id, day, provider, model) DO UPDATE SET "
    + ", ".join(f"{n} = {n} + excluded.{n}" for n in USAGE_COUNTS)
)
# A settlement may take calls and tokens back: a counter never goes below zero.
_QUOTA_SETTLE = (
    "UPDATE quota_days SET requests = max(0, requests + ?), tokens = max(0, tokens + ?)"
    " WHERE user_id = ? AND day = ?"
)
# The row is inserted only when the requests and tokens fit on their own; an existing row is
# updated only when its sums still fit. `?5`/`?6` NULL mean no bound.
_QUOTA_RESERVE = """
INSERT INTO quota_days (user_id, day, requests, tokens)
SELECT ?1, ?2, ?3, ?4 WHERE (?5 IS NULL OR ?3 <= ?5) AND (?6 IS NULL OR ?4 <= ?6)
ON CONFLICT (user_id, day) DO UPDATE SET requests = requests + ?3, tokens = tokens + ?4
WHERE (?5 IS NULL OR quota_days.requests + ?3 <= ?5)
AND (?6 IS NULL OR quota_days.tokens + ?4 <= ?6)
RETURNING requests, tokens
"""
