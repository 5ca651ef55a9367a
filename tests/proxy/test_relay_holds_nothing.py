"""A relayed stream keeps no chunk it has passed on while it waits for the next one.

A streamed answer spends most of its life waiting for its next event, and thousands are open at
once: a layer that kept its last chunk (a read that may hold a backlog of many events) would
keep it for every open stream. The count of references to the chunk tells (CPython frees an
object when the last one goes).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from authai_embed.proxy import relay
from authai_embed.proxy.translate.responses_to_chat import ChatStreamTranslator
from authai_embed.proxy.translate.sse import encode_event

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _opening_and_a_delta() -> bytes:
    response = {"id": "resp_1", "object": "response", "model": "gpt-5.4", "output": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_text.delta", "item_id": "m", "content_index": 0, "delta": "x"},
    ]
    # Joined: an object of its own, which only the stream hands over.
    return b"".join(encode_event(str(e["type"]), e) for e in events)


class _Upstream(httpx.AsyncByteStream):
    """Hands over `chunk` (letting go of it), then waits until `go` is set, then ends the
    answer."""

    def __init__(self, chunk: bytes) -> None:
        self.items = [chunk]
        self.go = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.items:
            yield self.items.pop()
        await self.go.wait()
        done = {"type": "response.completed", "response": {"id": "resp_1", "status": "completed"}}
        yield encode_event("response.completed", done)


async def test_a_translated_stream_waiting_for_its_next_read_keeps_none_of_the_last() -> None:
    chunk = _opening_and_a_delta()
    baseline = sys.getrefcount(chunk)
    stream = _Upstream(chunk)
    upstream = httpx.Response(200, stream=stream, request=httpx.Request("POST", "http://x/"))
    translator = ChatStreamTranslator(
        "gpt-5.4", include_usage=False, include_reasoning=False, completion_id="c", created=1
    )
    started = await relay.held(upstream, now=NOW)
    frames = relay.translated(upstream, translator, error_frame=lambda e: b"", chunks=started)
    first = await anext(frames)
    assert b'"content":"x"' in first
    del first
    waiting = asyncio.ensure_future(anext(frames))
    for _ in range(10):  # let it reach the wait for the next read
        await asyncio.sleep(0)
    assert not waiting.done()
    assert sys.getrefcount(chunk) == baseline  # held, replayed, noted, translated: let go
    stream.go.set()
    rest = [await waiting] + [piece async for piece in frames]
    assert rest[-1].endswith(b"data: [DONE]\n\n")


async def test_the_passed_through_stream_keeps_none_of_the_last_either() -> None:
    chunk = _opening_and_a_delta()
    baseline = sys.getrefcount(chunk)
    stream = _Upstream(chunk)
    upstream = httpx.Response(200, stream=stream, request=httpx.Request("POST", "http://x/"))
    started = await relay.held(upstream, now=NOW)
    frames = relay.relayed(upstream, chat=True, error_frame=lambda e: b"", chunks=started)
    first = await anext(frames)
    assert first == chunk
    del first
    waiting = asyncio.ensure_future(anext(frames))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not waiting.done()
    assert sys.getrefcount(chunk) == baseline
    stream.go.set()
    assert b"response.completed" in await waiting
