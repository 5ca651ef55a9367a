"""The official `anthropic` SDK against `/v1/messages`, in-process, for every provider: plain,
system prompt, streamed (text and the final message), a tool round trip, image input, stop
sequences, and errors raising the SDK's own classes. What reaches the upstream is checked in the
upstream's own shape: Responses items when translated, chat messages when passed through."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest

from authai_embed import AuthStore, MemoryStore
from authai_embed.testing import TOKEN_MARKER, CodexReply, FunctionCall
from tests._support.anthropic_sdk import anthropic_client
from tests._support.harness import Harness
from tests.conformance.targets import Target

pytestmark = pytest.mark.anyio

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def store() -> AuthStore:
    return MemoryStore()  # the stores have their own suites; one is enough here


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[anthropic.AsyncAnthropic]:
    jwt = await harness.sign_in()
    sdk = anthropic_client(harness.app, jwt)
    yield sdk
    await sdk.close()


def sent(harness: Harness, target: Target) -> dict[str, Any]:
    return target.last_body(harness.emulator)


async def test_plain_message(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    message = await client.messages.create(
        model=target.model,
        max_tokens=256,
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == target.model
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Echo: hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.output_tokens > 0
    assert message.usage.input_tokens > 0


async def test_system_prompt_and_history_reach_the_upstream(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    await client.messages.create(
        model=target.model,
        max_tokens=256,
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
    )
    body = sent(harness, target)
    if target.translated:
        assert body["instructions"] == "Be brief.\n\nBe kind."
        roles = [item["role"] for item in body["input"]]
        assert roles == ["user", "assistant", "user"]
    else:
        assert body["messages"] == [
            {"role": "system", "content": "Be brief.\n\nBe kind."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ]
        assert body["max_tokens"] == 256


async def test_streamed_message(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    target.upstream(harness.emulator).knobs.chunk_size = 3
    async with client.messages.stream(
        model=target.model,
        max_tokens=256,
        messages=[{"role": "user", "content": "stream me please"}],
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_message()
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == "Echo: stream me please"
    assert sum(1 for e in events if e.type == "content_block_delta") > 3
    kinds = [e.type for e in events if e.type != "content_block_delta" and e.type != "text"]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert final.content[0].text == "Echo: stream me please"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    assert final.usage.input_tokens > 0


async def test_a_tool_round_trip(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    target.upstream(harness.emulator).script(
        CodexReply(
            text="Let me look.", function_calls=[FunctionCall("get_weather", {"city": "Paris"})]
        ),
        CodexReply(text="It is sunny in Paris."),
    )
    history: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await client.messages.create(
        model=target.model,
        max_tokens=256,
        messages=history,
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert first.stop_reason == "tool_use"
    assert [block.type for block in first.content] == ["text", "tool_use"]
    use = first.content[1]
    assert use.type == "tool_use"
    assert use.name == "get_weather"
    assert use.input == {"city": "Paris"}
    tools_sent = sent(harness, target)["tools"]
    if target.translated:
        assert tools_sent[0]["name"] == "get_weather"
        assert tools_sent[0]["parameters"] == WEATHER["input_schema"]
    else:
        assert tools_sent == [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": WEATHER["input_schema"],
                },
            }
        ]
    history += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    async with client.messages.stream(
        model=target.model,
        max_tokens=256,
        messages=history,
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        second = await stream.get_final_message()
    assert second.content[0].text == "It is sunny in Paris."  # type: ignore[union-attr]
    assert second.stop_reason == "end_turn"
    body = sent(harness, target)
    if target.translated:
        output = next(i for i in body["input"] if i.get("type") == "function_call_output")
        assert (output["call_id"], output["output"]) == (use.id, "sunny")
        call = next(i for i in body["input"] if i.get("type") == "function_call")
        assert json.loads(call["arguments"]) == {"city": "Paris"}
    else:
        assert body["messages"][-2]["tool_calls"][0]["id"] == use.id
        assert body["messages"][-1] == {"role": "tool", "tool_call_id": use.id, "content": "sunny"}
    if target.provider == "github":  # a tool-result turn is the agent's, not the user's
        assert target.upstream(harness.emulator).last_request().headers["x-initiator"] == "agent"


async def test_a_streamed_tool_call(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    target.upstream(harness.emulator).knobs.chunk_size = 4
    target.upstream(harness.emulator).script(
        CodexReply(text="", function_calls=[FunctionCall("get_weather", {"city": "Tokyo"})])
    )
    async with client.messages.stream(
        model=target.model,
        max_tokens=256,
        messages=[{"role": "user", "content": "Tokyo?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["tool_use"]
    assert final.content[0].input == {"city": "Tokyo"}  # type: ignore[union-attr]
    choice = sent(harness, target)["tool_choice"]
    if target.translated:
        assert choice == {"type": "function", "name": "get_weather"}
    else:
        assert choice == {"type": "function", "function": {"name": "get_weather"}}


async def test_image_input_reaches_the_upstream(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
    await client.messages.create(
        model=target.model,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": pixel},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.png"},
                    },
                ],
            }
        ],
    )
    body = sent(harness, target)
    if target.translated:
        parts = body["input"][-1]["content"]
        assert parts[1]["type"] == "input_image"
        assert parts[1]["image_url"] == f"data:image/png;base64,{pixel}"
        assert parts[2]["image_url"] == "https://example.com/a.png"
    else:
        parts = body["messages"][-1]["content"]
        assert parts[1] == {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{pixel}"},
        }
        assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    if target.provider == "github":
        headers = target.upstream(harness.emulator).last_request().headers
        assert headers["copilot-vision-request"] == "true"


async def test_a_stop_sequence_ends_the_turn_where_it_appears(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    upstream = target.upstream(harness.emulator)
    upstream.knobs.chunk_size = 2
    upstream.script("one two STOP three", "one two STOP three")
    whole = await client.messages.create(
        model=target.model,
        max_tokens=256,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "count"}],
    )
    assert whole.content[0].text == "one two "  # type: ignore[union-attr]
    assert (whole.stop_reason, whole.stop_sequence) == ("stop_sequence", "STOP")
    async with client.messages.stream(
        model=target.model,
        max_tokens=256,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "count"}],
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "one two "  # type: ignore[union-attr]
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "STOP")


async def test_errors_raise_the_sdks_own_classes(
    harness: Harness, client: anthropic.AsyncAnthropic, target: Target
) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    bad_key = anthropic_client(harness.app, "not-a-jwt")
    with pytest.raises(anthropic.AuthenticationError) as auth:
        await bad_key.messages.create(model=target.model, max_tokens=16, messages=messages)
    await bad_key.close()
    assert auth.value.status_code == 401
    assert auth.value.response.content == (
        b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'
    )

    document: Any = [{"role": "user", "content": [{"type": "document", "source": {}}]}]
    with pytest.raises(anthropic.BadRequestError) as bad_request:
        await client.messages.create(model=target.model, max_tokens=16, messages=document)
    assert bad_request.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages[0].content[0].type: content blocks of type 'document' are "
            "not supported here",
        },
    }

    target.upstream(harness.emulator).knobs.usage_limit_reached = True
    with pytest.raises(anthropic.RateLimitError) as limited:
        await client.messages.create(model=target.model, max_tokens=16, messages=messages)
    with pytest.raises(anthropic.RateLimitError) as limited_stream:
        async with client.messages.stream(
            model=target.model, max_tokens=16, messages=messages
        ) as stream:
            await stream.get_final_message()
    target.upstream(harness.emulator).knobs.usage_limit_reached = False
    for limit in (limited.value, limited_stream.value):
        assert limit.status_code == 429
        assert int(limit.response.headers["retry-after"]) > 0
        assert isinstance(limit.body, dict)
        assert limit.body["error"]["type"] == "rate_limit_error"

    with pytest.raises(anthropic.NotFoundError) as count:
        await client.messages.count_tokens(model=target.model, messages=messages)
    assert isinstance(count.value.body, dict)
    assert count.value.body["error"]["type"] == "not_found_error"
    errors: list[anthropic.APIStatusError] = [
        auth.value,
        bad_request.value,
        limited.value,
        count.value,
    ]
    for error in errors:
        assert TOKEN_MARKER not in str(error)
        assert TOKEN_MARKER not in error.response.text


async def test_the_key_may_come_as_x_api_key(harness: Harness, target: Target) -> None:
    jwt = await harness.sign_in()
    body = {
        "model": target.model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": jwt, "anthropic-version": "2023-06-01"}
    ok = await harness.client.post("/authai/v1/messages", json=body, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["content"] == [{"type": "text", "text": "Echo: hi"}]
    wrong = await harness.client.post(
        "/authai/v1/messages", json=body, headers={**headers, "x-api-key": "nope"}
    )
    chat = await harness.client.post(
        "/authai/v1/chat/completions", json=body, headers={"authorization": "Bearer nope"}
    )
    assert (wrong.status_code, wrong.content) == (401, chat.content)


async def test_other_v1_paths_stay_unsupported(harness: Harness) -> None:
    response = await harness.client.post("/authai/v1/messages/batches", json={})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "unsupported_endpoint"
