"""The kill switch and admin revoke across processes: a pause or revoke made by the CLI in
another process (sharing the SQLite file or the PostgreSQL schema) reaches this mount within
`CACHE_SECONDS` (the pause) or at once (the revoke: each request reads its session's record)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from authai_embed import MemoryStore, PostgresStore, Secrets, SQLiteStore
from authai_embed.admin.kill_switch import CACHE_SECONDS
from authai_embed.cli import main
from tests._support.harness import Harness, HarnessFactory
from tests._support.processes import run_processes
from tests._support.services import drop_schema, require_postgres, unique_schema

pytestmark = pytest.mark.anyio

JWT_HEX, IDENTITY_HEX = secrets.token_hex(32), secrets.token_hex(32)
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def secrets_() -> Secrets:
    """The app's secrets, also handed to the other process through its environment."""
    return Secrets.from_hex(JWT_HEX, IDENTITY_HEX)


@pytest.fixture
def store() -> MemoryStore:
    """Unused here (each test brings its shared store): one kind, not the suite's two."""
    return MemoryStore()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def shared(
    request: pytest.FixtureRequest, tmp_path: Path, make_harness: HarnessFactory
) -> AsyncIterator[tuple[Harness, str]]:
    """A mount on a store another process can open too, and that store's URL."""
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        yield await make_harness(store=SQLiteStore(path)), f"sqlite:///{path}"
        return
    schema = unique_schema()
    dsn = require_postgres()
    try:
        yield await make_harness(store=PostgresStore(dsn, schema=schema)), f"{dsn}?schema={schema}"
    finally:
        await drop_schema(schema)


def cli_in_process(argv: Sequence[str], env: dict[str, str], barrier: Any) -> None:
    """A spawned process: run `authai-embed argv` with `env`; its exit code is the CLI's."""
    os.environ.update(env)
    barrier.wait()
    raise SystemExit(main(list(argv)))


def run_cli(*argv: str) -> None:
    env = {"AUTH_AI_JWT_SECRET": JWT_HEX, "AUTH_AI_IDENTITY_SECRET": IDENTITY_HEX}
    assert run_processes(cli_in_process, [(argv, env)]) == [0]


async def chat_status(harness: Harness, jwt: str) -> int:
    headers = {"Authorization": f"Bearer {jwt}"}
    response = await harness.client.post("/authai/v1/chat/completions", json=CHAT, headers=headers)
    return response.status_code


async def test_a_pause_from_another_process_applies_within_the_cache_interval(
    shared: tuple[Harness, str],
) -> None:
    harness, url = shared
    jwt = await harness.sign_in()
    assert await chat_status(harness, jwt) == 200

    run_cli("pause", "--db", url, "--by", "ops")
    harness.clock.advance(CACHE_SECONDS)
    assert await chat_status(harness, jwt) == 503

    run_cli("resume", "--db", url, "--by", "ops")
    harness.clock.advance(CACHE_SECONDS)
    assert await chat_status(harness, jwt) == 200
    audit = [(e.actor, e.action, e.target) for e in await harness.authai.audit_log()]
    assert audit == [("ops", "pause", "models"), ("ops", "resume", "models")]


async def test_an_admin_revoke_in_another_process_fails_every_jwt_at_once(
    shared: tuple[Harness, str],
) -> None:
    harness, url = shared
    first, second = await harness.sign_in(), await harness.sign_in()
    user_id = (await harness.authai.whoami(first)).user_id
    assert await chat_status(harness, first) == 200  # this mount has used the session

    run_cli("revoke-user", "--db", url, "--by", "ops", "--", user_id)  # ids may start with "-"

    assert await chat_status(harness, first) == 401
    assert await chat_status(harness, second) == 401
    (entry,) = await harness.authai.audit_log()
    assert (entry.actor, entry.action, entry.target, entry.detail) == (
        "ops",
        "revoke",
        user_id,
        "2 sessions",
    )
