"""`/auth/start` tells a provider nobody knows from one this server does not enable."""

from __future__ import annotations

import pytest

from tests._support.harness import HarnessFactory

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", ["xai", "grok", "GitHub", "copilot"])
async def test_a_known_provider_this_mount_does_not_enable_says_so(
    make_harness: HarnessFactory, name: str
) -> None:
    harness = await make_harness(providers=["openai"])
    response = await harness.client.post("/authai/auth/start", json={"provider": name})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "provider_not_enabled"
    assert body["error"].startswith("provider not enabled on this server: ")
    assert body["error"].endswith("(enabled: openai)")


async def test_an_unknown_provider_has_its_own_code(make_harness: HarnessFactory) -> None:
    harness = await make_harness(providers=["openai"])
    response = await harness.client.post("/authai/auth/start", json={"provider": "nope"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "unknown provider: nope", "code": "unknown_provider"},
    )
