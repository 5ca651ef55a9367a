"""Migration 2 (one record per session) in place: a JWT issued on the old schema keeps working.

The old schema is made here with the DDL migration 1 ran before this change, copied verbatim
(never imported: a fixture of what is on users' disks). A user signs in through the real flow,
and their record is written into the old schema exactly as the old `put_record` wrote it; the
store then opens (migrating), and the same JWT answers `whoami` and a chat completion.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from authai_embed import AuthStore, MemoryStore, PostgresStore, Record, SQLiteStore
from authai_embed.stores.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from authai_embed.stores.sqlite import SCHEMA_VERSION
from tests._support.harness import Harness, HarnessFactory
from tests._support.services import drop_schema, require_postgres, unique_schema

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}

# Today's schema before this change, as SQLiteStore's migration 1 created it.
OLD_SQLITE_DDL = (
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
)

# Today's schema before this change, as PostgresStore's migration 1 created it.
OLD_POSTGRES_DDL = (
    """CREATE TABLE {s}.records (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL,
        account_id_hash TEXT NOT NULL,
        iv BYTEA NOT NULL,
        blob BYTEA NOT NULL,
        version BIGINT NOT NULL,
        access_expires_at DOUBLE PRECISION,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        UNIQUE (app_id, account_id_hash)
    )""",
    "CREATE INDEX records_expires_at ON {s}.records (expires_at)",
    """CREATE TABLE {s}.pending_logins (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL,
        iv BYTEA NOT NULL,
        blob BYTEA NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        "interval" DOUBLE PRECISION NOT NULL,
        next_poll_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        version BIGINT NOT NULL
    )""",
    "CREATE INDEX pending_logins_expires_at ON {s}.pending_logins (expires_at)",
    """CREATE TABLE {s}.leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        until DOUBLE PRECISION NOT NULL
    )""",
)
OLD_COLUMNS = (
    "id",
    "app_id",
    "provider",
    "account_id_hash",
    "iv",
    "blob",
    "version",
    "access_expires_at",
    "created_at",
    "updated_at",
    "expires_at",
)


def old_row(record: Record) -> tuple[object, ...]:
    """The record as the old `put_record` wrote it (`app_id` None as '')."""
    values = {name: getattr(record, name) for name in OLD_COLUMNS}
    values["app_id"] = values["app_id"] or ""
    return tuple(values[name] for name in OLD_COLUMNS)


@pytest.fixture
def store() -> AuthStore:
    """Where the sign-ins of the old version are made, before their record is copied over."""
    return MemoryStore()


async def old_sign_in(harness: Harness) -> tuple[str, Record]:
    """A sign-in through the real flow; its JWT and the record the old code stored for it."""
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.open_session(jwt)
    return jwt, session.record


async def still_works(make_harness: HarnessFactory, store: AuthStore, jwt: str) -> str:
    """Call whoami and a chat completion with `jwt` through a mount on the migrated `store`;
    return the user id."""
    harness = await make_harness(store=store)
    bearer = {"Authorization": f"Bearer {jwt}"}
    who = await harness.client.get("/authai/auth/whoami", headers=bearer)
    assert who.status_code == 200, who.text
    chat = await harness.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer)
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"]
    # After the migration, a new sign-in of the same account no longer ends the old session.
    again = await harness.sign_in()
    for token in (jwt, again):
        answer = await harness.client.get(
            "/authai/auth/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
    assert (await harness.authai.whoami(again)).user_id == who.json()["user"]["id"]
    user: str = who.json()["user"]["id"]
    return user


async def test_a_jwt_issued_on_the_old_sqlite_schema_works_after_migrating(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    old = await make_harness()
    jwt, record = await old_sign_in(old)
    path = tmp_path / "authai.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in OLD_SQLITE_DDL:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        marks = ", ".join("?" * len(OLD_COLUMNS))
        conn.execute(
            f"INSERT INTO records ({', '.join(OLD_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            old_row(record),
        )
        conn.commit()

    migrated = SQLiteStore(path)
    user = await still_works(make_harness, migrated, jwt)
    assert user == record.account_id_hash
    assert await migrated.schema_version() == SCHEMA_VERSION
    assert len(await migrated.list_records(None, user)) == 2
    with closing(sqlite3.connect(path)) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(records)")}
    assert {"records_user", "records_expires_at"} <= indexes


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    schema = unique_schema()
    try:
        yield schema
    finally:
        await drop_schema(schema)


@pytest.mark.postgres
async def test_a_jwt_issued_on_the_old_postgres_schema_works_after_migrating(
    make_harness: HarnessFactory, pg_schema: str
) -> None:
    old = await make_harness()
    jwt, record = await old_sign_in(old)
    dsn = require_postgres()
    conn = await asyncpg.connect(dsn)
    try:
        quoted = f'"{pg_schema}"'
        async with conn.transaction():
            await conn.execute(f"CREATE SCHEMA {quoted}")
            await conn.execute(
                f"CREATE TABLE {quoted}.schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            for statement in OLD_POSTGRES_DDL:
                await conn.execute(statement.format(s=quoted))
            await conn.execute(f"INSERT INTO {quoted}.schema_migrations (version) VALUES (1)")  # noqa: S608
            marks = ", ".join(f"${n}" for n in range(1, len(OLD_COLUMNS) + 1))
            await conn.execute(
                f"INSERT INTO {quoted}.records ({', '.join(OLD_COLUMNS)}) VALUES ({marks})",  # noqa: S608
                *old_row(record),
            )
    finally:
        await conn.close()

    migrated = PostgresStore(dsn, schema=pg_schema)
    user = await still_works(make_harness, migrated, jwt)
    assert user == record.account_id_hash
    assert await migrated.schema_version() == PG_SCHEMA_VERSION
    assert len(await migrated.list_records(None, user)) == 2
