"""End to end, the way the reference relay is used: `authai-embed serve --emulator` in its own
process, a sign-in approved on the emulator's device page, then the official `openai` npm
package with the server as `baseURL` and the session JWT as `apiKey`."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests._support.serve_process import NODE_CLIENT, require_node_client, serving, sign_in

pytestmark = pytest.mark.e2e

PROMPT = "Say hello to the relay's old clients"


def test_openai_npm_client_gets_plain_and_streamed_completions_from_serve() -> None:
    node = require_node_client()
    with serving("--emulator", env={"AUTH_AI_EMULATOR_EVENT_DELAY": "0"}) as served:
        jwt = sign_in(served.base_url)
        result = subprocess.run(  # noqa: S603
            [node, "chat.mjs"],
            cwd=NODE_CLIENT,
            env={
                "PATH": "/usr/bin:/bin",
                "AUTHAI_BASE_URL": served.base_url + "/v1",
                "AUTHAI_JWT": jwt,
                "AUTHAI_PROMPT": PROMPT,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        # The emulator's model echoes the last user message.
        assert PROMPT in answer["plain"]["content"]
        assert answer["plain"]["finish"] == "stop"
        assert answer["streamed"]["content"] == answer["plain"]["content"]
        assert answer["streamed"]["chunks"] > 2  # event by event, not one buffered answer
        assert answer["streamed"]["finish"] == "stop"
        # A bad key is the OpenAI SDK's AuthenticationError, as against the reference.
        assert answer["unauthorized"] == {"name": "AuthenticationError", "status": 401}
        served.stop()


def test_a_missing_node_fails_in_ci_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("AUTHAI_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        require_node_client()
    monkeypatch.delenv("AUTHAI_REQUIRE_SERVICES")
    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        require_node_client()
