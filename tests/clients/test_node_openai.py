"""The official `openai` npm package with the mount as `baseURL` (node/openai_client.mjs): a
tool round trip, structured output, models, chat plain and streamed with usage, and the
Responses API with string and list input, streamed and not."""

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


async def test_openai_npm_client_through_every_check(mount: Mount, tmp_path: Path) -> None:
    node = require_node_package("openai")
    mount.upstream.script(
        CodexReply(function_calls=[FunctionCall("get_weather", WEATHER_ARGS)]),
        WEATHER_ANSWER,
        json.dumps(STRUCTURED),
    )
    out = await run_client(
        [node, str(NODE_DIR / "openai_client.mjs")],
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
    assert result["tool"] == {
        "finish": "tool_calls",
        "args": WEATHER_ARGS,
        "answer": WEATHER_ANSWER,
    }
    assert WEATHER_RESULT in [o for body in mount.bodies() for o in tool_outputs(body)]
    assert result["structured"] == STRUCTURED
    assert MODEL in result["models"]
    assert result["chat"]["text"] == ECHO
    assert result["chat"]["usage"] > 0
    assert result["stream"]["text"] == ECHO
    assert result["stream"]["usage"] > 0
    for shape in ("string", "list"):
        answer = result["responses"][shape]
        assert answer["text"] == ECHO, shape
        assert answer["streamed"] == ECHO, shape
        assert answer["usage"] > 0, shape
        assert answer["streamedUsage"] > 0, shape
