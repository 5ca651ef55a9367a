"""The emulated model catalog, shaped like `GET /backend-api/codex/models` (codex-rs `ModelInfo`).

Every model here may be called; only `visibility == "list"` ones belong in a picker, and only
those whose `minimal_client_version` the asked `client_version` reaches are listed. The hidden
one stands for the backend's internal models; the `gpt-5.6-*` ones use Responses Lite.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_VERBOSITY",
    "EFFORTS",
    "LITE_CLIENT_VERSION",
    "catalog",
    "efforts_of",
    "model_info",
    "model_slugs",
    "version_key",
]

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
"""Every reasoning effort the backend knows, in its order (per-model support is narrower)."""

LITE_CLIENT_VERSION = "0.144.0"
"""The oldest Codex client the newest (Responses Lite) models are listed for."""
DEFAULT_VERBOSITY = "medium"
"""The one `text.verbosity` a model without `support_verbosity` accepts."""

_EFFORT_HELP = {
    "none": "No reasoning: fastest answers",
    "minimal": "Very little reasoning for simple tasks",
    "low": "Fast responses with lighter reasoning",
    "medium": "Balances speed and reasoning depth for everyday tasks",
    "high": "Greater reasoning depth for complex problems",
    "xhigh": "Extra high reasoning depth for the hardest problems",
}


@dataclass(frozen=True, slots=True)
class _Spec:
    slug: str
    display_name: str
    description: str
    efforts: tuple[str, ...]
    default_effort: str
    priority: int
    visibility: str = "list"
    minimal_client_version: str = "0.60.0"
    verbosity: bool = True
    lite: bool = False


_MODELS = (
    _Spec(
        "gpt-5.6-sol",
        "GPT-5.6-Sol",
        "Newest frontier model, served through Responses Lite.",
        ("low", "medium", "high", "xhigh"),
        "medium",
        0,
        minimal_client_version=LITE_CLIENT_VERSION,
        lite=True,
    ),
    _Spec(
        "gpt-5.6-luna",
        "GPT-5.6-Luna",
        "Fast model of the newest generation, served through Responses Lite.",
        ("none", "low", "medium", "high"),
        "low",
        1,
        minimal_client_version=LITE_CLIENT_VERSION,
        lite=True,
    ),
    _Spec(
        "gpt-5.5",
        "GPT-5.5",
        "Latest frontier model for coding and everyday work.",
        ("none", "low", "medium", "high", "xhigh"),
        "medium",
        2,
    ),
    _Spec(
        "gpt-5.4",
        "GPT-5.4",
        "Fast, capable model for most tasks.",
        ("low", "medium", "high", "xhigh"),
        "medium",
        3,
    ),
    _Spec(
        "gpt-5.4-codex",
        "GPT-5.4-Codex",
        "Optimized for agentic coding.",
        ("low", "medium", "high", "xhigh"),
        "medium",
        4,
        verbosity=False,
    ),
    _Spec(
        "gpt-5.4-mini",
        "GPT-5.4-Mini",
        "Smaller, faster and cheaper.",
        ("low", "medium", "high"),
        "medium",
        5,
    ),
    _Spec(
        "gpt-5.5-pro",
        "GPT-5.5 Pro",
        "Thinks longest for the hardest problems.",
        ("high", "xhigh"),
        "high",
        6,
    ),
    _Spec(
        "gpt-5.4-pro",
        "GPT-5.4 Pro",
        "Previous generation's most thorough model.",
        ("high", "xhigh"),
        "high",
        7,
    ),
    _Spec(
        "codex-auto-review",
        "Codex Auto Review",
        "Internal model used for automatic reviews.",
        ("low", "medium", "high"),
        "medium",
        90,
        visibility="hide",
    ),
)


def _info(spec: _Spec) -> dict[str, Any]:
    return {
        "slug": spec.slug,
        "display_name": spec.display_name,
        "description": spec.description,
        "default_reasoning_level": spec.default_effort,
        "supported_reasoning_levels": [
            {"effort": effort, "description": _EFFORT_HELP[effort]} for effort in spec.efforts
        ],
        "shell_type": "shell_command",
        "visibility": spec.visibility,
        "minimal_client_version": spec.minimal_client_version,
        "supported_in_api": not spec.slug.startswith("codex-"),
        "priority": spec.priority,
        "upgrade": None,
        "base_instructions": "You are Codex, a coding agent. (Emulated base instructions.)",
        "supports_reasoning_summaries": True,
        "support_verbosity": spec.verbosity,
        "default_verbosity": DEFAULT_VERBOSITY,
        "apply_patch_tool_type": "freeform",
        "truncation_policy": {"mode": "tokens", "limit": 10_000},
        "supports_parallel_tool_calls": not spec.lite,
        "context_window": 272_000,
        "experimental_supported_tools": [],
        "input_modalities": ["text", "image"],
        "use_responses_lite": spec.lite,
    }


_CATALOG = {spec.slug: _info(spec) for spec in _MODELS}


def catalog(client_version: str | None = None) -> list[dict[str, Any]]:
    """Every model, hidden ones included, in priority order (a fresh copy each call); with a
    `client_version`, only the models whose `minimal_client_version` it reaches."""
    asked = None if client_version is None else version_key(client_version)
    return [
        copy.deepcopy(info)
        for info in _CATALOG.values()
        if asked is None or version_key(info["minimal_client_version"]) <= asked
    ]


def version_key(version: str) -> tuple[int, ...]:
    """`"0.144.1"` as `(0, 144, 1)`; what is not a number counts as 0 (a version the backend
    cannot read reaches no gated model)."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.strip().split("."))


def model_slugs() -> tuple[str, ...]:
    """The slugs the backend serves (hidden ones included)."""
    return tuple(_CATALOG)


def efforts_of(slug: str) -> tuple[str, ...]:
    """The reasoning efforts `slug` accepts; empty for an unknown model."""
    info = _CATALOG.get(slug)
    if info is None:
        return ()
    return tuple(level["effort"] for level in info["supported_reasoning_levels"])


def model_info(slug: str) -> dict[str, Any] | None:
    """The catalog entry of `slug` (not a copy: read it, do not change it); `None` if unknown."""
    return _CATALOG.get(slug)
