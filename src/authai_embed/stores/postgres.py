"""`PostgresStore`: the store for more than one host, on an asyncpg connection pool.

It keeps SQLiteStore's rules (an empty `app_id` is the default tenant, a swap never changes a
row's identity columns, a version that is not `expected_version + 1` is a `ValueError`). Every
table lives in one schema (`authai` unless told otherwise), which `open()` migrates exactly once
however many hosts start at once (`stores/_postgres_schema.py`). asyncpg is imported by `open()`,
so the package works without the `postgres` extra until a PostgresStore is opened.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio

from authai_embed.errors import ConfigError, StoreError
from authai_embed.stores._postgres_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
    migrations_table,
)
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

# MIGRATIONS and SCHEMA_VERSION live with the schema; still importable from here.
__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]

T = TypeVar("T")

_ARGUMENT = re.compile(r"(query argument \$\d+).*", re.DOTALL)
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_RECORD_FIELDS = tuple(f.name for f in fields(Record))
_PENDING_FIELDS = tuple(f.name for f in fields(PendingLogin))
# A compare-and-swap writes every other column; these keep the values of the first put (or of
# their own writes: `touch_record`, `label_record`).
_IDENTITY = frozenset(
    {"id", "app_id", "provider", "account_id_hash", "created_at", "label", "last_used_at"}
)
_RECORD_SWAPPED = tuple(n for n in _RECORD_FIELDS if n not in _IDENTITY)
_PENDING_SWAPPED = tuple(n for n in _PENDING_FIELDS if n not in _IDENTITY)
_INSTALL_HINT = "PostgresStore needs asyncpg: pip install 'authai-embed[postgres]'"


def _value(row: Record | PendingLogin, name: str) -> Any:
    """A column value; `app_id` None is stored as '' so the UNIQUE index treats it as a value."""
    value = getattr(row, name)
    return "" if name == "app_id" and value is None else value


def _from_row(cls: type[T], row: Any) -> T:
    values: dict[str, Any] = dict(row.items())
    values["app_id"] = values["app_id"] or None
    return cls(**values)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _describe(dsn: str) -> str:
    """Host, port and database of `dsn`, never its user or password."""
    parts = urlsplit(dsn)
    hosts = parts.netloc.rpartition("@")[2] or "localhost"
    database = parts.path.lstrip("/")
    return f"{hosts}/{database}" if database else hosts


class PostgresStore:
    """Credential store in a PostgreSQL schema, shared by every host that points at it.

    `dsn` is a `postgresql://` URL as asyncpg takes it. Raises `ConfigError` for a schema name
    that is not a plain identifier. Every failure is a `StoreError` naming the operation and the
    server (never the password, never row data); an unreachable server fails within
    `connect_timeout` seconds. The pool reconnects by itself once the server is back; a call in
    flight when a connection dropped fails with `StoreError` and is not retried.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "authai",
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigError(
                f"PostgresStore schema {schema!r} is not a plain identifier: use letters, digits"
                " and underscores (at most 63), not starting with a digit"
            )
        self.dsn = dsn
        self.schema = schema
        self.min_size = min_size
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.server = _describe(dsn)
        self._pool: Any = None
        self._errors: tuple[type[BaseException], ...] = (OSError, TimeoutError)
        self._lock = anyio.Lock()
        s = f'"{schema}"'
        self._records, self._pending, self._leases = (
            f"{s}.records",
            f"{s}.pending_logins",
            f"{s}.leases",
        )
        self._migrations = migrations_table(schema)
        self._controls, self._audit = f"{s}.controls", f"{s}.audit_log"
        self._usage, self._quota = f"{s}.usage_days", f"{s}.quota_days"

    # -- plumbing -------------------------------------------------------------------------

    def _error(self, what: str, exc: BaseException) -> StoreError:
        # The primary message of a server error names constraints and types, never bound values
        # (those are in `detail`, left out); connection errors name the address at most.
        cause = getattr(exc, "message", None) or str(exc) or "no detail"
        # asyncpg's own complaint about a parameter quotes the value: keep only which one.
        cause = _ARGUMENT.sub(r"\1", cause)
        code = getattr(exc, "sqlstate", None)
        kind = type(exc).__name__ + (f" {code}" if code else "")
        if what == "open":
            return StoreError(f"cannot open PostgreSQL store at {self.server}: {kind}: {cause}")
        return StoreError(f"PostgreSQL store at {self.server}: {what} failed: {kind}: {cause}")

    async def _run(self, what: str, work: Callable[[Any], Awaitable[T]], *, tx: bool = True) -> T:
        """Run `work` on a pooled connection (in a transaction if `tx`)."""
        pool = self._pool
        if pool is None:
            raise StoreError(f"PostgreSQL store at {self.server} is not open: call open() first")
        try:
            async with pool.acquire() as conn:
                if not tx:
                    return await work(conn)
                async with conn.transaction():
                    return await work(conn)
        except self._errors as exc:
            raise self._error(what, exc) from exc

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the pool, then the schema and pending migrations.

        Idempotent. Raises `ConfigError` without asyncpg, `StoreError` if the server cannot be
        reached or the schema is newer than this version of authai_embed.
        """
        async with self._lock:
            if self._pool is not None:
                return
            try:
                import asyncpg  # type: ignore[import-untyped]
            except ImportError as exc:
                raise ConfigError(_INSTALL_HINT) from exc
            self._errors = (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                OSError,
                TimeoutError,
            )
            pool = asyncpg.create_pool(
                self.dsn,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
                # Lets an operator (and the tests) tell whose connections these are.
                server_settings={"application_name": f"authai_embed:{self.schema}"},
            )
            try:
                await pool
                async with pool.acquire() as conn, conn.transaction():
                    await migrate(conn, self.schema, self.server)
            except BaseException as exc:
                pool.terminate()
                if isinstance(exc, self._errors):
                    raise self._error("open", exc) from exc
                if isinstance(exc, ValueError):  # asyncpg's word for a malformed DSN
                    raise ConfigError(
                        f"PostgresStore cannot use its DSN for {self.server}: {exc}"
                    ) from exc
                raise
            self._pool = pool

    async def close(self) -> None:
        """Close the pool, waiting up to 10 s for calls in flight. Idempotent."""
        async with self._lock:
            pool, self._pool = self._pool, None
            if pool is None:
                return
            with anyio.move_on_after(10):
                try:
                    await pool.close()
                    return
                except self._errors:
                    pass
            pool.terminate()

    async def schema_version(self) -> int:
        """The schema version in the database."""

        async def version(conn: Any) -> int:
            query = f"SELECT coalesce(max(version), 0) FROM {self._migrations}"  # noqa: S608
            return int(await conn.fetchval(query))

        return await self._run("schema_version", version, tx=False)

    async def counts(self) -> dict[str, int]:
        """How many records, pending logins and leases the schema holds."""

        async def count(conn: Any) -> dict[str, int]:
            row = await conn.fetchrow(
                f"SELECT (SELECT count(*) FROM {self._records}) AS records,"  # noqa: S608
                f" (SELECT count(*) FROM {self._pending}) AS pending_logins,"
                f" (SELECT count(*) FROM {self._leases}) AS leases"
            )
            return {name: int(value) for name, value in row.items()}

        return await self._run("counts", count, tx=False)

    # -- records and pending logins -------------------------------------------------------

    async def put_record(self, record: Record) -> None:
        """Insert a new session record (the same record again overwrites it), in one
        transaction; an id held by another account fails on the primary key."""
        delete = (
            f"DELETE FROM {self._records}"  # noqa: S608
            " WHERE id = $1 AND app_id = $2 AND account_id_hash = $3"
        )
        insert = self._insert(self._records, _RECORD_FIELDS)

        async def put(conn: Any) -> None:
            await conn.execute(delete, record.id, _value(record, "app_id"), record.account_id_hash)
            await conn.execute(insert, *(_value(record, n) for n in _RECORD_FIELDS))

        await self._run("put_record", put)

    async def get_record(self, record_id: str) -> Record | None:
        """The record, or `None`."""
        return await self._get("get_record", Record, self._records, _RECORD_FIELDS, record_id)

    async def list_records(self, app_id: str | None, account_id_hash: str) -> list[Record]:
        """The user's records in the tenant, oldest first (one index range scan)."""
        query = (
            f"SELECT {_columns(_RECORD_FIELDS)} FROM {self._records}"  # noqa: S608
            " WHERE app_id = $1 AND account_id_hash = $2 ORDER BY created_at, id"
        )

        async def select(conn: Any) -> list[Record]:
            rows = await conn.fetch(query, app_id or "", account_id_hash)
            return [_from_row(Record, row) for row in rows]

        return await self._run("list_records", select, tx=False)

    async def touch_record(self, record_id: str, last_used_at: float) -> None:
        """Set `last_used_at` if the record exists."""
        query = f"UPDATE {self._records} SET last_used_at = $1 WHERE id = $2"  # noqa: S608

        async def touch(conn: Any) -> None:
            await conn.execute(query, last_used_at, record_id)

        await self._run("touch_record", touch, tx=False)

    async def label_record(self, record_id: str, label: str | None) -> bool:
        """Set `label`; return whether the record exists."""
        query = f"UPDATE {self._records} SET label = $1 WHERE id = $2 RETURNING 1"  # noqa: S608

        async def label_it(conn: Any) -> bool:
            return await conn.fetchval(query, label, record_id) is not None

        return await self._run("label_record", label_it, tx=False)

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Compare-and-swap the sealed blob and timestamps on `version`.

        Raises `ValueError` unless `record.version == expected_version + 1`.
        """
        check_swap_version(record.version, expected_version)
        return await self._swap(
            "swap_record", self._records, _RECORD_SWAPPED, record, expected_version
        )

    async def delete_record(self, record_id: str) -> bool:
        """Delete; return whether it existed."""

        async def delete(conn: Any) -> bool:
            query = f"DELETE FROM {self._records} WHERE id = $1 RETURNING 1"  # noqa: S608
            return await conn.fetchval(query, record_id) is not None

        return await self._run("delete_record", delete, tx=False)

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a pending login (an existing id is overwritten)."""
        updates = ", ".join(f'"{n}" = excluded."{n}"' for n in _PENDING_FIELDS if n != "id")
        insert = self._insert(self._pending, _PENDING_FIELDS)
        query = f"{insert} ON CONFLICT (id) DO UPDATE SET {updates}"

        async def put(conn: Any) -> None:
            await conn.execute(query, *(_value(login, n) for n in _PENDING_FIELDS))

        await self._run("put_pending", put, tx=False)

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login, or `None`."""
        return await self._get(
            "get_pending", PendingLogin, self._pending, _PENDING_FIELDS, login_id
        )

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap on `version`.

        Raises `ValueError` unless `login.version == expected_version + 1`.
        """
        check_swap_version(login.version, expected_version)
        return await self._swap(
            "swap_pending", self._pending, _PENDING_SWAPPED, login, expected_version
        )

    @staticmethod
    def _insert(table: str, names: tuple[str, ...]) -> str:
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        return f"INSERT INTO {table} ({_columns(names)}) VALUES ({marks})"  # noqa: S608

    async def _get(
        self, what: str, cls: type[T], table: str, names: tuple[str, ...], row_id: str
    ) -> T | None:
        query = f"SELECT {_columns(names)} FROM {table} WHERE id = $1"  # noqa: S608

        async def get(conn: Any) -> T | None:
            row = await conn.fetchrow(query, row_id)
            return None if row is None else _from_row(cls, row)

        return await self._run(what, get, tx=False)

    async def _swap(
        self,
        what: str,
        table: str,
        names: tuple[str, ...],
        row: Record | PendingLogin,
        expected_version: int,
    ) -> bool:
        assignments = ", ".join(f'"{n}" = ${i}' for i, n in enumerate(names, start=1))
        id_mark, version_mark = len(names) + 1, len(names) + 2
        query = (
            f"UPDATE {table} SET {assignments}"  # noqa: S608
            f" WHERE id = ${id_mark} AND version = ${version_mark} RETURNING 1"
        )

        async def swap(conn: Any) -> bool:
            params = [*(_value(row, n) for n in names), row.id, expected_version]
            return await conn.fetchval(query, *params) is not None

        return await self._run(what, swap, tx=False)

    # -- leases and sweeping --------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Take or extend the lease if free, expired at `now`, or already `owner`'s."""
        query = (
            f"INSERT INTO {self._leases} AS leases (name, owner, until) VALUES ($1, $2, $3)"  # noqa: S608
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until"
            " WHERE leases.owner = excluded.owner OR leases.until <= $4 RETURNING 1"
        )

        async def acquire(conn: Any) -> bool:
            return await conn.fetchval(query, name, owner, until, now) is not None

        return await self._run("acquire_lease", acquire, tx=False)

    async def release_lease(self, name: str, owner: str) -> None:
        """Release if `owner` holds it."""

        async def release(conn: Any) -> None:
            query = f"DELETE FROM {self._leases} WHERE name = $1 AND owner = $2"  # noqa: S608
            await conn.execute(query, name, owner)

        await self._run("release_lease", release, tx=False)

    async def sweep(self, now: float) -> int:
        """Delete expired records, pending logins and leases; return the number of rows.

        Records and pending logins go when `expires_at < now`; a lease goes when `until <= now`,
        the moment another owner could take it.
        """

        async def sweep(conn: Any) -> int:
            gone = 0
            for table, condition in (
                (self._records, "expires_at < $1"),
                (self._pending, "expires_at < $1"),
                (self._leases, "until <= $1"),
            ):
                status = await conn.execute(f"DELETE FROM {table} WHERE {condition}", now)  # noqa: S608
                gone += int(status.rpartition(" ")[2])
            return gone

        return await self._run("sweep", sweep)

    # -- admin: users, the kill switch's controls, the audit log ---------------------------

    async def list_users(
        self, app_id: str | None, *, created_after: float, limit: int
    ) -> list[UserSummary]:
        """The tenant's users with a live record, most recently used first."""
        query = (
            "SELECT account_id_hash, provider, min(created_at),"  # noqa: S608
            f" max(coalesce(last_used_at, created_at)), count(*) FROM {self._records}"
            " WHERE app_id = $1 AND created_at > $2 GROUP BY account_id_hash, provider"
            " ORDER BY 4 DESC, 1, 2 LIMIT $3"
        )

        async def select(conn: Any) -> list[UserSummary]:
            rows = await conn.fetch(query, app_id or "", created_after, limit)
            return [UserSummary(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

        return await self._run("list_users", select, tx=False)

    async def put_control(self, app_id: str | None, control: Control) -> None:
        """Set a control, replacing the one of that name."""
        query = (
            f"INSERT INTO {self._controls} (app_id, name, until, set_by, set_at)"  # noqa: S608
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, name) DO UPDATE SET"
            " until = excluded.until, set_by = excluded.set_by, set_at = excluded.set_at"
        )

        async def put(conn: Any) -> None:
            c = control
            await conn.execute(query, app_id or "", c.name, c.until, c.set_by, c.set_at)

        await self._run("put_control", put, tx=False)

    async def delete_control(self, app_id: str | None, name: str) -> bool:
        """Lift a control; return whether it was set."""
        query = f"DELETE FROM {self._controls} WHERE app_id = $1 AND name = $2 RETURNING 1"  # noqa: S608

        async def delete(conn: Any) -> bool:
            return await conn.fetchval(query, app_id or "", name) is not None

        return await self._run("delete_control", delete, tx=False)

    async def list_controls(self, app_id: str | None) -> list[Control]:
        """The tenant's controls, by name."""
        query = (
            f"SELECT name, until, set_by, set_at FROM {self._controls}"  # noqa: S608
            " WHERE app_id = $1 ORDER BY name"
        )

        async def select(conn: Any) -> list[Control]:
            return [Control(*row) for row in await conn.fetch(query, app_id or "")]

        return await self._run("list_controls", select, tx=False)

    async def add_audit(self, app_id: str | None, entry: AuditEntry) -> None:
        """Append to the audit log."""
        query = (
            f"INSERT INTO {self._audit} (app_id, at, actor, action, target, detail)"  # noqa: S608
            " VALUES ($1, $2, $3, $4, $5, $6)"
        )

        async def add(conn: Any) -> None:
            e = entry
            await conn.execute(query, app_id or "", e.at, e.actor, e.action, e.target, e.detail)

        await self._run("add_audit", add, tx=False)

    async def list_audit(self, app_id: str | None, *, since: float, limit: int) -> list[AuditEntry]:
        """The tenant's entries since `since`, oldest first (the newest `limit`)."""
        query = (
            "SELECT at, actor, action, target, detail FROM (SELECT * FROM"  # noqa: S608
            f" {self._audit} WHERE app_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3)"
            " AS newest ORDER BY at, id"
        )

        async def select(conn: Any) -> list[AuditEntry]:
            return [AuditEntry(*row) for row in await conn.fetch(query, app_id or "", since, limit)]

        return await self._run("list_audit", select, tx=False)

    # -- usage ledger and quotas ----------------------------------------------------------

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_settle: Sequence[tuple[str, str, int, int]] = ()
    ) -> None:
        """Sum `rows` into the ledger and `quota_settle` into the quota counters, in one
        transaction (one `executemany` each)."""
        upsert = (
            self._insert(self._usage, _USAGE_FIELDS)
            + " ON CONFLICT (user_id, day, provider, model) DO UPDATE SET "
            + ", ".join(f'"{n}" = {self._usage}."{n}" + excluded."{n}"' for n in USAGE_COUNTS)
        )
        settle = (
            f"UPDATE {self._quota} SET requests = greatest(0, requests + $1),"  # noqa: S608
            " tokens = greatest(0, tokens + $2) WHERE user_id = $3 AND day = $4"
        )
        add = [tuple(getattr(r, n) for n in _USAGE_FIELDS) for r in rows]

        async def write(conn: Any) -> None:
            if add:
                await conn.executemany(upsert, add)
            if quota_settle:
                await conn.executemany(settle, [(r, t, u, d) for u, d, r, t in quota_settle])

        await self._run("add_usage", write)

    async def get_usage(self, user_id: str | None, since: str, until: str) -> list[UsageRow]:
        """The rows of `user_id` (or everyone) from `since` to `until`, days included."""
        query = (
            f"SELECT {_columns(_USAGE_FIELDS)} FROM {self._usage}"  # noqa: S608
            " WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR user_id = $3)"
            " ORDER BY day, user_id, provider, model"
        )

        async def read(conn: Any) -> list[UsageRow]:
            rows = await conn.fetch(query, since, until, user_id)
            return [UsageRow(**dict(r.items())) for r in rows]

        return await self._run("get_usage", read, tx=False)

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
        query = (
            f"INSERT INTO {self._quota} AS q (user_id, day, requests, tokens)"
            " SELECT $1, $2, $3::bigint, $4::bigint"
            " WHERE ($5::bigint IS NULL OR $3 <= $5) AND ($6::bigint IS NULL OR $4 <= $6)"
            " ON CONFLICT (user_id, day) DO UPDATE"
            " SET requests = q.requests + excluded.requests, tokens = q.tokens + excluded.tokens"
            " WHERE ($5::bigint IS NULL OR q.requests + excluded.requests <= $5)"
            " AND ($6::bigint IS NULL OR q.tokens + excluded.tokens <= $6)"
            " RETURNING q.requests, q.tokens"
        )
        bounds = (user_id, day, requests, tokens, max_requests, max_tokens)

        async def reserve(conn: Any) -> QuotaCounter | None:
            row = await conn.fetchrow(query, *bounds)
            return None if row is None else QuotaCounter(row[0], row[1])

        return await self._run("reserve_quota", reserve, tx=False)

    async def sweep_usage(self, before_day: str) -> int:
        """Delete usage rows and quota counters of days before `before_day`."""

        async def sweep(conn: Any) -> int:
            gone = 0
            for table in (self._usage, self._quota):
                status = await conn.execute(f"DELETE FROM {table} WHERE day < $1", before_day)  # noqa: S608
                gone += int(status.rpartition(" ")[2])
            return gone

        return await self._run("sweep_usage", sweep)


_USAGE_FIELDS = tuple(f.name for f in fields(UsageRow))
