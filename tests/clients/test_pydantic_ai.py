"""pydantic-ai agents on `OpenAIChatModel` and `OpenAIResponsesModel`, given an `openai` client
whose `base_url` is the mount: a plain and a streamed run with usage, an agent with a tool
(pydantic-ai runs it and sends the result back), and native structured output (JSON schema).
pydantic-ai has no model listing (NA)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests._support.clients import (
    ECHO,
    MODEL,
    PROMPT,
    STRUCTURED,
    TIMEOUT,
    WEATHER_ANSWER,
    WEATHER_CALL,
    WEATHER_RESULT,
    City,
    Mount,
    get_weather,
    require_module,
    tool_outputs,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def model(mount: Mount, api: str) -> AsyncIterator[Any]:
    require_module("pydantic_ai")
    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = openai.AsyncOpenAI(
        base_url=mount.v1, api_key=mount.jwt, max_retries=0, timeout=TIMEOUT
    )
    provider = OpenAIProvider(openai_client=client)
    kind = OpenAIResponsesModel if api == "responses" else OpenAIChatModel
    yield kind(MODEL, provider=provider)
    await client.close()


async def test_plain_and_streamed_runs_with_usage(mount: Mount, model: Any) -> None:
    from pydantic_ai import Agent

    agent = Agent(model)
    result = await agent.run(PROMPT)
    async with agent.run_stream(PROMPT) as streamed:
        deltas = [delta async for delta in streamed.stream_text(delta=True)]
        streamed_usage = streamed.usage
    assert result.output == ECHO
    assert result.usage.output_tokens > 0
    assert "".join(deltas) == ECHO
    assert streamed_usage.output_tokens > 0


async def test_agent_with_a_tool(mount: Mount, model: Any) -> None:
    from pydantic_ai import Agent

    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER)
    agent = Agent(model, tools=[get_weather])
    result = await agent.run("Weather in Paris?")
    assert result.output == WEATHER_ANSWER
    assert tool_outputs(mount.bodies()[-1]) == [WEATHER_RESULT]


async def test_native_structured_output(mount: Mount, model: Any) -> None:
    from pydantic_ai import Agent, NativeOutput

    mount.upstream.script(json.dumps(STRUCTURED))
    result = await Agent(model, output_type=NativeOutput(City)).run(PROMPT)
    assert result.output == City(**STRUCTURED)
    assert mount.bodies()[-1]["text"]["format"]["type"] == "json_schema"
