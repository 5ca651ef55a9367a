"""The Codex CLI (`@openai/codex`, its native binary from the npm registry) pointed at the mount
through a custom provider (`wire_api = "responses"`), as docs/clients.md configures it: what it
sends (typed items, `client_metadata`, `include`, namespace, custom and web search tools) is
accepted, a shell tool round trip completes, `--output-schema` gives structured output, and the
turn's usage arrives. Codex speaks only the Responses API, always streamed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from authai_embed.testing.model.script import CodexReply, FunctionCall
from tests._support.clients import (
    CLIENT_TIMEOUT,
    MODEL,
    NODE_DIR,
    PROMPT,
    STRUCTURED,
    Mount,
    require_node_package,
    run_client,
    tool_outputs,
)
from tests._support.serve_process import child_env, serving, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

CODEX = str(NODE_DIR / "node_modules" / ".bin" / "codex")
CONFIG = """\
model = "{model}"
model_provider = "authai"

[model_providers.authai]
name = "AuthAI"
base_url = "{base_url}"
env_key = "AUTHAI_JWT"
wire_api = "responses"
"""


def codex_home(tmp_path: Path, base_url: str) -> Path:
    """A `CODEX_HOME` whose config.toml is the one docs/clients.md shows."""
    require_node_package("@openai/codex")
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(CONFIG.format(model=MODEL, base_url=base_url))
    return home


def events_of(out: str) -> list[dict[str, Any]]:
    """The JSON events `codex exec --json` printed."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def codex(mount: Mount, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    """`codex exec --json args` against the mount; the JSON events it printed."""
    home = codex_home(tmp_path, mount.v1)
    out = await run_client(
        [CODEX, "exec", "--json", "--skip-git-repo-check", *args],
        env={"CODEX_HOME": str(home), "AUTHAI_JWT": mount.jwt},
        cwd=tmp_path,
    )
    return events_of(out)


def agent_messages(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["item"]["text"]
        for e in events
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]


async def test_codex_exec_turn_is_answered_with_usage(mount: Mount, tmp_path: Path) -> None:
    events = await codex(mount, tmp_path, PROMPT)
    assert agent_messages(events) == [f"Echo: {PROMPT}"]
    completed = [e for e in events if e.get("type") == "turn.completed"]
    assert completed
    assert completed[0]["usage"]["output_tokens"] > 0
    sent = mount.bodies()[-1]
    # What the CLI sends reached the backend as it wants it: typed items without ids,
    # the CLI's metadata, encrypted reasoning asked back, and all its tool kinds.
    assert all(item["type"] == "message" and "id" not in item for item in sent["input"])
    assert sent["input"][-1]["content"] == [{"type": "input_text", "text": PROMPT}]
    assert "session_id" in sent["client_metadata"]
    assert "reasoning.encrypted_content" in sent["include"]
    assert {"function", "namespace", "web_search"} <= {tool["type"] for tool in sent["tools"]}
    assert sent["store"] is False
    assert sent["stream"] is True


async def test_codex_runs_a_shell_tool_and_answers_with_its_output(
    mount: Mount, tmp_path: Path
) -> None:
    mount.upstream.script(
        CodexReply(function_calls=[FunctionCall("exec_command", {"cmd": "echo tool-ran-42"})]),
        CodexReply(text="The command printed tool-ran-42."),
    )
    events = await codex(mount, tmp_path, "--dangerously-bypass-approvals-and-sandbox", PROMPT)
    assert agent_messages(events)[-1] == "The command printed tool-ran-42."
    bodies = mount.bodies()
    assert len(bodies) >= 2
    outputs = tool_outputs(bodies[-1])
    assert any("tool-ran-42" in output for output in outputs), outputs
    # The call the model made went back with the result, as typed items without ids.
    reasoning = [i for i in bodies[-1]["input"] if i.get("type") == "reasoning"]
    assert reasoning, "the first turn's encrypted reasoning went back"
    assert all("id" not in item and item.get("encrypted_content") for item in reasoning)
    calls = [i for i in bodies[-1]["input"] if i.get("type") == "function_call"]
    assert calls
    assert calls[-1]["name"] == "exec_command"
    assert "id" not in calls[-1]


async def test_codex_output_schema_is_structured_output(mount: Mount, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    mount.upstream.script(json.dumps(STRUCTURED))
    events = await codex(mount, tmp_path, "--output-schema", str(schema_file), PROMPT)
    assert json.loads(agent_messages(events)[-1]) == STRUCTURED
    fmt = mount.bodies()[-1]["text"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"] == schema


def test_codex_exec_through_authai_embed_serve(tmp_path: Path) -> None:
    """The same configuration against the standalone server (`authai-embed serve --emulator`),
    whose `/v1` is at the root."""
    with serving("--emulator", env={"AUTH_AI_EMULATOR_EVENT_DELAY": "0"}) as served:
        home = codex_home(tmp_path, served.base_url + "/v1")
        result = subprocess.run(  # noqa: S603
            [CODEX, "exec", "--json", "--skip-git-repo-check", PROMPT],
            env=child_env({"CODEX_HOME": str(home), "AUTHAI_JWT": sign_in(served.base_url)}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert agent_messages(events_of(result.stdout)) == [f"Echo: {PROMPT}"]
        served.stop()
