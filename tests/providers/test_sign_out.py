"""Sign-out revokes upstream too: ChatGPT's `/oauth/revoke`, xAI's discovered revocation
endpoint, nothing for GitHub (its device-flow tokens cannot be revoked by the client); best
effort and bounded, never failing or undoing the local revoke."""

from __future__ import annotations

import logging

import pytest

from authai_embed.auth import sessions
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def sign_out(harness: Harness, jwt: str) -> None:
    revoked = await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    assert revoked.status_code == 204
    whoami = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
    assert whoami.status_code == 401  # the local revoke happened, whatever the provider did


async def test_chatgpt_sign_out_revokes_the_refresh_token_upstream(harness: Harness) -> None:
    jwt = await harness.sign_in()
    credentials = (await harness.authai.sessions.open_session(jwt)).credentials
    await sign_out(harness, jwt)
    assert harness.emulator.stats.revocations == 1
    # The refresh token ended its whole sign-in at the auth server: the access token too.
    assert harness.emulator.check_access_token(credentials.access) is None


@pytest.mark.parametrize("listed", [True, False])
async def test_grok_sign_out_revokes_where_discovery_lists_an_endpoint(
    harness: Harness, listed: bool
) -> None:
    xai = harness.emulator.xai
    xai.knobs.revocation_listed = listed
    jwt = await harness.sign_in(provider="xai")
    await sign_out(harness, jwt)
    assert xai.stats.revocations == (1 if listed else 0)


async def test_copilot_sign_out_is_local_only(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    await sign_out(harness, jwt)
    assert harness.emulator.stats.revocations == 0
    assert harness.emulator.xai.stats.revocations == 0


async def test_a_failing_upstream_revoke_never_fails_the_sign_out(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.emulator.knobs.revoke_failure = "error"
    jwt = await harness.sign_in()
    with caplog.at_level(logging.WARNING, logger="authai_embed"):
        await sign_out(harness, jwt)
    assert "upstream revoke failed provider=openai" in caplog.text
    assert harness.emulator.stats.revocations == 0


async def test_a_stuck_upstream_revoke_is_given_up_after_a_short_wait(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sessions, "UPSTREAM_REVOKE_TIMEOUT", 0.05)
    harness.emulator.knobs.revoke_failure = "hang"
    jwt = await harness.sign_in()
    with caplog.at_level(logging.WARNING, logger="authai_embed"):
        await sign_out(harness, jwt)
    assert "upstream revoke timed out provider=openai" in caplog.text
