"""The Vercel AI SDK (`ai` with `@ai-sdk/openai`, node/vercel_ai.mjs) with the mount as
`baseURL`, on `openai.chat(...)` and on the provider's default, the Responses API:
`generateText` (string prompt and message list) and `streamText` with usage, a tool the SDK runs
and answers, and `generateObject`. The AI SDK does not list models (NA)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._support.clients import (
    ECHO,
    STRUCTURED,
    WEATHER_ANSWER,
    WEATHER_ARGS,
    WEATHER_CALL,
    WEATHER_RESULT,
    Mount,
    require_node_package,
    run_node_script,
    tool_outputs,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_vercel_ai_sdk_chat_and_responses(mount: Mount, tmp_path: Path) -> None:
    node = require_node_package("@ai-sdk/openai")
    for _ in ("chat", "responses"):
        mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER, json.dumps(STRUCTURED))
    result = await run_node_script(mount, node, "vercel_ai.mjs", tmp_path)
    outputs = [o for body in mount.bodies() for o in tool_outputs(body)]
    assert outputs.count(WEATHER_RESULT) == 2  # the tool result went back once per mode
    for mode in ("chat", "responses"):
        got = result[mode]
        assert got["tool"] == {"answer": WEATHER_ANSWER, "steps": 2, "args": WEATHER_ARGS}, mode
        assert got["object"] == STRUCTURED, mode
        assert got["text"] == ECHO, mode
        assert got["list"] == ECHO, mode
        assert got["streamed"] == ECHO, mode
        assert got["parts"] > 1, mode
        assert got["usage"] > 0, mode
        assert got["streamedUsage"] > 0, mode
