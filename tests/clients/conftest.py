"""Every client test gets `mount`: the host app served on a loopback port (in the test's own
event loop), wired to the emulator, with a ChatGPT user signed in. The emulated backend answers
with the real one's habits: typed input only, a final `response.completed` with `output: []`,
and `response` objects without `object` and `created_at`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authai_embed import AuthStore, MemoryStore
from tests._support.clients import Mount
from tests._support.harness import HarnessFactory
from tests._support.loopback import served


@pytest.fixture
def store() -> AuthStore:
    """One store is enough here: the clients are under test, not the stores."""
    return MemoryStore()


@pytest.fixture(params=["chat", "responses"])
def api(request: pytest.FixtureRequest) -> str:
    """The API a test that asks for it runs on, once each: Chat Completions, then Responses."""
    return str(request.param)


@pytest.fixture
async def mount(make_harness: HarnessFactory) -> AsyncIterator[Mount]:
    harness = await make_harness()
    knobs = harness.emulator.codex.knobs
    assert knobs.strict_input
    assert not knobs.final_output
    knobs.omit_response_fields = ("object", "created_at")
    jwt = await harness.sign_in()
    async with served(harness.app) as base_url:
        yield Mount(harness, base_url, jwt)
