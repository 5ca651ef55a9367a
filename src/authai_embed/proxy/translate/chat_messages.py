"""Chat Completions `messages` → Responses `instructions` and `input` items.

System and developer texts become the instructions; the other roles become input items, each
checked so that a malformed message is a 400 naming it rather than the backend's error. What
each role and content part becomes: docs/proxy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import (
    Budget,
    RequestLimits,
    invalid_type,
    one_of,
    want_list,
    want_mapping,
    want_str,
)

__all__ = ["convert_messages"]

ROLES = ("system", "developer", "user", "assistant", "tool")
"""Roles translated (`function`, the legacy one, is refused with a pointer to `tools`); any
`name` field is ignored: the Responses input has no place for it."""
IMAGE_DETAILS = ("auto", "low", "high")
LEGACY_FUNCTIONS = "the legacy function-calling fields are not supported; use tools and tool_calls"


def convert_messages(
    messages: Any, budget: Budget, limits: RequestLimits
) -> tuple[list[str], list[dict[str, Any]]]:
    """The instruction texts and the input items of `messages`; raises `InvalidRequest`."""
    messages = want_list(messages, "messages")
    if not messages:
        raise InvalidRequest("messages must contain at least one message", param="messages")
    if len(messages) > limits.max_messages:
        raise InvalidRequest(
            f"messages may hold at most {limits.max_messages} messages", param="messages"
        )
    converter = _Converter(budget)
    for index, message in enumerate(messages):
        converter.add(message, f"messages[{index}]")
    return converter.instructions, converter.items


class _Converter:
    __slots__ = ("budget", "call_ids", "instructions", "items")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.instructions: list[str] = []
        self.items: list[dict[str, Any]] = []
        self.call_ids: set[str] = set()

    def add(self, message: Any, param: str) -> None:
        message = want_mapping(message, param)
        if "role" not in message:
            raise InvalidRequest(f"{param}.role is required", param=f"{param}.role")
        role = message["role"]
        if role == "function":
            raise InvalidRequest(f"{param}: {LEGACY_FUNCTIONS}", param=f"{param}.role")
        role = one_of(role, f"{param}.role", ROLES)
        if role == "user":
            self._user(message, param)
        elif role == "assistant":
            self._assistant(message, param)
        elif role == "tool":
            self._tool(message, param)
        else:
            # The backend wants system and developer texts as instructions, not as input.
            text = self._text(message.get("content"), f"{param}.content", role, "\n\n")
            if text.strip():
                self.instructions.append(text)

    def _text(self, content: Any, param: str, role: str, joiner: str) -> str:
        """The text of a message that may only hold text (system, developer, tool)."""
        if isinstance(content, str):
            return self.budget.text(content, param)
        if content is None:
            raise invalid_type(param, content, "a string or an array of text parts")
        parts = want_list(content, param)
        texts: list[str] = []
        for index, raw in enumerate(parts):
            where = f"{param}[{index}]"
            part = want_mapping(raw, where)
            self.budget.part(where)
            if part.get("type") != "text":
                raise _unsupported_part(part.get("type"), where, f"a {role} message")
            texts.append(self.budget.text(want_str(part.get("text"), f"{where}.text"), where))
        return joiner.join(texts)

    def _user(self, message: Mapping[str, Any], param: str) -> None:
        content = message.get("content")
        where = f"{param}.content"
        if isinstance(content, str):
            self.budget.text(content, where)
            parts = [{"type": "input_text", "text": content}]
        else:
            if content is None:
                raise invalid_type(where, content, "a string or an array of content parts")
            raw_parts = want_list(content, where)
            if not raw_parts:
                raise InvalidRequest(f"{where} must not be empty", param=where)
            parts = [self._user_part(raw, f"{where}[{i}]") for i, raw in enumerate(raw_parts)]
        self.items.append({"type": "message", "role": "user", "content": parts})

    def _user_part(self, raw: Any, param: str) -> dict[str, Any]:
        part = want_mapping(raw, param)
        self.budget.part(param)
        kind = part.get("type")
        if kind == "text":
            text = self.budget.text(want_str(part.get("text"), f"{param}.text"), param)
            return {"type": "input_text", "text": text}
        if kind == "image_url":
            return self._image(part.get("image_url"), f"{param}.image_url")
        raise _unsupported_part(kind, param, "a user message")

    def _image(self, raw: Any, param: str) -> dict[str, Any]:
        detail: Any = "auto"
        if isinstance(raw, str):
            url = raw
        elif isinstance(raw, Mapping):
            url = want_str(raw.get("url"), f"{param}.url")
            if raw.get("detail") is not None:
                detail = one_of(raw["detail"], f"{param}.detail", IMAGE_DETAILS)
        else:
            raise invalid_type(param, raw, "a URL or an object with url and detail")
        if not _image_url_ok(url):  # the backend fetches nothing else
            raise InvalidRequest(
                f"{param} must be an https: URL or a data:image/...;base64, URL with the image "
                "data (other schemes, such as http: or file:, are refused)",
                param=param,
            )
        self.budget.text(url, param)
        return {"type": "input_image", "image_url": url, "detail": detail}

    def _assistant(self, message: Mapping[str, Any], param: str) -> None:
        if message.get("function_call") is not None:
            raise InvalidRequest(f"{param}: {LEGACY_FUNCTIONS}", param=f"{param}.function_call")
        if message.get("audio") is not None:
            raise InvalidRequest(
                f"{param}.audio: audio replies are not supported", param=f"{param}.audio"
            )
        parts = self._assistant_parts(message.get("content"), f"{param}.content")
        refusal = message.get("refusal")
        if refusal is not None and want_str(refusal, f"{param}.refusal"):
            parts.append({"type": "refusal", "refusal": self.budget.text(refusal, param)})
        if parts:
            self.items.append({"type": "message", "role": "assistant", "content": parts})
        calls = message.get("tool_calls")
        if calls is not None:
            for index, call in enumerate(want_list(calls, f"{param}.tool_calls")):
                self._tool_call(call, f"{param}.tool_calls[{index}]")

    def _assistant_parts(self, content: Any, param: str) -> list[dict[str, Any]]:
        if content is None:
            return []
        if isinstance(content, str):
            text = self.budget.text(content, param)
            return [{"type": "output_text", "text": text}] if text else []
        parts: list[dict[str, Any]] = []
        for index, raw in enumerate(want_list(content, param)):
            where = f"{param}[{index}]"
            part = want_mapping(raw, where)
            self.budget.part(where)
            kind = part.get("type")
            if kind == "text":
                text = self.budget.text(want_str(part.get("text"), f"{where}.text"), where)
                if text:
                    parts.append({"type": "output_text", "text": text})
            elif kind == "refusal":
                text = self.budget.text(want_str(part.get("refusal"), f"{where}.refusal"), where)
                parts.append({"type": "refusal", "refusal": text})
            else:
                raise _unsupported_part(kind, where, "an assistant message")
        return parts

    def _tool_call(self, raw: Any, param: str) -> None:
        call = want_mapping(raw, param)
        self.budget.part(param)
        kind = call.get("type", "function")
        if kind != "function":
            raise InvalidRequest(
                f"{param}.type: only function tool calls are supported, not {kind!r}",
                param=f"{param}.type",
            )
        call_id = want_str(call.get("id"), f"{param}.id", empty=False)
        function = want_mapping(call.get("function"), f"{param}.function")
        name = want_str(function.get("name"), f"{param}.function.name", empty=False)
        arguments = want_str(function.get("arguments"), f"{param}.function.arguments")
        self.budget.text(arguments, param)
        self.call_ids.add(call_id)
        self.items.append(
            {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
        )

    def _tool(self, message: Mapping[str, Any], param: str) -> None:
        call_id = want_str(message.get("tool_call_id"), f"{param}.tool_call_id", empty=False)
        # The backend refuses an orphan output too; naming the message here is clearer.
        if call_id not in self.call_ids:
            raise InvalidRequest(
                f"{param}.tool_call_id {call_id!r} does not answer any tool call of an earlier "
                "assistant message",
                param=f"{param}.tool_call_id",
            )
        output = self._text(message.get("content"), f"{param}.content", "tool", "")
        self.items.append({"type": "function_call_output", "call_id": call_id, "output": output})


def _image_url_ok(url: str) -> bool:
    """`https://host...` or `data:image/<type>;base64,<data>` (non-empty data)."""
    if url[:8].lower() == "https://":
        return len(url) > 8
    head, comma, data = url.partition(",")
    head = head.lower()
    return (
        bool(comma and data)
        and head.startswith("data:image/")
        and head.endswith(";base64")
        and len(head) > len("data:image/;base64")
    )


def _unsupported_part(kind: Any, param: str, where: str) -> InvalidRequest:
    if kind == "input_audio":
        reason = "audio input is not supported"
    elif kind == "file":
        reason = "file inputs are not supported"
    elif isinstance(kind, str):
        reason = f"content parts of type {kind!r} are not supported in {where}"
    else:
        reason = f"a content part needs a type, got {kind!r}"
    return InvalidRequest(f"{param}: {reason}", param=param)
