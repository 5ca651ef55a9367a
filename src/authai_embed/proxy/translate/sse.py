"""Server-sent events: an incremental decoder for the provider's bytes, encoders for our answers.

The decoder follows the WHATWG event-stream rules; chunks may split a frame at any byte and the
events are the same however the stream is cut. One pending event holds at most
`max_event_bytes`: an endless line is an `UpstreamError`, not our memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Final, NamedTuple

from authai_embed._util.json_text import loads
from authai_embed.errors import UpstreamError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DONE",
    "SSEDecoder",
    "SSEEvent",
    "encode_data",
    "encode_event",
    "iter_json_events",
    "json_bytes",
    "json_string",
    "parse_json_event",
]

DONE: Final = b"data: [DONE]\n\n"
"""The Chat Completions stream terminator."""

DEFAULT_MAX_EVENT_BYTES: Final = 16 * 1024 * 1024
"""`response.completed` repeats the whole output and encrypted reasoning: generous, not endless."""

_BOM: Final = b"\xef\xbb\xbf"
# Built once: `json.dumps(obj, separators=...)` would build a new encoder on every call.
_COMPACT: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_COMPACT_ASCII: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


class SSEEvent(NamedTuple):
    """One dispatched event: its name (`message` when none was given), data and last event id.

    A named tuple rather than a frozen dataclass: one is built per upstream event, and a frozen
    dataclass's `__init__` goes through `object.__setattr__` for every field.
    """

    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """Turns stream bytes into `SSEEvent`s, chunk by chunk; one instance per stream."""

    __slots__ = ("_buf", "_data", "_event", "_id", "_max", "_pending", "_skip_lf", "_started")

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._buf = b""  # an incomplete line
        self._data: list[bytes] = []
        self._event = b""
        self._id: str | None = None
        self._pending = 0  # bytes of complete lines of the event being built
        self._skip_lf = False  # the last chunk ended in `\r`: a leading `\n` belongs to it
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by `chunk`, in order.

        Raises `UpstreamError` (502, code `event_too_large`) when one event outgrows the limit.
        """
        if not chunk:
            return []  # and keep `_skip_lf`: the `\n` of a split `\r\n` may still come
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        lines = buf.splitlines()
        last = buf[-1:]
        if last == b"\r":
            self._skip_lf = True
            self._buf = b""
        elif last == b"\n":
            self._buf = b""
        else:
            self._buf = lines.pop() if lines else b""
        events: list[SSEEvent] = []
        self._take(lines, events)
        if self._pending + len(self._buf) > self._max:
            raise UpstreamError(
                f"the provider sent an event larger than {self._max} bytes",
                status=502,
                code="event_too_large",
            )
        return events

    def close(self) -> list[SSEEvent]:
        """At the end of the stream: the event whose blank line never came, if it has data.

        The spec drops it, and a last line without its line break; we hand both over, because a
        server that closes right after its final `data:` line has still sent the answer, and
        every caller parses the data as JSON, which tells a complete event from a cut one.
        """
        events: list[SSEEvent] = []
        if self._buf:
            line, self._buf = self._buf, b""
            self._take([line], events)
        if self._data:
            events.append(self._dispatch())
        return events

    def _take(self, lines: list[bytes], events: list[SSEEvent]) -> None:
        """Interpret complete `lines`, appending the events they dispatch to `events`.

        `data: ` and `event: ` lines (what providers send) are recognised by prefix before the
        general `name: value` split, and the pending data is tracked in locals.
        """
        data = self._data
        pending = self._pending
        for line in lines:
            if line.startswith(b"data: "):
                value = line[6:]
                pending += len(value) + 1
                data.append(value)
            elif not line:
                if data:
                    events.append(self._dispatch(data))
                    data = self._data
                    pending = 0
                else:
                    self._event = b""
            elif line.startswith(b"event: "):
                self._event = line[7:]
            elif line[0] != 0x3A:  # `:` starts a comment (keep-alives)
                name, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    pending += len(value) + 1
                    data.append(value)
                elif name == b"event":
                    self._event = value
                elif name == b"id" and b"\0" not in value:
                    self._id = value.decode("utf-8", "replace")
        self._pending = pending

    def _dispatch(self, data: list[bytes] | None = None) -> SSEEvent:
        """The event `data` (default: the pending lines) makes; resets the pending event."""
        if data is None:
            data = self._data
        joined = data[0] if len(data) == 1 else b"\n".join(data)
        raw_name = self._event
        name = _EVENT_NAMES.get(raw_name) if raw_name else "message"
        if name is None:
            name = raw_name.decode("utf-8", "replace")
            if len(_EVENT_NAMES) < _MAX_EVENT_NAMES:
                _EVENT_NAMES[raw_name] = name
        self._data = []
        self._event = b""
        self._pending = 0
        # `SSEEvent(...)` as the tuple it is, without its Python-level `__new__` (once per event).
        return _tuple_new(SSEEvent, (name, joined.decode("utf-8", "replace"), self._id))


_tuple_new: Final[Callable[[type[SSEEvent], tuple[str, str, str | None]], SSEEvent]] = tuple.__new__
_MAX_EVENT_NAMES: Final = 256
_EVENT_NAMES: dict[bytes, str] = {}
"""Decoded event names, shared by every stream (a provider uses a few dozen): bounded, so a
stream of made-up names cannot grow it."""


def parse_json_event(event: SSEEvent) -> dict[str, Any] | None:
    """The JSON object an event carries, with `type` filled from the event name if missing.

    `None` for events without data and for a `[DONE]` sentinel. Data that is not a JSON object
    raises `UpstreamError` (502, `malformed_stream`): a broken frame may have lost output, so it
    is reported rather than skipped.
    """
    data = event.data
    if not data or data == "[DONE]":
        return None
    try:
        obj = loads(data)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        raise UpstreamError(
            f"the provider sent a malformed {event.event!r} event",
            status=502,
            code="malformed_stream",
        )
    if "type" not in obj and event.event != "message":
        obj["type"] = event.event
    return obj


async def iter_json_events(
    chunks: AsyncIterable[bytes], *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of an SSE byte stream, one per event, as the chunks arrive.

    Raises `UpstreamError` for an oversized or malformed event; ending early is not an error
    here (the translators notice a missing terminal event).
    """
    decoder = SSEDecoder(max_event_bytes=max_event_bytes)
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            obj = parse_json_event(event)
            if obj is not None:
                yield obj
    for event in decoder.close():
        obj = parse_json_event(event)
        if obj is not None:
            yield obj


def json_string(text: str) -> bytes:
    """`text` as a JSON string literal in UTF-8 (lone surrogates escaped, never an error)."""
    try:
        return encode_basestring(text).encode()
    except UnicodeEncodeError:
        return encode_basestring_ascii(text).encode()


def json_bytes(obj: Any) -> bytes:
    """`obj` as compact JSON in UTF-8 (lone surrogates escaped, never an encoding error)."""
    try:
        return _COMPACT.encode(obj).encode()
    except UnicodeEncodeError:
        return _COMPACT_ASCII.encode(obj).encode()


def encode_data(payload: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    """One `data:` frame; `payload` is JSON already (bytes or text) or an object to encode.

    Text with line breaks is split over several `data:` lines, so the frame decodes to the same
    text (JSON produced here never has raw line breaks).
    """
    if isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = json_bytes(payload)
    if b"\n" in body or b"\r" in body:
        return b"".join(b"data: " + line + b"\n" for line in body.splitlines()) + b"\n"
    return b"data: " + body + b"\n\n"


def encode_event(event_type: str, obj: dict[str, Any] | bytes) -> bytes:
    """One `event: <type>` frame with `obj` (an object, or JSON bytes) as its data."""
    if "\n" in event_type or "\r" in event_type:
        raise ValueError("an SSE event type cannot contain a line break")
    return b"event: " + event_type.encode() + b"\n" + encode_data(obj)
