"""ChatGPT refuses device-code sign-in until the user turns it on (or a workspace admin does):
`/auth/start` and `/auth/poll` say so with a stable code and the settings link, not as a
generic failure."""

from __future__ import annotations

import pytest

from authai_embed.testing import ApprovalError
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

SETTINGS = "https://chatgpt.com/security-settings"


async def test_start_refused_by_the_auth_server_names_the_setting(harness: Harness) -> None:
    harness.emulator.knobs.device_login_available = False
    start = await harness.client.post("/authai/auth/start", json={"provider": "openai"})
    assert start.status_code == 502  # the contract's start failure, with two fields added
    body = start.json()
    assert set(body) == {"error", "code", "help"}
    assert (body["code"], body["help"]) == ("device_code_disabled", SETTINGS)
    assert SETTINGS in body["error"]
    assert "workspace admin" in body["error"]


@pytest.mark.parametrize(
    ("plan", "words"),
    [("plus", "Enable device code authorization"), ("team", "contact your workspace admin")],
)
async def test_a_poll_after_the_account_refused_the_code_is_guidance(
    harness: Harness, plan: str, words: str
) -> None:
    harness.emulator.add_account("acct-off", plan=plan, device_login_enabled=False)
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    with pytest.raises(ApprovalError):
        harness.emulator.approve(started["userCode"], account="acct-off")
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    url = f"/authai/auth/poll/{started['sessionId']}"
    polled = await harness.client.get(url)
    assert polled.status_code == 200
    body = polled.json()
    assert (body["status"], body["code"], body["help"]) == (
        "error",
        "device_code_disabled",
        SETTINGS,
    )
    assert words in body["error"]
    assert SETTINGS in body["error"]
    # Final and stable: later polls give the same answer without asking the provider again.
    polls = harness.emulator.stats.device_polls
    harness.clock.advance(10)
    assert (await harness.client.get(url)).json() == body
    assert harness.emulator.stats.device_polls == polls


async def test_other_denials_carry_no_code(harness: Harness) -> None:
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.emulator.deny(started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    body = (await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")).json()
    assert body == {"status": "error", "error": "the sign-in was denied"}
