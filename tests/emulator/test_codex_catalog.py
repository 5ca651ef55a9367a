"""The emulated Codex backend's catalog-driven rules: minimal client versions, supported efforts
and verbosity per model, Responses Lite models, FedRAMP accounts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from authai_embed._util.b64 import b64url_decode
from authai_embed.testing import Emulator
from tests.emulator.test_codex import API, CLIENT_ID, ISSUER, body, parse_sse, text_of, user

pytestmark = pytest.mark.anyio

LITE = "gpt-5.6-sol"
LITE_HEADERS = {"x-openai-internal-codex-responses-lite": "true"}
TOOL = {"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=API) as http:
        yield http


def headers_for(access: str, account_id: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {access}",
        "chatgpt-account-id": account_id,
        "openai-beta": "responses=experimental",
        "originator": "authai_test",
        "accept": "text/event-stream",
    }


async def sign_in_as(
    client: httpx.AsyncClient, emulator: Emulator, account: str | None = None
) -> dict[str, Any]:
    """The emulator's own device flow, approved by `account` (the default one if `None`)."""
    started = (
        await client.post(
            f"{ISSUER}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID}
        )
    ).json()
    emulator.approve(started["user_code"], account=account)
    grant = (
        await client.post(
            f"{ISSUER}/api/accounts/deviceauth/token",
            json={k: started[k] for k in ("device_auth_id", "user_code")},
        )
    ).json()
    form = {
        "grant_type": "authorization_code",
        "code": grant["authorization_code"],
        "redirect_uri": f"{ISSUER}/deviceauth/callback",
        "client_id": CLIENT_ID,
        "code_verifier": grant["code_verifier"],
    }
    tokens: dict[str, Any] = (await client.post(f"{ISSUER}/oauth/token", data=form)).json()
    return tokens


@pytest.fixture
async def headers(client: httpx.AsyncClient, emulator: Emulator) -> dict[str, str]:
    tokens = await sign_in_as(client, emulator)
    return headers_for(tokens["access_token"], emulator.default_account.account_id)


def lite_body(**fields: Any) -> dict[str, Any]:
    """A call shaped as the official client shapes one for a Responses Lite model."""
    developer = {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "You are a test."}],
    }
    tools = {"type": "additional_tools", "role": "developer", "tools": [TOOL]}
    sent = {
        **body(model=LITE, input=[tools, developer, user("hello")], instructions=None),
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "context": "all_turns"},
        **fields,
    }
    return {k: v for k, v in sent.items() if v is not None}


# Minimal client versions ---------------------------------------------------------------------


async def test_models_above_the_asked_client_version_are_hidden(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    async def slugs(version: str) -> set[str]:
        answer = await client.get("/models", params={"client_version": version}, headers=headers)
        assert answer.status_code == 200
        return {m["slug"] for m in answer.json()["models"]}

    old, new = await slugs("0.63.0"), await slugs("0.160.0")
    assert new - old == {"gpt-5.6-sol", "gpt-5.6-luna"}
    assert await slugs("0.144.0") == new
    assert await slugs("0.143.9") == old
    assert await slugs("not-a-version") == set()
    listed = await client.get("/models", params={"client_version": "0.160.0"}, headers=headers)
    (lite,) = [m for m in listed.json()["models"] if m["slug"] == LITE]
    assert (lite["use_responses_lite"], lite["minimal_client_version"]) == (True, "0.144.0")


# Efforts and verbosity per model -------------------------------------------------------------


async def test_an_effort_or_verbosity_the_model_lacks_is_a_400_unsupported_value(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    effort = await client.post(
        "/responses", json=body(model="gpt-5.5-pro", reasoning={"effort": "low"}), headers=headers
    )
    verbosity = await client.post(
        "/responses", json=body(model="gpt-5.4-codex", text={"verbosity": "low"}), headers=headers
    )
    assert (effort.status_code, verbosity.status_code) == (400, 400)
    assert effort.json()["error"] == {
        "message": "Unsupported value: 'low' is not supported with the 'gpt-5.5-pro' model. "
        "Supported values are: 'high' and 'xhigh'.",
        "type": "invalid_request_error",
        "param": "reasoning.effort",
        "code": "unsupported_value",
    }
    assert verbosity.json()["error"] == {
        "message": "Unsupported value: 'low' is not supported with the 'gpt-5.4-codex' model. "
        "Supported values are: 'medium'.",
        "type": "invalid_request_error",
        "param": "text.verbosity",
        "code": "unsupported_value",
    }
    medium = await client.post(
        "/responses",
        json=body(model="gpt-5.4-codex", text={"verbosity": "medium"}),
        headers=headers,
    )
    assert medium.status_code == 200


# Responses Lite ------------------------------------------------------------------------------


async def test_a_lite_call_shaped_as_the_official_client_sends_it_streams(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(text="ok")
    answer = await client.post("/responses", json=lite_body(), headers={**headers, **LITE_HEADERS})
    assert answer.status_code == 200, answer.text
    assert text_of(parse_sse(answer.content)) == "ok"
    empty = lite_body(instructions="", tools=[])  # what some clients send: accepted
    accepted = await client.post("/responses", json=empty, headers={**headers, **LITE_HEADERS})
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("change", "lite_header", "status", "detail"),
    [
        (
            {},
            False,
            400,
            f"The '{LITE}' model requires Responses Lite: send the header "
            "x-openai-internal-codex-responses-lite: true",
        ),
        ({"instructions": "You are a test."}, True, 400, "Unsupported parameter: instructions"),
        ({"tools": [TOOL]}, True, 400, "Unsupported parameter: tools"),
    ],
)
async def test_a_lite_model_refuses_the_classic_envelope(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    change: dict[str, Any],
    lite_header: bool,
    status: int,
    detail: str,
) -> None:
    sent_headers = {**headers, **LITE_HEADERS} if lite_header else headers
    answer = await client.post("/responses", json=lite_body(**change), headers=sent_headers)
    assert (answer.status_code, answer.json()) == (status, {"detail": detail})


async def test_a_lite_model_refuses_parallel_tool_calls_and_misplaced_tool_items(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    lite_headers = {**headers, **LITE_HEADERS}
    parallel = await client.post(
        "/responses", json=lite_body(parallel_tool_calls=True), headers=lite_headers
    )
    assert parallel.status_code == 400
    assert parallel.json()["error"]["param"] == "parallel_tool_calls"
    bad_tool = {"type": "additional_tools", "role": "developer", "tools": [{"type": "function"}]}
    missing_name = await client.post(
        "/responses", json=lite_body(input=[bad_tool, user("hi")]), headers=lite_headers
    )
    assert missing_name.json()["error"]["param"] == "input[0].tools[0].name"
    classic = await client.post(
        "/responses", json=body(input=[bad_tool, user("hi")]), headers=headers
    )
    assert classic.json()["error"]["param"] == "input[0].type"  # only Lite models read them


# FedRAMP -------------------------------------------------------------------------------------


async def test_a_fedramp_account_is_marked_in_its_tokens_and_needs_the_header(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.add_account("acct-gov", fedramp=True)
    tokens = await sign_in_as(client, emulator, "acct-gov")
    claims = json.loads(b64url_decode(tokens["id_token"].split(".")[1]))
    assert claims["https://api.openai.com/auth"]["chatgpt_account_is_fedramp"] is True
    headers = headers_for(tokens["access_token"], "acct-gov")
    refused = await client.post("/responses", json=body(), headers=headers)
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "This account requires the x-openai-fedramp: true header"},
    )
    models = await client.get("/models", params={"client_version": "0.160.0"}, headers=headers)
    assert models.status_code == 403
    fedramp = {**headers, "X-OpenAI-Fedramp": "true"}
    assert (await client.post("/responses", json=body(), headers=fedramp)).status_code == 200
