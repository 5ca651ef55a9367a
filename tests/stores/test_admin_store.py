"""The admin tables every store keeps: users by account, kill-switch controls, the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authai_embed.stores import PostgresStore
from authai_embed.stores.base import AuditEntry, Control, UserSummary
from tests._support.services import drop_schema
from tests.stores.test_stores import NOW, STORE_KINDS, ConcreteStore, make_record, make_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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


async def test_list_users_groups_sessions_by_user(store: ConcreteStore) -> None:
    await store.put_record(make_record(account="alice", created_at=NOW - 50))
    await store.put_record(make_record(account="alice", created_at=NOW - 10, last_used_at=NOW))
    await store.put_record(make_record(account="bob", created_at=NOW - 20, provider="github"))
    await store.put_record(make_record(account="old", created_at=NOW - 5000))
    await store.put_record(make_record(account="other-tenant", app_id="t2", created_at=NOW))

    users = await store.list_users(None, created_after=NOW - 1000, limit=10)

    assert users == [
        UserSummary("alice", "openai", NOW - 50, NOW, 2),
        UserSummary("bob", "github", NOW - 20, NOW - 20, 1),
    ]
    assert await store.list_users(None, created_after=NOW - 1000, limit=1) == users[:1]
    tenant = await store.list_users("t2", created_after=NOW - 1000, limit=10)
    assert [u.user_id for u in tenant] == ["other-tenant"]


async def test_controls_are_set_replaced_listed_and_lifted(store: ConcreteStore) -> None:
    await store.put_control(None, Control("models", None, "ops", NOW))
    await store.put_control(None, Control("signins", NOW + 60, "ops", NOW))
    await store.put_control(None, Control("signins", NOW + 90, "alice", NOW + 1))
    await store.put_control("t2", Control("models:openai", None, "x", NOW))

    assert await store.list_controls(None) == [
        Control("models", None, "ops", NOW),
        Control("signins", NOW + 90, "alice", NOW + 1),
    ]
    assert await store.delete_control(None, "models") is True
    assert await store.delete_control(None, "models") is False
    assert [c.name for c in await store.list_controls(None)] == ["signins"]
    assert [c.name for c in await store.list_controls("t2")] == ["models:openai"]


async def test_audit_log_lists_since_oldest_first_and_keeps_the_newest(
    store: ConcreteStore,
) -> None:
    entries = [AuditEntry(NOW + n, "ops", "pause", f"target-{n}", None) for n in range(5)]
    for entry in entries:
        await store.add_audit(None, entry)
    await store.add_audit("t2", AuditEntry(NOW, "x", "revoke", "u", "1 sessions"))

    assert await store.list_audit(None, since=0.0, limit=100) == entries
    assert await store.list_audit(None, since=NOW + 2, limit=100) == entries[2:]
    assert await store.list_audit(None, since=0.0, limit=2) == entries[3:]
    assert await store.list_audit("t2", since=0.0, limit=100) == [
        AuditEntry(NOW, "x", "revoke", "u", "1 sessions")
    ]
