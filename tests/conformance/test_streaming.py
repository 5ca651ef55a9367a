"""Streaming really streams end to end, and a caller that stops reading cancels the upstream,
for every provider (translated or passed through)."""

from __future__ import annotations

import time

import anyio
import pytest

from tests._support.harness import Harness
from tests._support.loopback import served
from tests.conformance.targets import Target

pytestmark = pytest.mark.anyio

LONG = "abcdefghijklmnopqrstuvwxyz" * 2


async def test_first_chunk_arrives_well_before_the_last_is_sent(
    harness: Harness, target: Target
) -> None:
    jwt = await harness.sign_in()
    knobs = target.upstream(harness.emulator).knobs
    knobs.chunk_size, knobs.event_delay = 2, 0.02
    target.upstream(harness.emulator).script(LONG)
    client = harness.authai.async_openai_client(jwt)
    arrivals: list[float] = []
    stream = await client.chat.completions.create(
        model=target.model, messages=[{"role": "user", "content": "go"}], stream=True
    )
    # From the response headers on (sign-in side work such as a token mint is not streaming).
    started = time.perf_counter()
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter() - started)
    assert len(arrivals) == len(LONG) // 2
    # With ~30 delayed events upstream, buffering would deliver everything at the end.
    assert arrivals[0] < arrivals[-1] / 4


async def test_closing_a_stream_early_cancels_the_upstream_request(
    harness: Harness, target: Target
) -> None:
    jwt = await harness.sign_in()
    knobs = target.upstream(harness.emulator).knobs
    knobs.chunk_size, knobs.event_delay = 1, 0.05
    target.upstream(harness.emulator).script(LONG)
    stats = target.upstream(harness.emulator).stats
    client = harness.authai.async_openai_client(jwt)
    stream = await client.chat.completions.create(
        model=target.model, messages=[{"role": "user", "content": "go"}], stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    await stream.close()
    assert stats.cancelled_streams == 1
    assert stats.completed_streams == 0
    assert stats.open_streams == 0


async def test_a_client_disconnecting_from_the_server_cancels_the_upstream(
    harness: Harness, target: Target
) -> None:
    import httpx

    jwt = await harness.sign_in()
    knobs = target.upstream(harness.emulator).knobs
    knobs.chunk_size, knobs.event_delay = 1, 0.05
    target.upstream(harness.emulator).script(LONG)
    stats = target.upstream(harness.emulator).stats
    async with served(harness.app) as base, httpx.AsyncClient(base_url=base) as http:
        body = {
            "model": target.model,
            "messages": [{"role": "user", "content": "go"}],
            "stream": True,
        }
        headers = {"Authorization": f"Bearer {jwt}"}
        async with http.stream(
            "POST", "/authai/v1/chat/completions", json=body, headers=headers
        ) as r:
            async for line in r.aiter_lines():
                if '"content"' in line:
                    break
        # uvicorn notices the closed socket on its own schedule: wait for it, bounded.
        with anyio.fail_after(5):
            while stats.cancelled_streams == 0:  # noqa: ASYNC110 - no event to await across servers
                await anyio.sleep(0.01)
    assert stats.completed_streams == 0
