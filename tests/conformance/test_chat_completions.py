"""The official `openai` SDK against the proxy, in all four modes: plain, streamed, tools
(one, parallel, then the tool-result turn), image input, json_schema, usage, and errors raising
the SDK's own exception classes."""

from __future__ import annotations

import base64
import json

import openai
import pytest

from authai_embed.testing import TOKEN_MARKER
from authai_embed.testing.codex_script import CodexReply, FunctionCall
from tests.conftest import Harness

from .sdk import MODES, sdk_for

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL = "gpt-5.4"
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


def upstream_body(harness: Harness) -> dict[str, object]:
    body = harness.emulator.codex.last_request().body
    assert isinstance(body, dict)
    return body


async def test_plain_completion(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    async with sdk_for(mode, harness, jwt) as sdk:
        result = await sdk.create(
            model=MODEL,
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
    body = upstream_body(harness)
    assert body["instructions"] == "Be brief."
    assert body["stream"] is True
    assert body["store"] is False
    request = harness.emulator.codex.last_request()
    assert request.headers["chatgpt-account-id"] == harness.emulator.default_account.account_id


async def test_streamed_completion_with_usage(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.chunk_size = 3
    async with sdk_for(mode, harness, jwt) as sdk:
        chunks = await sdk.stream(
            model=MODEL,
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


async def test_one_tool_call_then_the_tool_result_turn(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(
        CodexReply(text="", function_calls=[FunctionCall("get_weather", {"city": "Paris"})]),
        CodexReply(text="It is sunny in Paris."),
    )
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    async with sdk_for(mode, harness, jwt) as sdk:
        first = await sdk.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
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
        tools_sent = upstream_body(harness)["tools"]
        assert isinstance(tools_sent, list)
        flat = tools_sent[0]
        assert (flat["type"], flat["name"], flat["description"]) == (
            "function",
            "get_weather",
            "Weather for a city",
        )
        assert flat["parameters"] == WEATHER_TOOL["function"]["parameters"]  # type: ignore[index]
        messages += [
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'},
        ]
        second = await sdk.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is sunny in Paris."
    items = upstream_body(harness)["input"]
    assert isinstance(items, list)
    kinds = [item.get("type") for item in items]
    assert "function_call" in kinds
    assert "function_call_output" in kinds
    output = next(i for i in items if i.get("type") == "function_call_output")
    assert output["call_id"] == call.id
    assert output["output"] == '{"sky": "sunny"}'


async def test_parallel_tool_calls_streamed(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.chunk_size = 4
    harness.emulator.codex.script(
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
            model=MODEL,
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
    assert upstream_body(harness)["parallel_tool_calls"] is True


async def test_image_input_reaches_the_backend(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
    async with sdk_for(mode, harness, jwt) as sdk:
        await sdk.create(
            model=MODEL,
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
    items = upstream_body(harness)["input"]
    assert isinstance(items, list)
    parts = items[-1]["content"]
    assert parts[0] == {"type": "input_text", "text": "What is this?"}
    assert parts[1]["type"] == "input_image"
    assert parts[1]["image_url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"] == "https://example.com/a.png"
    assert parts[2]["detail"] == "low"


async def test_json_schema_output_format(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script('{"answer": 42}')
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
    }
    async with sdk_for(mode, harness, jwt) as sdk:
        result = await sdk.create(
            model=MODEL,
            messages=[{"role": "user", "content": "answer?"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            },
        )
    assert json.loads(result.choices[0].message.content or "") == {"answer": 42}
    text = upstream_body(harness)["text"]
    assert isinstance(text, dict)
    assert text["format"] == {
        "type": "json_schema",
        "name": "answer",
        "schema": schema,
        "strict": True,
    }


async def test_models_are_listed(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    async with sdk_for(mode, harness, jwt) as sdk:
        ids = await sdk.models()
    assert "gpt-5.4" in ids
    assert len(ids) == len(set(ids))


async def test_errors_raise_the_sdks_own_classes(harness: Harness, mode: str) -> None:
    jwt = await harness.sign_in()
    messages = [{"role": "user", "content": "hi"}]
    async with sdk_for(mode, harness, "not-a-jwt") as bad:
        with pytest.raises(openai.AuthenticationError) as auth:
            await bad.create(model=MODEL, messages=messages)
    assert auth.value.status_code == 401
    async with sdk_for(mode, harness, jwt) as sdk:
        with pytest.raises(openai.BadRequestError) as bad_request:
            await sdk.create(model=MODEL, messages=messages, n=2)
        assert bad_request.value.status_code == 400
        assert "n" in str(bad_request.value)

        harness.emulator.codex.knobs.usage_limit_reached = True
        with pytest.raises(openai.RateLimitError) as limited:
            await sdk.create(model=MODEL, messages=messages)
        harness.emulator.codex.knobs.usage_limit_reached = False
        assert limited.value.status_code == 429
        retry_after = limited.value.response.headers["retry-after"]
        assert int(retry_after) > 0
        assert "resets at" in limited.value.message

        with pytest.raises(openai.BadRequestError) as unsupported:
            await sdk.embeddings()
        assert unsupported.value.body is not None
        assert unsupported.value.body["type"] == "unsupported_endpoint"  # type: ignore[index]
        for error in (auth.value, bad_request.value, limited.value, unsupported.value):
            assert TOKEN_MARKER not in str(error)
