"""No provider token ever appears in a response (body or header) or a log record."""

from __future__ import annotations

import logging

import pytest

from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio


async def test_no_token_in_any_response_or_log_through_a_whole_session(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def hook(response: object) -> None:
        import httpx

        assert isinstance(response, httpx.Response)
        await response.aread()
        seen.append(response.text)
        seen.extend(f"{k}: {v}" for k, v in response.headers.items())

    harness.client.event_hooks["response"] = [hook]
    jwt = await harness.sign_in()
    auth = {"Authorization": f"Bearer {jwt}"}
    await harness.client.get("/authai/auth/whoami", headers=auth)
    await harness.client.get("/authai/auth/providers")
    await harness.client.post("/authai/auth/start", json={"provider": "nope"})
    await harness.client.get("/authai/auth/poll/" + "x" * 43)
    await harness.client.post("/authai/auth/revoke", headers=auth)
    await harness.client.get("/authai/auth/whoami", headers=auth)

    assert harness.emulator.issued_tokens(), "the emulator issued tokens"
    assert len(seen) > 10
    for text in seen:
        assert TOKEN_MARKER not in text
    for record in caplog.records:
        assert TOKEN_MARKER not in record.getMessage()
        assert jwt not in record.getMessage()
    logged_paths = " ".join(r.getMessage() for r in caplog.records if r.name == "authai_embed.app")
    assert "/auth/whoami" in logged_paths
    assert "x" * 43 not in logged_paths  # session ids are never logged
