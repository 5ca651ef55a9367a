"""Simon Willison's `llm` command line tool, with the mount declared as an OpenAI-compatible
model in `extra-openai-models.yaml` and the session JWT as its key: plain and streamed answers
with usage, a tool round trip (`--functions`: llm runs the tool and sends the result back), and
structured output (`--schema`). llm's OpenAI plugin speaks Chat Completions only (Responses NA);
its model list is its own configuration, not `/v1/models` (NA)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests._support.clients import (
    ECHO,
    MODEL,
    PROMPT,
    STRUCTURED,
    WEATHER_ANSWER,
    WEATHER_CALL,
    WEATHER_RESULT,
    Mount,
    require_module,
    run_client,
    tool_outputs,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

MODELS_YAML = """\
- model_id: authai
  model_name: {model}
  api_base: {base_url}
  api_key_name: authai
  supports_tools: true
  supports_schema: true
"""
FUNCTIONS = f"def get_weather(city: str) -> str:\n    return {WEATHER_RESULT!r}\n"


async def llm(mount: Mount, tmp_path: Path, *args: str) -> str:
    """`llm prompt -m authai args` against the mount; what it printed."""
    require_module("llm")
    home = tmp_path / "llm"
    home.mkdir(exist_ok=True)
    (home / "extra-openai-models.yaml").write_text(
        MODELS_YAML.format(model=MODEL, base_url=mount.v1)
    )
    (home / "keys.json").write_text(json.dumps({"authai": mount.jwt}))
    return await run_client(
        [sys.executable, "-m", "llm", "prompt", "-m", "authai", *args],
        env={"LLM_USER_PATH": str(home)},
        cwd=tmp_path,
    )


async def test_plain_and_streamed(mount: Mount, tmp_path: Path) -> None:
    assert (await llm(mount, tmp_path, "--no-stream", PROMPT)).strip() == ECHO
    assert (await llm(mount, tmp_path, PROMPT)).strip() == ECHO
    assert mount.bodies()[-1]["stream"] is True


async def test_usage_is_reported(mount: Mount, tmp_path: Path) -> None:
    home = tmp_path / "llm"
    await llm(mount, tmp_path, "--no-stream", "-u", PROMPT)
    out = await run_client(
        [sys.executable, "-m", "llm", "logs", "--json", "-n", "1"],
        env={"LLM_USER_PATH": str(home)},
        cwd=tmp_path,
    )
    logged = json.loads(out)[0]
    assert logged["response"] == ECHO
    assert logged["output_tokens"] > 0


async def test_tool_round_trip(mount: Mount, tmp_path: Path) -> None:
    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER)
    out = await llm(mount, tmp_path, "--functions", FUNCTIONS, "Weather in Paris?")
    assert out.strip() == WEATHER_ANSWER
    assert tool_outputs(mount.bodies()[-1]) == [WEATHER_RESULT]


async def test_structured_output(mount: Mount, tmp_path: Path) -> None:
    mount.upstream.script(json.dumps(STRUCTURED))
    out = await llm(mount, tmp_path, "--schema", "city, population int", PROMPT)
    assert json.loads(out) == STRUCTURED
    assert mount.bodies()[-1]["text"]["format"]["type"] == "json_schema"
