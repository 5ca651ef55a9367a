"""A Chat Completions request → the Codex Responses request that serves it (pure, no I/O).

Every top-level parameter is translated, refused with a 400 naming it, or dropped (checked first
as OpenAI checks it); the three tuples below are the list, and docs/proxy.md tables each one
(tests/proxy/test_translate_docs.py keeps the two in step). Work is bounded by `RequestLimits`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import (
    Budget,
    RequestLimits,
    invalid_type,
    one_of,
    want_bool,
    want_int,
    want_list,
    want_mapping,
    want_number,
    want_str,
)
from authai_embed.proxy.translate.chat_messages import LEGACY_FUNCTIONS, convert_messages
from authai_embed.proxy.translate.chat_options import (
    VERBOSITIES,
    convert_reasoning,
    convert_response_format,
    convert_tool_choice,
    convert_tools,
)

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_LIMITS",
    "DROPPED_PARAMS",
    "REASONING_SUMMARY_FIELD",
    "REFUSED_PARAMS",
    "TRANSLATED_PARAMS",
    "ChatRequest",
    "chat_to_responses",
]

REASONING_SUMMARY_FIELD: Final = "reasoning_summary"
DEFAULT_INSTRUCTIONS: Final = "You are a helpful assistant."
"""Sent when the caller gave no system or developer message: the backend requires some."""
DEFAULT_LIMITS: Final = RequestLimits()

TRANSLATED_PARAMS: Final = (
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "verbosity",
    "reasoning_effort",
    REASONING_SUMMARY_FIELD,
    "prompt_cache_key",
)
"""Carried over to the Responses request (or shaping the answer: `stream`, `stream_options`)."""
REFUSED_PARAMS: Final = (
    "n",
    "logprobs",
    "top_logprobs",
    "audio",
    "modalities",
    "prediction",
    "functions",
    "function_call",
    "web_search_options",
    "moderation",
)
"""A 400 naming the parameter unless it asks for nothing (`n: 1`, `logprobs: false`, ...): the
backend cannot do them, and ignoring them would answer something the caller did not ask for."""
_HANDLED: Final = frozenset(TRANSLATED_PARAMS + REFUSED_PARAMS)
_UNSUPPORTED: Final = {
    "audio": "audio output is not supported",
    "prediction": "predicted outputs are not supported",
    "web_search_options": "web search is not supported",
    "moderation": "moderation is not supported by this provider",
    "functions": LEGACY_FUNCTIONS,
    "function_call": LEGACY_FUNCTIONS,
}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A translated Chat Completions request and what the answer must look like."""

    payload: dict[str, Any]
    """The Responses request body (`stream: true`, `store: false`); the caller may add to it."""
    model: str
    stream: bool
    """Whether the caller asked for a stream (upstream always streams)."""
    include_usage: bool
    """`stream_options.include_usage`: end the stream with a usage chunk."""
    include_reasoning: bool
    """Reasoning summaries were requested and go out as `reasoning_content`."""
    dropped: tuple[str, ...]
    """Parameters given but not sent upstream, in the caller's order (for a log line)."""


def chat_to_responses(
    body: Mapping[str, Any],
    *,
    default_instructions: str = DEFAULT_INSTRUCTIONS,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> ChatRequest:
    """Translate a Chat Completions body; raises `InvalidRequest` (400, or 413 when too large).

    `default_instructions` is used when there is no system or developer message (the backend
    requires instructions). The payload shares tool and response schemas with `body`; neither
    is modified afterwards by this module.
    """
    if not isinstance(body, Mapping):
        raise InvalidRequest("request body must be a JSON object")
    model = body.get("model")
    messages = body.get("messages")
    # The reference's exact words, for a missing or empty one (`""`, `[]`): clients match them.
    if not model or not messages:
        raise InvalidRequest(
            "model and messages are required", param="messages" if model else "model"
        )
    model = want_str(model, "model")
    _refuse_unsupported(body)
    _check_dropped(body)
    budget = Budget(limits)
    instructions, items = convert_messages(messages, budget, limits)
    tools = convert_tools(body.get("tools"), limits)
    tool_choice = convert_tool_choice(body.get("tool_choice"), {t["name"] for t in tools})
    summary = body.get(REASONING_SUMMARY_FIELD)
    reasoning = convert_reasoning(body.get("reasoning_effort"), summary)

    payload: dict[str, Any] = {
        "model": model,
        "instructions": "\n\n".join(instructions) or default_instructions,
        "input": items,
    }
    if tools:
        payload["tools"] = tools
    if tool_choice is not None:
        payload["tool_choice"] = tool_choice
    if body.get("parallel_tool_calls") is not None:
        payload["parallel_tool_calls"] = want_bool(
            body["parallel_tool_calls"], "parallel_tool_calls"
        )
    if reasoning is not None:
        payload["reasoning"] = reasoning
    if summary is not None:
        payload["include"] = ["reasoning.encrypted_content"]
    text = _text_options(body)
    if text:
        payload["text"] = text
    if body.get("prompt_cache_key") is not None:
        payload["prompt_cache_key"] = want_str(body["prompt_cache_key"], "prompt_cache_key")
    payload["store"] = False
    payload["stream"] = True

    stream = body.get("stream")
    stream = False if stream is None else want_bool(stream, "stream")
    return ChatRequest(
        payload=payload,
        model=model,
        stream=stream,
        include_usage=_include_usage(body.get("stream_options")),
        include_reasoning=summary is not None,
        dropped=tuple(k for k, v in body.items() if k not in _HANDLED and v is not None),
    )


def _refuse_unsupported(body: Mapping[str, Any]) -> None:
    for name, reason in _UNSUPPORTED.items():
        if body.get(name) is not None:
            raise InvalidRequest(f"{name}: {reason}", param=name)
    n = body.get("n")
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool):
            raise invalid_type("n", n, "an integer")
        if n != 1:
            raise InvalidRequest(
                "n must be 1: this provider returns one choice per request", param="n"
            )
    logprobs = body.get("logprobs")
    if logprobs is not None and want_bool(logprobs, "logprobs"):
        raise InvalidRequest("logprobs: log probabilities are not available", param="logprobs")
    top = body.get("top_logprobs")
    if top is not None and not (type(top) is int and top == 0):
        raise InvalidRequest(
            "top_logprobs: log probabilities are not available", param="top_logprobs"
        )
    modalities = body.get("modalities")
    if modalities is not None:
        for index, value in enumerate(want_list(modalities, "modalities")):
            if value != "text":
                shown = repr(value) if isinstance(value, str) else "that value"
                raise InvalidRequest(
                    f"modalities: only text is supported, not {shown}",
                    param=f"modalities[{index}]",
                )


_DROPPED_CHECKS: Final[dict[str, Callable[[Any, str], object]]] = {
    "temperature": lambda v, p: want_number(v, p, 0, 2),
    "top_p": lambda v, p: want_number(v, p, 0, 1),
    "presence_penalty": lambda v, p: want_number(v, p, -2, 2),
    "frequency_penalty": lambda v, p: want_number(v, p, -2, 2),
    "max_tokens": lambda v, p: want_int(v, p, 1),
    "max_completion_tokens": lambda v, p: want_int(v, p, 1),
    "seed": lambda v, p: want_int(v, p, -(2**63)),
    "user": want_str,
    "service_tier": want_str,
    "store": want_bool,
    "metadata": want_mapping,
    "logit_bias": want_mapping,
    "stop": lambda v, p: v if isinstance(v, str) else [want_str(s, p) for s in want_list(v, p)],
}
DROPPED_PARAMS: Final = tuple(_DROPPED_CHECKS)
"""Known parameters the backend rejects: type-checked as OpenAI checks them (so a caller's bug
is reported whichever provider serves the call), then dropped. Unknown ones are dropped unchecked,
so newer SDKs keep working."""


def _check_dropped(body: Mapping[str, Any]) -> None:
    """Type-check the known parameters the backend does not take, before they are dropped."""
    for name, check in _DROPPED_CHECKS.items():
        value = body.get(name)
        if value is not None:
            check(value, name)


def _text_options(body: Mapping[str, Any]) -> dict[str, Any]:
    text: dict[str, Any] = {}
    fmt = convert_response_format(body.get("response_format"))
    if fmt is not None:
        text["format"] = fmt
    if body.get("verbosity") is not None:
        text["verbosity"] = one_of(body["verbosity"], "verbosity", VERBOSITIES)
    return text


def _include_usage(options: Any) -> bool:
    if options is None:
        return False
    if not isinstance(options, Mapping):
        raise invalid_type("stream_options", options, "an object")
    include = options.get("include_usage")
    return False if include is None else want_bool(include, "stream_options.include_usage")
