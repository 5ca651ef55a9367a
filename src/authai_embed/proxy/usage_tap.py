"""A passed-through Chat Completions stream, read for its usage chunk on the way.

The ledger counts every call from the upstream's own `usage`. A chat upstream sends it only
when asked (`stream_options.include_usage`), so the proxy asks for it always; when the client
did not, the usage chunk (no choices, a `usage` object) is left out of what the client gets.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from authai_embed.proxy.translate.sse import SSEDecoder, SSEEvent, encode_data, encode_event

__all__ = ["ask_for_usage", "tapped_chat_stream"]


def ask_for_usage(payload: dict[str, Any]) -> bool:
    """Set `stream_options.include_usage` in `payload`; return whether the client had asked
    for it itself (then its usage chunk is passed on)."""
    options = payload.get("stream_options")
    asked = isinstance(options, dict) and options.get("include_usage") is True
    if not asked:
        payload["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return asked


async def tapped_chat_stream(
    chunks: AsyncIterable[bytes],
    on_usage: Callable[[Any], None],
    on_error: Callable[[], None],
    *,
    strip: bool,
) -> AsyncIterator[bytes]:
    """`chunks` re-framed event by event, each `usage` handed to `on_usage` and each error
    frame to `on_error`; with `strip`, the usage-only chunk is dropped."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        out = [
            frame
            for event in decoder.feed(chunk)
            if (frame := _frame(event, on_usage, on_error, strip))
        ]
        if out:
            yield b"".join(out)
    tail = [
        frame for event in decoder.close() if (frame := _frame(event, on_usage, on_error, strip))
    ]
    if tail:
        yield b"".join(tail)


def _frame(
    event: SSEEvent, on_usage: Callable[[Any], None], on_error: Callable[[], None], strip: bool
) -> bytes:
    data = event.data
    if ('"usage"' in data or '"error"' in data) and data != "[DONE]":
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            if obj.get("error") is not None:
                on_error()
            usage = obj.get("usage")
            if isinstance(usage, dict):
                on_usage(usage)
                if strip and not obj.get("choices"):
                    return b""
    return (
        encode_data(data) if event.event == "message" else encode_event(event.event, data.encode())
    )
