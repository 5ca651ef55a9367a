"""Lenient readers of the figures a provider reports about a plan (usage endpoints, headers):
a value that does not parse is `None`, never an error, and never guessed."""

from __future__ import annotations

import math
from typing import Any, Final

__all__ = ["TEXT_LIMIT", "number", "short_text"]

TEXT_LIMIT: Final = 64
"""Characters kept of a reported name (a plan, a limit, a balance)."""


def number(raw: Any) -> float | None:
    """A finite JSON number of sane size (booleans are not numbers here)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) and abs(value) < 1e12 else None


def short_text(raw: Any) -> str | None:
    """A printable, non-empty string, stripped and cut to `TEXT_LIMIT` characters."""
    if not isinstance(raw, str):
        return None
    value = raw.strip()[:TEXT_LIMIT]
    return value if value and value.isprintable() else None
