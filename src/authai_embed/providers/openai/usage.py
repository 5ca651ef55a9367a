"""The ChatGPT plan's limits as `PlanLimits`: from the usage endpoint, or from what the last
model answer's headers said (`limits.UsageSnapshot`).

The usage endpoint is the one the Codex CLI's status line reads: `GET {backend-api}/wham/usage`
(the `api_base` setting without its `/codex`), answering `{"plan_type", "rate_limit":
{"allowed", "limit_reached", "primary_window": {"used_percent", "limit_window_seconds",
"reset_after_seconds", "reset_at"}, "secondary_window": ...}, "credits": {"has_credits",
"unlimited", "balance"}}`. It is read leniently: a field that does not parse is left out.
"""

from __future__ import annotations

import math
from typing import Any

from authai_embed.providers._lenient import number, short_text
from authai_embed.providers.openai.limits import LimitWindow, UsageSnapshot
from authai_embed.providers.plan import LimitsSource, PlanCredits, PlanLimits, PlanWindow

__all__ = ["limits_from_snapshot", "parse_usage", "usage_url"]


def usage_url(api_base: str) -> str:
    """`https://chatgpt.com/backend-api/wham/usage` for the default `api_base`
    (`https://chatgpt.com/backend-api/codex`)."""
    return f"{api_base.removesuffix('/codex')}/wham/usage"


def parse_usage(body: dict[str, Any], now: float, plan_type: str | None) -> PlanLimits:
    """The usage endpoint's answer as `PlanLimits` (`plan_type`: the token's, when the answer
    names none)."""
    rate = body.get("rate_limit")
    rate = rate if isinstance(rate, dict) else {}
    windows = tuple(
        window
        for name in ("primary", "secondary")
        if (window := _window(name, rate.get(f"{name}_window"), now)) is not None
    )
    plan = short_text(body.get("plan_type")) or plan_type
    return PlanLimits(
        provider="openai",
        plan=plan,
        windows=windows,
        credits=_credits(body.get("credits")),
        premium_requests=None,
        fetched_at=now,
        source="usage_endpoint",
    )


def limits_from_snapshot(snapshot: UsageSnapshot, source: LimitsSource) -> PlanLimits:
    """What a model answer's `x-codex-*` headers (or a usage-limit refusal) said."""
    windows = tuple(
        _from_header_window(name, window)
        for name, window in (("primary", snapshot.primary), ("secondary", snapshot.secondary))
        if window is not None
    )
    return PlanLimits(
        provider="openai",
        plan=snapshot.plan_type,
        windows=windows,
        credits=snapshot.credits,
        premium_requests=None,
        fetched_at=snapshot.seen_at,
        source=source,
    )


def _from_header_window(name: str, window: LimitWindow) -> PlanWindow:
    return PlanWindow(name, window.used_percent, window.window_minutes, window.resets_at)


def _window(name: str, raw: Any, now: float) -> PlanWindow | None:
    if not isinstance(raw, dict):
        return None
    used = number(raw.get("used_percent"))
    if used is None:
        return None
    seconds = number(raw.get("limit_window_seconds"))
    resets_at = number(raw.get("reset_at"))
    after = number(raw.get("reset_after_seconds"))
    if resets_at is None and after is not None and after >= 0:
        resets_at = now + after
    minutes = int(seconds // 60) if seconds is not None and seconds >= 60 else None
    return PlanWindow(
        name,
        min(max(used, 0.0), 100.0),
        minutes,
        None if resets_at is None else int(resets_at),
    )


def _credits(raw: Any) -> PlanCredits | None:
    if not isinstance(raw, dict):
        return None
    has, unlimited = raw.get("has_credits"), raw.get("unlimited")
    if not isinstance(has, bool) or not isinstance(unlimited, bool):
        return None
    balance = raw.get("balance")
    if isinstance(balance, int | float) and not isinstance(balance, bool):
        balance = f"{balance:g}" if math.isfinite(balance) else None
    return PlanCredits(has, unlimited, short_text(balance))
