"""The official `openai` npm package with the mount as `baseURL` (node/openai_client.mjs): a
tool round trip, structured output, models, chat plain and streamed with usage, and the
Responses API with string and list input, streamed and not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._support.clients import (
    ECHO,
    MODEL,
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


async def test_openai_npm_client_through_every_check(mount: Mount, tmp_path: Path) -> None:
    node = require_node_package("openai")
    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER, json.dumps(STRUCTURED))
    result = await run_node_script(mount, node, "openai_client.mjs", tmp_path)
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
