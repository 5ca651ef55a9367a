"""The upstream side of `/v1`: open the call (refreshing once on a 401), then relay its answer.

Streams are never buffered: bytes are passed on, or events folded or translated, as they arrive,
and every path closes the upstream call, even when the client went away. Nothing here builds an
HTTP response; `asgi/proxy_routes.py` wraps what these return.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import httpx

from authai_embed._util.final_chunk import FinalChunk
from authai_embed.auth.sessions import Session, Sessions
from authai_embed.credentials import Credentials
from authai_embed.errors import InvalidRequest, Unauthorized, UpstreamError
from authai_embed.observe.calls import note_first_chunk, note_upstream_opened, note_usage
from authai_embed.providers._upstream import read_bounded
from authai_embed.providers.base import Endpoint, ModelBackend, UpstreamUnauthorized
from authai_embed.proxy.stream_limits import hold_start, limit_error
from authai_embed.proxy.translate.passthrough import checked_responses_stream
from authai_embed.proxy.translate.response_aggregate import EventFold
from authai_embed.proxy.translate.response_fill import ResponseDefaults
from authai_embed.proxy.translate.responses_to_chat import ChatStreamTranslator, translate_stream
from authai_embed.proxy.translate.sse import DONE, SSEDecoder, SSEEvent, parse_json_event

__all__ = [
    "PASSTHROUGH_LIMIT",
    "aggregated",
    "conversation_id",
    "held",
    "open_upstream",
    "read_whole",
    "relayed",
    "retrying",
    "translated",
]

PASSTHROUGH_LIMIT = 32 * 1024 * 1024
"""The largest non-streamed answer passed through (it is read whole before it is sent on)."""

T = TypeVar("T")
ErrorFrame = Callable[[BaseException], bytes]
"""Builds the SSE frame that ends a stream that failed (the wire's shape, from `asgi/errors.py`)."""


async def retrying(
    sessions: Sessions, session: Session, call: Callable[[Credentials], Awaitable[T]]
) -> tuple[Session, T]:
    """`call(credentials)`; on an upstream 401, refresh once and call once more. Returns the
    session the call succeeded with (a refreshed one, after a retry)."""
    try:
        return session, await call(session.credentials)
    except UpstreamUnauthorized:
        session = await sessions.refresh(session, force=True)
    try:
        return session, await call(session.credentials)
    except UpstreamUnauthorized:
        raise Unauthorized() from None


async def open_upstream(
    sessions: Sessions,
    session: Session,
    backend: ModelBackend,
    endpoint: Endpoint,
    payload: dict[str, Any],
) -> httpx.Response:
    """Open the upstream call for `payload` (refreshing once on a 401); the caller relays it."""
    conversation = conversation_id(session, payload)
    started = time.perf_counter()
    _, upstream = await retrying(
        sessions, session, lambda c: backend.open(c, endpoint, payload, conversation=conversation)
    )
    note_upstream_opened(started)
    return upstream


def conversation_id(session: Session, payload: dict[str, Any]) -> str:
    """A stable id per conversation (same user, model, instructions and first turn), so the
    backend can reuse its prompt cache across the turns of one chat.

    A caller's own `prompt_cache_key` (checked: `InvalidRequest` naming it) is namespaced per
    user, so two users' keys never meet upstream, and replaced in `payload` by the namespaced
    id: the backend wants the body's key and the `session_id` header to match.
    """
    key = payload.get("prompt_cache_key")
    if key is not None:
        if not isinstance(key, str) or not _CACHE_KEY.fullmatch(key):
            raise InvalidRequest(_CACHE_KEY_RULE, param="prompt_cache_key")
        namespaced = _uuid_of([session.record.account_id_hash, "prompt_cache_key", key])
        payload["prompt_cache_key"] = namespaced
        return namespaced
    first = payload.get("input")
    head = first[:1] if isinstance(first, list) else first
    model, instructions = payload.get("model"), payload.get("instructions")
    return _uuid_of([session.record.account_id_hash, model, instructions, head])


_CACHE_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CACHE_KEY_RULE = (
    "prompt_cache_key must be 1 to 128 characters, each a letter, a digit, '.', '_', ':' or '-'"
)


# Built once: `json.dumps(parts, separators=..., sort_keys=True, default=str)`, which this
# is, would build a new encoder on every call.
_SEED = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def _uuid_of(parts: list[Any]) -> str:
    # The account hash is itself keyed by the identity secret: nobody can aim at another
    # user's id without it.
    seed = _SEED.encode(parts)
    # `str(uuid.UUID(bytes=digest[:16]))`, spelled out: the same text, without the object.
    h = hashlib.sha256(seed.encode()).digest()[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def held(upstream: httpx.Response, *, now: float) -> AsyncIterator[bytes]:
    """The Responses stream's bytes once its opening is known good (`stream_limits.hold_start`):
    a limit reported there raises its 429 `UpstreamError`, before any byte is sent, and closes
    the call. Pass the result as `chunks` to `relayed` or `translated`."""
    try:
        return await hold_start(raw_chunks(upstream, note_first=True), now)
    except BaseException:
        await _close(upstream)
        raise


async def relayed(
    upstream: httpx.Response,
    *,
    chat: bool,
    error_frame: ErrorFrame,
    chunks: AsyncIterable[bytes] | None = None,
    defaults: ResponseDefaults | None = None,
    observe: Callable[[Mapping[str, Any]], None] | None = None,
) -> AsyncIterator[bytes]:
    """A streamed answer passed through: Chat Completions chunk by chunk as they come,
    Responses event by event, checked (a cut stream ends in an error event) and with every
    `response` object completed from `defaults` and the stream. `chunks` are the upstream's
    bytes when already started (`held`); `observe` sees each Responses event (the usage
    meter). A transport error ends the stream with `error_frame(exc)`; the call is closed
    either way."""
    _forget_head(upstream)
    body = raw_chunks(upstream, note_first=True) if chunks is None else chunks
    try:
        if chat:
            async for chunk in body:
                yield chunk
                del chunk  # not kept while the next is awaited (`relay.raw_chunks`)
        else:
            async for frame in checked_responses_stream(body, defaults, observe):
                yield frame
                del frame  # not kept while the next is awaited (`relay.raw_chunks`)
    except httpx.HTTPError as exc:
        # The stream may have broken off mid-frame: a blank line ends that frame first.
        yield FinalChunk(b"\n\n" + error_frame(exc) + (DONE if chat else b""))
    finally:
        await _close(upstream)


async def translated(
    upstream: httpx.Response,
    translator: ChatStreamTranslator,
    *,
    error_frame: ErrorFrame,
    chunks: AsyncIterable[bytes] | None = None,
) -> AsyncIterator[bytes]:
    """A Responses stream turned into Chat Completions frames, event by event (`chunks`: as in
    `relayed`). A failure ends the stream with `error_frame(exc)` and `[DONE]`; the call is
    closed either way."""
    _forget_head(upstream)
    body = raw_chunks(upstream, note_first=True) if chunks is None else chunks
    try:
        async for piece in translate_stream(body, translator):
            if type(piece) is FinalChunk:  # the answer is whole: its usage counts even if the
                note_usage(translator.usage)  # client leaves while the upstream is read to its end
            yield piece
            del piece  # not kept while the next is awaited (`relay.raw_chunks`)
    except (UpstreamError, httpx.HTTPError) as exc:
        yield FinalChunk(error_frame(exc) + DONE)
    finally:
        await _close(upstream)


def _forget_head(upstream: httpx.Response) -> None:
    """Drop the answer's headers once it is being relayed: they were read when the call opened
    (type, plan usage, limits), and a stream open for minutes, thousands at once, need not keep
    them."""
    upstream.headers = httpx.Headers()


async def raw_chunks(upstream: httpx.Response, *, note_first: bool = False) -> AsyncIterator[bytes]:
    """`upstream.aiter_raw()`, the body as the transport hands it over, but keeping no chunk
    while the next one is awaited. A streamed answer spends most of its life waiting for its
    next event, and every layer that keeps its last chunk meanwhile keeps it for each stream
    open: with a backlog (the worker fell behind), a read of tens of kilobytes. Every layer of
    the relay lets go of its chunk once it is passed on, for the same reason. `note_first`:
    note the first chunk's arrival (`note_first_chunk`, a stream's time to first byte) here
    rather than in a generator of its own, one less for every chunk of every stream to pass."""
    if upstream.is_stream_consumed:
        raise httpx.StreamConsumed()
    if upstream.is_closed:
        raise httpx.StreamClosed()
    stream = upstream.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise RuntimeError("raw_chunks needs an async response (an httpx.AsyncClient's)")
    upstream.is_stream_consumed = True
    async for chunk in stream:
        if chunk:
            if note_first:
                note_first_chunk()
                note_first = False
            yield chunk
        del chunk  # not kept while the next is awaited (`relay.raw_chunks`)
    await upstream.aclose()


async def read_whole(upstream: httpx.Response) -> tuple[bytes, str]:
    """A non-streamed answer's body, decoded (at most `PASSTHROUGH_LIMIT` bytes once decoded),
    and content type. The call asks for `identity`, but a server or proxy that compresses
    anyway is decoded here: the answer is sent on without its `Content-Encoding`."""
    async with _reading(upstream, broke_off="the provider's answer broke off"):
        body = await read_bounded(upstream, PASSTHROUGH_LIMIT)
    if body is None:
        raise UpstreamError(
            "the provider's answer is too large or in an encoding that cannot be read",
            status=502,
        )
    return body, upstream.headers.get("content-type", "application/json")


async def aggregated(upstream: httpx.Response, fold: EventFold, *, now: float) -> dict[str, Any]:
    """Fold the upstream stream into one answer (`fold.result()`) as it arrives, nothing kept
    but the result; a limit the stream fails with is its 429 (`stream_limits.limit_error`).

    What `watch_limits(iter_json_events(...))` into an aggregator does, in one loop: no
    generator between the bytes and the fold, since this runs for every event of every
    non-streamed answer."""
    async with _reading(upstream, broke_off="the provider's stream broke off"):
        chunks = raw_chunks(upstream)
        try:
            await _fold(chunks, fold, now)
        finally:
            # The fold stops at the terminal event: the reader is closed here. Left to the
            # garbage collector, it would cost the event loop a wake-up and a task to close it.
            await _aclose(chunks)
        answer = fold.result()
    note_usage(answer.get("usage"))
    return answer


async def _fold(chunks: AsyncIterator[bytes], fold: EventFold, now: float) -> None:
    """Feed the stream's events to `fold` until it is finished or the stream ends."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            if _folded(fold, event, now):
                return
    for event in decoder.close():
        if _folded(fold, event, now):
            return


def _folded(fold: EventFold, event: SSEEvent, now: float) -> bool:
    """Feed one event to `fold` (a limit failure raises its 429); whether the fold is done."""
    obj = parse_json_event(event)
    if obj is None:
        return False
    error = limit_error(obj, now)
    if error is not None:
        raise error
    fold.handle(obj)
    return fold.finished


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


@asynccontextmanager
async def _reading(upstream: httpx.Response, *, broke_off: str) -> AsyncIterator[None]:
    """Read `upstream` in the body; a read that times out becomes a 504 `UpstreamError`, one
    that fails otherwise a 502 with the `broke_off` message. The call is closed either way."""
    try:
        yield
    except httpx.TimeoutException:
        raise UpstreamError("the provider stopped answering in time", status=504) from None
    except httpx.HTTPError:
        raise UpstreamError(broke_off, status=502) from None
    finally:
        await _close(upstream)


async def _close(upstream: httpx.Response) -> None:
    """Close the upstream call, even when the client went away (the scope is cancelled). A call
    read to its end closed itself: no shielded scope (a few µs) for it."""
    if upstream.is_closed:
        return
    with anyio.CancelScope(shield=True):
        await upstream.aclose()
