"""Chat Completions stream chunks → Anthropic Messages stream events, one chunk at a time.

`message_start` and a `ping` first; then a `content_block_start`/`_delta`/`_stop` run per text
block (`text_delta`) and per tool call (`input_json_delta`); at the end `message_delta` (stop
reason, stop sequence, usage) and `message_stop`. A failure is never a silent truncation: an
`error` event ends the stream instead. Event by event: docs/proxy.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.anthropic_response import StopScanner, stop_reason, usage_of
from authai_embed.proxy.translate.sse import SSEDecoder, encode_event, parse_json_event

__all__ = ["AnthropicStreamTranslator", "ErrorEvent", "translate_chat_stream"]

ErrorEvent = Callable[[Mapping[str, Any]], bytes]
"""Builds the `error` event ending a stream, from a chat error object (`message`, `code`)."""

_CUT = {
    "message": "the provider's stream ended before the answer was complete",
    "type": "provider_error",
    "code": "stream_incomplete",
}


class AnthropicStreamTranslator:
    """Turns chat chunks (parsed JSON) into Anthropic SSE frames. One per stream; `ended` is
    set once the last event (`message_stop` or `error`) is out, and later input is ignored."""

    __slots__ = (
        "_block",
        "_error_event",
        "_finish",
        "_id",
        "_index",
        "_model",
        "_refused",
        "_scanner",
        "_started",
        "_tools",
        "_usage",
        "ended",
    )

    def __init__(
        self, *, model: str, message_id: str, stop: tuple[str, ...], error_event: ErrorEvent
    ) -> None:
        self._model = model
        self._id = message_id
        self._scanner = StopScanner(stop)
        self._error_event = error_event
        self._started = False
        self._block: str | None = None  # the open block's type, if one is open
        self._index = -1  # the last block's index
        self._tools: dict[int, int] = {}  # chat tool-call index → block index
        self._finish: Any = None
        self._refused = False  # the model refused: `refusal`, whatever the finish reason says
        self._usage: Any = None
        self.ended = False

    def feed(self, chunk: Mapping[str, Any]) -> list[bytes]:
        """The frames for one chat chunk (an `{"error": ...}` chunk ends the stream)."""
        out: list[bytes] = []
        if self.ended:
            return out
        error = chunk.get("error")
        if isinstance(error, Mapping):
            return self.fail(error)
        self._start(out)
        if isinstance(chunk.get("usage"), Mapping):
            self._usage = chunk["usage"]
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, Mapping):
                self._delta(delta, out)
                if self._scanner.matched is not None:
                    self._end(out)
                    return out
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def finish(self) -> list[bytes]:
        """The closing frames once the chat stream is over: `message_delta` and `message_stop`,
        or an `error` event when it ended without a finish reason."""
        if self.ended:
            return []
        if self._finish is None:
            return self.fail(_CUT)
        out: list[bytes] = []
        self._start(out)
        self._end(out)
        return out

    def fail(self, error: Mapping[str, Any]) -> list[bytes]:
        """The `error` event for a chat error object; the stream is over."""
        if self.ended:
            return []
        self.ended = True
        return [self._error_event(error)]

    def _start(self, out: list[bytes]) -> None:
        if self._started:
            return
        self._started = True
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        out.append(encode_event("message_start", {"type": "message_start", "message": message}))
        out.append(encode_event("ping", {"type": "ping"}))

    def _delta(self, delta: Mapping[str, Any], out: list[bytes]) -> None:
        text = delta.get("content")
        if not isinstance(text, str) or not text:
            text = delta.get("refusal")
            self._refused = self._refused or (isinstance(text, str) and bool(text))
        if isinstance(text, str) and text:
            self._text(self._scanner.feed(text), out)
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, Mapping):
                self._tool_call(call, out)

    def _text(self, text: str, out: list[bytes]) -> None:
        if not text:
            return
        if self._block != "text":
            self._open({"type": "text", "text": ""}, out)
        delta = {"type": "text_delta", "text": text}
        out.append(_block_delta(self._index, delta))

    def _tool_call(self, call: Mapping[str, Any], out: list[bytes]) -> None:
        position = call.get("index", 0)
        function = call.get("function")
        function = function if isinstance(function, Mapping) else {}
        block = self._tools.get(position) if isinstance(position, int) else None
        if block is None:
            self._text(self._scanner.flush(), out)  # no stop sequence can span a tool call
            call_id = call.get("id")
            tool = {
                "type": "tool_use",
                "id": call_id
                if isinstance(call_id, str) and call_id
                else f"toolu_{self._index + 1}",
                "name": str(function.get("name") or ""),
                "input": {},
            }
            self._open(tool, out)
            block = self._index
            if isinstance(position, int):
                self._tools[position] = block
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            out.append(_block_delta(block, delta))

    def _open(self, block: dict[str, Any], out: list[bytes]) -> None:
        self._close(out)
        self._index += 1
        self._block = block["type"]
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        out.append(encode_event("content_block_start", start))

    def _close(self, out: list[bytes]) -> None:
        if self._block is not None:
            stop = {"type": "content_block_stop", "index": self._index}
            out.append(encode_event("content_block_stop", stop))
            self._block = None

    def _end(self, out: list[bytes]) -> None:
        if self._scanner.matched is None:
            self._text(self._scanner.flush(), out)
        self._close(out)
        matched = self._scanner.matched
        delta = {
            "stop_reason": self._stop_reason(),
            "stop_sequence": matched,
        }
        usage = usage_of(self._usage)
        event = {"type": "message_delta", "delta": delta, "usage": usage}
        out.append(encode_event("message_delta", event))
        out.append(encode_event("message_stop", {"type": "message_stop"}))
        self.ended = True

    def _stop_reason(self) -> str:
        if self._scanner.matched is not None:
            return "stop_sequence"
        return "refusal" if self._refused else stop_reason(self._finish)


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return encode_event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


async def translate_chat_stream(
    chunks: AsyncIterable[bytes], translator: AnthropicStreamTranslator
) -> AsyncIterator[bytes]:
    """The Anthropic SSE bytes for a Chat Completions SSE byte stream, one piece per chunk that
    made frames. Stops reading once the translator has ended (a stop sequence, an error): the
    caller then closes the upstream call. A malformed chunk ends the stream with an `error`."""
    decoder = SSEDecoder()
    out: list[bytes] = []
    try:
        async for chunk in chunks:
            for event in decoder.feed(chunk):
                obj = parse_json_event(event)
                if obj is not None:
                    out += translator.feed(obj)
            if out:
                yield b"".join(out)
                out = []
            if translator.ended:
                return
        for event in decoder.close():
            obj = parse_json_event(event)
            if obj is not None:
                out += translator.feed(obj)
    except UpstreamError as exc:
        out += translator.fail({"message": exc.message, "code": exc.code})
        yield b"".join(out)
        return
    out += translator.finish()
    if out:
        yield b"".join(out)
