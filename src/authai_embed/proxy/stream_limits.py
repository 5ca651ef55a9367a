"""A limit the provider reports inside a 200 stream becomes our 429, not a failed answer.

The Codex backend may open a stream, send `response.created`/`in_progress`, then fail it with
`rate_limit_exceeded` or `server_is_overloaded`. `hold_start` reads a stream's opening events
before anything is sent, so such a stream is answered with a 429 and `Retry-After`;
`watch_limits` does the same for a stream being folded into one answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Final

import httpx

from authai_embed.errors import UpstreamError
from authai_embed.providers._upstream import error_fields, usage_wait
from authai_embed.proxy.translate.sse import SSEDecoder, SSEEvent, parse_json_event

__all__ = ["HOLD_BYTES", "HOLD_EVENTS", "LIMIT_CODES", "hold_start", "limit_error", "watch_limits"]

LIMIT_CODES: Final = frozenset(
    {"rate_limit_exceeded", "server_is_overloaded", "usage_limit_reached", "usage_not_included"}
)
"""Failure codes that mean "not now, later": answered as a 429 with `Retry-After`."""
OPENING_EVENTS: Final = frozenset(
    {"response.created", "response.in_progress", "response.queued", "codex.rate_limits"}
)
"""Events that say nothing about the answer yet: held until the stream is known good."""
_READ_HERE: Final = frozenset({"message", "error", "response.failed"})
"""Event names whose data `_opening` reads: no name (`message`: the type is in the data) or a
failure, which may be a limit."""
HOLD_EVENTS: Final = 8
"""At most this many opening events are held; past it the stream is sent as it is."""
HOLD_BYTES: Final = 256 * 1024
"""At most this many bytes are held (`response.created` repeats instructions and tools)."""


def limit_error(event: Mapping[str, Any], now: float) -> UpstreamError | None:
    """The 429 for a `response.failed` or `error` event whose code is a limit; else `None`."""
    kind = event.get("type")
    if kind == "response.failed":
        response = event.get("response")
        err = response.get("error") if isinstance(response, Mapping) else None
    elif kind == "error":
        nested = event.get("error")
        err = nested if isinstance(nested, Mapping) else event
    else:
        return None
    if not isinstance(err, Mapping):
        return None
    message, code = error_fields(err)
    if code not in LIMIT_CODES:
        return None
    return UpstreamError(
        message or "the provider is busy or its limit is reached; try again later",
        status=429,
        code=code,
        retry_after=usage_wait(err, now),
    )


async def watch_limits(
    events: AsyncIterable[dict[str, Any]], now: float
) -> AsyncIterator[dict[str, Any]]:
    """`events` passed on; a limit failure raises its 429 `UpstreamError` instead."""
    async for event in events:
        error = limit_error(event, now)
        if error is not None:
            raise error
        yield event


async def hold_start(chunks: AsyncIterable[bytes], now: float) -> AsyncIterator[bytes]:
    """Read the opening of a Responses stream, before any byte of it is sent on.

    Raises the 429 `UpstreamError` when the stream fails with a limit (`LIMIT_CODES`) among
    its opening events. Otherwise returns the stream's bytes, unchanged: the held chunks, then
    the rest as it comes. Holding ends at the first event that is not an opening one
    (`OPENING_EVENTS`: the first output item, delta or terminal event is never held back),
    after `HOLD_EVENTS` events or `HOLD_BYTES` bytes, at the end of the stream, or at a read
    error (raised again once the held chunks are sent) or an unreadable event (left for the
    relay to report).
    """
    source = aiter(chunks)
    held: list[bytes] = []
    decoder = SSEDecoder(max_event_bytes=HOLD_BYTES)
    size = seen = 0
    broke: httpx.HTTPError | None = None
    try:
        while size <= HOLD_BYTES and seen <= HOLD_EVENTS:
            chunk = await anext(source, None)
            if chunk is None:
                break
            held.append(chunk)
            size += len(chunk)
            verdict = _opening(_events(decoder, chunk), now)
            if verdict is None:
                break
            seen += verdict
    except httpx.HTTPError as exc:
        broke = exc
    except UpstreamError as exc:
        if exc.status == 429:
            raise
    return _replay(held, source, broke)


def _events(decoder: SSEDecoder, chunk: bytes) -> Iterator[SSEEvent]:
    """The events `chunk` completes, decoded one blank line at a time: the hold stops at the
    first event that is not an opening one, and the rest of a chunk (often the whole short
    answer) is left undecoded here; the relay decodes the stream again from its first byte."""
    if b"\r" in chunk:  # line breaks other than `\n` alone: the decoder splits them all
        yield from decoder.feed(chunk)
        return
    start = 0
    while (end := chunk.find(b"\n\n", start)) != -1:
        yield from decoder.feed(chunk[start : end + 2])
        start = end + 2
    if start < len(chunk):
        yield from decoder.feed(chunk[start:])


def _opening(events: Iterable[SSEEvent], now: float) -> int | None:
    """How many opening events `events` holds; `None` once one is not (the hold ends, and
    `events` is read no further). Raises the 429 of a limit failure; `UpstreamError` for an
    unreadable event."""
    count = 0
    for event in events:
        count += 1
        # The event's name says enough (providers name every event by its type), so a good
        # opening costs no JSON parse: the relay parses each event anyway. Only an unnamed event
        # or a failure's is read here.
        name = event.event
        if name in OPENING_EVENTS:
            continue
        if name not in _READ_HERE:
            return None
        obj = parse_json_event(event)
        if obj is None:
            continue
        error = limit_error(obj, now)
        if error is not None:
            raise error
        if obj.get("type") not in OPENING_EVENTS:
            return None
    return count


async def _replay(
    held: list[bytes], rest: AsyncIterator[bytes], broke: httpx.HTTPError | None
) -> AsyncIterator[bytes]:
    held.reverse()
    while held:  # each chunk let go once sent: the opening may be large, the stream long
        yield held.pop()
    if broke is not None:
        raise broke
    async for chunk in rest:
        yield chunk
        del chunk  # not kept while the next is awaited (`relay.raw_chunks`)
