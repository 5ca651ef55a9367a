"""Grok (xAI): OIDC discovery (cached, retried), the account from the id_token's `sub`, single-use
rotating refresh tokens under the shared lifecycle, billing errors made plain, and the
pass-through endpoints."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import openai
import pytest

from authai_embed import SQLiteStore
from authai_embed.auth.identity import user_id
from authai_embed.settings import Settings
from tests._support.harness import XAI_UPSTREAM, Harness, HarnessFactory

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

HI = [{"role": "user", "content": "hi"}]
DUE = 900 - Settings().refresh_margin + 1


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def chat(harness: Harness, jwt: str) -> httpx.Response:
    return await harness.client.post(
        "/authai/v1/chat/completions", json={"model": "grok-4", "messages": HI}, headers=bearer(jwt)
    )


async def test_discovery_is_retried_then_cached(harness: Harness) -> None:
    xai = harness.emulator.xai
    xai.knobs.discovery_failures = 2
    first = await harness.client.post("/authai/auth/start", json={"provider": "grok"})
    assert first.status_code == 200
    assert first.json()["provider"] == "xai"
    assert "user_code=" in first.json()["verificationUrl"]  # verification_uri_complete
    assert xai.stats.discoveries == 3
    await harness.client.post("/authai/auth/start", json={"provider": "xai"})
    assert xai.stats.discoveries == 3


async def test_discovery_down_or_device_flow_off_is_a_clear_502(harness: Harness) -> None:
    xai = harness.emulator.xai
    xai.knobs.discovery_failures = 10
    down = await harness.client.post("/authai/auth/start", json={"provider": "xai"})
    assert down.status_code == 502
    assert down.json() == {"error": "xAI discovery failed with status 503"}
    xai.knobs.discovery_failures = 0
    xai.knobs.device_flow_enabled = False
    off = await harness.client.post("/authai/auth/start", json={"provider": "xai"})
    assert off.status_code == 502
    assert off.json() == {"error": "device code sign-in is not enabled on xAI's auth server"}


async def test_the_account_is_the_id_tokens_subject(harness: Harness) -> None:
    harness.emulator.xai.add_account("sub-4242")
    jwt = await harness.sign_in(account="sub-4242", provider="xai")
    who = await harness.authai.whoami(jwt)
    assert who.provider == "xai"
    assert who.user_id == user_id(harness.secrets.identity_key, "xai", "sub-4242")


async def test_tokens_near_expiry_rotate_and_the_new_refresh_token_is_stored(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in(provider="xai")
    before = await harness.authai.sessions.open_session(jwt)
    harness.clock.advance(DUE)
    assert (await chat(harness, jwt)).status_code == 200
    after = await harness.authai.sessions.open_session(jwt)
    stats = harness.emulator.xai.stats
    assert (stats.refreshes, stats.rejected_refreshes) == (1, 0)
    assert after.credentials.refresh != before.credentials.refresh
    assert after.record.version == before.record.version + 1
    # The spent token is single-use: offering it again is refused (and revokes the family).
    reused = await harness.authai.http.post(
        f"{XAI_UPSTREAM['issuer']}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": before.credentials.refresh or "",
            "client_id": harness.authai.settings.xai.client_id,
        },
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


async def test_concurrent_requests_of_two_apps_sharing_a_store_refresh_once(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    # Two AuthAI objects on one SQLite file: separate locks and lease owners, as two processes.
    path = tmp_path / "shared.db"
    one = await make_harness(store=SQLiteStore(path))
    two = await make_harness(store=SQLiteStore(path))
    jwt = await one.sign_in(provider="xai")
    one.clock.advance(DUE)
    statuses: list[int] = []

    async def call(harness: Harness) -> None:
        statuses.append((await chat(harness, jwt)).status_code)

    async with anyio.create_task_group() as tg:
        for index in range(24):
            tg.start_soon(call, one if index % 2 else two)
    stats = one.emulator.xai.stats
    assert statuses == [200] * 24
    assert (stats.refreshes, stats.refresh_reuses, stats.rejected_refreshes) == (1, 0, 0)


async def test_a_rejected_refresh_is_the_uniform_401_and_ends_the_record(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="xai")
    harness.emulator.xai.revoke_account("xai-user-emulator-default")
    harness.clock.advance(DUE)
    response = await chat(harness, jwt)
    assert response.status_code == 401
    assert (await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))).status_code == 401


@pytest.mark.parametrize("billing", ["spending_limit", "free_usage_exhausted"])
async def test_billing_refusals_reach_the_caller_as_a_clear_quota_error(
    harness: Harness, billing: str
) -> None:
    jwt = await harness.sign_in(provider="xai")
    harness.emulator.xai.knobs.billing = billing  # type: ignore[assignment]
    client = harness.authai.async_openai_client(jwt)
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model="grok-4", messages=HI)  # type: ignore[arg-type]
    await client.close()
    assert refused.value.status_code == 402
    assert refused.value.body == {
        "message": refused.value.body["message"],  # type: ignore[index]
        "type": "provider_error",
        "code": "insufficient_quota",
    }
    assert "console.x.ai" in refused.value.message


async def test_rate_limits_stay_429_with_retry_after(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="xai")
    harness.emulator.xai.model.knobs.usage_limit_reached = True
    response = await chat(harness, jwt)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"]["type"] == "provider_error"


async def test_responses_pass_through(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="xai")
    client = harness.authai.async_openai_client(jwt)
    answer = await client.responses.create(model="grok-4", input="ping", max_output_tokens=50)
    assert answer.output_text == "Echo: ping"
    body = harness.emulator.xai.model.last_request("/responses").body
    # Typed items, the one input shape every provider reads (docs/proxy.md).
    ping = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]}
    assert body == {"model": "grok-4", "input": [ping], "max_output_tokens": 50}
    stream = await client.responses.create(model="grok-4", input="pong", stream=True)
    deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
    await client.close()
    assert "".join(deltas) == "Echo: pong"


async def test_the_subscription_origin_is_opt_in_and_translates_chat(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(xai={**XAI_UPSTREAM, "origin": "subscription"})
    jwt = await harness.sign_in(provider="xai")
    response = await chat(harness, jwt)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    record = harness.emulator.xai.model.last_request()
    assert record.path == "/grok-cli/v1/responses"
    assert record.headers["x-grok-client-version"] == harness.authai.settings.xai.cli_version
