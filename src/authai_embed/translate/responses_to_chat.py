"""Responses stream events → Chat Completions answers: chunks as they come, or one completion.

Streaming (`ChatStreamTranslator`): every chunk has the same `id`, `created`, `model` and
`object: "chat.completion.chunk"`; the first carries `delta.role = "assistant"`; text goes out
as `delta.content`, refusals as `delta.refusal`; each function call as `delta.tool_calls`
(`index` counting calls from 0; the first chunk of a call has its `id`, `type` and `name`, later
ones argument text); then a chunk with `finish_reason` (`tool_calls` when the model called a
function, `length` / `content_filter` for an incomplete answer, else `stop`); then, when
`stream_options.include_usage` was set and the provider reported usage, a usage chunk with
`choices: []` (never invented zeros); then `[DONE]`.

Extension: with `include_reasoning` (the request's `reasoning_summary`), reasoning summaries go
out as `delta.reasoning_content` (the field other OpenAI-compatible servers use), paragraphs
separated by a blank line; aggregated, as `message.reasoning_content`.

A failure (`response.failed`, an `error` event, or a stream that ends without a terminal event)
is never a silent truncation: streaming sends `data: {"error": {"message", "type", "code"}}`
then `[DONE]`; the aggregators raise `UpstreamError`.

Chunks are assembled from bytes prebuilt per stream; only the varying text is JSON-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from authai_embed.errors import UpstreamError

from .response_events import ResponseEvents
from .response_terms import CUT_MESSAGE, INCOMPLETE_STREAM, error_of, error_status
from .sse import DONE, encode_data, json_bytes, json_string

__all__ = [
    "ChatCompletionAggregator",
    "ChatStreamTranslator",
    "aggregate_chat_completion",
    "aggregate_response",
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


class ChatCompletionAggregator(ResponseEvents):
    """Collects upstream Responses events into one `chat.completion` object (`result`)."""

    __slots__ = (
        "_arguments",
        "_calls",
        "_created_at",
        "_id",
        "_model",
        "_reasoning",
        "_refusal",
        "_text",
    )

    def __init__(
        self, model: str, *, include_reasoning: bool, completion_id: str, created: int
    ) -> None:
        super().__init__(include_reasoning=include_reasoning)
        self._model = model
        self._id = completion_id
        self._created_at = int(created)
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[dict[str, Any]] = []
        self._arguments: list[list[str]] = []

    def on_text(self, delta: str) -> None:
        self._text.append(delta)

    def on_refusal(self, delta: str) -> None:
        self._refusal.append(delta)

    def on_reasoning(self, delta: str) -> None:
        self._reasoning.append(delta)

    def on_tool_call(self, index: int, call_id: str, name: str, arguments: str) -> None:
        self._calls.append({"id": call_id, "type": "function", "function": {"name": name}})
        self._arguments.append([arguments])

    def on_tool_arguments(self, index: int, delta: str) -> None:
        self._arguments[index].append(delta)

    def result(self) -> dict[str, Any]:
        """The completion; raises `UpstreamError` if the stream failed or stopped short."""
        self.end()
        if self.error is not None:
            code = self.error["code"]
            raise UpstreamError(self.error["message"], status=error_status(code), code=code)
        for call, parts in zip(self._calls, self._arguments, strict=True):
            call["function"]["arguments"] = "".join(parts)
        text = "".join(self._text) if self._text else None
        if text is None and not self._calls and not self._refusal:
            text = ""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text,
            "refusal": "".join(self._refusal) if self._refusal else None,
        }
        if self._calls:
            message["tool_calls"] = self._calls
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        completion: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created_at,
            "model": self._model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
        }
        if self.usage is not None:
            completion["usage"] = self.usage
        return completion


def aggregate_chat_completion(
    events: Iterable[Mapping[str, Any]],
    *,
    model: str,
    include_reasoning: bool,
    completion_id: str,
    created: int,
) -> dict[str, Any]:
    """One `chat.completion` from a whole upstream stream; raises `UpstreamError` on failure
    (status from the provider's error code: 429 for rate and usage limits, else mostly 502)."""
    aggregator = ChatCompletionAggregator(
        model, include_reasoning=include_reasoning, completion_id=completion_id, created=created
    )
    for event in events:
        aggregator.handle(event)
        if aggregator.done or aggregator.failed:
            break
    return aggregator.result()


def aggregate_response(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The final Responses object of a stream, for a non-streaming `/v1/responses` caller.

    That is the `response` of `response.completed` (or `response.incomplete`, which is an
    answer too), with `output` filled from the finished items when the backend left it empty.
    Raises `UpstreamError` for `response.failed`, an `error` event, or a stream cut short.
    """
    items: dict[int, Any] = {}
    for event in events:
        kind = event.get("type")
        if kind == "response.output_item.done":
            index = event.get("output_index")
            items[index if type(index) is int else len(items)] = event.get("item")
        elif kind in ("response.completed", "response.incomplete"):
            response = event.get("response")
            if isinstance(response, Mapping):
                final = dict(response)
                if not final.get("output") and items:
                    final["output"] = [items[i] for i in sorted(items)]
                return final
        elif kind in ("response.failed", "error"):
            message, code = error_of(event)
            raise UpstreamError(message, status=error_status(code), code=code)
    raise UpstreamError(CUT_MESSAGE, status=502, code=INCOMPLETE_STREAM)
