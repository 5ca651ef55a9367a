"""What the end of a Responses stream means in Chat Completions terms: usage and failures.

Shared by the streaming translator, the chat aggregator and the Responses aggregator, so a
provider failure gets the same message, code and HTTP status whichever way it is answered; its
message and code are read as an HTTP error body's are (`providers/_upstream.error_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from authai_embed.providers._upstream import error_fields

__all__ = ["CUT_MESSAGE", "INCOMPLETE_STREAM", "chat_usage", "error_of", "error_status"]

INCOMPLETE_STREAM: Final = "stream_incomplete"
CUT_MESSAGE: Final = "the provider's stream ended before the response was complete"
_NO_MESSAGE: Final = "the provider failed to respond"
_STATUS: Final = {
    "rate_limit_exceeded": 429,
    "usage_limit_reached": 429,
    "insufficient_quota": 429,
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
    "invalid_request_error": 400,
}


def error_status(code: str | None) -> int:
    """The HTTP status for a failure the provider reported with `code` (default 502)."""
    return _STATUS.get(code or "", 502)


def error_of(event: Mapping[str, Any]) -> tuple[str, str | None]:
    """The message and code of a `response.failed` or `error` event (either nesting)."""
    if event.get("type") == "response.failed":
        response = event.get("response")
        err = response.get("error") if isinstance(response, Mapping) else None
    else:
        nested = event.get("error")
        err = nested if isinstance(nested, Mapping) else event
    message, code = error_fields(err if isinstance(err, Mapping) else {})
    return message or _NO_MESSAGE, code


def _count(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


def chat_usage(usage: Any) -> dict[str, Any] | None:
    """Responses `usage` in Chat Completions terms (`None` when the provider gave none)."""
    if not isinstance(usage, Mapping):
        return None
    prompt = _count(usage.get("input_tokens"))
    completion = _count(usage.get("output_tokens"))
    inputs = usage.get("input_tokens_details")
    outputs = usage.get("output_tokens_details")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": _count(inputs.get("cached_tokens"))
            if isinstance(inputs, Mapping)
            else 0
        },
        "completion_tokens_details": {
            "reasoning_tokens": _count(outputs.get("reasoning_tokens"))
            if isinstance(outputs, Mapping)
            else 0
        },
    }
