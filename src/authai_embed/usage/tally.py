"""What one model call used, read from the upstream's own `usage` (either API's shape)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["Tally", "seconds_to_utc_midnight", "tally_of", "tally_of_json", "utc_day"]

Tally = tuple[int, int, int, int]
"""Input, cached input, output and reasoning tokens."""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(usage: Mapping[str, Any], name: str, field: str) -> int:
    details = usage.get(name)
    return _count(details.get(field)) if isinstance(details, Mapping) else 0


def tally_of(usage: Any) -> Tally | None:
    """The counts of a Responses `usage` (`input_tokens`, ...) or a Chat Completions one
    (`prompt_tokens`, ...); `None` when `usage` is not an object."""
    if not isinstance(usage, Mapping):
        return None
    if "input_tokens" in usage or "output_tokens" in usage:
        return (
            _count(usage.get("input_tokens")),
            _detail(usage, "input_tokens_details", "cached_tokens"),
            _count(usage.get("output_tokens")),
            _detail(usage, "output_tokens_details", "reasoning_tokens"),
        )
    return (
        _count(usage.get("prompt_tokens")),
        _detail(usage, "prompt_tokens_details", "cached_tokens"),
        _count(usage.get("completion_tokens")),
        _detail(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def tally_of_json(body: bytes) -> Tally | None:
    """The counts in a whole JSON answer's top-level `usage`; `None` if it has none."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return tally_of(answer.get("usage")) if isinstance(answer, dict) else None


def utc_day(now: float) -> str:
    """The UTC day of Unix time `now`, as `YYYY-MM-DD` (the ledger's and quotas' day)."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def seconds_to_utc_midnight(now: float) -> int:
    """Whole seconds from `now` to the next UTC midnight (at least 1)."""
    return max(1, 86400 - int(now) % 86400)
