"""Responses stream events → Chat Completions answers: chunks as they come, or one completion.

`ChatStreamTranslator` turns each event into SSE frames; a failure is never a silent truncation
(an error frame, then `[DONE]`). The aggregators live in `response_aggregate` and are re-exported
here. What each event becomes: docs/proxy.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from authai_embed._util.final_chunk import FinalChunk, read_to_end
from authai_embed.proxy.translate.response_aggregate import (
    ChatCompletionAggregator,
    ResponseAggregator,
    aggregate_chat_completion,
    aggregate_chat_completion_async,
    aggregate_response,
    aggregate_response_async,
)
from authai_embed.proxy.translate.response_events import ResponseEvents
from authai_embed.proxy.translate.sse import (
    DEFAULT_MAX_EVENT_BYTES,
    DONE,
    SSEDecoder,
    SSEEvent,
    encode_data,
    json_bytes,
    json_string,
    parse_json_event,
)

__all__ = [
    "ChatCompletionAggregator",
    "ChatStreamTranslator",
    "ResponseAggregator",
    "aggregate_chat_completion",
    "aggregate_chat_completion_async",
    "aggregate_response",
    "aggregate_response_async",
    "translate_stream",
]


class ChatStreamTranslator(ResponseEvents):
    """Turns upstream Responses events into Chat Completions SSE frames, one event at a time.

    Call `feed` for each event and `finish` once when the upstream stream ends (also after a
    failure); `done` / `failed` / `error` tell how it went. Not thread-safe: one per stream.
    """

    __slots__ = (
        "_content_head",
        "_content_tail",
        "_delta_head",
        "_delta_tail",
        "_finished",
        "_include_usage",
        "_out",
        "_usage_head",
    )

    def __init__(
        self,
        model: str,
        *,
        include_usage: bool,
        include_reasoning: bool,
        completion_id: str,
        created: int,
    ) -> None:
        super().__init__(include_reasoning=include_reasoning)
        # Every chunk's fixed bytes, built once per stream: only the varying text is encoded.
        head = (
            b'data: {"id":'
            + json_string(completion_id)
            + b',"object":"chat.completion.chunk","created":'
            + str(int(created)).encode()
            + b',"model":'
            + json_string(model)
            + b',"choices":['
        )
        self._delta_head = head + b'{"index":0,"delta":'
        self._delta_tail = b',"logprobs":null,"finish_reason":null}]}\n\n'
        self._content_head = self._delta_head + b'{"content":'
        self._content_tail = b"}" + self._delta_tail
        self._usage_head = head + b'],"usage":'
        self._include_usage = include_usage
        self._finished = False
        self._out: list[bytes] = []

    def feed(self, event: Mapping[str, Any]) -> list[bytes]:
        """The frames (`data: {...}\\n\\n`) for one upstream event; often none."""
        out: list[bytes] = []
        self._out = out
        self.handle(event)
        return out

    def finish(self) -> list[bytes]:
        """The closing frames: the error frame if the stream stopped short, the usage chunk if
        asked for, and `[DONE]`. Later calls return nothing."""
        if self._finished:
            return []
        self._finished = True
        out: list[bytes] = []
        self._out = out
        self.end()
        if self.done and self._include_usage and self.usage is not None:
            out.append(self._usage_head + json_bytes(self.usage) + b"}\n\n")
        out.append(DONE)
        return out

    def _delta(self, delta: bytes) -> None:
        self._out.append(self._delta_head + delta + self._delta_tail)

    def on_start(self) -> None:
        self._delta(b'{"role":"assistant","content":""}')

    def on_text(self, delta: str) -> None:
        self._out.append(self._content_head + json_string(delta) + self._content_tail)

    def on_refusal(self, delta: str) -> None:
        self._delta(b'{"refusal":' + json_string(delta) + b"}")

    def on_reasoning(self, delta: str) -> None:
        self._delta(b'{"reasoning_content":' + json_string(delta) + b"}")

    def on_tool_call(self, index: int, call_id: str, name: str, arguments: str) -> None:
        call = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        self._delta(b'{"tool_calls":[' + json_bytes(call) + b"]}")

    def on_tool_arguments(self, index: int, delta: str) -> None:
        self._delta(
            b'{"tool_calls":[{"index":'
            + str(index).encode()
            + b',"function":{"arguments":'
            + json_string(delta)
            + b"}}]}"
        )

    def on_finish(self, finish_reason: str) -> None:
        self._out.append(
            self._delta_head
            + b'{},"logprobs":null,"finish_reason":'
            + json_string(finish_reason)
            + b"}]}\n\n"
        )

    def on_error(self, error: dict[str, Any]) -> None:
        self._out.append(encode_data({"error": error}))


async def translate_stream(
    chunks: AsyncIterable[bytes],
    translator: ChatStreamTranslator,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> AsyncIterator[bytes]:
    """The Chat Completions SSE bytes for a Responses SSE byte stream, `finish()` included.

    One piece per upstream chunk that produced frames (their concatenation), then the closing
    frames: a burst of upstream events costs the server one write, not one per frame, and nothing
    waits for more. Once the answer is over (its terminal event came), the closing frames join
    the last piece, a `FinalChunk`, and the rest of `chunks` is read without a look (events after
    the terminal one change nothing). An `UpstreamError` from a malformed or oversized event is
    raised after the frames the events before it produced have been handed over, as with one
    piece per frame.
    """
    decoder = SSEDecoder(max_event_bytes=max_event_bytes)
    out: list[bytes] = []
    try:
        async for chunk in chunks:
            over = _frames(decoder.feed(chunk), translator, out)
            # Nothing of this chunk is kept while the next is awaited: a stream waits for
            # most of its life, and its last read may be a backlog of many events.
            del chunk
            if over:
                out += translator.finish()
                yield FinalChunk(b"".join(out))
                out.clear()  # handed over: a failure reading the rest adds nothing to send
                await read_to_end(chunks)
                return
            if out:
                piece = out[0] if len(out) == 1 else b"".join(out)
                out = []
                yield piece
                del piece
        _frames(decoder.close(), translator, out)
    except Exception:
        if out:
            yield b"".join(out)
        raise
    out += translator.finish()
    yield FinalChunk(b"".join(out))


def _frames(events: list[SSEEvent], translator: ChatStreamTranslator, out: list[bytes]) -> bool:
    """Append the frames `events` make (through `translator`) to `out`, event by event, so that
    an event that fails leaves the frames of those before it, and none after the answer is over
    (not even parsed); whether it is over. A function of its own: nothing of the events
    outlives it."""
    feed = translator.feed
    for event in events:
        if translator.over:
            return True
        obj = parse_json_event(event)
        if obj is not None:
            out.extend(feed(obj))
    return translator.over
