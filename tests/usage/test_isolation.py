"""Isolation between users: one user's usage, limits and quota never affect or reveal
another's, and an upstream error for one user never falls back to another's credentials."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authai_embed import Quota, Quotas
from authai_embed.testing import CodexReply
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


async def chat(harness: Harness, jwt: str, **changes: Any) -> httpx.Response:
    return await harness.client.post(
        "/authai/v1/chat/completions",
        headers={"Authorization": f"Bearer {jwt}"},
        json={**CHAT, **changes},
    )


async def two_users(harness: Harness) -> tuple[tuple[str, str], tuple[str, str]]:
    """(jwt, user id) of two users of different accounts."""
    harness.emulator.add_account("acct-alice")
    harness.emulator.add_account("acct-bob")
    alice = await harness.sign_in(account="acct-alice")
    bob = await harness.sign_in(account="acct-bob")
    ids = [(await harness.authai.whoami(j)).user_id for j in (alice, bob)]
    assert ids[0] != ids[1]
    return (alice, ids[0]), (bob, ids[1])


async def test_one_users_usage_is_not_anothers(harness: Harness) -> None:
    (alice, alice_id), (bob, bob_id) = await two_users(harness)
    for _ in range(3):
        assert (await chat(harness, alice)).status_code == 200
    assert (await chat(harness, bob, stream=True)).status_code == 200
    assert [(r.user_id, r.requests) for r in await harness.authai.usage(alice_id)] == [
        (alice_id, 3)
    ]
    assert [(r.user_id, r.requests) for r in await harness.authai.usage(bob_id)] == [(bob_id, 1)]
    everyone = await harness.authai.usage(None)
    assert sorted((r.user_id, r.requests) for r in everyone) == sorted([(alice_id, 3), (bob_id, 1)])


@pytest.mark.parametrize(
    "quota",
    [Quota(requests_per_day=2), Quota(requests_per_minute=2), Quota(tokens_per_day=150)],
    ids=["per-day", "per-minute", "tokens"],
)
async def test_one_users_quota_never_limits_another(
    make_harness: HarnessFactory, quota: Quota
) -> None:
    harness = await make_harness(quotas=Quotas(default=quota))
    (alice, alice_id), (bob, bob_id) = await two_users(harness)
    statuses = []
    for _ in range(6):
        statuses.append((await chat(harness, alice)).status_code)
        await harness.authai.usage(alice_id)  # settle the tokens as they are used
    assert statuses[0] == 200
    assert statuses[-1] == 429
    refused = await chat(harness, alice)
    # The refusal names the quota, nothing of anyone's identity or use.
    assert alice_id not in refused.text
    assert bob_id not in refused.text
    assert (await chat(harness, bob)).status_code == 200
    assert (await chat(harness, bob, stream=True)).status_code == 200


async def test_the_sessions_of_one_user_share_one_ledger_and_one_quota(
    make_harness: HarnessFactory,
) -> None:
    """A laptop and a phone signed in to one account are one user: their calls add up."""
    harness = await make_harness(quotas=Quotas(default=Quota(requests_per_day=3)))
    harness.emulator.add_account("acct-carol")
    laptop = await harness.sign_in(account="acct-carol")
    phone = await harness.sign_in(account="acct-carol")
    assert laptop != phone
    user_id = (await harness.authai.whoami(laptop)).user_id
    assert (await harness.authai.whoami(phone)).user_id == user_id
    assert (await chat(harness, laptop)).status_code == 200
    assert (await chat(harness, phone)).status_code == 200
    assert (await chat(harness, phone, stream=True)).status_code == 200
    # The quota counted all three: neither session has a day of its own left.
    assert (await chat(harness, laptop)).status_code == 429
    assert (await chat(harness, phone)).status_code == 429
    rows = await harness.authai.usage(user_id)
    assert [(r.user_id, r.requests) for r in rows] == [(user_id, 3)]


@pytest.mark.parametrize(("status", "answered"), [(429, 429), (500, 502), (401, 401), (403, 403)])
async def test_an_upstream_error_never_falls_back_to_another_user(
    harness: Harness, status: int, answered: int
) -> None:
    (alice, alice_id), (bob, bob_id) = await two_users(harness)
    codex = harness.emulator.codex
    assert (await chat(harness, bob)).status_code == 200
    bob_account = codex.last_request().headers["chatgpt-account-id"]
    assert (await chat(harness, alice)).status_code == 200
    alice_account = codex.last_request().headers["chatgpt-account-id"]
    assert alice_account != bob_account

    seen = len(codex.requests)
    codex.script(CodexReply.http_error(status), CodexReply.http_error(status))
    failed = await chat(harness, alice)
    assert failed.status_code == answered, failed.text
    accounts = {r.headers.get("chatgpt-account-id") for r in codex.requests[seen:]}
    assert accounts == {alice_account}
    rows = {r.user_id: r for r in await harness.authai.usage(None)}
    assert (rows[alice_id].requests, rows[alice_id].errors) == (2, 1)
    assert (rows[bob_id].requests, rows[bob_id].errors) == (1, 0)
