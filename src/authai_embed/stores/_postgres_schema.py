"""The PostgreSQL schema of `PostgresStore`: its migrations and the step that applies them.

Every table lives in one schema. `migrate` runs in the caller's transaction under a
`pg_advisory_xact_lock` keyed on the schema name, so hosts starting at once migrate it exactly
once; a schema newer than this version knows is refused, never downgraded.
"""

from __future__ import annotations

import hashlib
from typing import Any

from authai_embed.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "migrations_table"]

# Migration n (1-based) is MIGRATIONS[n - 1]: its statements, with `{s}` standing for the quoted
# schema, run in one transaction that also records n in schema_migrations. Only ever append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: records, pending logins, leases.
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
    ),
    (  # 2: one record per session, not per account; a session's label and last use.
        # The constraint's name is the one PostgreSQL gave migration 1's UNIQUE clause.
        "ALTER TABLE {s}.records DROP CONSTRAINT records_app_id_account_id_hash_key",
        "ALTER TABLE {s}.records ADD COLUMN label TEXT, ADD COLUMN last_used_at DOUBLE PRECISION",
        "CREATE INDEX records_user ON {s}.records (app_id, account_id_hash, created_at)",
    ),
    (  # 3: the kill switch's controls and the admin audit log.
        """CREATE TABLE {s}.controls (
            app_id TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,
            until DOUBLE PRECISION,
            set_by TEXT NOT NULL,
            set_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (app_id, name)
        )""",
        """CREATE TABLE {s}.audit_log (
            id BIGSERIAL PRIMARY KEY,
            app_id TEXT NOT NULL DEFAULT '',
            at DOUBLE PRECISION NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT
        )""",
        "CREATE INDEX audit_log_at ON {s}.audit_log (app_id, at)",
    ),
    (  # 4: the usage ledger and the per-user daily quota counters.
        """CREATE TABLE {s}.usage_days (
            user_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            day TEXT NOT NULL,
            requests BIGINT NOT NULL DEFAULT 0,
            input_tokens BIGINT NOT NULL DEFAULT 0,
            cached_input_tokens BIGINT NOT NULL DEFAULT 0,
            output_tokens BIGINT NOT NULL DEFAULT 0,
            reasoning_tokens BIGINT NOT NULL DEFAULT 0,
            errors BIGINT NOT NULL DEFAULT 0,
            rate_limited BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, day, provider, model)
        )""",
        "CREATE INDEX usage_days_day ON {s}.usage_days (day)",
        """CREATE TABLE {s}.quota_days (
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            requests BIGINT NOT NULL,
            tokens BIGINT NOT NULL,
            PRIMARY KEY (user_id, day)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrations_table(schema: str) -> str:
    """The quoted name of the table that records which migrations `schema` has had."""
    return f'"{schema}".schema_migrations'


async def migrate(conn: Any, schema: str, server: str) -> None:
    """Create `schema` and apply the migrations it lacks, on `conn` inside its open transaction.

    Raises `StoreError` (naming `server`, the store's host/database) when the schema's version is
    newer than `SCHEMA_VERSION`.
    """
    table = migrations_table(schema)
    key = int.from_bytes(
        hashlib.sha256(f"authai_embed:{schema}".encode()).digest()[:8], "big", signed=True
    )
    await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    current = await conn.fetchval(f"SELECT coalesce(max(version), 0) FROM {table}")  # noqa: S608
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"PostgreSQL store at {server} (schema {schema}) has schema version"
            f" {current}, newer than the {SCHEMA_VERSION} this authai_embed knows:"
            " upgrade authai_embed"
        )
    for number in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[number - 1]:
            await conn.execute(statement.format(s=f'"{schema}"'))
        await conn.execute(f"INSERT INTO {table} (version) VALUES ($1)", number)  # noqa: S608
