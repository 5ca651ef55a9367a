"""The Vercel AI SDK (`ai` with `@ai-sdk/openai`, node/vercel_ai.mjs) with the mount as
`baseURL`, on `openai.chat(...)` and on the provider's default, the Responses API:
`generateText` (string prompt and message list) and `streamText` with usage, a tool the SDK runs
and answers, and `generateObject`. The AI SDK does not list models (NA)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authai_embed.testing.model.script import CodexReply, FunctionCall
from tests._support.clients import (
    ECHO,
    MODEL,
    NODE_DIR,
    PROMPT,
    STRUCTURED,
    WEATHER_ANSWER,
    WEATHER_ARGS,
    WEATHER_RESULT,
    Mount,
    last_json_line,
    require_node_package,
    run_client,
    tool_outputs,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_vercel_ai_sdk_chat_and_responses(mount: Mount, tmp_path: Path) -> None:
    node = require_node_package("@ai-sdk/openai")
    for _ in ("chat", "responses"):
        mount.upstream.script(
            CodexReply(function_calls=[FunctionCall("get_weather", WEATHER_ARGS)]),
            WEATHER_ANSWER,
            json.dumps(STRUCTURED),
        )
    out = await run_client(
        [node, str(NODE_DIR / "vercel_ai.mjs")],
        env={
            "AUTHAI_BASE_URL": mount.v1,
            "AUTHAI_JWT": mount.jwt,
            "AUTHAI_MODEL": MODEL,
            "AUTHAI_PROMPT": PROMPT,
            "AUTHAI_TOOL_RESULT": WEATHER_RESULT,
        },
        cwd=tmp_path,
    )
    result = last_json_line(out)
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
