"""The real services some tests talk to (PostgreSQL, Redis on loopback), and the one rule for
when they are not there: skip with the reason, unless `AUTHAI_REQUIRE_SERVICES` is set (CI sets
it), in which case a missing service is a failure, never a silent skip."""

from __future__ import annotations

import os
import secrets
import socket
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

REQUIRE_ENV = "AUTHAI_REQUIRE_SERVICES"
POSTGRES_DSN = os.environ.get(
    "AUTHAI_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


def unavailable(reason: str, *, fix: str = "") -> NoReturn:
    """Skip the test for `reason`, or fail it when `AUTHAI_REQUIRE_SERVICES` is set (CI): the one
    rule for anything a test needs that this machine may lack. `fix` says how to get it."""
    if os.environ.get(REQUIRE_ENV):
        where = f": {fix}" if fix else ""
        pytest.fail(f"{reason}, and {REQUIRE_ENV} is set{where}", pytrace=False)
    either = f"{fix}, or " if fix else ""
    pytest.skip(f"{reason}; {either}set {REQUIRE_ENV}=1 to make this a failure")


def require_service(name: str, url: str, default_port: int) -> None:
    """Return if `url`'s host accepts a TCP connection; otherwise skip the test, or fail it when
    `AUTHAI_REQUIRE_SERVICES` is set."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
    unavailable(reason, fix=f"start {name}")


def require_postgres() -> str:
    """The DSN of the test PostgreSQL server (`AUTHAI_TEST_POSTGRES_DSN`, default the local one),
    once it is known to be reachable; see `require_service` for what happens when it is not."""
    require_service("PostgreSQL", POSTGRES_DSN, 5432)
    return POSTGRES_DSN


def unique_schema() -> str:
    """A PostgreSQL schema name no other test run uses."""
    return f"authai_test_{secrets.token_hex(6)}"


async def drop_schema(schema: str) -> None:
    """Drop `schema` and everything a test made in it."""
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(require_postgres())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
