"""What the Codex backend's catalog says about one model, and the request body shaped to it:
reasoning effort clamped to the supported levels, `text.verbosity` only where supported, and
the Responses Lite envelope (`use_responses_lite`) for the models that want it (pure, no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EFFORT_ORDER",
    "LITE_HEADER",
    "ModelTraits",
    "clamp_effort",
    "shape_for_model",
    "traits_of",
]

LITE_HEADER = "x-openai-internal-codex-responses-lite"
"""Sent (`true`) with every call to a Responses Lite model."""
EFFORT_ORDER = ("none", "minimal", "low", "medium", "high", "xhigh")
"""The backend's reasoning efforts, least to most: the scale `clamp_effort` measures on."""
_LITE_PREFIXES = ("gpt-5.6-",)
"""Models taken as Lite when the catalog cannot be had (the built-in list has no traits)."""


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """What the request body must respect for one model (empty `efforts`: no clamping)."""

    efforts: tuple[str, ...] = ()
    verbosity: bool = True
    lite: bool = False


def traits_of(slug: str, entry: Mapping[str, Any] | None) -> ModelTraits:
    """The traits of `slug` from its catalog entry (`None`: not in the catalog; then only the
    Lite models' known names decide, and nothing else is changed)."""
    if entry is None or "supported_reasoning_levels" not in entry:
        return ModelTraits(lite=slug.startswith(_LITE_PREFIXES))
    levels = entry.get("supported_reasoning_levels")
    efforts = tuple(
        level["effort"]
        for level in (levels if isinstance(levels, list) else [])
        if isinstance(level, dict) and level.get("effort") in EFFORT_ORDER
    )
    return ModelTraits(
        efforts=efforts,
        verbosity=entry.get("support_verbosity") is not False,
        lite=entry.get("use_responses_lite") is True,
    )


def clamp_effort(effort: str, supported: tuple[str, ...]) -> str:
    """`effort` if the model takes it, else the nearest level it takes on `EFFORT_ORDER`; of two
    as near, the higher (asked for some reasoning, the caller gets at least that much).
    Unknown values and models without levels pass unchanged: the backend answers those."""
    if not supported or effort in supported or effort not in EFFORT_ORDER:
        return effort
    asked = EFFORT_ORDER.index(effort)
    return min(
        supported,
        key=lambda level: (abs(EFFORT_ORDER.index(level) - asked), -EFFORT_ORDER.index(level)),
    )


def shape_for_model(payload: dict[str, Any], traits: ModelTraits) -> dict[str, Any]:
    """A copy of the Responses `payload` fit for the model (the original is left as it is: a
    retried call shapes it again)."""
    shaped = dict(payload)
    reasoning = shaped.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        shaped["reasoning"] = {
            **reasoning,
            "effort": clamp_effort(reasoning["effort"], traits.efforts),
        }
    text = shaped.get("text")
    if not traits.verbosity and isinstance(text, dict) and "verbosity" in text:
        rest = {k: v for k, v in text.items() if k != "verbosity"}
        if rest:
            shaped["text"] = rest
        else:
            del shaped["text"]
    return _lite(shaped) if traits.lite else shaped


def _lite(payload: dict[str, Any]) -> dict[str, Any]:
    """The Responses Lite envelope: tools in a leading `additional_tools` developer item, the
    instructions as a developer message, no parallel tool calls, reasoning over all turns."""
    tools = payload.pop("tools", None)
    instructions = payload.pop("instructions", None)
    head: list[dict[str, Any]] = []
    if isinstance(tools, list) and tools:
        head.append({"type": "additional_tools", "role": "developer", "tools": tools})
    if isinstance(instructions, str) and instructions:
        head.append(
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": instructions}],
            }
        )
    items = payload.get("input")
    if isinstance(items, str):  # the Responses shorthand: one user message
        items = [{"role": "user", "content": [{"type": "input_text", "text": items}]}]
    if isinstance(items, list):
        payload["input"] = head + items
    payload["parallel_tool_calls"] = False
    reasoning = payload.get("reasoning")
    payload["reasoning"] = {
        **(reasoning if isinstance(reasoning, dict) else {}),
        "context": "all_turns",
    }
    return payload
