"""langchain-openai's `ChatOpenAI` with the mount as `base_url`, on Chat Completions and with
`use_responses_api=True`: plain and streamed answers with usage, a tool round trip (the
`ToolMessage` goes back and is answered), structured output, and string and list input.
LangChain has no model listing (NA)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
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
    City,
    Mount,
    get_weather,
    require_module,
    tool_outputs,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The client's HTTP client, closed after the test (LangChain's own cached one never is)."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        yield client


def chat_model(mount: Mount, api: str, http: httpx.AsyncClient) -> Any:
    require_module("langchain_openai")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=MODEL,
        http_async_client=http,
        base_url=mount.v1,
        api_key=mount.jwt,  # type: ignore[arg-type]
        max_retries=0,
        stream_usage=True,
        use_responses_api=api == "responses",
    )


async def test_plain_and_streamed_with_usage(
    mount: Mount, api: str, http: httpx.AsyncClient
) -> None:
    llm = chat_model(mount, api, http)
    plain = await llm.ainvoke(PROMPT)
    chunks = [chunk async for chunk in llm.astream([("user", PROMPT)])]
    assert plain.text == ECHO
    assert plain.usage_metadata["total_tokens"] > 0
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert len(chunks) > 2
    assert merged.text == ECHO
    assert merged.usage_metadata["total_tokens"] > 0


async def test_tool_round_trip(mount: Mount, api: str, http: httpx.AsyncClient) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage

    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER)
    llm = chat_model(mount, api, http).bind_tools([get_weather])
    history: list[Any] = [HumanMessage("Weather in Paris?")]
    asked = await llm.ainvoke(history)
    assert asked.tool_calls[0]["name"] == "get_weather"
    assert asked.tool_calls[0]["args"] == WEATHER_ARGS
    history += [asked, ToolMessage(WEATHER_RESULT, tool_call_id=asked.tool_calls[0]["id"])]
    answered = await llm.ainvoke(history)
    assert answered.text == WEATHER_ANSWER
    assert tool_outputs(mount.bodies()[-1]) == [WEATHER_RESULT]


async def test_structured_output(mount: Mount, api: str, http: httpx.AsyncClient) -> None:
    mount.upstream.script(json.dumps(STRUCTURED))
    llm = chat_model(mount, api, http).with_structured_output(City, method="json_schema")
    assert await llm.ainvoke(PROMPT) == City(**STRUCTURED)
    assert mount.bodies()[-1]["text"]["format"]["type"] == "json_schema"
