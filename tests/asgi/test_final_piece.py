"""A streamed answer whose end is known early leaves with the body's end (`FinalChunk`).

An ASGI server writes every body message on its own, the empty one that ends the body too. Once
a Responses stream's terminal event has come, the answer's last piece (translated to Chat
Completions or passed through) carries the end of the body, and the upstream is read to its end
afterwards without a byte more for the client. The pass-through joins the frames of one upstream
read into one piece, as the translation does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from authai_embed._util.final_chunk import FinalChunk
from authai_embed.asgi.http import StreamingResponse
from authai_embed.errors import UpstreamError
from authai_embed.proxy import relay
from authai_embed.proxy.translate.passthrough import checked_responses_stream
from authai_embed.proxy.translate.responses_to_chat import ChatStreamTranslator
from authai_embed.proxy.translate.sse import DONE, encode_event
from authai_embed.types import Message
from tests._support.faults import http_scope
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


async def test_a_final_chunk_ends_the_body_and_its_producer_is_run_to_its_end() -> None:
    finished = anyio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield FinalChunk(b"b")
        yield b"never sent"
        finished.set()

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await StreamingResponse(chunks()).stream_to(send)
    bodies = [(m["body"], m.get("more_body", False)) for m in sent[1:]]
    assert bodies == [(b"a", True), (b"b", False)]  # no empty message after the last piece
    assert type(sent[-1]["body"]) is bytes  # a server that checks the exact type gets one
    assert finished.is_set()


async def test_without_a_final_chunk_the_body_still_ends_with_an_empty_message() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await StreamingResponse(chunks()).stream_to(send)
    assert [(m["body"], m.get("more_body", False)) for m in sent[1:]] == [
        (b"a", True),
        (b"", False),
    ]


async def test_a_streamed_completion_ends_in_the_message_that_carries_done(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    body = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": json.dumps(body).encode()}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = http_scope(
        "POST",
        "/v1/chat/completions",
        {"authorization": f"Bearer {jwt}", "content-type": "application/json"},
    )
    with anyio.fail_after(10):
        await harness.authai(scope, receive, send)
    assert sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert all(m.get("more_body") for m in bodies[:-1])
    last = bodies[-1]
    assert not last.get("more_body", False)
    assert last["body"].endswith(DONE)  # not an empty message of its own
    assert b'"finish_reason":"stop"' in last["body"]


def _answer(*, trailing: bytes = b"") -> list[bytes]:
    response = {"id": "resp_1", "object": "response", "model": "gpt-5.4", "output": []}
    done = {
        **response,
        "status": "completed",
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_text.delta", "item_id": "m", "content_index": 0, "delta": "x"},
        {"type": "response.completed", "response": done},
    ]
    return [encode_event(str(e["type"]), e) for e in events] + ([trailing] if trailing else [])


class _Upstream(httpx.AsyncByteStream):
    """Hands over `chunks`, then waits for `go` before its end: the terminal event has come,
    the upstream's end has not."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.go = asyncio.Event()
        self.ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        await self.go.wait()
        self.ended = True


def _translated(stream: _Upstream, translator: ChatStreamTranslator) -> AsyncIterator[bytes]:
    upstream = httpx.Response(200, stream=stream, request=httpx.Request("POST", "http://x/"))
    return relay.translated(upstream, translator, error_frame=lambda e: b"error\n\n")


def _translator() -> ChatStreamTranslator:
    return ChatStreamTranslator(
        "gpt-5.4", include_usage=True, include_reasoning=False, completion_id="c", created=1
    )


def _translator_usage(piece: bytes) -> object:
    """The usage chunk's `usage`, as the client got it."""
    for frame in piece.split(b"\n\n"):
        if b'"usage":' in frame:
            return json.loads(frame.removeprefix(b"data: "))["usage"]
    raise AssertionError("no usage chunk")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_answer_and_its_usage_are_whole_before_the_upstream_has_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    noted: list[object] = []
    monkeypatch.setattr(relay, "note_usage", noted.append)
    stream = _Upstream(_answer())
    frames = _translated(stream, _translator())
    with anyio.fail_after(5):  # before, the last piece waited for the upstream's end
        pieces = [await anext(frames)]
        while type(pieces[-1]) is not FinalChunk:
            pieces.append(await anext(frames))
    assert not stream.ended  # the client has it all; the upstream is still being read
    last: bytes = pieces[-1]
    assert last.endswith(DONE)
    assert noted == [_translator_usage(last)]
    stream.go.set()
    assert [piece async for piece in frames] == []  # read to its end, nothing more to send
    assert stream.ended


async def test_events_after_the_terminal_one_are_not_read() -> None:
    stream = _Upstream(_answer(trailing=b"event: response.output_text.delta\ndata: {broken\n\n"))
    stream.go.set()
    pieces = [piece async for piece in _translated(stream, _translator())]
    assert type(pieces[-1]) is FinalChunk
    assert b"error" not in b"".join(pieces)  # the answer was whole: nothing to report
    assert stream.ended


async def test_a_failed_stream_ends_in_one_final_piece() -> None:
    stream = _Upstream([b"event: response.created\ndata: {broken\n\n"])
    stream.go.set()
    pieces = [piece async for piece in _translated(stream, _translator())]
    assert pieces == [b"error\n\n" + DONE]
    assert type(pieces[-1]) is FinalChunk


def _relayed(stream: _Upstream) -> AsyncIterator[bytes]:
    upstream = httpx.Response(200, stream=stream, request=httpx.Request("POST", "http://x/"))
    return relay.relayed(upstream, chat=False, error_frame=lambda e: b"error\n\n")


async def test_a_passed_through_burst_leaves_in_one_piece_ending_the_body() -> None:
    events = _answer()
    late = encode_event("response.output_text.delta", {"type": "response.output_text.delta"})
    stream = _Upstream([b"".join(events) + late])
    with anyio.fail_after(5):
        pieces = [await anext(_relayed(stream))]
    assert type(pieces[0]) is FinalChunk  # one upstream read, one piece, the body's last
    piece = bytes(pieces[0])
    assert piece.count(b"event: ") == len(events)  # not the one after the terminal event
    assert b"event: response.completed" in piece
    assert not stream.ended


async def test_a_passed_through_stream_is_read_to_its_end_after_its_last_piece() -> None:
    stream = _Upstream(_answer())
    frames = _relayed(stream)
    with anyio.fail_after(5):
        pieces = [await anext(frames) for _ in range(3)]  # one upstream read each
    assert [type(piece) for piece in pieces] == [bytes, bytes, FinalChunk]
    stream.go.set()
    assert [piece async for piece in frames] == []
    assert stream.ended


async def test_a_malformed_event_mid_burst_keeps_the_events_before_it() -> None:
    events = _answer()
    stream = _Upstream([events[0] + events[1] + b"event: response.output_text.delta\ndata: {x\n\n"])
    stream.go.set()
    pieces = [piece async for piece in _relayed(stream)]
    assert len(pieces) == 1
    assert type(pieces[0]) is FinalChunk
    piece = bytes(pieces[0])
    assert piece.startswith(events[0].split(b"\ndata: ")[0])
    assert b"event: response.output_text.delta\ndata: {" in piece  # the good delta
    assert piece.count(b"event: error") == 1
    assert b"malformed" in piece


async def test_a_failure_reading_after_the_terminal_event_does_not_resend_the_answer() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"".join(_answer())
        raise UpstreamError("the rest broke off", status=502, code="upstream_error")

    pieces = [piece async for piece in checked_responses_stream(source())]
    assert type(pieces[0]) is FinalChunk
    sent = b"".join(pieces)
    assert sent.count(b"event: response.completed") == 1  # handed over once, not again
