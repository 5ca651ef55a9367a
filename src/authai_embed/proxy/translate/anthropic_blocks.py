"""Anthropic `messages` and `system` content blocks → Chat Completions messages (pure, no I/O).

A user turn's `tool_result` blocks become `tool` messages, sent first (Chat Completions wants
them right after the assistant's tool calls), then the rest of the turn as one user message;
an assistant turn's `tool_use` blocks become its `tool_calls`. Thinking blocks echoed back in
the history are dropped: no provider here can read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import (
    Budget,
    RequestLimits,
    invalid_type,
    one_of,
    want_bool,
    want_list,
    want_mapping,
    want_str,
)

__all__ = ["IMAGE_TYPES", "convert_messages", "system_text"]

IMAGE_TYPES: Final = ("image/jpeg", "image/png", "image/gif", "image/webp")
ERROR_PREFIX: Final = "Error: "
"""Put before a `tool_result` marked `is_error`: Chat Completions has no such flag."""
_DROPPED: Final = ("thinking", "redacted_thinking")


def system_text(value: Any, budget: Budget) -> str:
    """`system` (a string, or text blocks) as one text; blocks are joined by a blank line."""
    if isinstance(value, str):
        return budget.text(value, "system")
    blocks = want_list(value, "system")
    texts = [_text_block(block, f"system[{i}]", budget) for i, block in enumerate(blocks)]
    return "\n\n".join(texts)


def convert_messages(value: Any, budget: Budget, limits: RequestLimits) -> list[dict[str, Any]]:
    """The chat messages of Anthropic `messages`; raises `InvalidRequest` naming the block."""
    messages = want_list(value, "messages")
    if not messages:
        raise InvalidRequest("messages: at least one message is required", param="messages")
    if len(messages) > limits.max_messages:
        raise InvalidRequest(
            f"messages may hold at most {limits.max_messages} messages", param="messages"
        )
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        message = want_mapping(message, param)
        role = one_of(message.get("role"), f"{param}.role", ("user", "assistant"))
        content = message.get("content")
        if content is None:
            raise InvalidRequest(f"{param}.content: Field required", param=f"{param}.content")
        if isinstance(content, str):
            out.append({"role": role, "content": budget.text(content, f"{param}.content")})
            continue
        blocks = want_list(content, f"{param}.content")
        if role == "user":
            out += _user(blocks, param, budget)
        else:
            out.append(_assistant(blocks, param, budget))
    return out


def _user(blocks: Sequence[Any], param: str, budget: Budget) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for where, block, kind in _blocks(blocks, f"{param}.content", budget):
        if kind == "text":
            parts.append({"type": "text", "text": _text_block(block, where, budget)})
        elif kind == "image":
            parts.append(_image(block, where, budget))
        elif kind == "tool_result":
            tools.append(_tool_result(block, where, budget, parts))
        else:
            raise _unsupported(kind, where)
    if not parts:
        return tools
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*tools, {"role": "user", "content": parts[0]["text"]}]
    return [*tools, {"role": "user", "content": parts}]


def _assistant(blocks: Sequence[Any], param: str, budget: Budget) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for where, block, kind in _blocks(blocks, f"{param}.content", budget):
        if kind == "text":
            texts.append(_text_block(block, where, budget))
        elif kind == "tool_use":
            call_id = want_str(block.get("id"), f"{where}.id", empty=False)
            name = want_str(block.get("name"), f"{where}.name", empty=False)
            arguments = budget.text(_arguments(block.get("input"), f"{where}.input"), where)
            function = {"name": name, "arguments": arguments}
            calls.append({"id": call_id, "type": "function", "function": function})
        elif kind not in _DROPPED:
            raise _unsupported(kind, where)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""  # a turn of thinking only: an empty answer
    return message


def _tool_result(
    block: Mapping[str, Any], where: str, budget: Budget, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `tool` message of a `tool_result`; its images go to the user message after it."""
    call_id = want_str(block.get("tool_use_id"), f"{where}.tool_use_id", empty=False)
    content = block.get("content")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(budget.text(content, f"{where}.content"))
    elif content is not None:
        inners = want_list(content, f"{where}.content")
        for at, inner, kind in _blocks(inners, f"{where}.content", budget):
            if kind == "text":
                texts.append(_text_block(inner, at, budget))
            elif kind == "image":
                parts.append(_image(inner, at, budget))
            else:
                raise _unsupported(kind, at)
    text = "\n".join(texts)
    is_error = block.get("is_error")
    if is_error is not None and want_bool(is_error, f"{where}.is_error"):
        text = ERROR_PREFIX + text
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _blocks(
    blocks: Sequence[Any], param: str, budget: Budget
) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """Each block of the list at `param` as (where, block, its type), counted in `budget`."""
    for index, block in enumerate(blocks):
        where = f"{param}[{index}]"
        block = want_mapping(block, where)
        budget.part(where)
        yield where, block, block.get("type")


def _text_block(block: Any, where: str, budget: Budget) -> str:
    block = want_mapping(block, where)
    if block.get("type") != "text":
        raise _unsupported(block.get("type"), where)
    return budget.text(want_str(block.get("text"), f"{where}.text"), f"{where}.text")


def _image(block: Mapping[str, Any], where: str, budget: Budget) -> dict[str, Any]:
    """An image block (base64 or URL source) → an `image_url` part."""
    source = want_mapping(block.get("source"), f"{where}.source")
    kind = one_of(source.get("type"), f"{where}.source.type", ("base64", "url"))
    if kind == "url":
        url = want_str(source.get("url"), f"{where}.source.url", empty=False)
    else:
        media = one_of(source.get("media_type"), f"{where}.source.media_type", IMAGE_TYPES)
        data = want_str(source.get("data"), f"{where}.source.data", empty=False)
        url = f"data:{media};base64,{data}"
    return {"type": "image_url", "image_url": {"url": budget.text(url, f"{where}.source")}}


def _arguments(value: Any, param: str) -> str:
    """A `tool_use` block's `input` as the JSON text of a chat tool call's arguments."""
    if not isinstance(value, Mapping):
        raise invalid_type(param, value, "an object")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _unsupported(kind: Any, where: str) -> InvalidRequest:
    shown = repr(kind[:80]) if isinstance(kind, str) else "that type"
    return InvalidRequest(
        f"{where}.type: content blocks of type {shown} are not supported here",
        param=f"{where}.type",
    )
