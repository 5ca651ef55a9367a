"""What a Copilot call says about itself in its headers: who started the turn, and whether it
carries images (`X-Initiator`, `Copilot-Vision-Request`)."""

from __future__ import annotations

from typing import Any

__all__ = ["has_image", "initiator"]


def initiator(payload: dict[str, Any]) -> str:
    """`user` when the last input item is the user's (a turn a person typed), `agent`
    otherwise (tool results, an assistant prefill): Copilot bills premium requests per user
    turn, so say so honestly, neither over- nor under-billing."""
    messages = payload.get("messages")
    if isinstance(messages, list) and messages:
        last = messages[-1]
        return "user" if isinstance(last, dict) and last.get("role") == "user" else "agent"
    items = payload.get("input")
    if isinstance(items, list) and items:
        last = items[-1]
        if not isinstance(last, dict):
            return "agent"
        typed = last.get("type", "message")  # shorthand messages have no type
        return "user" if typed == "message" and last.get("role") == "user" else "agent"
    return "user"  # a string input is the user's words


def has_image(payload: dict[str, Any]) -> bool:
    entries = [
        entry
        for key in ("messages", "input")
        if isinstance(payload.get(key), list)
        for entry in payload[key]
    ]
    for entry in entries:
        content = entry.get("content") if isinstance(entry, dict) else None
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                    return True
    return False
