"""The client conformance suite's common ground (tests/clients): the mount served on a loopback
port with a signed-in user, what every client is asked, the upstream calls it caused, and the
rule for a client that is not installed (skip, or fail when `AUTHAI_REQUIRE_SERVICES` is set)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import anyio
from pydantic import BaseModel

from authai_embed.testing.codex.backend import CodexBackend
from authai_embed.testing.model.script import CodexReply, FunctionCall
from tests._support.harness import Harness
from tests._support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "clients" / "node"
MODEL = "gpt-5.4"
CLIENT_TIMEOUT = 120.0
"""Seconds a client process may run before the test fails (a hung client never hangs CI)."""
TIMEOUT = 30.0
"""Seconds an in-process client waits for one answer (its own timeout setting)."""

WEATHER_ARGS = {"city": "Paris"}
WEATHER_RESULT = "sunny, 21 C"
WEATHER_ANSWER = "It is sunny in Paris."
STRUCTURED: dict[str, Any] = {"city": "Paris", "population": 2100000}
PROMPT = "hello there"
ECHO = f"Echo: {PROMPT}"
WEATHER_CALL = CodexReply(function_calls=[FunctionCall("get_weather", WEATHER_ARGS)])
"""The scripted model answer that asks the client to run `get_weather` for Paris."""
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
"""`get_weather` as a Chat Completions tool, for clients that take the JSON form."""


class City(BaseModel):
    """What the structured-output checks ask for (`STRUCTURED` is one)."""

    city: str
    population: int


def get_weather(city: str) -> str:
    """The weather in a city."""
    return WEATHER_RESULT


@dataclass
class Mount:
    """The mount served over HTTP on loopback, and a user signed in to it."""

    harness: Harness
    base_url: str
    """The host's base URL; the OpenAI-compatible API is at `v1`."""
    jwt: str

    @property
    def v1(self) -> str:
        """What a client takes as its OpenAI base URL."""
        return f"{self.base_url}/authai/v1"

    @property
    def upstream(self) -> CodexBackend:
        """The emulated ChatGPT backend the calls reach: script it, read what it got."""
        return self.harness.emulator.codex

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of every model call the backend got, oldest first."""
        return [
            r.body
            for r in self.upstream.requests
            if r.path.endswith("/responses") and isinstance(r.body, dict)
        ]


def missing(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when `AUTHAI_REQUIRE_SERVICES` is set (CI)."""
    unavailable(reason, fix="install tests/clients/requirements.txt")


def require_module(name: str) -> None:
    """Return when the Python package `name` is importable, else `missing`."""
    if importlib.util.find_spec(name) is None:
        missing(f"the client package {name!r} is not installed")


def require_executable(name: str) -> str:
    """The path of the program `name` on PATH, else `missing`."""
    found = shutil.which(name)
    if found is None:
        missing(f"the client program {name!r} is not installed")
    return found


def require_node_package(package: str) -> str:
    """The `node` binary, once `npm ci` has installed `package` in tests/clients/node."""
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
        missing(f"the npm package {package} is not installed: run `npm ci` in {NODE_DIR}")
    assert node is not None
    return node


async def run_client(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> str:
    """Run a client program to its end within `CLIENT_TIMEOUT`; its stdout. A non-zero exit
    fails the test with what the program wrote."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd or ROOT)}
    full_env.update(env)
    with anyio.fail_after(CLIENT_TIMEOUT):
        result = await anyio.run_process(list(argv), cwd=cwd, env=full_env, check=False)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, f"{argv[0]} exited {result.returncode}:\n{out}\n{err}"
    return out


async def run_node_script(mount: Mount, node: str, script: str, cwd: Path) -> Any:
    """Run `script` (in tests/clients/node) against the mount: the JSON it printed last. The
    script reads the mount, the model, the prompt and the tool's result from the environment."""
    env = {
        "AUTHAI_BASE_URL": mount.v1,
        "AUTHAI_JWT": mount.jwt,
        "AUTHAI_MODEL": MODEL,
        "AUTHAI_PROMPT": PROMPT,
        "AUTHAI_TOOL_RESULT": WEATHER_RESULT,
    }
    return last_json_line(await run_client([node, str(NODE_DIR / script)], env=env, cwd=cwd))


def last_json_line(out: str) -> Any:
    """The JSON value on the last non-empty line a client script printed."""
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines, "the client printed nothing"
    return json.loads(lines[-1])


def tool_outputs(body: Mapping[str, Any]) -> list[str]:
    """The tool results (`function_call_output` items) a model call carried."""
    return [
        str(item.get("output"))
        for item in body.get("input", [])
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
