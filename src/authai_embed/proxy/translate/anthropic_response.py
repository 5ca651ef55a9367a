"""Chat Completions answers → Anthropic Messages answers: stop reasons, usage, the whole message.

Shared by the whole answer (`chat_to_message`) and the stream (`anthropic_stream`), with the
stop-sequence scanner both apply: Chat Completions cannot say which stop sequence ended a turn,
so the mount looks for them itself and reports the one it found, as Anthropic does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from authai_embed.errors import UpstreamError

__all__ = ["STOP_REASONS", "StopScanner", "chat_to_message", "stop_reason", "usage_of"]

STOP_REASONS: Final = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""Chat Completions `finish_reason` → Anthropic `stop_reason` (anything else: `end_turn`)."""


def stop_reason(finish_reason: Any) -> str:
    """The `stop_reason` of a chat `finish_reason`."""
    return (
        STOP_REASONS.get(finish_reason, "end_turn")
        if isinstance(finish_reason, str)
        else "end_turn"
    )


def usage_of(usage: Any) -> dict[str, int]:
    """Chat `usage` → Anthropic usage: `input_tokens` leaves out the cached part, which is
    `cache_read_input_tokens` (Anthropic counts the two apart; their sum is the prompt)."""
    if not isinstance(usage, Mapping):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = _count(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    cached = min(cached, prompt)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": _count(usage.get("completion_tokens")),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class StopScanner:
    """Finds the first of some stop sequences in text that arrives piece by piece.

    `feed` returns the text that can be sent now: text that might begin a sequence is held back
    until the next piece tells. After a match, `matched` is the sequence and nothing more is
    returned; `flush` hands over what was held when the text ends without one.
    """

    __slots__ = ("_held", "_sequences", "matched")

    def __init__(self, sequences: tuple[str, ...]) -> None:
        self._sequences = sequences
        self._held = ""
        self.matched: str | None = None

    def feed(self, text: str) -> str:
        """The part of `text` (after what was held) that is sure to precede any stop sequence."""
        if self.matched is not None:
            return ""
        if not self._sequences:
            return text
        text = self._held + text
        found = min(((at, s) for s in self._sequences if (at := text.find(s)) >= 0), default=None)
        if found is not None:
            self.matched, self._held = found[1], ""
            return text[: found[0]]
        keep = self._tail(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """The text held back (the text ended without a stop sequence)."""
        held, self._held = self._held, ""
        return held

    def _tail(self, text: str) -> int:
        """The length of the longest end of `text` that begins a stop sequence."""
        longest = min(len(text), max(len(s) for s in self._sequences) - 1)
        for size in range(longest, 0, -1):
            end = text[-size:]
            if any(s.startswith(end) for s in self._sequences):
                return size
        return 0


def chat_to_message(
    completion: Mapping[str, Any], *, model: str, message_id: str, stop: tuple[str, ...]
) -> dict[str, Any]:
    """The Anthropic message of a whole chat completion (`message_id`: the mount's own).

    Raises `UpstreamError` (502) when the completion has no choice or a tool call's arguments
    are not a JSON object: an answer that cannot be told faithfully is not told at all.
    """
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise UpstreamError(
            "the provider's answer has no choices", status=502, code="malformed_answer"
        )
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, Mapping) else {}
    reason = stop_reason(choice.get("finish_reason"))
    content_text = message.get("content")
    text = content_text if isinstance(content_text, str) else ""
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str) and refusal:
        text, reason = refusal, "refusal"
    scanner = StopScanner(stop)
    text = scanner.feed(text) + scanner.flush()
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if scanner.matched is not None:
        reason = "stop_sequence"
    else:
        calls = message.get("tool_calls")
        content += [_tool_use(call) for call in calls] if isinstance(calls, list) else []
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": scanner.matched,
        "usage": usage_of(completion.get("usage")),
    }


def _tool_use(call: Any) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping):
        raise UpstreamError(
            "the provider sent a malformed tool call", status=502, code="malformed_answer"
        )
    return {
        "type": "tool_use",
        "id": str(call.get("id") or ""),
        "name": str(function.get("name") or ""),
        "input": tool_input(function.get("arguments")),
    }


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments (JSON text) as a `tool_use` block's `input` object."""
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(
            "the provider sent tool arguments that are not a JSON object",
            status=502,
            code="malformed_answer",
        )
    return value
