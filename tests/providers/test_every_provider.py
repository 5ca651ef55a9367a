"""Every provider end to end, in-process against the emulator: sign in, whoami, a streamed and a
non-streamed chat completion through the official `openai` SDK, revoke."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import PROVIDERS, Harness

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODELS = {"openai": "gpt-5.4", "github": "gpt-5.4", "xai": "grok-4"}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_sign_in_whoami_chat_and_revoke(harness: Harness, provider: str) -> None:
    jwt = await harness.sign_in(provider=provider)
    whoami = await harness.client.get(
        "/authai/auth/whoami", headers={"Authorization": f"Bearer {jwt}"}
    )
    assert whoami.status_code == 200
    assert whoami.json()["user"]["provider"] == provider
    assert (await harness.authai.whoami(jwt)).provider == provider

    client = harness.authai.async_openai_client(jwt)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"hello {provider}"}]
    whole = await client.chat.completions.create(model=MODELS[provider], messages=messages)
    assert whole.choices[0].message.content == f"Echo: hello {provider}"
    stream = await client.chat.completions.create(
        model=MODELS[provider], messages=messages, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == f"Echo: hello {provider}"
    models = [m.id async for m in client.models.list()]
    assert MODELS[provider] in models

    revoked = await harness.client.post(
        "/authai/auth/revoke", headers={"Authorization": f"Bearer {jwt}"}
    )
    assert revoked.status_code == 204
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model=MODELS[provider], messages=messages)
    await client.close()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_same_account_gets_the_same_user_id_per_provider(
    harness: Harness, provider: str
) -> None:
    first = await harness.authai.whoami(await harness.sign_in(provider=provider))
    second = await harness.authai.whoami(await harness.sign_in(provider=provider))
    assert first.user_id == second.user_id
    other = await harness.authai.whoami(await harness.sign_in(provider="openai"))
    assert provider == "openai" or other.user_id != first.user_id


@pytest.mark.parametrize("provider", ["github", "xai"])
async def test_denied_and_expired_sign_ins(harness: Harness, provider: str) -> None:
    side = harness.emulator.github if provider == "github" else harness.emulator.xai
    denied = (await harness.client.post("/authai/auth/start", json={"provider": provider})).json()
    side.deny(denied["userCode"])
    harness.clock.advance(denied["pollIntervalMs"] / 1000)
    answer = (await harness.client.get(f"/authai/auth/poll/{denied['sessionId']}")).json()
    assert answer == {"status": "error", "error": "the sign-in was denied"}

    late = (await harness.client.post("/authai/auth/start", json={"provider": provider})).json()
    assert late["expiresInMs"] == 900_000
    harness.clock.advance(late["expiresInMs"] / 1000 + 1)
    answer = (await harness.client.get(f"/authai/auth/poll/{late['sessionId']}")).json()
    assert answer == {"status": "expired"}


@pytest.mark.parametrize("provider", ["github", "xai"])
async def test_slow_down_slows_the_polling(harness: Harness, provider: str) -> None:
    side = harness.emulator.github if provider == "github" else harness.emulator.xai
    started = (await harness.client.post("/authai/auth/start", json={"provider": provider})).json()
    assert started["pollIntervalMs"] == 5000
    poll = f"/authai/auth/poll/{started['sessionId']}"
    side.knobs.slow_down_polls = 1
    harness.clock.advance(5)
    assert (await harness.client.get(poll)).json() == {"status": "pending"}
    assert side.stats.slow_downs == 1
    asked = side.stats.device_polls
    side.approve(started["userCode"])
    harness.clock.advance(5)  # the old interval: too early now, the provider is not asked
    assert (await harness.client.get(poll)).json() == {"status": "pending"}
    assert side.stats.device_polls == asked
    harness.clock.advance(5)  # interval + 5 s
    answer = (await harness.client.get(poll)).json()
    assert answer["status"] == "complete"
    assert side.stats.device_polls == asked + 1


@pytest.mark.parametrize("provider", ["github", "xai"])
async def test_no_provider_token_reaches_the_user_or_the_logs(
    harness: Harness, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="authai_embed")
    jwt = await harness.sign_in(provider=provider)
    client = harness.authai.async_openai_client(jwt)
    reply = await client.chat.completions.create(
        model=MODELS[provider], messages=[{"role": "user", "content": "hi"}]
    )
    await client.close()
    assert TOKEN_MARKER not in reply.model_dump_json()
    assert TOKEN_MARKER not in jwt
    assert TOKEN_MARKER not in caplog.text
