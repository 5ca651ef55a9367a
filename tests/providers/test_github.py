"""GitHub Copilot: the entitlement check at sign-in, the Copilot token's renewal (early, once
for many waiting requests, never stored), the API host from the exchange, and the endpoints."""

from __future__ import annotations

import anyio
import httpx
import openai
import pytest

from authai_embed.asgi.errors import V1_UNAUTHORIZED
from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness, HarnessFactory

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

HI = [{"role": "user", "content": "hi"}]


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def chat(harness: Harness, jwt: str, model: str = "gpt-5.4") -> httpx.Response:
    return await harness.client.post(
        "/authai/v1/chat/completions", json={"model": model, "messages": HI}, headers=bearer(jwt)
    )


async def test_a_user_without_copilot_gets_a_clear_error_and_no_record(harness: Harness) -> None:
    harness.emulator.github.add_user("no-seat", copilot=False)
    started = (await harness.client.post("/authai/auth/start", json={"provider": "copilot"})).json()
    assert started["provider"] == "github"
    assert started["verificationUrl"].endswith("/github/login/device")
    harness.emulator.github.approve(started["userCode"], login="no-seat")
    harness.clock.advance(5)
    answer = (await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")).json()
    assert answer["status"] == "error"
    assert "no active GitHub Copilot subscription" in answer["error"]
    assert "jwt" not in answer
    assert harness.emulator.github.stats.refused_copilot_tokens == 1
    assert await harness.store.sweep(harness.clock.now() + 10**9) == 1  # only the pending login


async def test_the_copilot_token_is_minted_at_sign_in_and_reused(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    stats = harness.emulator.github.stats
    assert stats.copilot_tokens == 1  # the entitlement check's token serves the first calls
    for _ in range(3):
        assert (await chat(harness, jwt)).status_code == 200
    assert stats.copilot_tokens == 1
    session = await harness.authai.sessions.open_session(jwt)
    assert session.credentials.access.startswith("gho_")  # the stored token is GitHub's only
    assert session.credentials.expires_at is None


async def test_the_copilot_token_is_renewed_before_it_expires(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    stats = harness.emulator.github.stats
    harness.clock.advance(1800 - 300 - 10)  # not yet due
    assert (await chat(harness, jwt)).status_code == 200
    assert stats.copilot_tokens == 1
    harness.clock.advance(20)  # under 5 minutes left: renewed before the call, unnoticed
    response = await chat(harness, jwt)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert stats.copilot_tokens == 2
    harness.clock.advance(1800)  # long past the first token's life: still seamless
    assert (await chat(harness, jwt)).status_code == 200
    assert stats.copilot_tokens == 3


async def test_concurrent_requests_during_renewal_cause_one_token_fetch(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    github = harness.emulator.github
    assert (await chat(harness, jwt)).status_code == 200  # the model list is cached now
    harness.clock.advance(1800)
    github.knobs.token_delay = 0.05  # every waiting request piles up behind one exchange
    statuses: list[int] = []

    async def call() -> None:
        statuses.append((await chat(harness, jwt)).status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(call)
    assert statuses == [200] * 12
    assert github.stats.copilot_tokens == 2


async def test_a_refused_copilot_token_is_renewed_once(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    github = harness.emulator.github
    github._copilot_tokens.clear()  # the API forgets every token (as on a server-side revoke)
    assert (await chat(harness, jwt)).status_code == 200
    assert github.stats.copilot_tokens == 2


async def test_a_revoked_github_token_is_the_uniform_401_and_ends_the_record(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in(provider="github")
    github = harness.emulator.github
    github.revoke_github_token("octocat-emu")
    github._copilot_tokens.clear()
    response = await chat(harness, jwt)
    assert response.status_code == 401
    assert response.content == V1_UNAUTHORIZED
    whoami = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
    assert whoami.status_code == 401


async def test_business_seats_use_the_api_host_the_exchange_names(harness: Harness) -> None:
    harness.emulator.github.add_user("corp-dev", plan="business")
    jwt = await harness.sign_in(account="corp-dev", provider="github")
    assert (await chat(harness, jwt)).status_code == 200
    record = harness.emulator.github.model.last_request()
    assert record.path == "/copilot-business/chat/completions"
    assert record.headers["editor-version"].startswith("vscode/")
    assert record.headers["openai-intent"] == "conversation-panel"


async def test_models_keep_chat_and_responses_models_only(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    client = harness.authai.async_openai_client(jwt)
    ids = [m.id async for m in client.models.list()]
    await client.close()
    assert ids == ["gpt-5.4", "gpt-5.4-codex", "claude-sonnet-4.5", "gpt-4.1"]


async def test_responses_pass_through_for_models_that_list_it(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    client = harness.authai.async_openai_client(jwt)
    answer = await client.responses.create(model="gpt-5.4-codex", input="ping")
    assert answer.output_text == "Echo: ping"
    stream = await client.responses.create(model="gpt-5.4", input="pong", stream=True)
    deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Echo: pong"
    body = harness.emulator.github.model.last_request("/responses").body
    # Typed items, the one input shape every provider reads (docs/proxy.md).
    pong = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "pong"}]}
    assert body == {"model": "gpt-5.4", "input": [pong], "stream": True}
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="claude-sonnet-4.5", input="x")
    await client.close()
    assert refused.value.body == {
        "message": "GitHub Copilot does not support the /v1/responses endpoint",
        "type": "unsupported_endpoint",
    }


async def test_a_responses_only_model_is_translated_for_chat(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    response = await chat(harness, jwt, model="gpt-5.4-codex")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    record = harness.emulator.github.model.last_request()
    assert record.path == "/copilot/responses"
    assert record.body["input"][0]["role"] == "user"


async def test_chat_bodies_are_validated_and_size_limited_before_passing_through(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(max_body_bytes=4096)
    jwt = await harness.sign_in(provider="github")
    calls = harness.emulator.github.model.stats.requests
    big = await harness.client.post(
        "/authai/v1/chat/completions",
        json={"model": "gpt-5.4", "messages": [{"role": "user", "content": "x" * 5000}]},
        headers=bearer(jwt),
    )
    assert big.status_code == 413
    bad = await harness.client.post(
        "/authai/v1/chat/completions",
        json={"model": "gpt-5.4", "messages": [{"role": "robot", "content": "x"}]},
        headers=bearer(jwt),
    )
    assert bad.status_code == 400
    assert harness.emulator.github.model.stats.requests == calls
    assert TOKEN_MARKER not in big.text + bad.text


@pytest.mark.parametrize(
    ("messages", "initiator"),
    [
        ([{"role": "user", "content": "hi"}], "user"),
        (
            [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            "agent",
        ),
        # An assistant prefill last is no turn a person typed.
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hel"}], "agent"),
    ],
)
async def test_x_initiator_says_who_started_the_turn(
    harness: Harness, messages: list[dict[str, object]], initiator: str
) -> None:
    jwt = await harness.sign_in(provider="github")
    body = {"model": "gpt-5.4", "messages": messages}
    answer = await harness.client.post(
        "/authai/v1/chat/completions", json=body, headers=bearer(jwt)
    )
    assert answer.status_code == 200, answer.text
    assert harness.emulator.github.model.last_request().headers["x-initiator"] == initiator


@pytest.mark.parametrize(
    ("given", "initiator"),
    [
        ("hello", "user"),
        ([{"role": "user", "content": "hello"}], "user"),
        ([{"role": "assistant", "content": "prefill"}], "agent"),
        ([{"type": "function_call_output", "call_id": "c1", "output": "42"}], "agent"),
    ],
)
async def test_x_initiator_on_responses_input(
    harness: Harness, given: object, initiator: str
) -> None:
    jwt = await harness.sign_in(provider="github")
    answer = await harness.client.post(
        "/authai/v1/responses",
        json={"model": "gpt-5.4-codex", "input": given},
        headers=bearer(jwt),
    )
    assert answer.status_code == 200, answer.text
    sent = harness.emulator.github.model.last_request("/responses")
    assert sent.headers["x-initiator"] == initiator


async def test_an_api_host_outside_the_allowlist_gets_no_copilot_token(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    harness.emulator.github.knobs.api_endpoint = "https://copilot.evil.test"
    harness.clock.advance(1600)  # the next call mints a new Copilot token
    refused = await chat(harness, jwt)
    assert refused.status_code == 502
    assert refused.json()["error"]["code"] == "copilot_api_host_refused"
    assert "copilot.evil.test" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.individual.githubcopilot.com", True),
        ("api.business.githubcopilot.com", True),
        ("githubcopilot.com", False),
        ("api.githubcopilot.com.evil.test", False),
        ("evilgithubcopilot.com", False),
    ],
)
async def test_the_allowlist_matches_subdomains_only(
    harness: Harness, host: str, allowed: bool
) -> None:
    tokens = harness.authai.providers["github"].backend.tokens  # type: ignore[attr-defined]
    assert tokens._allowed_host(host) is allowed
