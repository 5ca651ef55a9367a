"""A `/v1/responses` body's `input` in the typed shape every upstream reads, and made stateless.

The public API takes a string or shorthand messages; the ChatGPT backend takes only typed items
(a string is a 400). With `store: false` nothing upstream can be looked up: item ids and
`item_reference`s go, and reasoning is asked back encrypted. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from authai_embed.proxy.translate._checks import invalid_type

__all__ = ["ENCRYPTED_REASONING", "stateless", "typed_input"]

ENCRYPTED_REASONING: Final = "reasoning.encrypted_content"


def typed_input(value: Any) -> list[Any]:
    """`input` as a list of typed items: a string becomes one user message with an `input_text`
    part; a message without `type`, or with `content` as a string, becomes a typed `message`
    whose text is `output_text` for the assistant's history and `input_text` otherwise.

    Typed items, and anything this does not recognise, are kept as given (the upstream names
    what it refuses). Raises `InvalidRequest` when `input` is neither a string nor a list.
    """
    if isinstance(value, str):
        return [_message("user", value)]
    if not isinstance(value, list):
        raise invalid_type("input", value, "a string or an array of input items")
    return [_typed(item) for item in value]


def _message(role: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [_part(role, text)]}


def _part(role: Any, text: str) -> dict[str, Any]:
    return {"type": "output_text" if role == "assistant" else "input_text", "text": text}


def _typed(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    if "type" not in item and "role" in item:
        item = {"type": "message", **item}
    if item.get("type") != "message" or not isinstance(item.get("content"), str):
        return item
    return {**item, "content": [_part(item.get("role"), item["content"])]}


def stateless(payload: dict[str, Any]) -> None:
    """Fit `payload` (an upstream body with `store: false`) for an upstream that keeps nothing:
    input items lose their `id`, `item_reference` items are dropped (neither can be looked up:
    the upstream answers 404), and a call that reasons asks for its reasoning back encrypted
    (`include`), so the next turn can carry it. Replaces `payload["input"]`, never the caller's
    items."""
    items = payload.get("input")
    if isinstance(items, list):
        payload["input"] = [
            {k: v for k, v in item.items() if k != "id"} if isinstance(item, dict) else item
            for item in items
            if not (isinstance(item, dict) and item.get("type") == "item_reference")
        ]
        reasons = any(isinstance(i, dict) and i.get("type") == "reasoning" for i in items)
    else:
        reasons = False
    # As the Codex CLI decides: whenever the call carries reasoning settings (or items).
    if payload.get("reasoning") is None and not reasons:
        return
    include = payload.get("include")
    if include is None:
        payload["include"] = [ENCRYPTED_REASONING]
    elif isinstance(include, list) and ENCRYPTED_REASONING not in include:
        payload["include"] = [*include, ENCRYPTED_REASONING]
