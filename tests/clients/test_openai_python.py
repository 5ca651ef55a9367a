"""The official `openai` Python SDK, async (in-process, through `authai.async_openai_client`) and
sync (over HTTP with the mount as `base_url`): models, chat plain and streamed, a tool round
trip, structured output, and the Responses API with string, shorthand and typed input, streamed
and not, with usage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import openai
import pytest

from tests._support.clients import (
    ECHO,
    MODEL,
    PROMPT,
    STRUCTURED,
    TIMEOUT,
    WEATHER_ANSWER,
    WEATHER_ARGS,
    WEATHER_CALL,
    WEATHER_RESULT,
    WEATHER_TOOL,
    City,
    Mount,
    tool_outputs,
)

pytestmark = pytest.mark.anyio

INPUTS: dict[str, Any] = {
    "string": PROMPT,
    "shorthand": [{"role": "user", "content": PROMPT}],
    "typed": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]}
    ],
    "mixed": [
        {"role": "user", "content": "hi"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]},
        {"role": "user", "content": [{"type": "input_text", "text": PROMPT}]},
    ],
}


class Client:
    """One face for the sync and async SDK clients (a sync call runs in a worker thread)."""

    def __init__(self, client: openai.AsyncOpenAI | openai.OpenAI) -> None:
        self.client = client

    async def __call__(self, fn: Callable[[Any], Any]) -> Any:
        if isinstance(self.client, openai.AsyncOpenAI):
            return await fn(self.client)
        sync = self.client
        return await anyio.to_thread.run_sync(lambda: fn(sync))

    async def collect(self, fn: Callable[[Any], Any]) -> list[Any]:
        """A stream read to its end."""
        if isinstance(self.client, openai.AsyncOpenAI):
            return [item async for item in await fn(self.client)]
        sync = self.client
        return await anyio.to_thread.run_sync(lambda: list(fn(sync)))


@asynccontextmanager
async def sdk(mount: Mount, kind: str) -> AsyncIterator[Client]:
    client: openai.AsyncOpenAI | openai.OpenAI
    if kind == "async":
        client = mount.harness.authai.async_openai_client(mount.jwt)
    else:
        client = openai.OpenAI(base_url=mount.v1, api_key=mount.jwt, max_retries=0, timeout=TIMEOUT)
    try:
        yield Client(client)
    finally:
        if isinstance(client, openai.AsyncOpenAI):
            await client.close()
        else:
            client.close()


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_models_chat_and_stream(mount: Mount, kind: str) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    async with sdk(mount, kind) as call:
        page = await call(lambda c: c.models.list())
        plain = await call(lambda c: c.chat.completions.create(model=MODEL, messages=messages))
        chunks = await call.collect(
            lambda c: c.chat.completions.create(
                model=MODEL,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert MODEL in [m.id for m in page.data]
    assert plain.choices[0].message.content == ECHO
    assert plain.usage.total_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ECHO
    assert chunks[-1].usage.total_tokens > 0


async def test_tool_round_trip(mount: Mount, kind: str) -> None:
    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    async with sdk(mount, kind) as call:
        first = await call(
            lambda c: c.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER_TOOL]
            )
        )
        tool_call = first.choices[0].message.tool_calls[0]
        assert first.choices[0].finish_reason == "tool_calls"
        assert json.loads(tool_call.function.arguments) == WEATHER_ARGS
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": WEATHER_RESULT})
        second = await call(
            lambda c: c.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER_TOOL]
            )
        )
    assert second.choices[0].message.content == WEATHER_ANSWER
    assert tool_outputs(mount.bodies()[-1]) == [WEATHER_RESULT]


async def test_structured_output_chat_and_responses(mount: Mount, kind: str) -> None:
    mount.upstream.script(json.dumps(STRUCTURED), json.dumps(STRUCTURED))
    async with sdk(mount, kind) as call:
        chat = await call(
            lambda c: c.chat.completions.parse(
                model=MODEL, messages=[{"role": "user", "content": PROMPT}], response_format=City
            )
        )
        responses = await call(
            lambda c: c.responses.parse(model=MODEL, input=PROMPT, text_format=City)
        )
    assert chat.choices[0].message.parsed == City(**STRUCTURED)
    assert responses.output_parsed == City(**STRUCTURED)
    assert mount.bodies()[-1]["text"]["format"]["type"] == "json_schema"


@pytest.mark.parametrize("shape", list(INPUTS))
async def test_responses_plain_and_streamed(mount: Mount, kind: str, shape: str) -> None:
    async with sdk(mount, kind) as call:
        plain = await call(lambda c: c.responses.create(model=MODEL, input=INPUTS[shape]))
        events = await call.collect(
            lambda c: c.responses.create(model=MODEL, input=INPUTS[shape], stream=True)
        )
    assert plain.output_text == ECHO
    assert plain.usage.total_tokens > 0
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == ECHO
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == ECHO
    assert events[-1].response.usage.total_tokens > 0
