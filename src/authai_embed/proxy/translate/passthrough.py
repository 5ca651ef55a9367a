"""The Responses stream passed through to the client, checked event by event.

Each event is decoded, checked to be a JSON object and sent on unchanged in meaning (a `response`
object missing what clients read is completed: `response_fill`); a stream that breaks or ends
without a terminal event gets a final OpenAI-shaped `error` event instead of a silent truncation.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Final

from authai_embed._util.final_chunk import FinalChunk, read_to_end
from authai_embed._util.logs import redact
from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.response_fill import ResponseDefaults, ResponseFiller
from authai_embed.proxy.translate.response_terms import CUT_MESSAGE, INCOMPLETE_STREAM
from authai_embed.proxy.translate.sse import (
    SSEDecoder,
    SSEEvent,
    encode_data,
    encode_event,
    json_bytes,
    parse_json_event,
)

__all__ = ["TERMINAL_EVENTS", "checked_responses_stream", "stream_error_event"]

TERMINAL_EVENTS: Final = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "error"}
)


def stream_error_event(message: str, code: str | None) -> bytes:
    """An `error` event in the Responses API's shape."""
    error: dict[str, Any] = {"type": "error", "message": message, "code": code}
    return encode_event("error", error)


async def checked_responses_stream(
    chunks: AsyncIterable[bytes],
    defaults: ResponseDefaults | None = None,
    observe: Callable[[Mapping[str, Any]], None] | None = None,
) -> AsyncIterator[bytes]:
    """Re-emit the events of `chunks` as they are decoded, the frames of one chunk joined into
    one piece (a burst of events costs one write, as in `translate_stream`); end with an
    `error` event when the stream is malformed or stops before a terminal event. Transport
    errors propagate.

    The terminal event's piece is a `FinalChunk`, and the rest of `chunks` is read without a
    look: the answer is whole, and nothing after its terminal event is passed on.

    With `defaults`, every `response` object is completed (`ResponseFiller`): the final one
    carries the items the stream delivered when the upstream left its `output` empty.
    `observe`, when given, sees each decoded event first (the usage meter)."""
    decoder = SSEDecoder()
    filler = ResponseFiller(defaults) if defaults is not None else None
    out: list[bytes] = []
    try:
        async for chunk in chunks:
            finished = _frames(decoder.feed(chunk), filler, observe, out)
            del chunk  # not kept while the next is awaited (`relay.raw_chunks`)
            if finished:
                yield FinalChunk(b"".join(out))
                out.clear()  # handed over: a failure reading the rest adds nothing to send
                await read_to_end(chunks)
                return
            if out:
                piece = out[0] if len(out) == 1 else b"".join(out)
                out = []
                yield piece
                del piece
        finished = _frames(decoder.close(), filler, observe, out)
    except UpstreamError as exc:
        out.append(stream_error_event(exc.message, exc.code))
        yield FinalChunk(b"".join(out))
        return
    if not finished:
        out.append(stream_error_event(CUT_MESSAGE, INCOMPLETE_STREAM))
    yield FinalChunk(b"".join(out))


def _frames(
    events: list[SSEEvent],
    filler: ResponseFiller | None,
    observe: Callable[[Mapping[str, Any]], None] | None,
    out: list[bytes],
) -> bool:
    """Append the frames of `events` to `out` up to the first terminal one; whether it came.
    An event that fails leaves the frames of those before it in `out`."""
    for event in events:
        frame, terminal = _checked(event, filler, observe)
        if frame:
            out.append(frame)
        if terminal:
            return True
    return False


def _checked(
    event: SSEEvent,
    filler: ResponseFiller | None,
    observe: Callable[[Mapping[str, Any]], None] | None,
) -> tuple[bytes, bool]:
    obj = parse_json_event(event)  # raises UpstreamError(malformed_stream)
    if obj is None:
        return b"", False
    if observe is not None:
        observe(obj)
    kind = obj.get("type")
    text = event.data
    if filler is not None:
        filler.observe(obj)
        response = obj.get("response")
        if isinstance(response, dict):
            filled = filler.fill(response, kind if isinstance(kind, str) else None)
            if filled is not None:  # re-encoded only when something was missing
                text = json_bytes({**obj, "response": filled}).decode()
    if kind in ("error", "response.failed"):
        text = redact(text)  # the provider's failure words: never a token it echoed
    data = text.encode()
    frame = encode_data(data) if event.event == "message" else encode_event(event.event, data)
    return frame, isinstance(kind, str) and kind in TERMINAL_EVENTS
