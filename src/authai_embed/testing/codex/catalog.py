"""The emulated model catalog, shaped like `GET /backend-api/codex/models` (codex-rs `ModelInfo`).

Every model here may be called; only `visibility == "list"` ones belong in a picker. The hidden
one stands for the backend's internal models (for example an auto-review model).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["EFFORTS", "catalog", "efforts_of", "model_slugs"]

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
"""Every reasoning effort the backend knows, in its order (per-model support is narrower)."""

_EFFORT_HELP = {
    "none": "No reasoning: fastest answers",
    "minimal": "Very little reasoning for simple tasks",
    "low": "Fast responses with lighter reasoning",
    "medium": "Balances speed and reasoning depth for everyday tasks",
    "high": "Greater reasoning depth for complex problems",
    "xhigh": "Extra high reasoning depth for the hardest problems",
}

# slug, display name, description, efforts, default effort, visibility, priority
_MODELS: tuple[tuple[str, str, str, tuple[str, ...], str, str, int], ...] = (
    (
        "gpt-5.5",
        "GPT-5.5",
        "Latest frontier model for coding and everyday work.",
        ("none", "low", "medium", "high", "xhigh"),
        "medium",
        "list",
        0,
    ),
    (
        "gpt-5.4",
        "GPT-5.4",
        "Fast, capable model for most tasks.",
        ("low", "medium", "high", "xhigh"),
        "medium",
        "list",
        1,
    ),
    (
        "gpt-5.4-codex",
        "GPT-5.4-Codex",
        "Optimized for agentic coding.",
        ("low", "medium", "high", "xhigh"),
        "medium",
        "list",
        2,
    ),
    (
        "gpt-5.4-mini",
        "GPT-5.4-Mini",
        "Smaller, faster and cheaper.",
        ("low", "medium", "high"),
        "medium",
        "list",
        3,
    ),
    (
        "gpt-5.5-pro",
        "GPT-5.5 Pro",
        "Thinks longest for the hardest problems.",
        ("high", "xhigh"),
        "high",
        "list",
        4,
    ),
    (
        "gpt-5.4-pro",
        "GPT-5.4 Pro",
        "Previous generation's most thorough model.",
        ("high", "xhigh"),
        "high",
        "list",
        5,
    ),
    (
        "codex-auto-review",
        "Codex Auto Review",
        "Internal model used for automatic reviews.",
        ("low", "medium", "high"),
        "medium",
        "hide",
        90,
    ),
)


def _info(spec: tuple[str, str, str, tuple[str, ...], str, str, int]) -> dict[str, Any]:
    slug, display_name, description, efforts, default_effort, visibility, priority = spec
    return {
        "slug": slug,
        "display_name": display_name,
        "description": description,
        "default_reasoning_level": default_effort,
        "supported_reasoning_levels": [
            {"effort": effort, "description": _EFFORT_HELP[effort]} for effort in efforts
        ],
        "shell_type": "shell_command",
        "visibility": visibility,
        "supported_in_api": not slug.startswith("codex-"),
        "priority": priority,
        "upgrade": None,
        "base_instructions": "You are Codex, a coding agent. (Emulated base instructions.)",
        "supports_reasoning_summaries": True,
        "support_verbosity": True,
        "default_verbosity": "medium",
        "apply_patch_tool_type": "freeform",
        "truncation_policy": {"mode": "tokens", "limit": 10_000},
        "supports_parallel_tool_calls": True,
        "context_window": 272_000,
        "experimental_supported_tools": [],
        "input_modalities": ["text", "image"],
    }


_CATALOG = {spec[0]: _info(spec) for spec in _MODELS}


def catalog() -> list[dict[str, Any]]:
    """Every model, hidden ones included, in priority order (a fresh copy each call)."""
    return [copy.deepcopy(info) for info in _CATALOG.values()]


def model_slugs() -> tuple[str, ...]:
    """The slugs the backend serves (hidden ones included)."""
    return tuple(_CATALOG)


def efforts_of(slug: str) -> tuple[str, ...]:
    """The reasoning efforts `slug` accepts; empty for an unknown model."""
    info = _CATALOG.get(slug)
    if info is None:
        return ()
    return tuple(level["effort"] for level in info["supported_reasoning_levels"])
