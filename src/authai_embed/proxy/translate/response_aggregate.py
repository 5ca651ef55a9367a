"""A whole Responses stream → one answer, for callers that did not ask to stream.

The backend only streams, so a non-streaming caller is served by folding the stream, one event at
a time, never holding them all. A failed or cut stream raises `UpstreamError`, with the same
message, code and status in both aggregators.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any, NoReturn, Protocol

from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.response_events import ResponseEvents
from authai_embed.proxy.translate.response_fill import ResponseDefaults, ResponseFiller
from authai_embed.proxy.translate.response_terms import (
    CUT_MESSAGE,
    INCOMPLETE_STREAM,
    error_of,
    error_status,
)

__all__ = [
    "ChatCompletionAggregator",
    "EventFold",
    "ResponseAggregator",
    "aggregate_chat_completion",
    "aggregate_chat_completion_async",
    "aggregate_response",
    "aggregate_response_async",
]


class EventFold(Protocol):
    """What folds a stream into one answer: both aggregators here."""

    @property
    def finished(self) -> bool:
        """A terminal event or a failure was seen: later events change nothing."""
        ...

    def handle(self, event: Mapping[str, Any]) -> None:
        """Take one upstream event (a parsed SSE `data` object)."""
        ...

    def result(self) -> dict[str, Any]:
        """The answer; raises `UpstreamError` if the stream failed or stopped short."""
        ...


def _raise(message: str, code: str | None) -> NoReturn:
    raise UpstreamError(message, status=error_status(code), code=code)


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

    @property
    def finished(self) -> bool:
        """A terminal event or a failure was seen: later events change nothing."""
        return self.done or self.failed

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
        """The completion; raises `UpstreamError` if the stream failed or stopped short.

        `message.content` is `None` when the model only called tools (as OpenAI answers), `""`
        for an answer with nothing in it; `reasoning_content` only when summaries were asked for.
        """
        self.end()
        if self.error is not None:
            _raise(self.error["message"], self.error["code"])
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
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self.finish_reason,
        }
        completion: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created_at,
            "model": self._model,
            "choices": [choice],
        }
        if self.usage is not None:
            completion["usage"] = self.usage
        return completion


class ResponseAggregator:
    """Collects upstream Responses events into the final Responses object (`result`).

    That is the `response` of `response.completed` (or `response.incomplete`, an answer too),
    completed by `ResponseFiller`: `output` from the finished items when the backend left it
    empty, and the other fields clients read (from `defaults` where no event gave them).
    """

    __slots__ = ("_error", "_filler", "_response")

    def __init__(self, defaults: ResponseDefaults | None = None) -> None:
        self._filler = ResponseFiller(defaults)
        self._response: dict[str, Any] | None = None
        self._error: tuple[str, str | None] | None = None

    @property
    def finished(self) -> bool:
        """A terminal event or a failure was seen: later events change nothing."""
        return self._response is not None or self._error is not None

    def handle(self, event: Mapping[str, Any]) -> None:
        """Take one upstream event (a parsed SSE `data` object)."""
        if self.finished:
            return
        self._filler.observe(event)
        kind = event.get("type")
        if kind in ("response.completed", "response.incomplete"):
            response = event.get("response")
            if isinstance(response, Mapping):
                self._response = self._filler.filled(response, kind)
        elif kind in ("response.failed", "error"):
            self._error = error_of(event)

    def result(self) -> dict[str, Any]:
        """The final response; raises `UpstreamError` if the stream failed or stopped short."""
        if self._error is not None:
            _raise(*self._error)
        if self._response is None:
            _raise(CUT_MESSAGE, INCOMPLETE_STREAM)
        return self._response


def aggregate_chat_completion(
    events: Iterable[Mapping[str, Any]],
    *,
    model: str,
    include_reasoning: bool,
    completion_id: str,
    created: int,
) -> dict[str, Any]:
    """One `chat.completion` from an upstream stream; raises `UpstreamError` on failure.

    Stops reading at the terminal event.
    """
    aggregator = ChatCompletionAggregator(
        model, include_reasoning=include_reasoning, completion_id=completion_id, created=created
    )
    for event in events:
        aggregator.handle(event)
        if aggregator.finished:
            break
    return aggregator.result()


async def aggregate_chat_completion_async(
    events: AsyncIterable[Mapping[str, Any]],
    *,
    model: str,
    include_reasoning: bool,
    completion_id: str,
    created: int,
) -> dict[str, Any]:
    """`aggregate_chat_completion` over events as they arrive (e.g. `iter_json_events`).

    Stops reading at the terminal event; closing the source is the caller's (it owns the
    upstream response).
    """
    aggregator = ChatCompletionAggregator(
        model, include_reasoning=include_reasoning, completion_id=completion_id, created=created
    )
    async for event in events:
        aggregator.handle(event)
        if aggregator.finished:
            break
    return aggregator.result()


def aggregate_response(
    events: Iterable[Mapping[str, Any]], defaults: ResponseDefaults | None = None
) -> dict[str, Any]:
    """The final Responses object of a stream, for a non-streaming `/v1/responses` caller.

    Raises `UpstreamError` for `response.failed`, an `error` event, or a stream cut short.
    """
    aggregator = ResponseAggregator(defaults)
    for event in events:
        aggregator.handle(event)
        if aggregator.finished:
            break
    return aggregator.result()


async def aggregate_response_async(
    events: AsyncIterable[Mapping[str, Any]], defaults: ResponseDefaults | None = None
) -> dict[str, Any]:
    """`aggregate_response` over events as they arrive; stops at the terminal event."""
    aggregator = ResponseAggregator(defaults)
    async for event in events:
        aggregator.handle(event)
        if aggregator.finished:
            break
    return aggregator.result()
