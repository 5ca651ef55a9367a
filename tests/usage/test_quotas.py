"""Quotas through `/v1`: daily requests and tokens (reserved before dispatch, settled from the
real usage), requests per minute, the model allowlist; global or per user (`quota_for`, sync or
async); refused in the OpenAI envelope; off by default."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authai_embed import ConfigError, Event, Quota, QuotaExceededEvent, Quotas
from authai_embed.stores.base import QuotaCounter
from authai_embed.testing import CodexReply
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


def to_midnight(harness: Harness) -> int:
    return 86400 - int(harness.clock.now()) % 86400


async def chat(harness: Harness, jwt: str, **changes: Any) -> httpx.Response:
    return await harness.client.post(
        "/authai/v1/chat/completions",
        headers={"Authorization": f"Bearer {jwt}"},
        json={**CHAT, **changes},
    )


def assert_quota_refusal(response: httpx.Response, names: str, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("quota_exceeded", "quota_exceeded")
    assert names in error["message"]


async def test_daily_requests_are_admitted_up_to_the_quota(make_harness: HarnessFactory) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(requests_per_day=3)))
    jwt = await harness.sign_in()
    assert [(await chat(harness, jwt)).status_code for _ in range(3)] == [200] * 3
    refused = await chat(harness, jwt, stream=True)
    assert_quota_refusal(refused, "3 requests per day", to_midnight(harness))
    assert harness.emulator.codex.stats.requests == 3  # the refusal never reached upstream
    user = (await harness.authai.whoami(jwt)).user_id
    (row,) = await harness.authai.usage(user)
    assert (row.requests, row.errors) == (3, 0)  # a refusal is not a call
    harness.clock.advance(to_midnight(harness))  # a new UTC day, a new count
    assert (await chat(harness, jwt)).status_code == 200


async def test_daily_tokens_are_settled_from_the_real_usage(make_harness: HarnessFactory) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(tokens_per_day=1000)))
    jwt = await harness.sign_in()
    usage = {"input_tokens": 300, "output_tokens": 300, "total_tokens": 600}
    harness.emulator.codex.script(CodexReply(usage=usage))
    assert (await chat(harness, jwt)).status_code == 200
    # Reserved: only the request's estimate; the real 600 tokens count once settled.
    user = (await harness.authai.whoami(jwt)).user_id
    await harness.authai.usage(user)  # flushes the ledger, settlement included
    harness.emulator.codex.script(CodexReply(usage=usage))
    assert (await chat(harness, jwt)).status_code == 200  # 600 used + a small estimate
    await harness.authai.usage(user)
    assert_quota_refusal(await chat(harness, jwt), "1000 tokens per day", to_midnight(harness))


async def test_requests_per_minute_are_limited(make_harness: HarnessFactory) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(requests_per_minute=2)))
    jwt = await harness.sign_in()
    assert [(await chat(harness, jwt)).status_code for _ in range(2)] == [200, 200]
    refused = await chat(harness, jwt)
    assert refused.status_code == 429
    assert "2 requests per minute" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 30


@pytest.mark.parametrize("path", ["chat/completions", "responses"])
async def test_a_model_off_the_allowlist_is_a_403(make_harness: HarnessFactory, path: str) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(models=["gpt-5.4-mini"])))
    jwt = await harness.sign_in()
    body: dict[str, Any] = {"model": "gpt-5.4", "input": "hi", **CHAT}
    response = await harness.client.post(
        f"/authai/v1/{path}", headers={"Authorization": f"Bearer {jwt}"}, json=body
    )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_allowed", "model")
    assert "gpt-5.4" in error["message"]
    assert harness.emulator.codex.stats.requests == 0
    assert (await chat(harness, jwt, model="gpt-5.4-mini")).status_code == 200


async def test_the_model_list_shows_only_the_allowed_models(make_harness: HarnessFactory) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(models=["gpt-5.4-mini"])))
    jwt = await harness.sign_in()
    listed = await harness.client.get(
        "/authai/v1/models", headers={"Authorization": f"Bearer {jwt}"}
    )
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["data"]] == ["gpt-5.4-mini"]


async def test_without_an_allowlist_every_model_is_listed(make_harness: HarnessFactory) -> None:
    harness = await make_harness(quotas=Quotas(default=Quota(requests_per_day=5)))
    jwt = await harness.sign_in()
    listed = await harness.client.get(
        "/authai/v1/models", headers={"Authorization": f"Bearer {jwt}"}
    )
    assert len(listed.json()["data"]) > 1
    assert "gpt-5.4" in {m["id"] for m in listed.json()["data"]}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_quota_for_gives_each_user_their_plan(
    make_harness: HarnessFactory, kind: str
) -> None:
    plans: dict[str, Quota] = {}

    def sync_plan(user_id: str) -> Quota | None:
        return plans.get(user_id)

    async def async_plan(user_id: str) -> Quota | None:
        return plans.get(user_id)

    quotas = Quotas(
        default=Quota(requests_per_day=5),
        quota_for=sync_plan if kind == "sync" else async_plan,
    )
    harness = await make_harness(quotas=quotas)
    harness.emulator.add_account("small")
    harness.emulator.add_account("other")
    small = await harness.sign_in(account="small")
    plans[(await harness.authai.whoami(small)).user_id] = Quota(requests_per_day=1)
    other = await harness.sign_in(account="other")
    assert (await chat(harness, small)).status_code == 200
    assert_quota_refusal(await chat(harness, small), "1 requests per day", to_midnight(harness))
    assert [(await chat(harness, other)).status_code for _ in range(5)] == [200] * 5
    assert (await chat(harness, other)).status_code == 429  # the default applies to others


async def test_quotas_are_off_by_default(harness: Harness) -> None:
    assert harness.authai.metering is not None
    jwt = await harness.sign_in()
    calls: list[Any] = []
    original = harness.store.reserve_quota

    async def spy(*args: Any) -> QuotaCounter | None:
        calls.append(args)
        return await original(*args)

    harness.store.reserve_quota = spy  # type: ignore[method-assign,assignment]
    assert (await chat(harness, jwt)).status_code == 200
    assert calls == []


def test_bad_quotas_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="requests_per_day"):
        Quota(requests_per_day=0)
    with pytest.raises(ConfigError, match="collection"):
        Quota(models="gpt-5.4")
    with pytest.raises(ConfigError, match="Quota"):
        Quotas(default={"requests_per_day": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Quotas calls_per_reservation"):
        Quotas(default=Quota(requests_per_day=1), calls_per_reservation=0)


async def test_a_refusal_is_a_quota_exceeded_event_for_the_host(
    make_harness: HarnessFactory,
) -> None:
    events: list[Event] = []

    async def collect(event: Event) -> None:
        events.append(event)

    harness = await make_harness(quotas=Quotas(default=Quota(requests_per_day=1)), on_event=collect)
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    assert (await chat(harness, jwt)).status_code == 200
    assert (await chat(harness, jwt)).status_code == 429
    await harness.authai.shutdown()  # drains the event queue

    [exceeded] = [e for e in events if isinstance(e, QuotaExceededEvent)]
    assert (exceeded.type, exceeded.user_id, exceeded.provider) == (
        "quota_exceeded",
        user,
        "openai",
    )
    assert exceeded.quota == "daily"
    assert jwt not in repr(exceeded)
