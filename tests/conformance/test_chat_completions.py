"""The official `openai` SDK against the proxy, in all four modes and for every provider: plain,
streamed, tools (one, parallel, then the tool-result turn), image input, json_schema, usage, and
errors raising the SDK's own exception classes. What reaches the upstream is checked in the
upstream's own shape: Responses items when translated, the caller's body when passed through."""

from __future__ import annotations

import base64
import json
from typing import Any

import openai
import pytest

from authai_embed.testing import TOKEN_MARKER, CodexReply, FunctionCall
from tests._support.harness import Harness
from tests.conformance.sdk import MODES, sdk_for
from tests.conformance.targets import Target

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def upstream_body(harness: Harness, target: Target) -> dict[str, Any]:
    return target.last_body(harness.emulator)


async def test_plain_completion(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    async with sdk_for(mode, harness, jwt) as sdk:
        result = await sdk.create(
            model=target.model,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hello there"},
            ],
        )
    assert result.object == "chat.completion"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == "Echo: hello there"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    body = upstream_body(harness, target)
    if target.translated:
        assert body["instructions"] == "Be brief."
        assert body["stream"] is True
        assert body["store"] is False
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body.get("stream") is not True
    headers = target.upstream(harness.emulator).last_request().headers
    if target.provider == "openai":
        assert headers["chatgpt-account-id"] == harness.emulator.default_account.account_id
    if target.provider == "github":
        assert headers["copilot-integration-id"] == "vscode-chat"
        assert headers["x-initiator"] == "user"


async def test_streamed_completion_with_usage(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    target.upstream(harness.emulator).knobs.chunk_size = 3
    async with sdk_for(mode, harness, jwt) as sdk:
        chunks = await sdk.stream(
            model=target.model,
            messages=[{"role": "user", "content": "stream me please"}],
            stream_options={"include_usage": True},
        )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me please"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_one_tool_call_then_the_tool_result_turn(
    harness: Harness, mode: str, target: Target
) -> None:
    jwt = await harness.sign_in()
    target.upstream(harness.emulator).script(
        CodexReply(text="", function_calls=[FunctionCall("get_weather", {"city": "Paris"})]),
        CodexReply(text="It is sunny in Paris."),
    )
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    async with sdk_for(mode, harness, jwt) as sdk:
        first = await sdk.create(model=target.model, messages=messages, tools=[WEATHER_TOOL])
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        calls = choice.message.tool_calls
        assert calls is not None
        assert len(calls) == 1
        call = calls[0]
        assert call.type == "function"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        tools_sent = upstream_body(harness, target)["tools"]
        assert isinstance(tools_sent, list)
        if target.translated:
            flat = tools_sent[0]
            assert (flat["type"], flat["name"], flat["description"]) == (
                "function",
                "get_weather",
                "Weather for a city",
            )
            assert flat["parameters"] == WEATHER_TOOL["function"]["parameters"]  # type: ignore[index]
        else:
            assert tools_sent == [WEATHER_TOOL]
        messages += [
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'},
        ]
        second = await sdk.create(model=target.model, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is sunny in Paris."
    sent = upstream_body(harness, target)
    if target.translated:
        items = sent["input"]
        kinds = [item.get("type") for item in items]
        assert "function_call" in kinds
        assert "function_call_output" in kinds
        output = next(i for i in items if i.get("type") == "function_call_output")
        assert output["call_id"] == call.id
        assert output["output"] == '{"sky": "sunny"}'
    else:
        assert sent["messages"][-2]["tool_calls"][0]["id"] == call.id
        assert sent["messages"][-1] == {
            "role": "tool",
            "tool_call_id": call.id,
            "content": '{"sky": "sunny"}',
        }
    if target.provider == "github":  # a tool-result turn is the agent's, not the user's
        assert target.upstream(harness.emulator).last_request().headers["x-initiator"] == "agent"


async def test_parallel_tool_calls_streamed(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    target.upstream(harness.emulator).knobs.chunk_size = 4
    target.upstream(harness.emulator).script(
        CodexReply(
            text="",
            function_calls=[
                FunctionCall("get_weather", {"city": "Paris"}),
                FunctionCall("get_weather", {"city": "Tokyo"}),
            ],
        )
    )
    async with sdk_for(mode, harness, jwt) as sdk:
        chunks = await sdk.stream(
            model=target.model,
            messages=[{"role": "user", "content": "Paris and Tokyo?"}],
            tools=[WEATHER_TOOL],
            parallel_tool_calls=True,
        )
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            if delta.function is not None:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
    assert sorted(calls) == [0, 1]
    assert [json.loads(calls[i]["arguments"])["city"] for i in (0, 1)] == ["Paris", "Tokyo"]
    assert all(calls[i]["name"] == "get_weather" and calls[i]["id"] for i in (0, 1))
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["tool_calls"]
    assert upstream_body(harness, target)["parallel_tool_calls"] is True


async def test_image_input_reaches_the_backend(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
    async with sdk_for(mode, harness, jwt) as sdk:
        await sdk.create(
            model=target.model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{pixel}"},
                        },
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                        },
                    ],
                }
            ],
        )
    sent = upstream_body(harness, target)
    if target.translated:
        parts = sent["input"][-1]["content"]
        assert parts[0] == {"type": "input_text", "text": "What is this?"}
        assert parts[1]["type"] == "input_image"
        assert parts[1]["image_url"].startswith("data:image/png;base64,")
        assert parts[2]["image_url"] == "https://example.com/a.png"
        assert parts[2]["detail"] == "low"
    else:
        parts = sent["messages"][-1]["content"]
        assert parts[0] == {"type": "text", "text": "What is this?"}
        assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert parts[2]["image_url"] == {"url": "https://example.com/a.png", "detail": "low"}
    if target.provider == "github":
        headers = target.upstream(harness.emulator).last_request().headers
        assert headers["copilot-vision-request"] == "true"


async def test_json_schema_output_format(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    target.upstream(harness.emulator).script('{"answer": 42}')
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
    }
    async with sdk_for(mode, harness, jwt) as sdk:
        result = await sdk.create(
            model=target.model,
            messages=[{"role": "user", "content": "answer?"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            },
        )
    assert json.loads(result.choices[0].message.content or "") == {"answer": 42}
    sent = upstream_body(harness, target)
    if target.translated:
        assert sent["text"]["format"] == {
            "type": "json_schema",
            "name": "answer",
            "schema": schema,
            "strict": True,
        }
    else:
        assert sent["response_format"]["json_schema"]["schema"] == schema


async def test_models_are_listed(harness: Harness, mode: str, target: Target) -> None:
    jwt = await harness.sign_in()
    async with sdk_for(mode, harness, jwt) as sdk:
        ids = await sdk.models()
    assert target.model in ids
    assert len(ids) == len(set(ids))


async def test_errors_raise_the_sdks_own_classes(
    harness: Harness, mode: str, target: Target
) -> None:
    jwt = await harness.sign_in()
    messages = [{"role": "user", "content": "hi"}]
    async with sdk_for(mode, harness, "not-a-jwt") as bad:
        with pytest.raises(openai.AuthenticationError) as auth:
            await bad.create(model=target.model, messages=messages)
    assert auth.value.status_code == 401
    async with sdk_for(mode, harness, jwt) as sdk:
        with pytest.raises(openai.BadRequestError) as bad_request:
            await sdk.create(model=target.model, messages=messages, n=2)
        assert bad_request.value.status_code == 400
        assert "n" in str(bad_request.value)

        target.upstream(harness.emulator).knobs.usage_limit_reached = True
        with pytest.raises(openai.RateLimitError) as limited:
            await sdk.create(model=target.model, messages=messages)
        target.upstream(harness.emulator).knobs.usage_limit_reached = False
        assert limited.value.status_code == 429
        retry_after = limited.value.response.headers["retry-after"]
        assert int(retry_after) > 0
        if target.provider == "openai":
            assert "resets at" in limited.value.message

        with pytest.raises(openai.BadRequestError) as unsupported:
            await sdk.embeddings()
        assert unsupported.value.body is not None
        assert unsupported.value.body["type"] == "unsupported_endpoint"  # type: ignore[index]
        for error in (auth.value, bad_request.value, limited.value, unsupported.value):
            assert TOKEN_MARKER not in str(error)
