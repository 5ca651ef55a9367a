"""What the ChatGPT provider sends the Codex backend per model and per account, through the
mount: catalog-driven effort and verbosity, Responses Lite models, the `client_version` the
catalog is asked with, and `X-OpenAI-Fedramp` for FedRAMP accounts."""

from __future__ import annotations

from typing import Any

import pytest

from authai_embed.providers.openai.shaping import EFFORT_ORDER
from authai_embed.testing.codex.catalog import EFFORTS, catalog, version_key
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

LITE = "gpt-5.6-sol"
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def sent(harness: Harness) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of the last model call the backend accepted."""
    record = harness.emulator.codex.last_request()
    assert record.status == 200, record.body
    assert isinstance(record.body, dict)
    return record.body, record.headers


async def chat(harness: Harness, jwt: str, **fields: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": "hi"}], **fields}
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=body
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# Reasoning effort and verbosity -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "asked", "sent_effort"),
    [
        ("gpt-5.5-pro", "low", "high"),  # below the supported range: the lowest it takes
        ("gpt-5.4-mini", "xhigh", "high"),  # above: the highest it takes
        ("gpt-5.4", "minimal", "low"),
        ("gpt-5.4", "none", "low"),
        ("gpt-5.5", "minimal", "low"),  # between none and low: the tie goes up
        ("gpt-5.4", "medium", "medium"),  # supported: unchanged
    ],
)
async def test_a_chat_reasoning_effort_is_clamped_to_what_the_model_supports(
    harness: Harness, model: str, asked: str, sent_effort: str
) -> None:
    jwt = await harness.sign_in()
    await chat(harness, jwt, model=model, reasoning_effort=asked)
    body, _ = sent(harness)
    assert body["reasoning"]["effort"] == sent_effort


async def test_responses_effort_is_clamped_and_verbosity_sent_only_where_supported(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    for model, verbosity in (("gpt-5.4-codex", None), ("gpt-5.4", "low")):
        response = await harness.client.post(
            "/authai/v1/responses",
            headers=bearer(jwt),
            json={
                "model": model,
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
                "reasoning": {"effort": "minimal"},
                "text": {"verbosity": "low"},
            },
        )
        assert response.status_code == 200, response.text
        body, _ = sent(harness)
        assert body["reasoning"]["effort"] == "low"
        assert body.get("text", {}).get("verbosity") == verbosity


async def test_chat_verbosity_is_dropped_for_a_model_without_it(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await chat(harness, jwt, model="gpt-5.4-codex", verbosity="high")
    body, _ = sent(harness)
    assert "text" not in body
    await chat(harness, jwt, model="gpt-5.4", verbosity="high")
    assert sent(harness)[0]["text"] == {"verbosity": "high"}


# The catalog's client_version ---------------------------------------------------------------


async def test_the_catalog_is_asked_with_a_client_version_that_lists_the_newest_models(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    listed = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    ids = {m["id"] for m in listed.json()["data"]}
    assert {"gpt-5.6-sol", "gpt-5.6-luna", "gpt-5.5"} <= ids
    record = harness.emulator.codex.last_request("/backend-api/codex/models")
    newest = max(version_key(m["minimal_client_version"]) for m in catalog())
    assert version_key(record.query["client_version"]) >= newest


async def test_an_older_client_version_setting_hides_the_newest_models(
    make_harness: HarnessFactory,
) -> None:
    from tests._support.harness import UPSTREAM

    harness = await make_harness(openai={**UPSTREAM, "client_version": "0.63.0"})
    jwt = await harness.sign_in()
    listed = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    ids = {m["id"] for m in listed.json()["data"]}
    assert "gpt-5.5" in ids
    assert LITE not in ids


# Responses Lite -----------------------------------------------------------------------------


async def test_a_chat_call_to_a_lite_model_is_sent_in_the_lite_shape(harness: Harness) -> None:
    jwt = await harness.sign_in()
    answer = await chat(
        harness,
        jwt,
        model=LITE,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        tools=[WEATHER],
        parallel_tool_calls=True,
        reasoning_effort="minimal",
    )
    assert answer["choices"][0]["message"]["content"] == "Echo: Weather in Paris?"
    body, headers = sent(harness)
    assert headers["x-openai-internal-codex-responses-lite"] == "true"
    assert "instructions" not in body
    assert "tools" not in body
    tools_item, developer, user = body["input"]
    assert tools_item == {
        "type": "additional_tools",
        "role": "developer",
        "tools": [
            {
                "type": "function",
                "name": "weather",
                "description": "The weather in a city",
                "parameters": WEATHER["function"]["parameters"],  # type: ignore[index]
                "strict": False,
            }
        ],
    }
    assert developer == {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "Be brief."}],
    }
    assert user["role"] == "user"
    assert body["parallel_tool_calls"] is False
    assert body["reasoning"] == {"effort": "low", "context": "all_turns"}


async def test_a_responses_call_to_a_lite_model_is_sent_in_the_lite_shape(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    tool = {"type": "function", "name": "weather", "parameters": {"type": "object"}}
    response = await harness.client.post(
        "/authai/v1/responses",
        headers=bearer(jwt),
        json={
            "model": LITE,
            "instructions": "Be brief.",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "tools": [tool],
            "stream": True,
        },
    )
    assert response.status_code == 200, response.text
    assert "response.completed" in response.text
    body, headers = sent(harness)
    assert headers["x-openai-internal-codex-responses-lite"] == "true"
    assert ("instructions" in body, "tools" in body) == (False, False)
    assert body["input"][0] == {"type": "additional_tools", "role": "developer", "tools": [tool]}
    assert body["input"][1]["content"] == [{"type": "input_text", "text": "Be brief."}]
    assert body["parallel_tool_calls"] is False
    assert body["reasoning"] == {"context": "all_turns"}


async def test_a_classic_model_keeps_the_classic_shape(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await chat(harness, jwt, model="gpt-5.4", tools=[WEATHER], parallel_tool_calls=True)
    body, headers = sent(harness)
    assert "x-openai-internal-codex-responses-lite" not in headers
    assert body["tools"][0]["name"] == "weather"
    assert body["instructions"]
    assert body["parallel_tool_calls"] is True
    assert "x-openai-fedramp" not in headers


# FedRAMP --------------------------------------------------------------------------------------


async def test_a_fedramp_account_sends_the_fedramp_header(harness: Harness) -> None:
    harness.emulator.add_account("acct-gov", fedramp=True)
    jwt = await harness.sign_in(account="acct-gov")
    await chat(harness, jwt, model="gpt-5.4")
    _, headers = sent(harness)
    assert headers["x-openai-fedramp"] == "true"
    listed = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    assert listed.status_code == 200
    record = harness.emulator.codex.last_request("/backend-api/codex/models")
    assert (record.status, record.headers["x-openai-fedramp"]) == (200, "true")


async def test_the_fedramp_mark_survives_a_refresh(harness: Harness) -> None:
    harness.emulator.add_account("acct-gov", fedramp=True)
    jwt = await harness.sign_in(account="acct-gov")
    harness.clock.advance(3 * 3600)  # the access token expired: the call refreshes first
    await chat(harness, jwt, model="gpt-5.4")
    assert sent(harness)[1]["x-openai-fedramp"] == "true"
    assert harness.emulator.stats.refreshes >= 1


def test_every_effort_the_translator_takes_is_one_the_backend_knows() -> None:
    from authai_embed.proxy.translate.chat_options import EFFORTS as CHAT_EFFORTS

    assert tuple(CHAT_EFFORTS) == EFFORTS == EFFORT_ORDER


def test_without_the_catalog_only_the_lite_names_change_the_request() -> None:
    from authai_embed.providers.openai.shaping import ModelTraits, shape_for_model, traits_of

    assert traits_of("gpt-5.6-terra", None) == ModelTraits(lite=True)
    assert traits_of("gpt-5.4", None) == ModelTraits()
    payload = {"model": "gpt-5.4", "reasoning": {"effort": "minimal"}, "text": {"verbosity": "low"}}
    assert shape_for_model(payload, ModelTraits()) == payload
    lite = shape_for_model({"model": "gpt-5.6-terra", "input": "hi"}, ModelTraits(lite=True))
    assert lite["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
