"""Reading a Responses event stream as the pieces of a chat answer, once for every output form.

`ResponseEvents` calls one hook per piece (text, refusal, reasoning, tool call, finish, error);
the streaming translator and the aggregator implement the hooks, so the event logic exists once.
A `*.done` event or finished item longer than the deltas seen emits the missing tail, never twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from authai_embed.proxy.translate.response_terms import (
    CUT_MESSAGE,
    INCOMPLETE_STREAM,
    chat_usage,
    error_of,
)

__all__ = ["HANDLED_EVENTS", "ResponseEvents"]


class ResponseEvents:
    """Interprets Responses events in order; subclasses implement the `on_*` hooks.

    After `response.completed` / `response.incomplete`: `done`, `finish_reason`, `usage` and
    `response` are set. After `response.failed`, an `error` event, or `end()` on a stream that
    stopped short: `failed` and `error` (`{"message", "type": "provider_error", "code"}`).
    Events after either are ignored.
    """

    __slots__ = (
        "_by_item",
        "_by_output",
        "_call_sent",
        "_closed",
        "_reasoning_key",
        "_sent",
        "_started",
        "done",
        "error",
        "failed",
        "finish_reason",
        "include_reasoning",
        "response",
        "usage",
    )

    def __init__(self, *, include_reasoning: bool) -> None:
        self.include_reasoning = include_reasoning
        self.done = False
        self.failed = False
        self.error: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.response: Mapping[str, Any] | None = None
        self._closed = False
        self._started = False
        self._sent: dict[tuple[str | None, int], int] = {}  # characters emitted per (item, part)
        self._by_item: dict[str, int] = {}  # function-call item id -> tool-call index
        self._by_output: dict[int, int] = {}  # output_index -> tool-call index
        self._call_sent: list[int] = []  # argument characters emitted per tool call
        self._reasoning_key: tuple[Any, Any] | None = None

    # -- hooks -------------------------------------------------------------------------------

    def on_start(self) -> None:
        """The answer begins (once, before any other hook but `on_error`)."""

    def on_text(self, delta: str) -> None:
        """Assistant text."""

    def on_refusal(self, delta: str) -> None:
        """Refusal text."""

    def on_reasoning(self, delta: str) -> None:
        """Reasoning summary text (only when `include_reasoning`)."""

    def on_tool_call(self, index: int, call_id: str, name: str, arguments: str) -> None:
        """A function call begins; `index` counts calls from 0."""

    def on_tool_arguments(self, index: int, delta: str) -> None:
        """More argument text for call `index`."""

    def on_finish(self, finish_reason: str) -> None:
        """The answer ended normally (`stop`, `tool_calls`, `length`, `content_filter`)."""

    def on_error(self, error: dict[str, Any]) -> None:
        """The answer failed; nothing follows."""

    # -- driving -----------------------------------------------------------------------------

    @property
    def over(self) -> bool:
        """The answer has ended (a terminal event, a failure, or `end()`): later events change
        nothing."""
        return self._closed

    @property
    def tool_call_count(self) -> int:
        """Function calls seen so far."""
        return len(self._call_sent)

    def handle(self, event: Mapping[str, Any]) -> None:
        """Take one upstream event (a parsed SSE `data` object)."""
        if self._closed:
            return
        kind = event.get("type")
        handler = _DISPATCH.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, event)

    def end(self) -> None:
        """The upstream stream is over: without a terminal event, this is a failure."""
        if not self._closed:
            self._fail(CUT_MESSAGE, INCOMPLETE_STREAM)

    # -- event handlers ------------------------------------------------------------------------

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.on_start()

    def _created(self, event: Mapping[str, Any]) -> None:
        self._start()

    def _text_delta(self, event: Mapping[str, Any]) -> None:
        delta = event.get("delta")
        if type(delta) is str and delta:
            if not self._started:
                self._start()
            key = _part_key(event.get("item_id"), event.get("content_index", 0))
            sent = self._sent
            sent[key] = sent.get(key, 0) + len(delta)
            self.on_text(delta)

    def _refusal_delta(self, event: Mapping[str, Any]) -> None:
        delta = event.get("delta")
        if type(delta) is str and delta:
            self._start()
            key = _part_key(event.get("item_id"), event.get("content_index", 0))
            self._sent[key] = self._sent.get(key, 0) + len(delta)
            self.on_refusal(delta)

    def _catch_up(
        self, key: tuple[str | None, int], full: Any, emit: Callable[[str], None]
    ) -> None:
        if type(full) is str:
            sent = self._sent.get(key, 0)
            if len(full) > sent:
                self._sent[key] = len(full)
                self._start()
                emit(full[sent:])

    def _text_done(self, event: Mapping[str, Any]) -> None:
        key = _part_key(event.get("item_id"), event.get("content_index", 0))
        self._catch_up(key, event.get("text"), self.on_text)

    def _refusal_done(self, event: Mapping[str, Any]) -> None:
        key = _part_key(event.get("item_id"), event.get("content_index", 0))
        self._catch_up(key, event.get("refusal"), self.on_refusal)

    def _reasoning_delta(self, event: Mapping[str, Any]) -> None:
        delta = event.get("delta")
        if not self.include_reasoning or type(delta) is not str or not delta:
            return
        self._start()
        key = (event.get("item_id"), event.get("summary_index", event.get("content_index")))
        if self._reasoning_key is not None and key != self._reasoning_key:
            self.on_reasoning("\n\n")  # a new summary part starts a new paragraph
        self._reasoning_key = key
        self.on_reasoning(delta)

    def _call_index(self, item_id: Any, output_index: Any) -> int | None:
        if type(item_id) is str:
            index = self._by_item.get(item_id)
            if index is not None:
                return index
        return self._by_output.get(output_index) if type(output_index) is int else None

    def _start_call(self, item: Mapping[str, Any], output_index: Any) -> None:
        index = len(self._call_sent)
        item_id = item.get("id")
        if isinstance(item_id, str):
            self._by_item[item_id] = index
        if type(output_index) is int:
            self._by_output[output_index] = index
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            call_id = item_id if isinstance(item_id, str) else f"call_{index}"
        name = item.get("name")
        arguments = item.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        self._call_sent.append(len(arguments))
        self._start()
        self.on_tool_call(index, call_id, name if isinstance(name, str) else "", arguments)

    def _item_added(self, event: Mapping[str, Any]) -> None:
        item = event.get("item")
        if isinstance(item, Mapping) and item.get("type") == "function_call":
            output_index = event.get("output_index")
            if self._call_index(item.get("id"), output_index) is None:
                self._start_call(item, output_index)

    def _arguments_delta(self, event: Mapping[str, Any]) -> None:
        delta = event.get("delta")
        if type(delta) is str and delta:
            index = self._call_index(event.get("item_id"), event.get("output_index"))
            if index is not None:
                self._call_sent[index] += len(delta)
                self.on_tool_arguments(index, delta)

    def _arguments_catch_up(self, index: int, full: Any) -> None:
        sent = self._call_sent[index]
        if type(full) is str and len(full) > sent:
            self._call_sent[index] = len(full)
            self.on_tool_arguments(index, full[sent:])

    def _arguments_done(self, event: Mapping[str, Any]) -> None:
        index = self._call_index(event.get("item_id"), event.get("output_index"))
        if index is not None:
            self._arguments_catch_up(index, event.get("arguments"))

    def _finished_item(self, item: Any, output_index: Any) -> None:
        if not isinstance(item, Mapping):
            return
        kind = item.get("type")
        if kind == "function_call":
            index = self._call_index(item.get("id"), output_index)
            if index is None:
                self._start_call(item, output_index)
            else:
                self._arguments_catch_up(index, item.get("arguments"))
        elif kind == "message" and isinstance(item.get("content"), list):
            item_id = item.get("id")
            for position, part in enumerate(item["content"]):
                if not isinstance(part, Mapping):
                    continue
                key = _part_key(item_id, position)
                if part.get("type") == "output_text":
                    self._catch_up(key, part.get("text"), self.on_text)
                elif part.get("type") == "refusal":
                    self._catch_up(key, part.get("refusal"), self.on_refusal)

    def _item_done(self, event: Mapping[str, Any]) -> None:
        self._finished_item(event.get("item"), event.get("output_index"))

    def _terminal(self, event: Mapping[str, Any]) -> None:
        response = event.get("response")
        response = response if isinstance(response, Mapping) else {}
        output = response.get("output")
        if isinstance(output, list):
            for position, item in enumerate(output):
                self._finished_item(item, position)
        reason = "tool_calls" if self._call_sent else "stop"
        if event.get("type") == "response.incomplete":
            details = response.get("incomplete_details")
            why = details.get("reason") if isinstance(details, Mapping) else None
            reason = "content_filter" if why == "content_filter" else "length"
        self._start()
        self.response = response
        self.usage = chat_usage(response.get("usage"))
        self.finish_reason = reason
        self.done = self._closed = True
        self.on_finish(reason)

    def _failure(self, event: Mapping[str, Any]) -> None:
        self._fail(*error_of(event))

    def _fail(self, message: str, code: str | None) -> None:
        self.failed = self._closed = True
        self.error = {"message": message, "type": "provider_error", "code": code}
        self.on_error(self.error)


def _part_key(item_id: Any, index: Any) -> tuple[str | None, int]:
    """A hashable key for one content part, whatever types a broken event carries."""
    return (
        item_id if type(item_id) is str else None,
        index if type(index) is int else 0,
    )


_Handler = Callable[[ResponseEvents, Mapping[str, Any]], None]
_DISPATCH: Final[dict[str, _Handler]] = {
    "response.created": ResponseEvents._created,
    "response.output_text.delta": ResponseEvents._text_delta,
    "response.output_text.done": ResponseEvents._text_done,
    "response.refusal.delta": ResponseEvents._refusal_delta,
    "response.refusal.done": ResponseEvents._refusal_done,
    "response.reasoning_summary_text.delta": ResponseEvents._reasoning_delta,
    "response.reasoning_text.delta": ResponseEvents._reasoning_delta,
    "response.output_item.added": ResponseEvents._item_added,
    "response.function_call_arguments.delta": ResponseEvents._arguments_delta,
    "response.function_call_arguments.done": ResponseEvents._arguments_done,
    "response.output_item.done": ResponseEvents._item_done,
    "response.completed": ResponseEvents._terminal,
    "response.incomplete": ResponseEvents._terminal,
    "response.failed": ResponseEvents._failure,
    "error": ResponseEvents._failure,
}
HANDLED_EVENTS: Final = frozenset(_DISPATCH)
"""The upstream event types that shape a chat answer; any other event is ignored."""
